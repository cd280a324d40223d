import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AxisNameError,
  NamedShapeMismatchError,
  nx,
  PositionalAxesError,
  ready,
} from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("constructors", () => {
  it("zeros, ones, full with JAX's default dtypes", () => {
    expect(nx.zeros({ a: 2 }).dtype).toBe("float32");
    expect(values(nx.ones({ a: 2, b: 1 }).unwrap("a", "b"))).toEqual([[1], [1]]);
    expect(nx.full({ a: 2 }, 7).dtype).toBe("int32");
    expect(nx.full({ a: 2 }, 0.5).dtype).toBe("float32");
    expect(nx.full({ a: 1 }, true).dtype).toBe("bool");
    expect(nx.zeros({ a: 2 }, "int32").dtype).toBe("int32");
    expect(
      Object.keys(
        nx.zeros([
          ["z", 1],
          ["y", 2],
        ]).namedShape,
      ),
    ).toEqual(["z", "y"]);
  });

  it("arange", () => {
    expect(values(nx.arange("i", 4).unwrap("i"))).toEqual([0, 1, 2, 3]);
    expect(values(nx.arange("i", 2, 8, 3).unwrap("i"))).toEqual([2, 5]);
    expect(nx.arange("i", 0, 1, 0.5).dtype).toBe("float32");
    expect(nx.arange("i", 3).dtype).toBe("int32");
  });

  it("bad shapes and names", () => {
    expect(() => nx.zeros({ a: -1 })).toThrow(/non-negative integer size/);
    expect(() => nx.zeros({ 3: 1 })).toThrow(AxisNameError);
    expect(() =>
      nx.zeros([
        ["a", 1],
        ["a", 2],
      ]),
    ).toThrow(/given twice/);
  });
});

describe("stack and concatenate", () => {
  it("stack adds the new axis last and broadcasts missing names", () => {
    const s = nx.stack([nx.arange("i", 0, 2), nx.full({ i: 2, j: 2 }, 9)], "k");
    expect(Object.keys(s.namedShape)).toEqual(["i", "j", "k"]);
    expect(values(s.unwrap("k", "i", "j"))).toEqual([
      [
        [0, 0],
        [1, 1],
      ],
      [
        [9, 9],
        [9, 9],
      ],
    ]);
  });

  it("stack keeps positional axes", () => {
    const s = nx.stack([nx.wrap([1, 2]), nx.wrap([3, 4])], "k");
    expect(s.positionalShape).toEqual([2]);
    expect(values(s.untagPrefix("k").unwrap())).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("concatenate joins along an existing named axis", () => {
    const c = nx.concatenate([nx.arange("i", 0, 2), nx.arange("i", 5, 6)], "i");
    expect(values(c.unwrap("i"))).toEqual([0, 1, 5]);
    const d = nx.concatenate([nx.zeros({ i: 1, j: 2 }), nx.ones({ j: 2, i: 2 })], "i");
    expect(d.namedShape).toEqual({ i: 3, j: 2 });
    expect(values(d.unwrap("i", "j"))).toEqual([
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
  });

  it("errors", () => {
    expect(() => nx.stack([nx.zeros({ a: 1 }), nx.wrap([1])], "k")).toThrow(PositionalAxesError);
    expect(() => nx.stack([nx.zeros({ a: 1 })], "a")).toThrow(/already exists/);
    expect(() => nx.stack([nx.wrap([1]), nx.wrap([1, 2])], "k")).toThrow(NamedShapeMismatchError);
    expect(() => nx.concatenate([nx.zeros({ a: 1 }), nx.zeros({ b: 1 })], "a")).toThrow(
      /missing from arrays\[1\]/,
    );
    expect(() => nx.stack([], "k")).toThrow(/at least one/);
  });
});

describe("orderLike on trees and scan", () => {
  it("orderLike reorders every named leaf like the reference tree", () => {
    const value = { a: nx.zeros({ x: 2, y: 3 }), n: 5 };
    const reference = { a: nx.zeros({ y: 3, x: 2 }), n: 0 };
    const out = nx.orderLike(value, reference);
    expect(Object.keys(out.a.namedShape)).toEqual(["y", "x"]);
    expect(out.n).toBe(5);
  });

  it("scan threads a carry over a named axis and stacks outputs", () => {
    const xs = nx.wrap(
      tf.tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      "t",
      "f",
    );
    const [carry, ys] = nx.scan(
      (c: nx.NamedArrayBase, x: nx.NamedArrayBase) => {
        const next = c.add(x);
        return [next, next.sum("f")] as const;
      },
      "t",
      nx.zeros({ f: 2 }),
      xs,
    );
    expect(values(carry.unwrap("f"))).toEqual([9, 12]);
    expect(values((ys as nx.NamedArrayBase).unwrap("t"))).toEqual([3, 10, 21]);
  });

  it("scan needs named leaves in xs", () => {
    expect(() => nx.scan((c: number) => [c, c] as const, "t", 0, [tf.zeros([2])])).toThrow(
      /All leaves of `xs` must be named arrays/,
    );
  });

  it("scan over xs without arrays says there is nothing to scan over", () => {
    for (const xs of [null, [], {}]) {
      let calls = 0;
      const step = (c: number) => {
        calls++;
        return [c, c] as const;
      };
      expect(() => nx.scan(step, "t", 0, xs)).toThrow(
        /nx\.scan: xs holds no named array, so there is no axis "t" to scan over/,
      );
      expect(calls).toBe(0);
    }
  });
});
