import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  NamedArray,
  type NamedArrayBase,
  NamedArrayView,
  NamedShapeMismatchError,
  nx,
  ready,
} from "../src/index.js";
import { expectClose, values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const grid = () =>
  nx.wrap(
    tf.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    "a",
    "b",
  );

describe("nmap semantics", () => {
  it("the function sees only positional axes", () => {
    const shapes: number[][] = [];
    const f = nx.nmap((x: tf.Tensor) => {
      shapes.push([...x.shape]);
      return tf.sum(x);
    });
    const r = f(grid().untag("b")) as NamedArrayBase;
    expect(shapes).toEqual([[3], [3]]);
    expect(r).toBeInstanceOf(NamedArray);
    expect(values(r.unwrap("a"))).toEqual([6, 15]);
  });

  it("outputs carry the union of names, in order of first appearance", () => {
    const f = nx.nmap((x: tf.Tensor, y: tf.Tensor) => tf.mul(x, y));
    const r = f(nx.arange("i", 1, 3), nx.arange("j", 0, 3)) as NamedArrayBase;
    expect(Object.keys(r.namedShape)).toEqual(["i", "j"]);
    expect(values(r.unwrap("i", "j"))).toEqual([
      [0, 1, 2],
      [0, 2, 4],
    ]);
  });

  it("outputs with positional axes are views with names first", () => {
    const f = nx.nmap((x: tf.Tensor) => tf.reverse(x));
    const r = f(grid().untag("b")) as NamedArrayView;
    expect(r).toBeInstanceOf(NamedArrayView);
    expect(r.dataAxisForName).toEqual({ a: 0 });
    expect(r.dataAxisForLogicalAxis).toEqual([1]);
    expect(values(r.untagPrefix("a").unwrap())).toEqual([
      [3, 2, 1],
      [6, 5, 4],
    ]);
  });

  it("non-named arguments and trees are passed through", () => {
    const f = nx.nmap((args: { x: tf.Tensor; scale: number }, label: string) => {
      expect(label).toBe("hello");
      return tf.mul(args.x, args.scale);
    });
    const r = f({ x: nx.arange("i", 0, 3), scale: 10 }, "hello") as NamedArrayBase;
    expect(values(r.unwrap("i"))).toEqual([0, 10, 20]);
  });

  it("tree outputs are mapped leaf by leaf", () => {
    const f = nx.nmap((x: tf.Tensor) => [tf.max(x), tf.min(x)]);
    const [mx, mn] = f(grid().untag("b")) as NamedArrayBase[];
    expect(values(mx!.unwrap("a"))).toEqual([3, 6]);
    expect(values(mn!.unwrap("a"))).toEqual([1, 4]);
  });

  it("without named axes it is a plain call", () => {
    const f = nx.nmap((x: tf.Tensor) => tf.add(x, 1));
    const r = f(nx.wrap([1, 2])) as NamedArrayBase;
    expect(r.positionalShape).toEqual([2]);
    expect(values(r.unwrap())).toEqual([2, 3]);
  });

  it("inconsistent sizes list every argument with its key path", () => {
    const f = nx.nmap((x: tf.Tensor, y: tf.Tensor) => tf.add(x, y));
    expect(() => f(nx.zeros({ a: 2 }), { y: nx.zeros({ a: 3 }) })).toThrow(NamedShapeMismatchError);
    expect(() => f(nx.zeros({ a: 2 }), { y: nx.zeros({ a: 3 }) })).toThrow(
      /Inconsistent named axes in a call to nmap\(anonymous\) for axes \[a\]:\n {2}args\[0\]\.namedShape == \{a: 2\}\n {2}args\[1\]\['y'\]\.namedShape == \{a: 3\}/,
    );
  });

  it("vectorized mode calls the function once with batch axes first", () => {
    let calls = 0;
    const f = nx.nmap(
      (x: tf.Tensor) => {
        calls++;
        return tf.softmax(x);
      },
      { vectorized: true },
    );
    const r = f(grid().untag("b")) as NamedArrayBase;
    expect(calls).toBe(1);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    expectClose(values(r.untagPrefix("a").unwrap()), [e.map((v) => v / z), e.map((v) => v / z)]);
  });

  it("types: nmap returns named arrays for tensor results", () => {
    const f = nx.nmap((x: tf.Tensor) => tf.neg(x));
    expectTypeOf(f).returns.toEqualTypeOf<NamedArrayBase>();
    const g = nx.nmap((x: tf.Tensor) => [x, x]);
    expectTypeOf(g).returns.toEqualTypeOf<NamedArrayBase[]>();
  });
});

const NAMES = ["a", "b", "c"] as const;
const SIZES: Record<string, number> = { a: 2, b: 3, c: 1 };

/** A random named array: a subset of names in random order plus 0-2 positional axes. */
const namedArb = (positional: fc.Arbitrary<number[]>) =>
  fc
    .tuple(
      fc.shuffledSubarray([...NAMES]),
      positional,
      fc.integer({ min: 0, max: 1000 }),
      fc.boolean(),
    )
    .map(([names, pos, seed, asView]) => {
      const shape = [...pos, ...names.map((n) => SIZES[n]!)];
      const size = shape.reduce((x, y) => x * y, 1);
      const data = tf.tensor(
        Array.from({ length: size }, (_, i) => ((i * 7919 + seed) % 23) / 7 - 1),
        shape,
      );
      const x = new NamedArray({
        namedAxes: Object.fromEntries(names.map((n) => [n, SIZES[n]!])),
        dataArray: data,
      });
      // A view with the first name moved in front of the positional axes.
      return asView && names.length > 0
        ? x.untagPrefix(names[0]!).tagPrefix(names[0]!)
        : (x as NamedArrayBase);
    });

describe("nmap fast path equals per-slice application (property)", () => {
  const canonical = (r: NamedArrayBase) => {
    const names = Object.keys(r.namedShape).sort();
    return r
      .untagPrefix(...names)
      .unwrap()
      .arraySync();
  };

  it("elementwise functions of two arrays with broadcasting positional axes", () => {
    const fn = (x: tf.Tensor, y: tf.Tensor) => tf.add(tf.mul(x, y), tf.exp(y));
    fc.assert(
      fc.property(
        namedArb(fc.constantFrom([], [4], [2, 4])),
        namedArb(fc.constantFrom([], [4], [1, 4])),
        (x, y) => {
          tf.tidy(() => {
            const slow = nx.nmap(fn)(x, y) as NamedArrayBase;
            const fast = nx.nmap(fn, { vectorized: true })(x, y) as NamedArrayBase;
            expect(fast.namedShape).toEqual(slow.namedShape);
            expect(fast.positionalShape).toEqual(slow.positionalShape);
            expectClose(canonical(fast), canonical(slow));
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("reductions and softmax over negative positional axes", () => {
    const fns = [
      (x: tf.Tensor) => tf.sum(x, -1),
      (x: tf.Tensor) => tf.softmax(x),
      (x: tf.Tensor) => tf.max(x, -1, true),
    ];
    fc.assert(
      fc.property(namedArb(fc.constantFrom([4], [2, 4])), fc.constantFrom(0, 1, 2), (x, which) => {
        tf.tidy(() => {
          const fn = fns[which]!;
          const slow = nx.nmap(fn)(x) as NamedArrayBase;
          const fast = nx.nmap(fn, { vectorized: true })(x) as NamedArrayBase;
          expect(fast.namedShape).toEqual(slow.namedShape);
          expectClose(canonical(fast), canonical(slow));
        });
      }),
      { numRuns: 40 },
    );
  });

  it("the methods (fast path) agree with nmap per slice", () => {
    fc.assert(
      fc.property(
        namedArb(fc.constantFrom([], [4])),
        namedArb(fc.constantFrom([], [4])),
        (x, y) => {
          tf.tidy(() => {
            const slow = nx.nmap((a: tf.Tensor, b: tf.Tensor) => tf.sub(a, b))(
              x,
              y,
            ) as NamedArrayBase;
            const fast = x.sub(y);
            expect(new Set(Object.keys(fast.namedShape))).toEqual(
              new Set(Object.keys(slow.namedShape)),
            );
            expectClose(canonical(fast), canonical(slow));
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
