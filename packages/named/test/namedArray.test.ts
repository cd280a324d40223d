import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  AxisNameError,
  InvalidNamedArrayError,
  NamedArray,
  type NamedArrayBase,
  NamedArrayView,
  type NamedShape,
  NamedShapeMismatchError,
  nx,
  PositionalAxesError,
  ready,
} from "../src/index.js";
import { values } from "./helpers.js";

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

describe("NamedArray layout", () => {
  it("wrap without names keeps positional axes", () => {
    const x = nx.wrap(tf.zeros([2, 3]));
    expect(x.positionalShape).toEqual([2, 3]);
    expect(x.namedShape).toEqual({});
    expect(x.dtype).toBe("float32");
  });

  it("wrap with names tags every axis in data order", () => {
    const x = grid();
    expect(x).toBeInstanceOf(NamedArray);
    expect(x.namedShape).toEqual({ a: 2, b: 3 });
    expect(Object.keys(x.namedShape)).toEqual(["a", "b"]);
    expect(x.positionalShape).toEqual([]);
  });

  it("wrap accepts nested arrays", () => {
    expect(values(nx.wrap([1, 2, 3], "i").unwrap("i"))).toEqual([1, 2, 3]);
  });

  it("namedShape is in storage order, positional axes are a prefix", () => {
    const x = new NamedArray({ namedAxes: { z: 4, y: 3 }, dataArray: tf.zeros([2, 4, 3]) });
    expect(Object.keys(x.namedShape)).toEqual(["z", "y"]);
    expect(x.positionalShape).toEqual([2]);
  });

  it("isNamedArray recognises both classes only", () => {
    expect(nx.isNamedArray(grid())).toBe(true);
    expect(nx.isNamedArray(grid().untag("a"))).toBe(true);
    expect(nx.isNamedArray(tf.zeros([1]))).toBe(false);
    expect(nx.isNamedArray({ dataArray: tf.zeros([1]) })).toBe(false);
  });
});

describe("tag and untag", () => {
  it("untag returns a view over the same data", () => {
    const x = grid();
    const v = x.untag("b");
    expect(v).toBeInstanceOf(NamedArrayView);
    expect(v.dataArray).toBe(x.dataArray);
    expect(v.positionalShape).toEqual([3]);
    expect(v.namedShape).toEqual({ a: 2 });
    expect((v as NamedArrayView).dataAxisForLogicalAxis).toEqual([1]);
    expect((v as NamedArrayView).dataAxisForName).toEqual({ a: 0 });
  });

  it("untag with all names then unwrap transposes to the requested order", () => {
    expect(values(grid().untag("b", "a").unwrap())).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it("unwrap with names equals untag then unwrap", () => {
    expect(values(grid().unwrap("b", "a"))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(values(grid().unwrap("a", "b"))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it("unwrap of a NamedArray without names returns dataArray itself", () => {
    const t = tf.zeros([2]);
    expect(nx.wrap(t).unwrap()).toBe(t);
  });

  it("tag on a view names the positional axes without moving data", () => {
    const x = grid().untag("b").tag("c");
    expect(x).toBeInstanceOf(NamedArray);
    expect(x.namedShape).toEqual({ a: 2, c: 3 });
    expect(values(x.unwrap("c", "a"))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it("untag() with no names gives withPositionalPrefix", () => {
    const x = grid();
    expect(x.untag()).toBe(x);
  });

  it("tag() on a fully named array returns an equal NamedArray", () => {
    const x = grid();
    expect(x.tag().equals(x)).toBe(true);
  });

  it("tagPrefix names leading positional axes only", () => {
    const x = nx.wrap(tf.zeros([2, 3, 4])).tagPrefix("a");
    expect(x.positionalShape).toEqual([3, 4]);
    expect(x.namedShape).toEqual({ a: 2 });
  });

  it("untagPrefix puts the names before existing positional axes", () => {
    const x = nx.wrap(tf.tensor([[[1, 2]], [[3, 4]], [[5, 6]]])).tagPrefix("a"); // a:3, positional [1, 2]
    const y = x.untagPrefix("a");
    expect(y.positionalShape).toEqual([3, 1, 2]);
    expect(values(y.unwrap())).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
  });

  it("tagPrefix then untagPrefix round-trips", () => {
    const t = tf.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(values(nx.wrap(t).tagPrefix("r").untagPrefix("r").unwrap())).toEqual(values(t));
  });
});

describe("errors follow penzai", () => {
  it("untag on an array with positional axes", () => {
    expect(() => nx.wrap(tf.zeros([2, 3])).untag("a")).toThrow(PositionalAxesError);
    expect(() => nx.wrap(tf.zeros([2, 3])).untag("a")).toThrow(/already has positional axes/);
  });

  it("untag with repeats or unknown names", () => {
    expect(() => grid().untag("a", "a")).toThrow(/repeats/i);
    expect(() => grid().untag("bad")).toThrow(AxisNameError);
    expect(() => grid().untag("bad")).toThrow(/\{bad\} are not present/);
  });

  it("tag with the wrong count", () => {
    expect(() => nx.wrap(tf.zeros([2, 3])).tag("a")).toThrow(
      /exactly as many names given to `tag` as there are positional axes.*\[a\] for positional shape \[2, 3\]/,
    );
  });

  it("tag with an integer-like or repeated name", () => {
    expect(() => nx.wrap(tf.zeros([2])).tag("0")).toThrow(/Integers are not allowed as axis names/);
    expect(() => nx.wrap(tf.zeros([2])).tag(1 as unknown as string)).toThrow(AxisNameError);
    expect(() => nx.wrap(tf.zeros([2, 2])).tag("a", "a")).toThrow(
      /Repeated axis names.*repeated: \[a\]/,
    );
    expect(() => grid().untag("a").tag("b")).toThrow(/Repeated axis names/);
  });

  it("unwrap needs names for a named array and refuses them with positional axes", () => {
    expect(() => grid().unwrap()).toThrow(/nonempty named shape.*\{a: 2, b: 3\}/);
    expect(() => grid().untag("a").unwrap("b")).toThrow(PositionalAxesError);
    expect(() => grid().unwrap("a")).toThrow(/Unassigned names: \{b\}/);
  });

  it("checkValid rejects a shape that is not a suffix", () => {
    const bad = new NamedArray({ namedAxes: { a: 3 }, dataArray: tf.zeros([2]) });
    expect(() => bad.checkValid()).toThrow(InvalidNamedArrayError);
    expect(() => bad.checkValid()).toThrow(/\[3\] was not a suffix of \[2\]/);
    expect(() => bad.positionalShape).toThrow(InvalidNamedArrayError);
  });

  it("checkValid rejects a non-tensor and bad sizes", () => {
    expect(() =>
      new NamedArray({ namedAxes: {}, dataArray: [1] as unknown as tf.Tensor }).checkValid(),
    ).toThrow(/must contain a tf.Tensor/);
    expect(() =>
      new NamedArray({ namedAxes: { a: -1 }, dataArray: tf.zeros([1]) }).checkValid(),
    ).toThrow(/has size -1/);
  });

  it("checkValid on a view detects reshaped data and reused axes", () => {
    const v = new NamedArrayView({
      dataShape: [2, 3],
      dataAxisForLogicalAxis: [0],
      dataAxisForName: { a: 0 },
      dataArray: tf.zeros([2, 3]),
    });
    expect(() => v.checkValid()).toThrow(/must appear exactly once/);
    const w = new NamedArrayView({
      dataShape: [2, 3],
      dataAxisForLogicalAxis: [0],
      dataAxisForName: { a: 1 },
      dataArray: tf.zeros([3, 2]),
    });
    expect(() => w.checkValid()).toThrow(
      /Modifying the shape of the data array of a NamedArrayView directly is not allowed/,
    );
  });
});

describe("ordering", () => {
  it("orderAs transposes the data", () => {
    const y = grid().orderAs("b", "a");
    expect(y.dataArray.shape).toEqual([3, 2]);
    expect(Object.keys(y.namedShape)).toEqual(["b", "a"]);
    expect(values(y.unwrap("a", "b"))).toEqual(values(grid().unwrap("a", "b")));
  });

  it("orderAs needs a permutation", () => {
    expect(() => grid().orderAs("a")).toThrow(/missing: \[b\]/);
    expect(() => grid().orderAs("a", "b", "c")).toThrow(/not present: \[c\]/);
  });

  it("withPositionalPrefix moves positional axes first", () => {
    const v = grid().untag("b");
    const p = v.withPositionalPrefix();
    expect(p).toBeInstanceOf(NamedArray);
    expect(p.dataArray.shape).toEqual([3, 2]);
    expect(values(p.dataArray)).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it("asNamedArrayView keeps the data and describes the layout", () => {
    const x = nx
      .wrap(tf.zeros([5, 2, 3]))
      .tagPrefix("q")
      .untagPrefix("q")
      .asNamedArrayView();
    expect(x.dataAxisForLogicalAxis).toEqual([0, 1, 2]);
    const g = grid();
    const y = g.asNamedArrayView();
    expect(y.dataAxisForName).toEqual({ a: 0, b: 1 });
    expect(y.dataArray).toBe(g.dataArray);
    expect(y.asNamedArrayView()).toBe(y);
  });

  it("orderLike a NamedArray matches its name order", () => {
    const other = nx.zeros({ b: 3, a: 2 });
    const y = grid().orderLike(other);
    expect(Object.keys(y.namedShape)).toEqual(["b", "a"]);
  });

  it("orderLike a view copies its layout", () => {
    const ref = grid().untag("b");
    const x = grid().orderAs("b", "a").untag("b");
    const y = x.orderLike(ref);
    expect(y).toBeInstanceOf(NamedArrayView);
    expect((y as NamedArrayView).dataAxisForLogicalAxis).toEqual([1]);
    expect(values(y.dataArray)).toEqual(values(grid().dataArray));
  });

  it("orderLike errors on different axes", () => {
    expect(() => grid().untag("a").orderLike(grid().untag("a", "b"))).toThrow(
      /same number of positional axes/,
    );
    expect(() =>
      grid()
        .untag("a")
        .orderLike(nx.zeros({ a: 2, c: 3 }).untag("a")),
    ).toThrow(/same axis names/);
    expect(() => grid().orderLike(tf.zeros([1]) as unknown as NamedArrayBase)).toThrow(TypeError);
  });
});

describe("broadcasting", () => {
  it("broadcastTo expands positional axes and adds names", () => {
    const x = nx.wrap(tf.tensor([1, 2])).broadcastTo([3, 2], { b: 2 });
    expect(x.positionalShape).toEqual([3, 2]);
    expect(x.namedShape).toEqual({ b: 2 });
    expect(values(x.untagPrefix("b").unwrap())).toEqual([
      [
        [1, 2],
        [1, 2],
        [1, 2],
      ],
      [
        [1, 2],
        [1, 2],
        [1, 2],
      ],
    ]);
  });

  it("broadcastTo returns the same array when nothing changes", () => {
    const x = grid();
    expect(x.broadcastTo([], { a: 2, b: 3 })).toBe(x);
  });

  it("broadcastTo keeps names that are not requested and refuses to resize names", () => {
    expect(grid().broadcastTo([4]).namedShape).toEqual({ a: 2, b: 3 });
    expect(() => nx.zeros({ a: 1 }).broadcastTo([], { a: 3 })).toThrow(NamedShapeMismatchError);
    expect(() => nx.wrap(tf.zeros([2])).broadcastTo([3])).toThrow(
      /cannot broadcast positional shape \[2\] to \[3\]/,
    );
  });

  it("broadcastLike uses the other array's shapes", () => {
    const x = nx.wrap(tf.scalar(5)).broadcastLike(grid().untag("a"));
    expect(x.positionalShape).toEqual([2]);
    expect(x.namedShape).toEqual({ b: 3 });
    expect(nx.wrap(tf.scalar(1)).broadcastLike(tf.zeros([2, 2])).positionalShape).toEqual([2, 2]);
  });
});

describe("public types", () => {
  it("shapes and dtypes are typed", () => {
    const x = grid();
    expectTypeOf(x.namedShape).toEqualTypeOf<NamedShape>();
    expectTypeOf(x.positionalShape).toEqualTypeOf<readonly number[]>();
    expectTypeOf(x.dtype).toEqualTypeOf<tf.DataType>();
    expectTypeOf(x.untag("a")).toEqualTypeOf<NamedArrayBase>();
    expectTypeOf(x.tag()).toEqualTypeOf<NamedArray>();
    expectTypeOf(x.unwrap("a", "b")).toEqualTypeOf<tf.Tensor>();
    expectTypeOf(nx.wrap).parameter(0).toEqualTypeOf<tf.Tensor | tf.TensorLike>();
  });
});

describe("round trips (property)", () => {
  const NAMES = ["p", "q", "r"];
  const arb = fc
    .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.nat(50))
    .map(([shape, seed]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = tf.tensor(
        Array.from({ length: size }, (_, i) => (i * 13 + seed) % 17),
        shape,
      );
      return nx.wrap(data, ...NAMES.slice(0, shape.length));
    });

  it("untag(...perm).tag(...perm) keeps every value at its names", () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 5 }), (x, k) => {
        tf.tidy(() => {
          const names = Object.keys(x.namedShape);
          const perm = [...names.slice(k % names.length), ...names.slice(0, k % names.length)];
          const y = x.untag(...perm).tag(...perm);
          expect(y.namedShape).toEqual(x.namedShape);
          expect(values(y.unwrap(...names))).toEqual(values(x.unwrap(...names)));
        });
      }),
      { numRuns: 40 },
    );
  });

  it("untagPrefix then tagPrefix restores the named shape and values", () => {
    fc.assert(
      fc.property(arb, (x) => {
        tf.tidy(() => {
          const names = Object.keys(x.namedShape);
          const first = names[0]!;
          const y = x.untagPrefix(first).tagPrefix(first);
          expect(y.positionalShape).toEqual([]);
          expect(values(y.unwrap(...names))).toEqual(values(x.unwrap(...names)));
        });
      }),
      { numRuns: 40 },
    );
  });

  it("orderAs(...reversed).orderLike(x) equals x structurally", () => {
    fc.assert(
      fc.property(arb, (x) => {
        tf.tidy(() => {
          const names = Object.keys(x.namedShape);
          const y = x.orderAs(...[...names].reverse()).orderLike(x);
          expect(Object.keys(y.namedShape)).toEqual(names);
          expect(values(y.dataArray)).toEqual(values(x.dataArray));
        });
      }),
      { numRuns: 40 },
    );
  });
});
