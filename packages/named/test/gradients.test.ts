import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { dot, isTaping, ready, where, wrap } from "../src/index.js";

describe("gradients through the wasm fast paths", () => {
  beforeAll(async () => {
    await ready({ backends: ["wasm"] });
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  });

  it("isTaping is true only while gradients are recorded", () => {
    expect(isTaping()).toBe(false);
    let inside = false;
    tf.grad((x: tf.Tensor) => {
      inside = isTaping();
      return tf.sum(x);
    })(tf.scalar(1));
    expect(inside).toBe(true);
  });

  it("nx.where passes the gradient to the selected values only", () => {
    const cond = wrap(tf.tensor1d([true, false, true], "bool"), "a");
    const g = tf.grad((x: tf.Tensor) => tf.sum(where(cond, wrap(x, "a"), 0).unwrap("a")))(
      tf.tensor1d([1, 2, 3]),
    );
    expect(Array.from(g.dataSync())).toEqual([1, 0, 1]);
  });

  it("nx.dot with a batch axis passes gradients to both operands", () => {
    const a = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]); // batch, i, k
    const b = tf.tensor3d([1, 0, 0, 1, 2, 1, 1, 2], [2, 2, 2]); // batch, k, j
    const f = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(
        dot(wrap(x, "batch", "i", "k"), wrap(y, "batch", "k", "j"), { contract: ["k"] }).unwrap(
          "batch",
          "i",
          "j",
        ),
      );
    const [ga, gb] = tf.grads(f)([a, b]);
    const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D)),
    )([a, b]);
    expect(ga!.arraySync()).toEqual(ra!.arraySync());
    expect(gb!.arraySync()).toEqual(rb!.arraySync());
    // d/dA sum(A B) = 1 B^T: row sums of b[0] are [1, 1].
    expect((ga!.arraySync() as number[][][])[0]).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });
});
