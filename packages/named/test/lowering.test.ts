import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../src/index.js";
import { batchedMatMul2d, broadcastFast, splitLeading, whereFast } from "../src/lowering.js";
import { expectClose, values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("wasm-aware lowering helpers", () => {
  it("splitLeading copies each part", () => {
    const t = tf.tensor([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const parts = splitLeading(t, 2);
    expect(parts.map((p) => p.shape)).toEqual([
      [2, 2],
      [2, 2],
    ]);
    expect(values(parts[1]!)).toEqual([
      [5, 6],
      [7, 8],
    ]);
    expect(splitLeading(t, 1)[0]).toBe(t);
    expect(values(splitLeading(tf.tensor([1, 2, 3, 4], [4], "int32"), 4)[2]!)).toEqual([3]);
  });

  it("broadcastFast for every dtype", () => {
    expect(values(broadcastFast(tf.scalar(2), [2, 2]))).toEqual([
      [2, 2],
      [2, 2],
    ]);
    expect(values(broadcastFast(tf.tensor([true, false]), [2, 2]))).toEqual([
      [1, 0],
      [1, 0],
    ]);
    expect(broadcastFast(tf.tensor([true, false]), [2, 2]).dtype).toBe("bool");
    expect(values(broadcastFast(tf.tensor([[1], [2]], undefined, "int32"), [2, 3]))).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    const same = tf.zeros([3]);
    expect(broadcastFast(same, [3])).toBe(same);
  });

  it("batchedMatMul2d multiplies batch by batch", () => {
    const a = tf.tensor([
      [1, 0],
      [0, 1],
      [2, 0],
      [0, 2],
    ]); // two 2x2 blocks: I and 2I
    const b = tf.tensor([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [1, 1],
        [1, 1],
      ],
    ]);
    expect(values(batchedMatMul2d(a, b, 2))).toEqual([
      [1, 2],
      [3, 4],
      [2, 2],
      [2, 2],
    ]);
  });

  it("whereFast equals tf.where on broadcast operands (property)", () => {
    const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(shapeArb, fc.nat(3), fc.nat(3), fc.nat(1000), (shape, cutC, cutB, seed) => {
        tf.tidy(() => {
          // Operand shapes: a suffix of the output shape (repeats over leading axes) or a scalar.
          const cShape = shape.slice(Math.min(cutC, shape.length));
          const bShape = cutB === 3 ? [] : shape.slice(Math.min(cutB, shape.length));
          const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
          const c = tf.tensor(
            Array.from({ length: size(cShape) }, (_, i) => (i * 31 + seed) % 3 === 0),
            cShape,
            "bool",
          );
          const a = tf.tensor(
            Array.from({ length: size(shape) }, (_, i) => i + seed),
            shape,
          );
          const b = tf.tensor(
            Array.from({ length: size(bShape) }, (_, i) => -1 - i),
            bShape,
          );
          const expected = tf.where(tf.broadcastTo(c, shape), a, tf.broadcastTo(b, shape));
          expectClose(values(whereFast(c, a, b, shape)), values(expected));
        });
      }),
      { numRuns: 60 },
    );
  });

  it("whereFast falls back for middle broadcasting and keeps int32", () => {
    const c = tf.tensor([[true], [false]]); // [2, 1]: not a suffix repeat
    const a = tf.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      undefined,
      "int32",
    );
    const r = whereFast(c, a, tf.scalar(0, "int32"), [2, 2]);
    expect(r.dtype).toBe("int32");
    expect(values(r)).toEqual([
      [1, 2],
      [0, 0],
    ]);
  });
});
