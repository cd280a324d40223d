import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  AxisNameError,
  NamedArray,
  type NamedArrayBase,
  type NamedOperand,
  NamedShapeMismatchError,
  nx,
  PositionalAxesError,
  ready,
} from "../src/index.js";
import { expectClose, kernelsOf, values } from "./helpers.js";

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

describe("elementwise", () => {
  it("a smaller operand missing leading axes meets the larger one without a reshape", () => {
    const x = nx.wrap(tf.ones([4, 3]), "batch", "hidden");
    const bias = nx.wrap(tf.tensor([1, 2, 3]), "hidden");
    expect(kernelsOf(() => x.add(bias).dataArray)).toEqual({ Add: 1 });
    expect(kernelsOf(() => bias.add(x).dataArray)).toEqual({ Add: 1 });
    expect(values(x.add(bias).orderAs("batch", "hidden").dataArray)).toEqual(
      Array.from({ length: 4 }, () => [2, 3, 4]),
    );
  });

  it("add matches names and broadcasts missing ones", () => {
    const y = grid().add(nx.arange("c", 0, 2));
    expect(y.namedShape).toEqual({ a: 2, b: 3, c: 2 });
    expect(values(y.unwrap("c", "a", "b"))).toEqual([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [2, 3, 4],
        [5, 6, 7],
      ],
    ]);
  });

  it("operands in a different storage order are aligned by name", () => {
    const x = grid();
    const y = x.sub(x.orderAs("b", "a"));
    expect(values(y.unwrap("a", "b"))).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it("positional axes broadcast with NumPy rules", () => {
    const x = nx.wrap(tf.tensor([[1], [2]])); // [2, 1]
    const y = x.mul(nx.wrap(tf.tensor([10, 20, 30]))); // [3]
    expect(values(y.unwrap())).toEqual([
      [10, 20, 30],
      [20, 40, 60],
    ]);
  });

  it("mixes positional and named axes", () => {
    const x = grid().untag("b"); // positional [3], named {a}
    const y = x.add(nx.wrap(tf.tensor([100, 200, 300])));
    expect(values(y.untagPrefix("a").unwrap())).toEqual([
      [101, 202, 303],
      [104, 205, 306],
    ]);
  });

  it("scalars are weakly typed", () => {
    const i = nx.arange("i", 0, 3);
    expect(i.add(2).dtype).toBe("int32");
    expect(values(i.add(2).unwrap("i"))).toEqual([2, 3, 4]);
    expect(i.mul(0.5).dtype).toBe("float32");
    expect(values(i.mul(0.5).unwrap("i"))).toEqual([0, 0.5, 1]);
  });

  it("integers outside the int32 range are floats (the attention mask value)", () => {
    const m = nx.where(nx.arange("i", 0, 2).lt(1), 0, -2.3819763e38);
    expect(m.dtype).toBe("float32");
    expect(values(m.unwrap("i"))).toEqual([0, Math.fround(-2.3819763e38)]);
    expect(nx.full({ a: 1 }, 1e10).dtype).toBe("float32");
    expect(nx.isInt32(2 ** 31)).toBe(false);
    expect(nx.isInt32(-(2 ** 31))).toBe(true);
  });

  it("div is true division, pow, neg, maximum and minimum", () => {
    const i = nx.arange("i", 1, 4);
    expectClose(values(i.div(2).unwrap("i")), [0.5, 1, 1.5]);
    expect(values(i.pow(2).unwrap("i"))).toEqual([1, 4, 9]);
    expect(values(i.neg().unwrap("i"))).toEqual([-1, -2, -3]);
    expect(values(i.maximum(2).unwrap("i"))).toEqual([2, 2, 3]);
    expect(values(i.minimum(2).unwrap("i"))).toEqual([1, 2, 2]);
    expectClose(values(nx.wrap([1, 4], "i").sqrt().unwrap("i")), [1, 2]);
    expectClose(values(nx.wrap([0, 1], "i").exp().log().unwrap("i")), [0, 1]);
    expect(values(nx.wrap([-2, 3], "i").abs().unwrap("i"))).toEqual([2, 3]);
  });

  it("comparisons return bool NamedArrays", () => {
    const i = nx.arange("i", 0, 4);
    expect(i.eq(2).dtype).toBe("bool");
    expect(values(i.eq(2).unwrap("i"))).toEqual([0, 0, 1, 0].map(Boolean).map(Number));
    expect(values(i.ne(2).unwrap("i"))).toEqual([1, 1, 0, 1]);
    expect(values(i.lt(2).unwrap("i"))).toEqual([1, 1, 0, 0]);
    expect(values(i.le(2).unwrap("i"))).toEqual([1, 1, 1, 0]);
    expect(values(i.gt(2).unwrap("i"))).toEqual([0, 0, 0, 1]);
    expect(values(i.ge(2).unwrap("i"))).toEqual([0, 0, 1, 1]);
  });

  it("a causal mask from two aranges", () => {
    const m = nx.arange("q", 0, 3).ge(nx.arange("k", 0, 3));
    expect(values(m.unwrap("q", "k"))).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
  });

  it("logical ops", () => {
    const i = nx.arange("i", 0, 4);
    const a = i.lt(2);
    const b = i.gt(0);
    expect(values(a.and(b).unwrap("i"))).toEqual([0, 1, 0, 0]);
    expect(values(a.or(b).unwrap("i"))).toEqual([1, 1, 1, 1]);
    expect(values(a.not().unwrap("i"))).toEqual([0, 0, 1, 1]);
  });

  it("inconsistent sizes name every argument", () => {
    expect(() => nx.zeros({ a: 2 }).add(nx.zeros({ a: 3 }))).toThrow(NamedShapeMismatchError);
    expect(() => nx.zeros({ a: 2, b: 1 }).add(nx.zeros({ a: 3 }))).toThrow(
      /axes \[a\]:\n {2}args\[0\].namedShape == \{a: 2, b: 1\}\n {2}args\[1\].namedShape == \{a: 3\}/,
    );
  });

  it("astype keeps the layout", () => {
    const x = grid().untag("b").astype("int32");
    expect(x.dtype).toBe("int32");
    expect(x.positionalShape).toEqual([3]);
  });

  it("where broadcasts condition and values", () => {
    const r = nx.where(nx.arange("i", 0, 3).lt(1), nx.full({ j: 2 }, 7), 0);
    expect(values(r.unwrap("i", "j"))).toEqual([
      [7, 7],
      [0, 0],
      [0, 0],
    ]);
  });
});

describe("reductions", () => {
  it("sum, mean, max, min over names", () => {
    expect(values(grid().sum("b").unwrap("a"))).toEqual([6, 15]);
    expect(values(grid().mean("a").unwrap("b"))).toEqual([2.5, 3.5, 4.5]);
    expect(values(grid().max(["a", "b"]).unwrap())).toBe(6);
    expect(values(grid().min("b").unwrap("a"))).toEqual([1, 4]);
  });

  it("positional axes by number, negative allowed", () => {
    const x = nx.wrap(
      tf.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
    expect(values(x.sum(0).unwrap())).toEqual([5, 7, 9]);
    expect(values(x.sum(-1).unwrap())).toEqual([6, 15]);
    expect(values(x.sum().unwrap())).toBe(21);
  });

  it("with no axes, a fully named array is unchanged", () => {
    const x = grid();
    expect(x.sum()).toBe(x);
  });

  it("mixed positional and named axes on a view", () => {
    const v = grid().untag("b");
    expect(values(v.sum([0, "a"]).unwrap())).toBe(21);
    expect(values(v.max(0).unwrap("a"))).toEqual([3, 6]);
  });

  it("bad axes", () => {
    expect(() => grid().sum("c")).toThrow(AxisNameError);
    expect(() => grid().sum(0)).toThrow(PositionalAxesError);
    expect(() => grid().sum(["a", "a"])).toThrow(/listed twice/);
  });

  it("integer means are float", () => {
    expect(nx.arange("i", 0, 4).mean("i").dtype).toBe("float32");
    expect(values(nx.arange("i", 0, 4).mean("i").unwrap())).toBe(1.5);
  });
});

describe("dot", () => {
  it("contracts a named axis with a 2-D matMul", () => {
    const w = nx.wrap(
      tf.tensor([
        [1, 0],
        [0, 1],
        [1, 1],
      ]),
      "b",
      "d",
    );
    const y = nx.dot(grid(), w, { contract: ["b"] });
    expect(y).toBeInstanceOf(NamedArray);
    expect(y.namedShape).toEqual({ a: 2, d: 2 });
    expect(values(y.unwrap("a", "d"))).toEqual([
      [4, 5],
      [10, 11],
    ]);
  });

  it("shared uncontracted names are batch axes", () => {
    // x[h, i, k], y[h, k, j]: per-h matrix products.
    const x = nx.wrap(tf.tensor([[[1, 2]], [[3, 4]]]), "h", "i", "k");
    const y = nx.wrap(
      tf.tensor([
        [[1], [1]],
        [[2], [0]],
      ]),
      "h",
      "k",
      "j",
    );
    const r = nx.dot(x, y, { contract: ["k"] });
    expect(Object.keys(r.namedShape)).toEqual(["h", "i", "j"]);
    expect(values(r.unwrap("h", "i", "j"))).toEqual([[[3]], [[6]]]);
  });

  it("gives the same result on the cpu backend (batched lowering) as on wasm (2-D loop)", async () => {
    const x = nx.wrap(
      tf.tensor(
        Array.from({ length: 2 * 3 * 40 * 50 }, (_, i) => (i % 7) - 3),
        [2, 3, 40, 50],
      ),
      "b",
      "h",
      "s",
      "d",
    );
    const y = nx.wrap(
      tf.tensor(
        Array.from({ length: 2 * 3 * 50 * 30 }, (_, i) => (i % 5) - 2),
        [2, 3, 50, 30],
      ),
      "b",
      "h",
      "d",
      "t",
    );
    const onWasm = nx
      .dot(x, y, { contract: ["d"] })
      .unwrap("b", "h", "s", "t")
      .arraySync();
    await ready({ backends: ["cpu"] });
    try {
      const xc = nx.wrap(tf.tensor(x.dataArray.arraySync() as number[]), "b", "h", "s", "d");
      const yc = nx.wrap(tf.tensor(y.dataArray.arraySync() as number[]), "b", "h", "d", "t");
      expect(
        nx
          .dot(xc, yc, { contract: ["d"] })
          .unwrap("b", "h", "s", "t")
          .arraySync(),
      ).toEqual(onWasm);
    } finally {
      await ready();
    }
  });

  it("operands created under another backend are moved before the wasm fast paths read them", async () => {
    await ready({ backends: ["cpu"] });
    const x = nx.wrap(tf.ones([20, 30, 40]), "b", "m", "k");
    const y = nx.wrap(tf.ones([20, 40, 30]), "b", "k", "n");
    const mask = nx.arange("m", 0, 30).lt(15);
    await ready();
    const r = nx.dot(x, y, { contract: ["k"] });
    expect(values(r.sum(["b", "m", "n"]).unwrap())).toBe(20 * 30 * 30 * 40);
    const w = nx.where(mask, r, -1);
    expect(values(w.index({ b: 0, n: 0 }).unwrap("m"))).toEqual([
      ...new Array(15).fill(40),
      ...new Array(15).fill(-1),
    ]);
  });

  it("full contraction gives a scalar; int inputs stay int", () => {
    const r = nx.dot(nx.arange("i", 0, 4), nx.arange("i", 0, 4), { contract: ["i"] });
    expect(r.dtype).toBe("int32");
    expect(values(r.unwrap())).toBe(14);
  });

  it("errors", () => {
    expect(() => nx.dot(grid(), nx.zeros({ c: 2 }), { contract: ["b"] })).toThrow(
      /not present in operand b/,
    );
    expect(() => nx.dot(grid().untag("a"), grid(), { contract: ["b"] })).toThrow(
      PositionalAxesError,
    );
    expect(() => nx.dot(grid(), nx.zeros({ b: 4 }), { contract: ["b"] })).toThrow(
      NamedShapeMismatchError,
    );
  });
});

describe("softmax and logsumexp", () => {
  it("softmax over a named axis", () => {
    const s = nx.softmax(grid(), "b");
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    expectClose(values(s.unwrap("a", "b")), [e.map((v) => v / z), e.map((v) => v / z)]);
  });

  it("softmax over the first axis and over two axes", () => {
    const s = nx.softmax(grid(), "a");
    const p = 1 / (1 + Math.exp(3));
    expectClose(values(s.unwrap("a", "b")), [
      [p, p, p],
      [1 - p, 1 - p, 1 - p],
    ]);
    const all = nx.softmax(grid(), ["a", "b"]);
    expectClose(values(all.sum(["a", "b"]).unwrap()), 1);
  });

  it("logSoftmax and logsumexp", () => {
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expectClose(values(nx.logsumexp(grid(), "b").unwrap("a")), [lse, lse + 3]);
    expectClose(values(nx.logSoftmax(grid(), "b").unwrap("a", "b")), [
      [1 - lse, 2 - lse, 3 - lse],
      [1 - lse, 2 - lse, 3 - lse],
    ]);
  });

  it("logsumexp of all -Infinity is -Infinity", () => {
    const x = nx.wrap([-Infinity, -Infinity], "i");
    expect(values(nx.logsumexp(x, "i").unwrap())).toBe(-Infinity);
  });
});

describe("public types of the ops", () => {
  it("dot returns a NamedArray, softmax and reductions a NamedArrayBase", () => {
    expectTypeOf(nx.dot).returns.toEqualTypeOf<NamedArray>();
    expectTypeOf(nx.softmax).returns.toEqualTypeOf<NamedArrayBase>();
    expectTypeOf(nx.where).returns.toEqualTypeOf<NamedArray>();
    expectTypeOf(grid().sum).returns.toEqualTypeOf<NamedArrayBase>();
    expectTypeOf(grid().add).parameter(0).toEqualTypeOf<NamedOperand>();
    expectTypeOf<NamedOperand>().toEqualTypeOf<NamedArrayBase | tf.Tensor | number | boolean>();
  });
});
