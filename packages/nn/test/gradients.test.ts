import { nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { NamedEinsum } from "../src/index.js";

describe("gradients through nn's contraction lowering", () => {
  beforeAll(async () => {
    await ready();
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  });

  it("an attention einsum over batch axes passes gradients to both operands", () => {
    const einsum = new NamedEinsum({
      inputAxes: [
        { seq: "tq", heads: "h", projection: "p" },
        { seq: "tkv", heads: "h", projection: "p" },
      ],
      outputAxes: { seq: "tq", heads: "h", kv_seq: "tkv" },
    });
    const q = tf.tensor3d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [2, 2, 2]);
    const k = tf.tensor3d([1, -1, 2, 0, 0, 1, -2, 1], [2, 2, 2]);
    const viaLayer = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(
        tf.square(
          einsum
            .call([
              nx.wrap(x, "seq", "heads", "projection"),
              nx.wrap(y, "seq", "heads", "projection"),
            ])
            .unwrap("heads", "seq", "kv_seq"),
        ),
      );
    // logits[h, q, k] = sum_p x[q, h, p] y[k, h, p], as a batched matMul over heads.
    const byHand = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.square(tf.matMul(tf.transpose(x, [1, 0, 2]), tf.transpose(y, [1, 2, 0]))));
    const ours = tf
      .grads(viaLayer)([q, k])
      .map((g) => Array.from(g.dataSync()));
    const reference = tf
      .grads(byHand)([q, k])
      .map((g) => Array.from(g.dataSync()));
    for (let i = 0; i < 2; i++) {
      for (const [j, v] of ours[i]!.entries()) expect(v).toBeCloseTo(reference[i]![j]!, 5);
      expect(ours[i]!.some((v) => v !== 0)).toBe(true);
    }
  });
});
