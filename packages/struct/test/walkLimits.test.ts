import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  DictKey,
  deepEqualStatic,
  field,
  flatten,
  flattenWithPath,
  keystr,
  LEAF,
  MAX_TREE_DEPTH,
  map,
  OBJECT_NODE,
  Struct,
  structure,
  TreeCycleError,
  TreeDef,
  TreeDepthError,
  treeEquals,
  unflatten,
} from "../src/index.js";

class Link extends Struct.define({ next: field<unknown>() }) {}

/** `depth` plain objects nested as `{ a: { a: ... leaf } }`. */
function chain(depth: number, leaf: unknown = 1): unknown {
  let t: unknown = leaf;
  for (let i = 0; i < depth; i++) t = { a: t };
  return t;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("cycles", () => {
  it("flatten names the key path where a cycle closes and its ancestor", () => {
    const t: any = { x: [1, { y: 2 }] };
    t.x[1].back = t;
    const e = thrown(() => flatten(t)) as TreeCycleError;
    expect(e).toBeInstanceOf(TreeCycleError);
    expect(keystr(e.path)).toBe("['x'][1]['back']");
    expect(e.ancestorPath).toEqual([]);
    expect(e.message).toMatch(
      /^flatten: the tree contains a cycle: the node at \['x'\]\[1\]\['back'\] is the same object as its ancestor at the root/,
    );
    expect(e.message).toMatch(/isLeaf/);
  });

  it("flattenWithPath, map and structure raise it too; a cycle through a struct is found", () => {
    const arr: unknown[] = [1];
    const link = new Link({ next: { arr } });
    arr.push(link);
    for (const fn of [
      () => flattenWithPath(link),
      () => map((x) => x, link),
      () => structure(link),
    ]) {
      const e = thrown(fn) as TreeCycleError;
      expect(e).toBeInstanceOf(TreeCycleError);
      expect(keystr(e.path)).toBe(".next['arr'][1]");
      expect(keystr(e.ancestorPath)).toBe("");
    }
    const inner: any = { v: 0 };
    inner.self = inner;
    const e = thrown(() => flatten({ ok: [1, 2], deep: { inner } })) as TreeCycleError;
    expect(keystr(e.path)).toBe("['deep']['inner']['self']");
    expect(keystr(e.ancestorPath)).toBe("['deep']['inner']");
  });

  it("shared subtrees are not cycles", () => {
    const shared = { w: 1 };
    const [leaves] = flatten({ a: shared, b: [shared, shared] });
    expect(leaves).toEqual([1, 1, 1]);
  });

  it("isLeaf can stop the walk before the cycle", () => {
    const t: any = { v: 1 };
    t.self = t;
    const [leaves] = flatten(t, (x, path) => path.length === 1 && x === t);
    expect(leaves).toEqual([t, 1]); // keys in sorted order: self, v
  });

  it("static data that contains itself raises TreeDepthError when compared", () => {
    const a: any = { n: 1 };
    a.a = a;
    const b: any = { n: 1 };
    b.a = b;
    expect(() => deepEqualStatic(a, b)).toThrow(TreeDepthError);
    expect(deepEqualStatic(a, a)).toBe(true);
  });
});

describe("depth", () => {
  it(`trees ${MAX_TREE_DEPTH} levels deep work in flatten, unflatten, toString and map`, () => {
    const t = chain(MAX_TREE_DEPTH + 1, null); // the innermost object sits at depth MAX_TREE_DEPTH
    const [leaves, def] = flatten(t);
    expect(leaves).toEqual([]);
    expect(treeEquals(unflatten(def, leaves), t)).toBe(true);
    expect(def.toString().length).toBeGreaterThan(MAX_TREE_DEPTH * 6);
    expect(
      treeEquals(
        map((x) => x, chain(MAX_TREE_DEPTH, 5)),
        chain(MAX_TREE_DEPTH, 5),
      ),
    ).toBe(true);
    const [pairs] = flattenWithPath(chain(MAX_TREE_DEPTH + 1, 7));
    expect(pairs[0]![0]).toHaveLength(MAX_TREE_DEPTH + 1);
  });

  it("a 20,000-deep tree raises TreeDepthError stating the limit, not a stack overflow", () => {
    const t = chain(20_000);
    for (const [name, fn] of [
      ["flatten", () => flatten(t)],
      ["flattenWithPath", () => flattenWithPath(t)],
      ["flatten", () => map((x) => x, t)],
    ] as const) {
      const e = thrown(fn) as TreeDepthError;
      expect(e).toBeInstanceOf(TreeDepthError);
      expect(e.limit).toBe(1000);
      expect(e.path).toHaveLength(MAX_TREE_DEPTH + 1);
      expect(e.path[0]).toEqual(new DictKey("a"));
      expect(e.message).toMatch(
        new RegExp(
          `^${name}: the tree is nested more than 1000 levels deep .*MAX_TREE_DEPTH = 1000`,
        ),
      );
    }
    const arrays = thrown(() => {
      let a: unknown = 0;
      for (let i = 0; i < 20_000; i++) a = [a];
      flatten(a);
    });
    expect(arrays).toBeInstanceOf(TreeDepthError);
  });

  it("hand-built structures deeper than the limit raise TreeDepthError in unflatten and toString", () => {
    let def: TreeDef = LEAF;
    for (let i = 0; i < MAX_TREE_DEPTH + 5; i++) {
      def = new TreeDef(OBJECT_NODE, { keys: ["a"], nullPrototype: false }, [def]);
    }
    expect(() => def.unflatten([1])).toThrow(TreeDepthError);
    expect(() => def.toString()).toThrow(TreeDepthError);
  });
});

// ---- names that are Object.prototype members ------------------------------------------------

const objectProtoNames = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoNames);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

const HOSTILE = [
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "prototype",
  "isPrototypeOf",
  "a",
  "b",
  "",
];

/** A plain object with the given own entries, `__proto__` included as data. */
function dictOf(entries: [string, unknown][], nullPrototype: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = nullPrototype ? Object.create(null) : {};
  for (const [k, v] of entries) {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return o;
}

const arbHostileTree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer(),
    fc.constant(null),
    fc.array(tie("tree"), { maxLength: 3 }),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...HOSTILE), tie("tree")), {
          selector: ([k]) => k,
          maxLength: 5,
        }),
        fc.boolean(),
      )
      .map(([entries, nullProto]) => dictOf(entries, nullProto)),
  ),
})).tree;

describe("keys named like Object.prototype members (fast-check)", () => {
  it("flatten / unflatten round-trips and never touches a prototype", () => {
    fc.assert(
      fc.property(arbHostileTree, (t) => {
        const [leaves, def] = flatten(t);
        const back = unflatten(def, leaves);
        expect(treeEquals(back, t)).toBe(true);
        expect(structure(back).equals(def)).toBe(true);
        const [pairs] = flattenWithPath(back);
        expect(pairs.map(([, v]) => v)).toEqual(leaves);
        // Every rebuilt dict keeps its own keys as data and its prototype.
        const check = (a: unknown, b: unknown): void => {
          if (a === null || typeof a !== "object") return;
          expect(Object.getPrototypeOf(b)).toBe(Object.getPrototypeOf(a));
          expect(Object.keys(b as object).sort()).toEqual(Object.keys(a).sort());
          for (const k of Object.keys(a)) {
            check((a as any)[k], Object.getOwnPropertyDescriptor(b, k)!.value);
          }
        };
        check(t, back);
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoNames);
      }),
      { numRuns: 300 },
    );
  });
});
