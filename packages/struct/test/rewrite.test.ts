import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  childIndex,
  DictKey,
  FlattenedIndexKey,
  field,
  findOutermost,
  flattenWithPath,
  followKeyPath,
  GetAttrKey,
  getAtPath,
  keyEquals,
  keyPathEquals,
  keyPathOfIndexPath,
  keystr,
  MAX_TREE_DEPTH,
  map,
  options,
  rewriteAt,
  rewriteOutermost,
  SequenceKey,
  Struct,
  TreeCycleError,
  TreeDepthError,
  treeEquals,
} from "../src/index.js";

class Pair extends Struct.define({ a: field<unknown>(), b: field<unknown>() }) {}
class Tagged extends Struct.define({
  value: field<unknown>(),
  tag: field<string>({ static: true }),
}) {}
class Opaque {
  constructor(readonly id: number) {}
}

const leafArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.string({ maxLength: 2 }),
  fc.boolean(),
  fc.integer({ min: 0, max: 2 }).map((n) => new Float32Array(n).fill(n)),
  fc.nat(3).map((id) => new Opaque(id)),
);

const { tree: treeArb } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafArb, tie("node")),
  node: fc.oneof(
    fc.constant(null),
    fc.array(tie("tree"), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom("a", "b", "z", "10", "__proto__"), tie("tree")), {
        maxLength: 3,
        selector: (e) => e[0],
      })
      .map((entries) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of entries) {
          Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
        }
        return out;
      }),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom("k", 1, 2), tie("tree")), {
        maxLength: 3,
        selector: (e) => e[0],
      })
      .map((entries) => new Map<unknown, unknown>(entries)),
    fc.tuple(tie("tree"), tie("tree")).map(([a, b]) => new Pair({ a, b })),
    fc
      .tuple(tie("tree"), fc.constantFrom("x", "y"))
      .map(([value, tag]) => new Tagged({ value, tag })),
  ),
}));

/** Predicates that match leaves, inner nodes, childless nodes and the root. */
const predicates: [string, (x: unknown) => boolean][] = [
  ["strings", (x) => typeof x === "string"],
  ["numbers", (x) => typeof x === "number"],
  ["pairs", (x) => x instanceof Pair],
  ["arrays of two", (x) => Array.isArray(x) && x.length === 2],
  ["null", (x) => x === null],
  ["everything", () => true],
];
const predicateArb = fc.constantFrom(...predicates);

function contains(tree: unknown, predicate: (x: unknown) => boolean): boolean {
  return findOutermost(tree, predicate).length > 0;
}

describe("childIndex, followKeyPath and keyPathOfIndexPath", () => {
  it("every key path of flattenWithPath leads back to its leaf", () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        for (const [path, leaf] of flattenWithPath(tree)[0]) {
          const found = followKeyPath(tree, path);
          expect(found).toBeDefined();
          expect(Object.is(found!.value, leaf)).toBe(true);
          expect(keyPathEquals(keyPathOfIndexPath(tree, found!.indexPath), path)).toBe(true);
        }
      }),
    );
  });

  it("follows one rule, keyEquals, for every node kind", () => {
    class Field extends GetAttrKey {}
    expect(childIndex([5, 6], new SequenceKey(1))).toBe(1);
    expect(childIndex([5, 6], new SequenceKey(2))).toBe(-1);
    expect(childIndex([5, 6], new DictKey(1))).toBe(-1);
    expect(childIndex({ b: 1, a: 2 }, new DictKey("b"))).toBe(1);
    expect(childIndex({ b: 1 }, new GetAttrKey("b"))).toBe(-1);
    expect(childIndex(new Map([[1, "x"]]), new DictKey(1))).toBe(0);
    expect(childIndex(new Map([[1, "x"]]), new DictKey("1"))).toBe(-1);
    const pair = new Pair({ a: 1, b: 2 });
    expect(childIndex(pair, new GetAttrKey("b"))).toBe(1);
    // A subclass of a key kind names the same step as the base class, in both directions.
    expect(childIndex(pair, new Field("b"))).toBe(1);
    expect(keyEquals(new Field("b"), new GetAttrKey("b"))).toBe(true);
    expect(keyEquals(new GetAttrKey("b"), new Field("b"))).toBe(true);
    expect(getAtPath(pair, [new Field("a")])).toBe(1);
    expect(childIndex(pair, new FlattenedIndexKey(0))).toBe(-1);
    expect(childIndex(7, new SequenceKey(0))).toBe(-1);
  });
});

describe("findOutermost", () => {
  it("finds what flatten stops at: the outermost matches, in flatten order, with their key paths", () => {
    fc.assert(
      fc.property(treeArb, predicateArb, (tree, [, predicate]) => {
        const expected = flattenWithPath(tree, predicate)[0].filter(([, v]) => predicate(v));
        const found = findOutermost(tree, predicate);
        expect(found.length).toBe(expected.length);
        found.forEach((p, i) => {
          expect(Object.is(p.value, expected[i]![1])).toBe(true);
          expect(keyPathEquals(p.keyPath, expected[i]![0])).toBe(true);
          expect(Object.isFrozen(p.keyPath)).toBe(true);
        });
      }),
    );
  });

  it("{ instanceOf: C } matches like the instanceof predicate", () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const viaClass = findOutermost(tree, { instanceOf: Pair });
        const viaPredicate = findOutermost(tree, (x) => x instanceof Pair);
        expect(viaClass.map((p) => p.value)).toEqual(viaPredicate.map((p) => p.value));
        expect(viaClass.map((p) => p.indexPath)).toEqual(viaPredicate.map((p) => p.indexPath));
      }),
    );
    const swapped = rewriteOutermost([new Pair({ a: 1, b: 2 })], { instanceOf: Pair }, (p: Pair) =>
      p.replace({ a: p.b, b: p.a }),
    );
    expect(swapped[0]).toEqual(new Pair({ a: 2, b: 1 }));
  });

  it("gives the predicate the key path when it asks for it, prefixed by basePath", () => {
    const seen: string[] = [];
    findOutermost(
      { a: [1, 2] },
      (x, path) => {
        seen.push(keystr(path()));
        return typeof x === "number";
      },
      { basePath: [new GetAttrKey("root")] },
    );
    expect(seen).toEqual([".root", ".root['a']", ".root['a'][0]", ".root['a'][1]"]);
  });
});

describe("rewriteAt and rewriteOutermost", () => {
  it("rewriting every match with itself returns the same tree", () => {
    fc.assert(
      fc.property(treeArb, predicateArb, (tree, [, predicate]) => {
        const found = findOutermost(tree, predicate);
        expect(
          rewriteAt(
            tree,
            found,
            found.map((p) => p.value),
          ),
        ).toBe(tree);
        expect(rewriteOutermost(tree, predicate, (x) => x)).toBe(tree);
      }),
    );
  });

  it("equals tree.map with the predicate as isLeaf, and shares every subtree without a match", () => {
    const marker = (x: unknown) => ({ was: x });
    fc.assert(
      fc.property(treeArb, predicateArb, (tree, [, predicate]) => {
        const rewritten = rewriteOutermost(tree, predicate, marker);
        const mapped = map(
          (x) => (predicate(x) ? marker(x) : x),
          tree,
          options({ isLeaf: predicate }),
        );
        expect(treeEquals(rewritten, mapped)).toBe(true);
        const outside = findOutermost(tree, (x) => predicate(x) || !contains(x, predicate));
        for (const untouched of outside.filter((p) => !predicate(p.value))) {
          expect(getAtPath(rewritten, untouched.keyPath)).toBe(untouched.value);
        }
      }),
    );
  });

  it("calls rewrite once per match in pre-order with the key path and ordinal", () => {
    const calls: string[] = [];
    const out = rewriteOutermost(
      { b: [1, "x"], a: "y" },
      (x) => typeof x === "string",
      (x: string, path, i) => {
        calls.push(`${i}:${keystr(path)}`);
        return x.toUpperCase();
      },
    );
    expect(out).toEqual({ a: "Y", b: [1, "X"] });
    expect(calls).toEqual(["0:['a']", "1:['b'][1]"]);
  });

  it("rebuilds structs with their class and static fields, and reports every rebuilt ancestor", () => {
    const inner = new Tagged({ value: [1, 2], tag: "x" });
    const tree = new Pair({ a: inner, b: { keep: [3] } });
    const rebuilt: unknown[] = [];
    const found = findOutermost(tree, (x) => x === 2);
    const out = rewriteAt(tree, found, [20], { onRebuild: (original) => rebuilt.push(original) });
    expect(out).toBeInstanceOf(Pair);
    expect(Object.isFrozen(out)).toBe(true);
    const a = (out as Pair).a as Tagged;
    expect(a.tag).toBe("x");
    expect(a.value).toEqual([1, 20]);
    expect((out as Pair).b).toBe(tree.b);
    expect(rebuilt).toEqual([inner.value, inner, tree]);
  });

  it("replaces the root when it matches", () => {
    expect(
      rewriteOutermost(
        [1],
        () => true,
        () => "root",
      ),
    ).toBe("root");
  });

  it("raises TreeCycleError and TreeDepthError named by the operation", () => {
    const t: any = { a: [1] };
    t.a.push(t);
    let e: unknown;
    try {
      rewriteOutermost(
        t,
        (x) => typeof x === "string",
        (x) => x,
        { operation: "myRewrite" },
      );
    } catch (caught) {
      e = caught;
    }
    expect(e).toBeInstanceOf(TreeCycleError);
    expect(keystr((e as TreeCycleError).path)).toBe("['a'][1]");
    expect((e as Error).message).toMatch(/^myRewrite: the tree contains a cycle/);
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    try {
      findOutermost(deep, () => false);
    } catch (caught) {
      e = caught;
    }
    expect(e).toBeInstanceOf(TreeDepthError);
    expect((e as TreeDepthError).path.length).toBe(MAX_TREE_DEPTH + 1);
  });
});
