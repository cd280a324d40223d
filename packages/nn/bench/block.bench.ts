/**
 * A transformer block (pre-norm attention + gelu MLP; d_model 256, 4 heads of 64, seq 128,
 * batch 4, MLP 1024) built from @saikei/nn layers with its attention-mask side input handled,
 * against the same math written directly in tfjs with the best lowering we know for the wasm
 * backend: plain 2-D matMuls, explicit transposes, and per-(batch, head) 2-D matMuls for the
 * attention products.
 *
 * Run: npx tsx --conditions=@saikei/source packages/nn/bench/block.bench.ts
 */

import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { compare } from "../../../bench/harness.js";
import {
  AddBias,
  Attention,
  addParameterPrefix,
  ConstantRescale,
  Elementwise,
  gelu,
  initializeParameters,
  LayerNorm,
  Linear,
  Residual,
  Sequential,
} from "../src/index.js";
import { multiHeadCombine, multiHeadScores } from "../test/helpers.js";

const BATCH = 4;
const SEQ = 128;
const D = 256;
const H = 4;
const P = 64;
const F = 1024;
const MASKED = -2.3819763e38;

function buildBlock(): Sequential {
  const prefixed = <T>(name: string, layer: T) => addParameterPrefix(name, layer);
  const attention = new Attention({
    inputToQuery: new Sequential({
      sublayers: [
        prefixed("query", Linear.fromConfig({ embedding: D }, { heads: H, projection: P })),
        new ConstantRescale({ by: P ** -0.5 }),
      ],
    }),
    inputToKey: prefixed("key", Linear.fromConfig({ embedding: D }, { heads: H, projection: P })),
    inputToValue: prefixed("value", Linear.fromConfig({ embedding: D }, { heads: H, projection: P })),
    queryKeyToAttn: multiHeadScores(),
    attnValueToOutput: multiHeadCombine(
        prefixed("output", Linear.fromConfig({ heads: H, projection: P }, { embedding: D })),
),
  });
  return new Sequential({
    sublayers: [
      new Residual({
        delta: new Sequential({ sublayers: [prefixed("attn_norm", LayerNorm.fromConfig({ embedding: D })), prefixed("attn", attention)] }),
      }),
      new Residual({
        delta: new Sequential({
          sublayers: [
            prefixed("mlp_norm", LayerNorm.fromConfig({ embedding: D })),
            prefixed("mlp.in", Linear.fromConfig({ embedding: D }, { neurons: F })),
            prefixed("mlp.in_bias", AddBias.fromConfig({ neurons: F })),
            new Elementwise({ fn: gelu }),
            prefixed("mlp.out", Linear.fromConfig({ neurons: F }, { embedding: D })),
          ],
        }),
      }),
    ],
  });
}

/** `[n, m, k] x [n, k, p]` as n plain 2-D matMuls on host-split operands (fastest on wasm). */
function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [n, m, k] = a.shape;
  const p = b.shape[2];
  const aData = a.dataSync() as Float32Array;
  const bData = b.dataSync() as Float32Array;
  const out = new Float32Array(n * m * p);
  for (let i = 0; i < n; i++) {
    const ai = tf.tensor2d(aData.subarray(i * m * k, (i + 1) * m * k), [m, k]);
    const bi = tf.tensor2d(bData.subarray(i * k * p, (i + 1) * k * p), [k, p]);
    const ci = tf.matMul(ai, bi);
    out.set(ci.dataSync() as Float32Array, i * m * p);
    ai.dispose();
    bi.dispose();
    ci.dispose();
  }
  return tf.tensor3d(out, [n, m, p]);
}

interface Weights {
  ln1Scale: tf.Tensor;
  ln1Bias: tf.Tensor;
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  wo: tf.Tensor2D;
  ln2Scale: tf.Tensor;
  ln2Bias: tf.Tensor;
  w1: tf.Tensor2D;
  b1: tf.Tensor;
  w2: tf.Tensor2D;
}

function layerNorm(x: tf.Tensor2D, scale: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const variance = tf.sub(tf.mean(tf.square(x), -1, true), tf.square(mean));
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), scale), bias) as tf.Tensor2D;
}

function handWritten(x: tf.Tensor3D, mask: tf.Tensor2D, w: Weights): tf.Tensor3D {
  return tf.tidy(() => {
    const rows = tf.reshape(x, [BATCH * SEQ, D]) as tf.Tensor2D;
    const h1 = layerNorm(rows, w.ln1Scale, w.ln1Bias);
    const heads = (t: tf.Tensor2D, perm: number[]) => tf.transpose(tf.reshape(t, [BATCH, SEQ, H, P]), perm);
    const q = tf.reshape(heads(tf.mul(tf.matMul(h1, w.wq), P ** -0.5) as tf.Tensor2D, [0, 2, 1, 3]), [BATCH * H, SEQ, P]);
    const kT = tf.reshape(heads(tf.matMul(h1, w.wk), [0, 2, 3, 1]), [BATCH * H, P, SEQ]);
    const v = tf.reshape(heads(tf.matMul(h1, w.wv), [0, 2, 1, 3]), [BATCH * H, SEQ, P]);
    const logits = tf.reshape(batchedMatMul(q as tf.Tensor3D, kT as tf.Tensor3D), [BATCH, H, SEQ, SEQ]);
    // tfjs's broadcasting `where` is very slow on wasm: expand the mask through a float add instead.
    const fullMask = tf.greater(tf.add(tf.zeros([BATCH, H, SEQ, SEQ]), tf.cast(tf.reshape(mask, [1, 1, SEQ, SEQ]), "float32")), 0.5);
    const masked = tf.where(fullMask, logits, tf.fill([BATCH, H, SEQ, SEQ], MASKED));
    const probs = tf.reshape(tf.softmax(masked), [BATCH * H, SEQ, SEQ]);
    const attn = tf.reshape(batchedMatMul(probs as tf.Tensor3D, v as tf.Tensor3D), [BATCH, H, SEQ, P]);
    const merged = tf.reshape(tf.transpose(attn, [0, 2, 1, 3]), [BATCH * SEQ, H * P]) as tf.Tensor2D;
    const afterAttn = tf.add(rows, tf.matMul(merged, w.wo)) as tf.Tensor2D;
    const h2 = layerNorm(afterAttn, w.ln2Scale, w.ln2Bias);
    const hidden = gelu(tf.add(tf.matMul(h2, w.w1), w.b1));
    const out = tf.add(afterAttn, tf.matMul(hidden as tf.Tensor2D, w.w2));
    return tf.reshape(out, [BATCH, SEQ, D]) as tf.Tensor3D;
  });
}

function param(model: unknown, name: string): NamedArray {
  const found: NamedArray[] = [];
  const visit = (node: any): void => {
    if (node === null || typeof node !== "object") return;
    if (node.constructor?.name === "Parameter" && node.name === name) found.push(node.value);
    for (const key of Object.keys(node)) visit(node[key]);
  };
  visit(model);
  if (found.length !== 1) throw new Error(`benchmark: parameter ${name} not found`);
  return found[0]!;
}

async function main(): Promise<void> {
  const backend = await ready();
  const block = initializeParameters(buildBlock(), random.key(0));
  const handled = WithSideInputsFromInputTuple.handling(block, ["attn_mask"]);
  const data = random.normal(random.key(1), [BATCH, SEQ, D]) as tf.Tensor3D;
  const x = nx.wrap(data, "batch", "seq", "embedding");
  const maskData = tf.tidy(() =>
    tf.greaterEqual(tf.reshape(tf.range(0, SEQ, 1, "int32"), [SEQ, 1]), tf.reshape(tf.range(0, SEQ, 1, "int32"), [1, SEQ])),
  ) as tf.Tensor2D;
  const mask = nx.wrap(maskData, "seq", "kv_seq");
  const flat = (name: string, ...order: string[]) => {
    const value = param(block, name);
    return tf.reshape(value.orderAs(...order).dataArray, [-1]);
  };
  const matrix = (name: string, order: string[], rows: number) =>
    tf.reshape(param(block, name).orderAs(...order).dataArray, [rows, -1]) as tf.Tensor2D;
  const weights: Weights = {
    ln1Scale: flat("attn_norm.scale.weights", "embedding"),
    ln1Bias: flat("attn_norm.shift.bias", "embedding"),
    wq: matrix("attn.query.weights", ["embedding", "heads", "projection"], D),
    wk: matrix("attn.key.weights", ["embedding", "heads", "projection"], D),
    wv: matrix("attn.value.weights", ["embedding", "heads", "projection"], D),
    wo: matrix("attn.output.weights", ["heads", "projection", "embedding"], H * P),
    ln2Scale: flat("mlp_norm.scale.weights", "embedding"),
    ln2Bias: flat("mlp_norm.shift.bias", "embedding"),
    w1: matrix("mlp.in.weights", ["embedding", "neurons"], D),
    b1: flat("mlp.in_bias.bias", "neurons"),
    w2: matrix("mlp.out.weights", ["neurons", "embedding"], F),
  };

  // Same math: check before timing.
  const ours = handled.call([x, mask]) as NamedArray;
  const theirs = handWritten(data, maskData, weights);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours.orderAs("batch", "seq", "embedding").dataArray, theirs))).dataSync()[0]!);
  if (!(diff < 1e-3)) throw new Error(`benchmark: the two blocks disagree (max abs diff ${diff})`);
  ours.dataArray.dispose();
  theirs.dispose();

  await compare(
    "transformer-block-b4-s128-d256-h4",
    () => {
      const y = handled.call([x, mask]) as NamedArray;
      y.dataArray.dataSync();
      y.dataArray.dispose();
    },
    "hand-written tfjs (2-D matMuls)",
    () => {
      const y = handWritten(data, maskData, weights);
      y.dataSync();
      y.dispose();
    },
    { warmup: 2, iterations: 7, rounds: 5, extra: { backend, max_abs_diff: Number(diff.toExponential(2)) } },
  );
}

if (process.env.NN_BENCH_PROFILE) await profileOps();
else await main();

/** Prints the kernels each version runs (set NN_BENCH_PROFILE=1). */
async function profileOps(): Promise<void> {
  await ready();
  const block = initializeParameters(buildBlock(), random.key(0));
  const handled = WithSideInputsFromInputTuple.handling(block, ["attn_mask"]);
  const x = nx.wrap(random.normal(random.key(1), [BATCH, SEQ, D]), "batch", "seq", "embedding");
  const mask = nx.wrap(
    tf.tidy(() =>
      tf.greaterEqual(tf.reshape(tf.range(0, SEQ, 1, "int32"), [SEQ, 1]), tf.reshape(tf.range(0, SEQ, 1, "int32"), [1, SEQ])),
    ),
    "seq",
    "kv_seq",
  );
  const info = await tf.profile(() => {
    const y = handled.call([x, mask]) as NamedArray;
    y.dataArray.dataSync();
    return y.dataArray;
  });
  const counts = new Map<string, number>();
  for (const k of info.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
  console.log("ours", info.kernels.length, JSON.stringify([...counts].sort((a, b) => b[1] - a[1])));
}
