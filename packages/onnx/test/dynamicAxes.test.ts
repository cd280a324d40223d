import { type NamedArray, nx, ready, tidy } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as onnx from "../src/index.js";

let session: onnx.OnnxSession;
let baseline = 0;
const weights = () =>
  tf.tensor2d([
    [1, -1, 0.5],
    [2, 0, -0.5],
    [0.25, 1, 1],
    [-1, 0.5, 2],
  ]);
let w: tf.Tensor;

/**
 * A function whose kernels carry sizes of both dynamic axes: reshapes that merge and split them,
 * a slice to the end, a broadcast, a zeros of the input's shape and a matMul.
 */
function f(x: NamedArray): NamedArray {
  const { batch, seq } = x.namedShape as { batch: number; seq: number };
  const data = x.unwrap("batch", "seq", "features");
  const flat = tf.reshape(data, [batch * seq, 4]);
  const projected = tf.reshape(tf.matMul(flat, w), [batch, seq, 3]);
  const tail = tf.slice(projected, [0, 1, 0], [batch, seq - 1, 3]);
  const summed = tf.add(tf.sum(tail, 1, true), tf.zeros([batch, seq, 3]));
  return nx.wrap(tf.relu(summed), "batch", "seq", "out");
}

beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
  w = weights();
  const x = nx.wrap(tf.ones([2, 3, 4]), "batch", "seq", "features");
  session = await onnx.session(onnx.export(f, [x], { dynamicAxes: ["batch", "seq"] }));
  x.dataArray.dispose();
});

afterAll(async () => {
  await session.dispose();
  w.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

describe("dynamic axes", () => {
  it("the exported function equals tfjs for every batch and sequence size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 0, max: 1000 }),
        async (batch, seq, seed) => {
          const x = nx.wrap(
            tf.randomNormal([batch, seq, 4], 0, 1, "float32", seed),
            "batch",
            "seq",
            "features",
          );
          const expected = tidy(() => f(x));
          const { output } = await session.run({ input: x });
          const got = output as NamedArray;
          expect(got.namedShape).toEqual({ batch, seq, out: 3 });
          const a = expected.dataArray.dataSync();
          const b = got.orderAs("batch", "seq", "out").dataArray.dataSync();
          for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4);
          tf.dispose([x.dataArray, expected.dataArray, got.dataArray]);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("declares the dynamic axes by name in the model's inputs and outputs", () => {
    expect(session.inputs[0]!.shape).toEqual(["batch", "seq", 4]);
    expect(session.outputs[0]!).toMatchObject({
      axes: ["batch", "seq", "out"],
      shape: ["batch", "seq", 3],
      named: true,
    });
  });
});
