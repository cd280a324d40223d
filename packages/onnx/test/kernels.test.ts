import { readFileSync } from "node:fs";
import { ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as onnx from "../src/index.js";

beforeAll(async () => {
  await ready();
});

/** Exports `fn`, runs it on onnxruntime and returns the largest difference from tfjs per output. */
async function parity(
  fn: (...xs: tf.Tensor[]) => tf.Tensor[],
  inputs: tf.Tensor[],
): Promise<number[]> {
  const bytes = onnx.export(fn, inputs);
  const s = await onnx.session(bytes, { threads: 1 });
  const feeds: Record<string, tf.Tensor> = {};
  inputs.forEach((t, i) => {
    feeds[inputs.length === 1 ? "input" : `input_${i}`] = t;
  });
  const results = await s.run(feeds);
  const expected = fn(...inputs);
  const diffs = expected.map((e, i) => {
    const got = results[expected.length === 1 ? "output" : `output_${i}`] as tf.Tensor;
    expect(got.shape).toEqual(e.shape);
    expect(got.dtype).toBe(e.dtype);
    const a = e.dataSync();
    const b = got.dataSync();
    let max = 0;
    for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(Number(a[j]) - Number(b[j])));
    return max;
  });
  tf.dispose([...expected, ...(Object.values(results) as tf.Tensor[])]);
  await s.dispose();
  return diffs;
}

describe("kernel translations match tfjs", () => {
  const x = () =>
    tf.tensor2d([
      [0.5, -1.5, 2],
      [3, -0.25, 1],
    ]);
  const y = () =>
    tf.tensor2d([
      [1, 2, -3],
      [0.5, 4, -2],
    ]);

  it("elementwise arithmetic, activations and comparisons", async () => {
    const a = x();
    const b = y();
    const diffs = await parity(
      (p, q) => [
        tf.add(p, q),
        tf.sub(p, q),
        tf.mul(p, q),
        tf.div(p, q),
        tf.maximum(p, q),
        tf.minimum(p, q),
        tf.pow(tf.abs(p), q),
        tf.squaredDifference(p, q),
        tf.floorDiv(p, q),
        tf.mod(p, q),
        tf.neg(p),
        tf.exp(p),
        tf.expm1(p),
        tf.log(tf.abs(p)),
        tf.log1p(tf.abs(p)),
        tf.sqrt(tf.abs(p)),
        tf.rsqrt(tf.abs(p)),
        tf.square(p),
        tf.reciprocal(p),
        tf.floor(p),
        tf.ceil(p),
        tf.round(p),
        tf.sign(p),
        tf.sin(p),
        tf.cos(p),
        tf.tan(p),
        tf.erf(p),
        tf.tanh(p),
        tf.sigmoid(p),
        tf.relu(p),
        tf.relu6(tf.mul(p, 3)),
        tf.elu(p),
        tf.selu(p),
        tf.softplus(p),
        tf.leakyRelu(p, 0.1),
        tf.prelu(p, tf.scalar(0.3)),
        tf.clipByValue(p, -1, 1),
        tf.softmax(p),
        tf.logSoftmax(p),
        tf.cast(tf.equal(p, q), "float32"),
        tf.cast(tf.notEqual(p, q), "int32"),
        tf.less(p, q),
        tf.lessEqual(p, q),
        tf.greater(p, q),
        tf.greaterEqual(p, q),
        tf.logicalAnd(tf.greater(p, 0), tf.greater(q, 0)),
        tf.logicalOr(tf.greater(p, 0), tf.greater(q, 0)),
        tf.logicalXor(tf.greater(p, 0), tf.greater(q, 0)),
        tf.logicalNot(tf.greater(p, 0)),
        tf.isNaN(p),
        tf.isFinite(tf.div(p, tf.sub(q, q))),
        tf.where(tf.greater(p, q), p, q),
        tf.addN([p, q, p]),
      ],
      [a, b],
    );
    for (const [i, d] of diffs.entries()) expect(d, `output ${i}`).toBeLessThan(1e-5);
    tf.dispose([a, b]);
  });

  it("integer arithmetic", async () => {
    const a = tf.tensor1d([7, -7, 9, -3], "int32");
    const b = tf.tensor1d([2, 2, -4, 5], "int32");
    const diffs = await parity(
      (p, q) => [tf.floorDiv(p, q), tf.mod(p, q), tf.add(p, q), tf.mul(p, q)],
      [a, b],
    );
    expect(diffs).toEqual([0, 0, 0, 0]);
    tf.dispose([a, b]);
  });

  it("layout, reductions and products", async () => {
    const a = tf.tensor3d(
      Array.from({ length: 24 }, (_, i) => Math.sin(i)),
      [2, 3, 4],
    );
    const idx = tf.tensor1d([2, 0, 1], "int32");
    const diffs = await parity(
      (p, i) => [
        tf.reshape(p, [6, 4]),
        tf.transpose(p, [2, 0, 1]),
        tf.concat([p, p], 1),
        tf.stack([p, p], 1),
        ...tf.unstack(p, 1),
        ...tf.split(p, [1, 3], 2),
        tf.slice(p, [0, 1, 1], [2, 2, -1]),
        tf.gather(p, i, 1),
        tf.tile(p, [1, 2, 1]),
        tf.broadcastTo(tf.slice(p, [0, 0, 0], [1, 3, 4]), [2, 3, 4]),
        tf.pad(
          p,
          [
            [0, 0],
            [1, 2],
            [0, 1],
          ],
          0.5,
        ),
        tf.cast(tf.oneHot(i, 5), "float32"),
        tf.sum(p, 1),
        tf.mean(p, [0, 2], true),
        tf.max(p, -1),
        tf.min(p, 0),
        tf.prod(p, 2),
        tf.cast(tf.all(tf.greater(p, -0.9), 1), "int32"),
        tf.any(tf.greater(p, 0.9), 2),
        tf.argMax(p, 2),
        tf.argMin(p, 1),
        tf.cumsum(p, 2),
        tf.cumsum(p, 1, true, true),
        tf.matMul(tf.reshape(p, [6, 4]), tf.reshape(p, [6, 4]), true, false),
        tf.matMul(p, p, false, true),
        tf.fused.matMul({
          a: tf.reshape(p, [6, 4]),
          b: tf.reshape(p, [6, 4]),
          transposeB: true,
          bias: tf.fill([6], 0.1),
          activation: "relu",
        }),
        tf.zerosLike(p),
        tf.onesLike(i),
      ],
      [a, idx],
    );
    for (const [i, d] of diffs.entries()) expect(d, `output ${i}`).toBeLessThan(1e-4);
    tf.dispose([a, idx]);
  });
});

describe("TensorScatterUpdate becomes ScatterND", () => {
  const rows = () =>
    tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);
  /** A cache `[batch 1, seq 4, heads 2, features 2]` holding 0..15, and two new positions. */
  const cache = () =>
    tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 2, 2],
    );
  const fresh = () => tf.tensor3d([-1, -2, -3, -4, -5, -6, -7, -8], [2, 2, 2]);
  /** Writes `updates` at sequence positions `start + [0, 2)` of the cache, indices computed in the graph. */
  const writeAt = (c: tf.Tensor, updates: tf.Tensor, start: tf.Tensor) => {
    const seq = tf.add(tf.reshape(start, []), tf.range(0, 2, 1, "int32"));
    const indices = tf.stack([tf.zerosLike(seq), seq], 1);
    return tf.tensorScatterUpdate(c, indices, updates);
  };

  it("updates rows of a 2-D tensor, float32 and int32", async () => {
    const x = rows();
    const xi = tf.cast(x, "int32");
    const indices = tf.tensor2d([[3], [1]], [2, 1], "int32");
    const updates = tf.tensor2d([
      [-1, -2, -3],
      [-4, -5, -6],
    ]);
    const fn = (p: tf.Tensor, pi: tf.Tensor, i: tf.Tensor, u: tf.Tensor) => [
      tf.tensorScatterUpdate(p, i, u),
      tf.tensorScatterUpdate(pi, i, tf.cast(u, "int32")),
    ];
    expect(await parity(fn, [x, xi, indices, updates])).toEqual([0, 0]);
    const [floats] = fn(x, xi, indices, updates);
    expect(floats!.arraySync()).toEqual([
      [1, 2, 3],
      [-4, -5, -6],
      [7, 8, 9],
      [-1, -2, -3],
    ]);
    tf.dispose([x, xi, indices, updates, floats!]);
  });

  it("writes a 4-D cache slice at int32 indices computed from a start position", async () => {
    const c = cache();
    const u = fresh();
    for (const startAt of [0, 1, 2]) {
      const start = tf.scalar(startAt, "int32");
      expect(await parity((p, q, s) => [writeAt(p, q, s)], [c, u, start])).toEqual([0]);
      tf.dispose(start);
    }
    const start = tf.scalar(1, "int32");
    const written = writeAt(c, u, start);
    const data = Array.from(written.dataSync());
    // Positions 1 and 2 (elements 4..11) hold the new values; 0 and 3 keep the cache.
    expect(data).toEqual([0, 1, 2, 3, -1, -2, -3, -4, -5, -6, -7, -8, 12, 13, 14, 15]);
    tf.dispose([c, u, start, written]);
  });

  it("exports the same model twice, which runs to the same values", async () => {
    const c = cache();
    const u = fresh();
    const start = tf.scalar(2, "int32");
    const fn = (p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => [writeAt(p, q, s)];
    const first = onnx.export(fn, [c, u, start]);
    const second = onnx.export(fn, [c, u, start]);
    expect(second).toEqual(first);
    expect(Buffer.from(first).includes("ScatterND")).toBe(true);
    const outputs: number[][] = [];
    for (const bytes of [first, second]) {
      const s = await onnx.session(bytes, { threads: 1 });
      const results = await s.run({ input_0: c, input_1: u, input_2: start });
      const out = results.output as tf.Tensor;
      outputs.push(Array.from(out.dataSync()));
      tf.dispose(out);
      await s.dispose();
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, -1, -2, -3, -4, -5, -6, -7, -8]);
    tf.dispose([c, u, start]);
  });
});

describe("the kernel table in docs/onnx.md", () => {
  it("lists exactly the supported kernels, with their ONNX operators", () => {
    const doc = readFileSync(new URL("../../../docs/onnx.md", import.meta.url), "utf8");
    const rows = [...doc.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)].map((m) => ({
      kernel: m[1]!,
      onnx: m[2]!,
    }));
    expect(rows).toEqual(onnx.supportedKernels());
  });
});
