import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ready, registerGradients } from "../src/index.js";

// Reference gradients of sum(w * op(A) op(B)), computed by hand with explicit loops.
function reference(a: number[][], b: number[][], w: number[][], tA: boolean, tB: boolean) {
  const A = tA ? a[0]!.map((_, j) => a.map((r) => r[j]!)) : a;
  const B = tB ? b[0]!.map((_, j) => b.map((r) => r[j]!)) : b;
  const m = A.length;
  const k = B.length;
  const n = B[0]!.length;
  const dA = Array.from({ length: m }, (_, i) =>
    Array.from({ length: k }, (_, p) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[i]![j]! * B[p]![j]!;
      return s;
    }),
  );
  const dB = Array.from({ length: k }, (_, p) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let i = 0; i < m; i++) s += w[i]![j]! * A[i]![p]!;
      return s;
    }),
  );
  const t = (x: number[][]) => x[0]!.map((_, j) => x.map((r) => r[j]!));
  return [tA ? t(dA) : dA, tB ? t(dB) : dB];
}

describe("matMul gradient with explicit transposes", () => {
  beforeAll(async () => {
    await ready();
    registerGradients();
  });

  for (const [tA, tB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matches hand-computed gradients (transposeA ${tA}, transposeB ${tB})`, () => {
      const a = tA
        ? [
            [1, 4],
            [2, 5],
            [3, 6],
          ]
        : [
            [1, 2, 3],
            [4, 5, 6],
          ];
      const b = tB
        ? [
            [1, 0, 2],
            [-1, 3, 1],
          ]
        : [
            [1, -1],
            [0, 3],
            [2, 1],
          ];
      const w = [
        [1, 2],
        [3, 4],
      ];
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, tA, tB), tf.tensor2d(w))),
      )([tf.tensor2d(a), tf.tensor2d(b)]);
      const [ra, rb] = reference(a, b, w, tA, tB);
      expect(ga!.arraySync()).toEqual(ra);
      expect(gb!.arraySync()).toEqual(rb);
    });
  }

  it("handles batched operands batch element by batch element", () => {
    const a = [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [0, 1, 0],
        [2, 0, 1],
      ],
    ];
    const b = [
      [
        [1, -1],
        [0, 3],
        [2, 1],
      ],
      [
        [1, 1],
        [1, 0],
        [0, 2],
      ],
    ];
    const w = [
      [1, 2],
      [3, 4],
    ];
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D), tf.tensor2d(w))),
    )([tf.tensor3d(a), tf.tensor3d(b)]);
    for (let n = 0; n < 2; n++) {
      const [ra, rb] = reference(a[n]!, b[n]!, w, false, false);
      expect((ga!.arraySync() as number[][][])[n]).toEqual(ra);
      expect((gb!.arraySync() as number[][][])[n]).toEqual(rb);
    }
  });
});
