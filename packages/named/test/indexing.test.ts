import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { NamedIndexError, nx, ready, Slice, slice } from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

// x[i, j] = 10 * i + j with i: 3, j: 4
const x = () =>
  nx.wrap(
    tf.tensor(
      [
        [0, 1, 2, 3],
        [10, 11, 12, 13],
        [20, 21, 22, 23],
      ],
      undefined,
      "int32",
    ),
    "i",
    "j",
  );

describe("slice", () => {
  it("resolves like Python's slice.indices", () => {
    expect(slice(2).indicesFor(5)).toEqual([0, 1]);
    expect(slice(1, null).indicesFor(5)).toEqual([1, 2, 3, 4]);
    expect(slice(null, null, -1).indicesFor(3)).toEqual([2, 1, 0]);
    expect(slice(-2, null).indicesFor(5)).toEqual([3, 4]);
    expect(slice(0, 100, 3).indicesFor(7)).toEqual([0, 3, 6]);
    expect(slice(4, 1, -2).indicesFor(6)).toEqual([4, 2]);
    expect(slice(10, 20).indicesFor(5)).toEqual([]);
    expect(String(slice(1, null, 2))).toBe("1::2");
    expect(slice(1, 2)).toBeInstanceOf(Slice);
  });

  it("rejects a zero or fractional step", () => {
    expect(() => slice(0, 1, 0)).toThrow(NamedIndexError);
    expect(() => slice(0.5, 1)).toThrow(/must be an integer/);
  });
});

describe("dict-style indexing of named axes", () => {
  it("an integer removes the axis", () => {
    const r = x().index({ j: 2 });
    expect(r.namedShape).toEqual({ i: 3 });
    expect(values(r.unwrap("i"))).toEqual([2, 12, 22]);
  });

  it("negative integers count from the end; out-of-range ones clamp as in JAX", () => {
    expect(values(x().index({ i: -1, j: 0 }).unwrap())).toBe(20);
    expect(values(x().index({ i: 7, j: -9 }).unwrap())).toBe(20);
  });

  it("a slice keeps the axis with a new size", () => {
    const r = x().index({ j: slice(1, null, 2) });
    expect(r.namedShape).toEqual({ i: 3, j: 2 });
    expect(values(r.unwrap("i", "j"))).toEqual([
      [1, 3],
      [11, 13],
      [21, 23],
    ]);
    expect(
      values(
        x()
          .index({ i: slice(null, null, -1) })
          .unwrap("i", "j"),
      ),
    ).toEqual([
      [20, 21, 22, 23],
      [10, 11, 12, 13],
      [0, 1, 2, 3],
    ]);
  });

  it("an integer array removes the name and adds positional axes at the front", () => {
    const r = x().index({ j: [3, 0] });
    expect(r.positionalShape).toEqual([2]);
    expect(r.namedShape).toEqual({ i: 3 });
    expect(values(r.untagPrefix("i").unwrap())).toEqual([
      [3, 0],
      [13, 10],
      [23, 20],
    ]);
  });

  it("several integer arrays broadcast together", () => {
    const r = x().index({ i: [0, 2], j: [1, 3] });
    expect(values(r.unwrap())).toEqual([1, 23]);
    const t = x().index({ i: tf.tensor([[0], [1]], undefined, "int32"), j: [0, 1] });
    expect(values(t.unwrap())).toEqual([
      [0, 1],
      [10, 11],
    ]);
  });

  it("null introduces a named axis of size 1", () => {
    const r = x().index({ k: null, j: 0 });
    expect(r.namedShape).toEqual({ i: 3, k: 1 });
  });

  it("combines with existing positional axes", () => {
    const v = x().untag("j"); // positional [4], named {i: 3}
    const r = v.index({ i: 1 });
    expect(r.positionalShape).toEqual([4]);
    expect(values(r.unwrap())).toEqual([10, 11, 12, 13]);
  });

  it("errors say what is wrong", () => {
    expect(() => x().index({ k: 0 })).toThrow(/axis name "k" is not present.*\{i: 3, j: 4\}/);
    expect(() => x().index({ i: null })).toThrow(/already exists/);
    expect(() => x().index({ i: "0" as never })).toThrow(
      /expected a slice\(\.\.\.\), an integer, an integer array, or null/,
    );
    expect(() => x().index({ i: 0.5 })).toThrow(/not an integer/);
    expect(() => x().index({ i: tf.tensor([0.5]) })).toThrow(/dtype int32/);
  });
});

describe("positional indexing", () => {
  it("indexes positional axes and keeps names", () => {
    const v = x().untag("j");
    expect(
      values(
        v
          .index([slice(1, 3)])
          .untagPrefix("i")
          .unwrap(),
      ),
    ).toEqual([
      [1, 2],
      [11, 12],
      [21, 22],
    ]);
  });

  it("too many indices", () => {
    expect(() => x().index([0])).toThrow(
      /too many positional indices \(1\) for positional shape \[\]/,
    );
  });

  it("unstack slices along a named axis", () => {
    const parts = nx.unstack(x(), "i");
    expect(parts.length).toBe(3);
    expect(values(parts[2]!.unwrap("j"))).toEqual([20, 21, 22, 23]);
    expect(() => nx.unstack(x(), "k")).toThrow(/not present/);
  });
});
