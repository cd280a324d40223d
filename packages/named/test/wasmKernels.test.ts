import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../src/index.js";

describe("kernels saikei adds to the wasm backend", () => {
  beforeAll(async () => {
    await ready({ backends: ["wasm"] });
    // Gradients are registered by @saikei/toolshed in applications; here, directly.
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  });

  it("unsortedSegmentSum sums rows into their segments and drops out-of-range ids", () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const ids = tf.tensor1d([2, 0, 2, 5], "int32");
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(out.arraySync()).toEqual([
      [3, 4],
      [0, 0],
      [6, 8],
    ]);
    tf.dispose([x, ids, out]);
  });

  it("makes the gradient of gather (an embedding lookup) computable", () => {
    const table = tf.tensor2d([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const ids = tf.tensor1d([0, 2, 2], "int32");
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), tf.tensor1d([1, 10]))))(
      table,
    );
    // Row 0 is gathered once, row 2 twice: d/dt sum(gather(t) * [1, 10]).
    expect(grad.arraySync()).toEqual([
      [1, 10],
      [0, 0],
      [2, 20],
    ]);
    tf.dispose([table, ids, grad]);
  });
});
