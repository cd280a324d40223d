import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { whileTracing } from "../src/engineState.js";
import { ready } from "../src/index.js";
import {
  broadcastFast,
  HOST_SPLIT_MIN_ROWS,
  HOST_SPLIT_MIN_SLICE_WORK,
  matMulFast,
  whereFast,
} from "../src/lowering.js";
import { expectClose, kernelsOf, values } from "./helpers.js";

beforeAll(async () => {
  await ready();
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
});

describe("wasm-aware lowering helpers", () => {
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

describe("matMulFast", () => {
  let baseline = 0;
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  // m = 32 rows, m * k * p = 32768 multiply-adds per slice: at the split threshold.
  const largeShapes = (): [tf.Tensor3D, tf.Tensor3D] => [
    tf.randomNormal([3, 32, 16], 0, 1, "float32", 10) as tf.Tensor3D,
    tf.randomNormal([3, 16, 64], 0, 1, "float32", 11) as tf.Tensor3D,
  ];

  it("the split thresholds describe the large test shapes", () => {
    expect(32 >= HOST_SPLIT_MIN_ROWS && 32 * 16 * 64 >= HOST_SPLIT_MIN_SLICE_WORK).toBe(true);
  });

  it("small products are one kernel and read nothing back", () => {
    const a = tf.randomNormal([4, 1, 16]);
    const b = tf.randomNormal([4, 16, 72]);
    const reads = vi.spyOn(tf.Tensor.prototype, "dataSync");
    expect(kernelsOf(() => matMulFast(a, b))).toEqual({ BatchMatMul: 1 });
    expect(reads).not.toHaveBeenCalled();
    tf.dispose([a, b]);
  });

  it("large products split on the host on wasm, not while tracing, with the same values", () => {
    const [a, b] = largeShapes();
    const expected = tf.matMul(a, b);
    const reads = vi.spyOn(tf.Tensor.prototype, "dataSync");
    const split = matMulFast(a, b);
    if (tf.getBackend() === "wasm") expect(reads).toHaveBeenCalled();
    reads.mockClear();
    whileTracing(() => {
      expect(kernelsOf(() => matMulFast(a, b))).toEqual({ BatchMatMul: 1 });
    });
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    const got = split.dataSync();
    const want = expected.dataSync();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    tf.dispose([a, b, expected, split]);
  });

  it("takes any number of batch axes", () => {
    const a = tf.randomNormal([2, 3, 4, 5]);
    const b = tf.randomNormal([2, 3, 5, 6]);
    const c = matMulFast(a, b);
    expect(c.shape).toEqual([2, 3, 4, 6]);
    const expected = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
    expect(Array.from(c.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([a, b, c, expected]);
  });

  it("has the gradients of tf.matMul, small and on the host-split path", () => {
    const small: [tf.Tensor, tf.Tensor] = [
      tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3]),
      tf.tensor3d([1, 0, 2, 1, 0, 3, -1, 2, 1, 1, 0, 2], [2, 3, 2]),
    ];
    for (const [a, b] of [small, largeShapes()]) {
      const w = tf.randomNormal([a.shape[0]!, a.shape[1]!, b.shape[2]!], 0, 1, "float32", 12);
      const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(f(x, y), w));
      const ours = tf.grads(loss(matMulFast))([a, b]);
      const reference = tf.grads(loss((x, y) => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D)))([
        a,
        b,
      ]);
      for (let i = 0; i < 2; i++) {
        expect(ours[i]!.shape).toEqual(reference[i]!.shape);
        const got = ours[i]!.dataSync();
        const want = reference[i]!.dataSync();
        for (let j = 0; j < want.length; j++) expect(got[j]).toBeCloseTo(want[j]!, 3);
      }
      tf.dispose([a, b, w, ...ours, ...reference]);
    }
  });
});
