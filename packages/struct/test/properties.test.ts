import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  field,
  flatten,
  flattenUpTo,
  flattenWithPath,
  getAtPath,
  keyPathEquals,
  keystr,
  leaves,
  map,
  mapWithPath,
  Struct,
  structure,
  unflatten,
} from "../src/index.js";

class Pair extends Struct.define({ a: field<unknown>(), b: field<unknown>() }) {}
class Triple extends Pair.define({ c: field<unknown>() }) {}
class Tagged extends Struct.define({
  value: field<unknown>(),
  tag: field<string>({ static: true }),
}) {}
class Opaque {
  constructor(readonly id: number) {}
}

let tensors: tf.Tensor[] = [];
let baseline = 0;

beforeAll(async () => {
  await tf.setBackend("cpu");
  baseline = tf.memory().numTensors;
  tensors = [tf.tensor([1, 2, 3]), tf.zeros([2, 2]), tf.scalar(5)];
});

afterAll(() => {
  for (const t of tensors) t.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

const KEYS = ["a", "b", "z", "10", "2", "__proto__", "constructor", "prototype", ""];

const leafArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(() => 0),
  fc.integer({ min: 0, max: 3 }).map((n) => new Float32Array(n).fill(n)),
  fc.nat(5).map((id) => new Opaque(id)),
  fc.nat(2).map((i) => tensors[i]!),
);

function plainObject(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

const { tree: treeArb } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafArb, tie("node")),
  node: fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie("tree"), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie("tree")), {
        maxLength: 4,
        selector: (e) => e[0],
      })
      .map(plainObject),
    fc
      .uniqueArray(
        fc.tuple(fc.oneof(fc.constantFrom("k", "j"), fc.integer({ min: 0, max: 3 })), tie("tree")),
        {
          maxLength: 3,
          selector: (e) => e[0],
        },
      )
      .map((entries) => new Map<unknown, unknown>(entries)),
    fc.tuple(tie("tree"), tie("tree")).map(([a, b]) => new Pair({ a, b })),
    fc.tuple(tie("tree"), tie("tree"), tie("tree")).map(([a, b, c]) => new Triple({ a, b, c })),
    fc
      .tuple(tie("tree"), fc.constantFrom("x", "y"))
      .map(([value, tag]) => new Tagged({ value, tag })),
  ),
}));

/** Independent deep comparison: same node kinds, keys, static fields and identical leaves. */
function sameTree(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return a === b;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameTree(x, b[i]));
  if (typeof a !== "object") return Object.is(a, b);
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.getPrototypeOf(b)) return false;
  if (proto === Object.prototype) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b as object).sort();
    return (
      ka.length === kb.length &&
      ka.every(
        (k, i) =>
          k === kb[i] &&
          sameTree(
            Object.getOwnPropertyDescriptor(a, k)!.value,
            Object.getOwnPropertyDescriptor(b, k)!.value,
          ),
      )
    );
  }
  if (a instanceof Map) {
    const ea = [...a];
    const eb = [...(b as Map<unknown, unknown>)];
    return (
      ea.length === eb.length &&
      ea.every(([k, v], i) => Object.is(k, eb[i]![0]) && sameTree(v, eb[i]![1]))
    );
  }
  if (a instanceof Struct) {
    const da = a.attributesDict() as Record<string, unknown>;
    const db = (b as Struct).attributesDict() as Record<string, unknown>;
    return Object.keys(da).every((k) => sameTree(da[k], db[k])) && Object.isFrozen(b);
  }
  return a === b;
}

const runs = { numRuns: 300 };

describe("tree laws (fast-check)", () => {
  it("unflatten(flatten(t)) equals t", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const [ls, def] = flatten(t);
        expect(sameTree(unflatten(def, ls), t)).toBe(true);
        expect(def.numLeaves).toBe(ls.length);
      }),
      runs,
    );
  });

  it("flatten and flattenWithPath give the same leaves in the same order", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const [pairs, defWithPath] = flattenWithPath(t);
        const [ls, def] = flatten(t);
        expect(pairs.length).toBe(ls.length);
        for (let i = 0; i < ls.length; i++) expect(Object.is(pairs[i]![1], ls[i])).toBe(true);
        expect(defWithPath.equals(def)).toBe(true);
        expect(defWithPath.toString()).toBe(def.toString());
      }),
      runs,
    );
  });

  it("following each key path from the root reaches its leaf", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        for (const [path, leaf] of flattenWithPath(t)[0])
          expect(Object.is(getAtPath(t, path), leaf)).toBe(true);
      }),
      runs,
    );
  });

  it("key paths of distinct leaves are distinct", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const paths = flattenWithPath(t)[0].map(([p]) => p);
        for (let i = 0; i < paths.length; i++) {
          for (let j = i + 1; j < paths.length; j++)
            expect(keyPathEquals(paths[i]!, paths[j]!)).toBe(false);
        }
        expect(new Set(paths.map(keystr)).size).toBe(paths.length);
      }),
      { numRuns: 100 },
    );
  });

  it("map identity law: map(x => x, t) equals t, with an equal structure", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const mapped = map((x: unknown) => x, t);
        expect(sameTree(mapped, t)).toBe(true);
        expect(structure(mapped).equals(structure(t))).toBe(true);
      }),
      runs,
    );
  });

  it("map composition law: map(f, map(g, t)) equals map(x => f(g(x)), t)", () => {
    // f and g map leaves to leaves (strings), as the law requires.
    const g = (x: unknown) => `${typeof x}:${x instanceof Opaque ? x.id : ""}`;
    const f = (s: unknown) => `${s}!`;
    fc.assert(
      fc.property(treeArb, (t) => {
        expect(
          sameTree(
            map(f, map(g, t)),
            map((x: unknown) => f(g(x)), t),
          ),
        ).toBe(true);
      }),
      runs,
    );
  });

  it("mapWithPath sees the paths of flattenWithPath, and a tree maps against itself", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const seen: string[] = [];
        mapWithPath(
          (p: readonly unknown[], a: unknown, b: unknown) => {
            seen.push(keystr(p as never));
            expect(Object.is(a, b)).toBe(true);
          },
          t,
          t,
        );
        expect(seen).toEqual(flattenWithPath(t)[0].map(([p]) => keystr(p)));
      }),
      runs,
    );
  });

  it("flattenUpTo(structure(t), t) gives the leaves of t", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const ls = leaves(t);
        const upTo = flattenUpTo(structure(t), t);
        expect(upTo.length).toBe(ls.length);
        for (let i = 0; i < ls.length; i++) expect(Object.is(upTo[i], ls[i])).toBe(true);
      }),
      runs,
    );
  });

  it("the structure's string is stable under unflatten", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const def = structure(t);
        const again = structure(def.unflatten(leaves(t)));
        expect(again.toString()).toBe(def.toString());
        expect(again.equals(def)).toBe(true);
      }),
      runs,
    );
  });
});
