import {
  DictKey,
  flattenWithPath,
  GetAttrKey,
  getAtPath,
  type KeyPath,
  keyPathEquals,
  type PathKey,
  SequenceKey,
  Struct,
  treeEquals,
} from "@saikei/struct";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { combine, type Selection, select } from "../src/index.js";
import { Bar, Foo } from "./helpers.js";

/** Random trees: arrays, plain objects, two struct classes, null, and leaves with many repeats. */
const leaf = fc.oneof(
  fc.constantFrom(0, 1, 2),
  fc.constantFrom("x", "y"),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(true),
  fc.float32Array({ maxLength: 2, noNaN: true }),
);
const { node: arbTree } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: "tree" },
    leaf,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("node"), { maxKeys: 3 }),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => new Foo({ a, b })),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => new Bar({ a, b })),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom<unknown>("k", 1, 2), tie("node")), {
        maxLength: 3,
        selector: (e) => e[0],
      })
      .map((entries) => new Map(entries)),
  ),
}));

/** All node and leaf key paths of a tree, root included, in pre-order. */
function allPaths(t: unknown): KeyPath[] {
  const out: KeyPath[] = [[]];
  // flattenWithPath with an isLeaf that records every visited node and never stops the walk.
  flattenWithPath(t, (_x, p) => {
    if (p.length > 0) out.push(p);
    return false;
  });
  return out;
}

type Strategy = (t: unknown, picks: number[]) => Selection<unknown, unknown>;
const strategies: [string, Strategy][] = [
  ["root", (t) => select(t)],
  ["numbers", (t) => select(t).atInstancesOf(Number)],
  ["leaves", (t) => select(t).atPytreeLeaves()],
  ["children", (t) => select(t).atChildren()],
  ["childless", (t) => select(t).atChildless()],
  ["structs", (t) => select(t).atInstancesOf([Foo, Bar])],
  [
    "innermost arrays",
    (t) => select(t).atSubtreesWhere((x) => Array.isArray(x), { innermost: true }),
  ],
  [
    "keypaths",
    (t, picks) => {
      const paths = allPaths(t);
      return select(t).atKeypaths(picks.map((i) => paths[i % paths.length]!));
    },
  ],
  ["inverted numbers", (t) => select(t).atInstancesOf(Number).invert()],
  ["picked leaves", (t, picks) => select(t).atPytreeLeaves().pickNthSelected(picks)],
];

const arbSelection = fc
  .tuple(
    arbTree,
    fc.integer({ min: 0, max: strategies.length - 1 }),
    fc.array(fc.nat(40), { maxLength: 4 }),
  )
  .map(([t, k, picks]) => ({
    tree: t,
    name: strategies[k]![0],
    selection: strategies[k]![1](t, picks),
  }));

const arbValues = (n: number) =>
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 2 }), fc.constant(null), arbTree), {
    minLength: n,
    maxLength: n,
  });

/** Reselects the same key paths in another tree. */
const reselect = (t: unknown, paths: readonly KeyPath[]) => select(t).atKeypaths(paths);

describe("lens laws (fast-check)", () => {
  it("get after set returns what was set, at the same key paths", () => {
    fc.assert(
      fc.property(
        arbSelection.chain((s) => fc.tuple(fc.constant(s), arbValues(s.selection.count()))),
        ([{ selection }, values]) => {
          const out = selection.setSequence(values);
          const again = reselect(out, selection.getKeypaths());
          expect(again.count()).toBe(values.length);
          again.getSequence().forEach((v, i) => {
            expect(v).toBe(values[i]);
          });
          expect(
            selection.getKeypaths().every((p, i) => keyPathEquals(p, again.getKeypaths()[i]!)),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("setting what was got changes nothing (the very same tree comes back)", () => {
    fc.assert(
      fc.property(arbSelection, ({ tree, selection }) => {
        const out = selection.setSequence(selection.getSequence());
        expect(out).toBe(tree);
        expect(selection.apply((x) => x)).toBe(tree);
        expect(treeEquals(out, tree)).toBe(true);
        expect(selection.deselect()).toBe(tree);
      }),
      { numRuns: 300 },
    );
  });

  it("setting twice equals setting the second value", () => {
    fc.assert(
      fc.property(
        arbSelection,
        fc.integer(),
        fc.string({ maxLength: 3 }),
        ({ selection }, first, second) => {
          const once = selection.set(first);
          const twice = reselect(once, selection.getKeypaths()).set(second);
          expect(treeEquals(twice, selection.set(second))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("unselected subtrees stay === and structs stay frozen instances of their classes", () => {
    const marker = Symbol("marker");
    fc.assert(
      fc.property(arbSelection, ({ selection }) => {
        const out = selection.set(marker);
        for (const [path, value] of selection.invert().getByPath()) {
          expect(getAtPath(out, path)).toBe(value);
        }
        for (const p of selection.getKeypaths()) expect(getAtPath(out, p)).toBe(marker);
        for (const s of select(out).atInstancesOf(Struct, { innermost: true }).getSequence()) {
          expect(Object.isFrozen(s)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("partition then combine gives the tree back", () => {
    fc.assert(
      fc.property(arbSelection, fc.boolean(), ({ tree, selection }, atLeaves) => {
        const [selected, rest] = selection.partition({ atLeaves });
        expect(treeEquals(combine(selected, rest), tree)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("at with an accessor built from any key path selects exactly that path", () => {
    // Stand-ins do not show their class, so the real tree is followed alongside to tell Maps apart.
    const follow = ([x, real]: [any, any], key: PathKey): [any, any] => {
      if (key instanceof GetAttrKey) return [x[key.name], real[key.name]];
      if (key instanceof SequenceKey) return [x[key.idx], real[key.idx]];
      if (key instanceof DictKey) {
        return real instanceof Map
          ? [x.get(key.key), real.get(key.key)]
          : [x[key.key as string], real[key.key as string]];
      }
      throw new Error(`unexpected key ${String(key)}`);
    };
    fc.assert(
      fc.property(arbTree, fc.nat(), (t, pick) => {
        const paths = allPaths(t);
        const path = paths[pick % paths.length]!;
        const s = select(t).at((root) => path.reduce(follow, [root, t])[0]);
        expect(s.getKeypaths()).toHaveLength(1);
        expect(keyPathEquals(s.getKeypaths()[0]!, path)).toBe(true);
        expect(s.get()).toBe(getAtPath(t, path));
      }),
      { numRuns: 300 },
    );
  });

  it("selected nodes never overlap and come in tree order", () => {
    fc.assert(
      fc.property(arbSelection, ({ tree, selection }) => {
        const ordered = allPaths(tree);
        const index = (p: KeyPath) => ordered.findIndex((q) => keyPathEquals(p, q));
        const positions = selection.getKeypaths().map(index);
        expect(positions.every((x) => x >= 0)).toBe(true);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        const ps = selection.getKeypaths();
        for (let i = 0; i < ps.length; i++) {
          for (let j = 0; j < ps.length; j++) {
            if (i !== j) expect(keyPathEquals(ps[i]!, ps[j]!.slice(0, ps[i]!.length))).toBe(false);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
