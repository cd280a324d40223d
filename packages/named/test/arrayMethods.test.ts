/**
 * penzai's wrapped array methods (act on positional axes, vectorized over named axes) and the
 * Python operators, with hand-computed values.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type NamedArrayBase,
  NamedDtypeError,
  nx,
  PositionalAxesError,
  ready,
} from "../src/index.js";
import { expectClose } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const int = (values: tf.TensorLike, shape?: number[]) => tf.tensor(values, shape, "int32");
/** Positional [2, 3]: [[3, 1, 2], [6, 5, 4]]. */
const m = () =>
  nx.wrap(
    int([
      [3, 1, 2],
      [6, 5, 4],
    ]),
  );
/** Named k: 2 and positional [3]: k=0 → [3, 1, 2], k=1 → [6, 5, 4]. */
const batched = () =>
  nx
    .wrap(
      int([
        [3, 1, 2],
        [6, 5, 4],
      ]),
    )
    .tagPrefix("k");
/** Values by named position: k-major, then the positional axes. */
const byK = (x: NamedArrayBase) => x.untagPrefix("k").unwrap().arraySync();
const values = (x: NamedArrayBase) => x.unwrap().arraySync();

describe("reductions", () => {
  it("sum, prod, mean, max, min, ptp, all, any over positional axes", () => {
    expect(values(m().sum())).toBe(21);
    expect(values(m().sum(0))).toEqual([9, 6, 6]);
    expect(values(m().prod(1))).toEqual([6, 120]);
    expectClose(values(m().mean(-1)), [2, 5]);
    expect(values(m().max(0))).toEqual([6, 5, 4]);
    expect(values(m().min())).toBe(1);
    expect(values(m().ptp(1))).toEqual([2, 2]);
    expect(values(m().gt(2).all(1))).toEqual([0, 1]);
    expect(values(m().gt(5).any())).toBe(1);
    expect(byK(batched().sum())).toEqual([6, 15]);
  });

  it("var and std with ddof", () => {
    // [3, 1, 2]: mean 2, squared deviations 1 + 1 + 0 = 2.
    expectClose(values(m().var(1)), [2 / 3, 2 / 3]);
    expectClose(values(m().var(1, { ddof: 1 })), [1, 1]);
    expectClose(values(m().std(1)), [Math.sqrt(2 / 3), Math.sqrt(2 / 3)]);
    expect(() => m().var(1, { dof: 1 } as never)).toThrow(/Allowed options: ddof/);
  });

  it("argmax and argmin along an axis or over the flattened positional axes", () => {
    expect(values(m().argmax(1))).toEqual([0, 0]);
    expect(values(m().argmin(1))).toEqual([1, 2]);
    expect(values(m().argmax())).toBe(3);
    expect(byK(batched().argmin())).toEqual([1, 2]);
  });

  it("with no positional axes: applied to each scalar (identities for sum, prod, max, min)", () => {
    const x = nx.wrap(int([2, -3]), "a");
    expect(x.sum()).toBe(x);
    expect(x.prod()).toBe(x);
    expect(x.max()).toBe(x);
    expect(x.min()).toBe(x);
    expect(x.mean().dtype).toBe("float32");
    expect(x.all().unwrap("a").arraySync()).toEqual([1, 1]);
    expect(x.var().unwrap("a").arraySync()).toEqual([0, 0]);
    expect(x.ptp().unwrap("a").arraySync()).toEqual([0, 0]);
    expect(x.argmax().unwrap("a").arraySync()).toEqual([0, 0]);
  });
});

describe("shape methods", () => {
  it("reshape, ravel, flatten, squeeze", () => {
    expect(m().reshape(3, 2).positionalShape).toEqual([3, 2]);
    expect(values(m().reshape([3, -1]))).toEqual([
      [3, 1],
      [2, 6],
      [5, 4],
    ]);
    expect(values(m().ravel())).toEqual([3, 1, 2, 6, 5, 4]);
    expect(values(m().flatten())).toEqual([3, 1, 2, 6, 5, 4]);
    expect(m().reshape(1, 6, 1).squeeze().positionalShape).toEqual([6]);
    expect(m().reshape(1, 6, 1).squeeze(2).positionalShape).toEqual([1, 6]);
    expect(byK(batched().reshape(3, 1))).toEqual([
      [[3], [1], [2]],
      [[6], [5], [4]],
    ]);
    expect(() => m().reshape(4, 2)).toThrow(PositionalAxesError);
    expect(() => m().squeeze(0)).toThrow(/size 2, not 1/);
  });

  it("transpose, T, mT and swapaxes move no data", () => {
    const x = m();
    expect(values(x.transpose())).toEqual([
      [3, 6],
      [1, 5],
      [2, 4],
    ]);
    expect(values(x.T)).toEqual([
      [3, 6],
      [1, 5],
      [2, 4],
    ]);
    expect(values(x.mT)).toEqual([
      [3, 6],
      [1, 5],
      [2, 4],
    ]);
    expect(x.swapaxes(0, 1).dataArray).toBe(x.dataArray);
    expect(x.transpose(1, 0).positionalShape).toEqual([3, 2]);
    expect(() => x.transpose(0, 0)).toThrow(/permutation/);
  });

  it("diagonal and trace", () => {
    const sq = nx.wrap(
      int([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]),
    );
    expect(values(sq.diagonal())).toEqual([1, 5, 9]);
    expect(values(sq.diagonal(1))).toEqual([2, 6]);
    expect(values(sq.diagonal(-1))).toEqual([4, 8]);
    expect(values(sq.trace())).toBe(15);
    expect(values(m().diagonal())).toEqual([3, 5]);
    expect(
      byK(
        nx
          .wrap(
            tf.stack([
              int([
                [1, 2],
                [3, 4],
              ]),
              int([
                [5, 6],
                [7, 8],
              ]),
            ]),
          )
          .tagPrefix("k")
          .trace(),
      ),
    ).toEqual([5, 13]);
  });

  it("repeat", () => {
    expect(values(m().repeat(2, 1))).toEqual([
      [3, 3, 1, 1, 2, 2],
      [6, 6, 5, 5, 4, 4],
    ]);
    expect(values(m().repeat([0, 2], 0))).toEqual([
      [6, 5, 4],
      [6, 5, 4],
    ]);
    expect(values(nx.wrap(int([1, 2])).repeat(2))).toEqual([1, 1, 2, 2]);
  });
});

describe("sorting and searching", () => {
  it("sort and argsort are ascending and stable, vectorized over names", () => {
    expect(values(m().sort())).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(values(m().sort(0))).toEqual([
      [3, 1, 2],
      [6, 5, 4],
    ]);
    expect(values(m().sort(null))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(values(nx.wrap(int([2, 1, 2, 1])).argsort())).toEqual([1, 3, 0, 2]);
    expect(byK(batched().argsort())).toEqual([
      [1, 2, 0],
      [2, 1, 0],
    ]);
    expectClose(values(nx.wrap(tf.tensor([0.5, -1, 0.25])).sort()), [-1, 0.25, 0.5]);
  });

  it("argpartition is a valid partition (the full argsort)", () => {
    const order = values(nx.wrap(int([5, 1, 4, 2])).argpartition(1)) as number[];
    expect(order[1]).toBe(3);
    expect(() => nx.wrap(int([5, 1])).argpartition(2)).toThrow(/out of range/);
  });

  it("searchsorted, left and right, vectorized over names", () => {
    const sorted = nx.wrap(int([1, 3, 3, 5]));
    expect(values(sorted.searchsorted(3))).toBe(1);
    expect(values(sorted.searchsorted(3, { side: "right" }))).toBe(3);
    expect(values(sorted.searchsorted(tf.tensor([0, 4, 9])))).toEqual([0, 3, 4]);
    const probes = nx.wrap(int([2, 6]), "p");
    expect(sorted.searchsorted(probes).unwrap("p").arraySync()).toEqual([1, 4]);
    expect(() => m().searchsorted(1)).toThrow(PositionalAxesError);
  });

  it("nonzero reads the coordinates back", () => {
    const [rows, cols] = nx
      .wrap(
        int([
          [0, 7],
          [8, 0],
        ]),
      )
      .nonzero();
    expect(values(rows!)).toEqual([0, 1]);
    expect(values(cols!)).toEqual([1, 0]);
    expect(() => batched().nonzero()).toThrow(/named axes/);
  });
});

describe("elementwise methods", () => {
  it("cumsum and cumprod", () => {
    expect(values(m().cumsum(1))).toEqual([
      [3, 4, 6],
      [6, 11, 15],
    ]);
    expect(values(m().cumsum())).toEqual([3, 4, 6, 12, 17, 21]);
    expect(values(m().cumprod(0))).toEqual([
      [3, 1, 2],
      [18, 5, 8],
    ]);
  });

  it("clip with scalar or named bounds", () => {
    expect(values(m().clip(2, 5))).toEqual([
      [3, 2, 2],
      [5, 5, 4],
    ]);
    expect(values(m().clip(null, 2))).toEqual([
      [2, 1, 2],
      [2, 2, 2],
    ]);
    const upper = nx.wrap(int([1, 10]), "u");
    expect(
      nx
        .wrap(int([4]))
        .clip(null, upper)
        .untagPrefix("u")
        .unwrap()
        .arraySync(),
    ).toEqual([[1], [4]]);
  });

  it("round half to even, with decimals", () => {
    expectClose(values(nx.wrap(tf.tensor([0.5, 1.5, 2.5, -0.5])).round()), [0, 2, 2, -0]);
    expectClose(values(nx.wrap(tf.tensor([1.234, 5.678])).round(1)), [1.2, 5.7]);
  });

  it("take with indices along an axis, filling out of range by default", () => {
    expect(values(m().take([2, 0], { axis: 1 }))).toEqual([
      [2, 3],
      [4, 6],
    ]);
    expect(values(m().take([5]))).toEqual([4]);
    expect(values(m().take([9], { axis: 1, mode: "clip" }))).toEqual([[2], [4]]);
    expect(values(m().take([9], { axis: 1, fillValue: 0 }))).toEqual([[0], [0]]);
    const idx = nx.wrap(int([0, 2]), "j");
    expect(
      nx
        .wrap(int([7, 8, 9]))
        .take(idx)
        .unwrap("j")
        .arraySync(),
    ).toEqual([7, 9]);
    expect(() => m().take([0], { axes: 1 } as never)).toThrow(
      /Allowed options: axis, mode, fillValue/,
    );
  });

  it("compress and choose", () => {
    expect(values(m().compress([true, false, true], 1))).toEqual([
      [3, 2],
      [6, 4],
    ]);
    expect(values(m().compress([false, true]))).toEqual([1]);
    const pick = nx.wrap(int([0, 1, 2, 1]));
    expect(values(pick.choose([10, 20, 30]))).toEqual([10, 20, 30, 20]);
    const named = nx.wrap(int([100, 200]), "c");
    expect(pick.choose([0, named]).untagPrefix("c").unwrap().arraySync()).toEqual([
      [0, 100, 100, 100],
      [0, 200, 200, 200],
    ]);
  });

  it("dot over positional axes (NumPy's dot), vectorized over names", () => {
    const a = nx.wrap(
      int([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(values(a.dot(tf.tensor([1, 1], undefined, "int32")))).toEqual([3, 7]);
    expect(values(a.dot(a))).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(values(nx.wrap(int([1, 2])).dot(nx.wrap(int([3, 4]))))).toBe(11);
    expect(values(a.dot(2))).toEqual([
      [2, 4],
      [6, 8],
    ]);
    const w = nx
      .wrap(
        int([
          [1, 0],
          [0, 1],
        ]),
      )
      .tagPrefix("h");
    expect(
      byK(
        nx
          .wrap(int([5, 6]))
          .dot(w)
          .untag("h")
          .tagPrefix("k"),
      ),
    ).toEqual([5, 6]);
    expect(() => a.dot(nx.wrap(int([1, 2, 3])))).toThrow(/not aligned/);
  });

  it("real, imag, conj, conjugate and item", async () => {
    // The wasm backend has no complex kernels; complex numbers run on the cpu backend.
    const backend = tf.getBackend();
    await tf.setBackend("cpu");
    try {
      const z = nx.wrap(tf.complex([1, 2], [3, -4]));
      expectClose(values(z.real()), [1, 2]);
      expectClose(values(z.imag()), [3, -4]);
      expectClose(values(z.conj().imag()), [-3, 4]);
      expectClose(values(z.conjugate().real()), [1, 2]);
    } finally {
      await tf.setBackend(backend);
    }
    const r = nx.wrap(tf.tensor([1.5]));
    expect(r.real()).toBe(r);
    expect(r.conj()).toBe(r);
    expect(values(r.imag())).toEqual([0]);
    expect(r.item()).toBe(1.5);
    expect(nx.wrap(tf.scalar(true, "bool")).item()).toBe(true);
    expect(() => m().item()).toThrow(/size 1/);
  });
});

describe("operators", () => {
  const a = () => nx.wrap(int([-7, 7, 6]), "i");
  const v = (x: NamedArrayBase) => x.unwrap("i").arraySync();

  it("floorDiv, mod and divmod follow Python's signs", () => {
    expect(v(a().floorDiv(2))).toEqual([-4, 3, 3]);
    expect(v(a().mod(3))).toEqual([2, 1, 0]);
    expect(v(a().mod(-3))).toEqual([-1, -2, 0]);
    const [q, r] = a().divmod(4);
    expect([v(q), v(r)]).toEqual([
      [-2, 1, 1],
      [1, 3, 2],
    ]);
    expectClose(v(nx.wrap(tf.tensor([-7.5, 7.5]), "i").floorDiv(2)), [-4, 3]);
  });

  it("pow, pos, abs, neg", () => {
    expect(v(a().pow(2))).toEqual([49, 49, 36]);
    const x = a();
    expect(x.pos()).toBe(x);
    expect(v(x.abs())).toEqual([7, 7, 6]);
    expect(v(x.neg())).toEqual([7, -7, -6]);
  });

  it("and, or, xor, invert: logical on bools, bitwise on int32", () => {
    const p = nx.wrap(tf.tensor([true, true, false, false], undefined, "bool"), "i");
    const q = nx.wrap(tf.tensor([true, false, true, false], undefined, "bool"), "i");
    expect(v(p.and(q))).toEqual([1, 0, 0, 0]);
    expect(v(p.or(q))).toEqual([1, 1, 1, 0]);
    expect(v(p.xor(q))).toEqual([0, 1, 1, 0]);
    expect(v(p.invert())).toEqual([0, 0, 1, 1]);
    expect(p.and(q).dtype).toBe("bool");
    const b = nx.wrap(int([12, 10, -1]), "i");
    expect(v(b.and(6))).toEqual([4, 2, 6]);
    expect(v(b.or(3))).toEqual([15, 11, -1]);
    expect(v(b.xor(5))).toEqual([9, 15, -6]);
    expect(v(b.invert())).toEqual([-13, -11, 0]);
    expect(() => nx.wrap(tf.tensor([1.5]), "i").and(1)).toThrow(NamedDtypeError);
  });

  it("lshift and rshift on int32 (arithmetic right shift)", () => {
    const b = nx.wrap(int([1, 3, -8]), "i");
    expect(v(b.lshift(2))).toEqual([4, 12, -32]);
    expect(v(b.rshift(1))).toEqual([0, 1, -4]);
    expect(() => nx.wrap(tf.tensor([1.5]), "i").lshift(1)).toThrow(NamedDtypeError);
  });

  it("reversed forms put the other operand on the left (penzai's binop_lifts)", () => {
    const x = nx.wrap(
      int([
        [0, 1, 2],
        [3, 4, 5],
      ]),
      "foo",
      "bar",
    );
    expect(x.sub(100).unwrap("foo", "bar").arraySync()).toEqual([
      [-100, -99, -98],
      [-97, -96, -95],
    ]);
    expect(x.rsub(100).unwrap("foo", "bar").arraySync()).toEqual([
      [100, 99, 98],
      [97, 96, 95],
    ]);
    const b = nx.wrap(int([1, 2, 4]), "i");
    expect(v(b.radd(1))).toEqual([2, 3, 5]);
    expect(v(b.rmul(3))).toEqual([3, 6, 12]);
    expectClose(v(b.rdiv(8)), [8, 4, 2]);
    expect(v(b.rfloorDiv(9))).toEqual([9, 4, 2]);
    expect(v(b.rmod(9))).toEqual([0, 1, 1]);
    expect(b.rdivmod(9).map(v)).toEqual([
      [9, 4, 2],
      [0, 1, 1],
    ]);
    expect(v(b.rpow(2))).toEqual([2, 4, 16]);
    expect(v(b.rand(6))).toEqual([0, 2, 4]);
    expect(v(b.ror(8))).toEqual([9, 10, 12]);
    expect(v(b.rxor(7))).toEqual([6, 5, 3]);
    expect(v(b.rlshift(1))).toEqual([2, 4, 16]);
    expect(v(b.rrshift(64))).toEqual([32, 16, 4]);
  });

  it("comparisons return bool named arrays with the union of names (penzai's equality test)", () => {
    const x = nx.wrap(
      int([
        [0, 1, 2],
        [3, 4, 5],
      ]),
      "foo",
      "bar",
    );
    const y = nx.wrap(
      int([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
        [8, 9],
      ]),
      "baz",
      "foo",
    );
    expect({ ...x.eq(y).namedShape }).toEqual({ foo: 2, bar: 3, baz: 5 });
    expect(x.gt(y).orderAs("foo", "bar", "baz").dataArray.arraySync()).toEqual([
      [
        [0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
      ],
      [
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
      ],
    ]);
  });

  it("do not leak tensors", () => {
    const x = nx
      .wrap(
        int([
          [3, 1, 2],
          [6, 5, 4],
        ]),
      )
      .tagPrefix("k");
    const row = x.reshape(1, 3);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      for (const r of [
        x.and(3),
        x.lshift(1),
        x.sort(),
        x.cumsum(0),
        row.diagonal(),
        x.clip(2, 4),
        x.compress([true, false, true]),
        x.take([1]),
        x.dot(x),
        x.var(),
        x.searchsorted(2),
        x.round(1),
      ]) {
        r.dataArray.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
