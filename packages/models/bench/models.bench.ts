/**
 * Throughput of the transformer LM of `@saikei/models` against hand-written tfjs versions of the
 * same model, in the same process (issue 8's benchmark):
 *
 * 1. `train-step-transformer`: `buildTrainStepFn` + `adam` on a `TransformerLM` against a
 *    hand-written tfjs training step (`tf.valueAndGrads` over plain tensors, 2-D matMuls whose
 *    gradient uses explicit transposes, the same Adam arithmetic). Target ratio <= 1.1. The line
 *    says whether saikei's gradients match the hand-written ones (`saikei_gradients_match`).
 * 2. `decode-kv-cached`: `temperatureSample` on the KV-cached sampler against a hand-written tfjs
 *    KV-cached decoding loop (same weights, same fixed-size caches and masking, same sampling keys).
 *    Target ratio <= 1.1.
 * 3. `decode-cached-vs-uncached-256`: `temperatureSample` (KV cache) against
 *    `temperatureSampleUncached` (the whole sequence recomputed per token), 256 generated tokens.
 *    Target: cached at least 5x faster (`speedup` field).
 *
 * Before timing, the hand-written versions are checked against the saikei model (a mismatch
 * throws): logits and log-probabilities within 1e-4 on the same input, and the same sampled
 * tokens. Gradients are compared per parameter; a saikei gradient that differs is reported (a
 * warning and `saikei_gradients_match: false`), not thrown, so the timings still print.
 * Each line also carries the rates (steps or tokens per second) and `os.loadavg()` before and after.
 *
 * Run: npx tsx --conditions=@saikei/source packages/models/bench/models.bench.ts
 * Environment: ROUNDS (default 3), TRAIN_ROUNDS (case 1, default ROUNDS or 6), DECODE_TOKENS (case 2, default 64), LONG_TOKENS (case 3, default 256),
 * LONG_ROUNDS (case 3, one run per side per round, default 2),
 * CASES (default "train,decode,long").
 */

import os from "node:os";
import { type NamedArrayBase, nx, random, ready } from "@saikei/named";
import { initializeParameters, Parameter } from "@saikei/nn";
import { select } from "@saikei/select";
import { adam, buildTrainStepFn, sgd, TrainState } from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import { compare, round } from "../../../bench/harness.js";
import {
  advanceOneToken,
  DecodingStep,
  KVCachingTransformerLM,
  prefill,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
  temperatureSample,
  temperatureSampleUncached,
} from "../src/index.js";

const backend = await ready();

const CONFIG: TransformerConfig = {
  numHeads: 4,
  embeddingDim: 64,
  projectionDim: 16,
  mlpHiddenDim: 256,
  numDecoderBlocks: 2,
  vocabSize: 60,
};
const D = CONFIG.embeddingDim;
const H = CONFIG.numHeads;
const P = CONFIG.projectionDim;
const V = CONFIG.vocabSize;
const BATCH = 8;
const SEQ = 64;
const LR = 3e-3;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;
const RMS_EPS = 1e-6;
const MASKED = -2.3819763e38;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** The training step varies most from run to run on a shared 2-core machine: more rounds. */
const TRAIN_ROUNDS = Number(process.env.TRAIN_ROUNDS ?? process.env.ROUNDS ?? 6);
const DECODE_TOKENS = Number(process.env.DECODE_TOKENS ?? 64);
const LONG_TOKENS = Number(process.env.LONG_TOKENS ?? 256);
const LONG_ROUNDS = Number(process.env.LONG_ROUNDS ?? 2);
const PROMPT = [5, 17, 3, 42, 8, 23, 11, 9];
const CASES = (process.env.CASES ?? "train,decode,long").split(",");

class BenchCheckError extends Error {
  override name = "BenchCheckError";
}

const load = () => os.loadavg().map((x) => round(x));

/** How many tfjs kernels one run of `f` dispatches (`Engine.runKernel` calls). */
function countKernels(f: () => unknown): number {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  let n = 0;
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    f();
  } finally {
    engine.runKernel = original;
  }
  return n;
}

type CompareOptions = Parameters<typeof compare>[4];
type CompareResult = Awaited<ReturnType<typeof compare>>;

/**
 * `compare`, whose JSON line also gets fields computed from its result (rates, the speed-up and
 * the load average after measuring): the line `compare` prints is intercepted and extended.
 */
async function compareWith(
  name: string,
  ours: () => unknown,
  baselineName: string,
  baseline: () => unknown,
  options: CompareOptions,
  after: (result: CompareResult) => Record<string, unknown>,
): Promise<CompareResult> {
  const log = console.log;
  let line = "";
  console.log = (...args: unknown[]) => {
    line = args.map(String).join(" ");
  };
  let result: CompareResult;
  try {
    result = await compare(name, ours, baselineName, baseline, options);
  } finally {
    console.log = log;
  }
  console.log(JSON.stringify({ ...JSON.parse(line), ...after(result), loadavg_after: load() }));
  return result;
}

function maxError(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  if (x.length !== y.length) throw new BenchCheckError(`size mismatch: ${x.length} vs ${y.length}`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  }
  return worst;
}

function check(what: string, a: tf.Tensor, b: tf.Tensor, tol = 1e-4): number {
  const err = maxError(a, b);
  if (!(err <= tol)) {
    throw new BenchCheckError(`${what}: the hand-written tfjs version differs from saikei by ${err} (> ${tol}).`);
  }
  return err;
}

// --- weights of a saikei model, in hand-written layouts -----------------------------------------

/** Plain weights: `wq/wk/wv: [D, H*P]`, `wo: [H*P, D]`, MLP `[D, F]`/`[F, D]`, norms `[D]`. */
type Weights = tf.Tensor[];
const PER_BLOCK = 9;
const names = (i: number) => [
  [`block_${i}.pre_attention_norm.scale.weights`, ["embedding"]],
  [`block_${i}.attn.query.weights`, ["embedding", "heads", "projection"]],
  [`block_${i}.attn.key.weights`, ["embedding", "heads", "projection"]],
  [`block_${i}.attn.value.weights`, ["embedding", "heads", "projection"]],
  [`block_${i}.attn.output.weights`, ["heads", "projection", "embedding"]],
  [`block_${i}.pre_ffw_norm.scale.weights`, ["embedding"]],
  [`block_${i}.mlp.gating_linear.weights`, ["embedding", "neurons"]],
  [`block_${i}.mlp.value_linear.weights`, ["embedding", "neurons"]],
  [`block_${i}.mlp.out_linear.weights`, ["neurons", "embedding"]],
] as const;

/** `[embeddings, finalNorm, ...per block]`, copied out of the model's parameters. */
function weightsOf(model: TransformerLM): Weights {
  const byName = new Map<string, NamedArrayBase>();
  for (const p of select(model).atInstancesOf(Parameter).getSequence() as Parameter[]) {
    byName.set(p.name, p.value as NamedArrayBase);
  }
  const take = (name: string, axes: readonly string[]) => {
    const value = byName.get(name);
    if (value === undefined) throw new BenchCheckError(`the model has no parameter "${name}"`);
    const t = value.unwrap(...axes);
    const shape = axes.length === 3 ? (axes[0] === "embedding" ? [D, H * P] : [H * P, D]) : t.shape;
    return tf.tidy(() => tf.clone(tf.reshape(t, shape)));
  };
  const out = [take("embedder.embeddings", ["vocabulary", "embedding"]), take("final_norm.scale.weights", ["embedding"])];
  for (let i = 0; i < CONFIG.numDecoderBlocks; i++) for (const [n, axes] of names(i)) out.push(take(n, axes));
  return out;
}

// --- the hand-written tfjs model ------------------------------------------------------------------

function rms(x: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), RMS_EPS))), scale);
}

function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/** cos and sin of `positions / 10000^(2i/P)`, shaped `[S, P/2]`. */
function ropeTables(positions: tf.Tensor1D): [tf.Tensor, tf.Tensor] {
  const half = P / 2;
  const inv = tf.tensor1d(Array.from({ length: half }, (_, i) => 1 / 10_000 ** ((2 * i) / P)));
  const theta = tf.mul(tf.reshape(tf.cast(positions, "float32"), [-1, 1]), inv);
  return [tf.cos(theta), tf.sin(theta)];
}

/** RoPE on `[B, H, S, P]` with tables `[S, P/2]`. */
function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const [a, b] = tf.split(x, 2, -1) as [tf.Tensor, tf.Tensor];
  return tf.concat([tf.sub(tf.mul(a, cos), tf.mul(b, sin)), tf.add(tf.mul(b, cos), tf.mul(a, sin))], -1);
}

/** `[B*S, H*P]` → `[B, H, S, P]`. */
function heads(x: tf.Tensor, B: number, S: number): tf.Tensor {
  return tf.transpose(tf.reshape(x, [B, S, H, P]), [0, 2, 1, 3]);
}

/**
 * `a @ b` (2-D, or 3-D batched) whose gradient uses explicit transposes and plain matMuls:
 * tfjs's own MatMul gradient uses transposed-operand matMuls, about 10x slower on wasm (measured
 * here for [512, 64] x [64, 256]: 22-24 ms transposed against 1.4-1.8 ms with tf.transpose).
 */
const matMulFastGrad = tf.customGrad((...args: unknown[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  const perm = a.rank === 2 ? [1, 0] : [0, 2, 1];
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        tf.matMul(dy as tf.Tensor3D, tf.transpose(sb, perm) as tf.Tensor3D),
        tf.matMul(tf.transpose(sa, perm) as tf.Tensor3D, dy as tf.Tensor3D),
      ];
    },
  };
});

/** Whether the hand-written model uses {@link matMulFastGrad} (in training) or plain tf.matMul. */
let fastGradMatMul = false;
function mm<T extends tf.Tensor>(a: T, b: T): T {
  return (fastGradMatMul ? matMulFastGrad(a, b) : tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D)) as T;
}

/** `B` products `a[i] @ b[i]`: one batched matMul, or (when faster on this backend) 2-D matMuls. */
let useLoopMatMul = false;
function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (!useLoopMatMul) return mm(a, b);
  const as = tf.unstack(a);
  const bs = tf.unstack(b);
  return tf.stack(as.map((x, i) => mm(x as tf.Tensor2D, bs[i] as tf.Tensor2D))) as tf.Tensor3D;
}

/**
 * One decoder block on `x: [B*S, D]` attending to keys/values `[B, H, L, P]` built by `kv` from
 * this block's (RoPE'd) keys and values `[B, H, S, P]`; `bias: [S, L]` is 0 or `MASKED`.
 */
function block(
  w: Weights,
  i: number,
  x: tf.Tensor,
  B: number,
  S: number,
  cos: tf.Tensor,
  sin: tf.Tensor,
  bias: tf.Tensor,
  kv: (k: tf.Tensor, v: tf.Tensor) => [tf.Tensor, tf.Tensor],
): tf.Tensor {
  const [ln1, wq, wk, wv, wo, ln2, wg, wu, wd] = w.slice(2 + i * PER_BLOCK, 2 + (i + 1) * PER_BLOCK) as tf.Tensor2D[];
  const h = rms(x, ln1!) as tf.Tensor2D;
  const q = tf.mul(rope(heads(mm(h, wq!), B, S), cos, sin), P ** -0.5);
  const [k, v] = kv(rope(heads(mm(h, wk!), B, S), cos, sin), heads(mm(h, wv!), B, S));
  const L = k.shape[2]!;
  const logits = bmm(
    tf.reshape(q, [B * H, S, P]) as tf.Tensor3D,
    tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [B * H, P, L]) as tf.Tensor3D,
  );
  const attn = tf.softmax(tf.add(logits, bias));
  const out = bmm(attn as tf.Tensor3D, tf.reshape(v, [B * H, L, P]) as tf.Tensor3D);
  const merged = tf.reshape(tf.transpose(tf.reshape(out, [B, H, S, P]), [0, 2, 1, 3]), [B * S, H * P]) as tf.Tensor2D;
  const x1 = tf.add(x, mm(merged, wo!));
  const h2 = rms(x1, ln2!) as tf.Tensor2D;
  return tf.add(x1, mm(tf.mul(gelu(mm(h2, wg!)), mm(h2, wu!)) as tf.Tensor2D, wd!));
}

function embed(w: Weights, tokens: tf.Tensor2D): tf.Tensor {
  const [B, S] = tokens.shape;
  return tf.mul(tf.gather(w[0]!, tf.reshape(tokens, [B * S])), Math.sqrt(D));
}

function decode(w: Weights, x: tf.Tensor): tf.Tensor2D {
  return mm(rms(x, w[1]!) as tf.Tensor2D, tf.transpose(w[0]!) as tf.Tensor2D);
}

/** Additive causal bias `[S, S]`: 0 where `j <= i`, else `MASKED`. */
function causalBias(S: number, L = S, offset = 0): tf.Tensor {
  return tf.tidy(() => {
    const i = tf.reshape(tf.range(offset, offset + S, 1, "int32"), [S, 1]);
    const j = tf.reshape(tf.range(0, L, 1, "int32"), [1, L]);
    return tf.where(tf.greaterEqual(i, j), tf.zeros([S, L]), tf.fill([S, L], MASKED));
  });
}

/** Full-sequence logits `[B*S, V]` (positions 0..S-1, causal). */
function handForward(w: Weights, tokens: tf.Tensor2D, bias: tf.Tensor): tf.Tensor2D {
  const [B, S] = tokens.shape;
  const [cos, sin] = ropeTables(tf.range(0, S, 1, "int32") as tf.Tensor1D);
  let x = embed(w, tokens);
  for (let i = 0; i < CONFIG.numDecoderBlocks; i++) x = block(w, i, x, B, S, cos, sin, bias, (k, v) => [k, v]);
  return decode(w, x);
}

function crossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const logProbs = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(targets, V), logProbs), -1))) as tf.Scalar;
}

// --- data -----------------------------------------------------------------------------------------

const [kx] = random.split(random.key(11), 1);
const xy = random.randint(kx!, [BATCH, SEQ + 1], 0, V);
const xTokens = tf.slice(xy, [0, 0], [BATCH, SEQ]) as tf.Tensor2D;
const yTokens = tf.slice(xy, [0, 1], [BATCH, SEQ]) as tf.Tensor2D;
xy.dispose();
const trainBias = causalBias(SEQ);
const positions = nx.arange("seq", SEQ);
const trainMask = positions.ge(nx.arange("kv_seq", SEQ));

// --- 1. training -----------------------------------------------------------------------------------

type Lm = TransformerLM;
const saikeiLoss = (model: Lm, x: tf.Tensor2D, y: tf.Tensor2D) => {
  const logits = model
    .call(new TransformerInputs({ tokens: nx.wrap(x, "batch", "seq"), positions, attentionMask: trainMask }))
    .unwrap("batch", "seq", "vocabulary");
  return crossEntropy(logits, y);
};
const trainStep = buildTrainStepFn<Lm, null, number, { x: tf.Tensor2D; y: tf.Tensor2D }>(({ model, state, x, y }) => {
  const loss = saikeiLoss(model, x, y);
  return [loss, state, loss.dataSync()[0]!];
});
const optimizer = () => adam({ learningRate: LR, b1: B1, b2: B2, eps: EPS });

function makeHandTrainer(initial: Weights) {
  let params = initial;
  let m = params.map((p) => tf.zerosLike(p));
  let v = params.map((p) => tf.zerosLike(p));
  let count = 0;
  const valueAndGrads = tf.valueAndGrads((...ws: tf.Tensor[]) =>
    crossEntropy(handForward(ws, xTokens, trainBias), tf.reshape(yTokens, [BATCH * SEQ])),
  );
  return {
    step(): number {
      count++;
      const c1 = 1 - B1 ** count;
      const c2 = 1 - B2 ** count;
      const { value, grads } = valueAndGrads(params);
      const next = tf.tidy(() => {
        const out: tf.Tensor[] = [];
        for (let i = 0; i < params.length; i++) {
          const g = grads[i]!;
          const mi = tf.add(tf.mul(m[i]!, B1), tf.mul(g, 1 - B1));
          const vi = tf.add(tf.mul(v[i]!, B2), tf.mul(tf.square(g), 1 - B2));
          const update = tf.mul(tf.div(mi, tf.add(tf.sqrt(tf.mul(vi, 1 / c2)), EPS)), -LR / c1);
          out.push(tf.add(params[i]!, update), mi, vi);
        }
        return out;
      });
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...grads, ...params, ...m, ...v]);
      params = next.filter((_, i) => i % 3 === 0);
      m = next.filter((_, i) => i % 3 === 1);
      v = next.filter((_, i) => i % 3 === 2);
      return loss;
    },
    dispose() {
      tf.dispose([...params, ...m, ...v]);
    },
  };
}

/**
 * Names of the parameters whose saikei gradient (read off one `sgd(1)` step of `buildTrainStepFn`)
 * differs from the hand-written model's `tf.grads` by more than 1e-3 relative to its norm.
 */
function gradientMismatches(model: TransformerLM): string[] {
  const labels = ["embedder.embeddings", "final_norm.scale.weights"];
  for (let i = 0; i < CONFIG.numDecoderBlocks; i++) labels.push(...names(i).map((n) => n[0]));
  const step = buildTrainStepFn<Lm, null, null, { x: tf.Tensor2D; y: tf.Tensor2D }>(
    ({ model, state, x, y }) => [saikeiLoss(model, x, y), state, null],
    { donateParamsAndState: false },
  );
  const start = TrainState.initialState(model, sgd({ learningRate: 1 }), random.key(1));
  const [next] = step(start, { x: xTokens, y: yTokens });
  const bad: string[] = [];
  tf.tidy(() => {
    const w0 = weightsOf(model);
    const w1 = weightsOf(next.model);
    const gradsWith = (fast: boolean) => {
      fastGradMatMul = fast;
      return tf.grads((...ws: tf.Tensor[]) =>
        crossEntropy(handForward(ws, xTokens, trainBias), tf.reshape(yTokens, [BATCH * SEQ])),
      )(w0);
    };
    const reference = gradsWith(false);
    const handGrads = gradsWith(true);
    handGrads.forEach((g, k) => check(`hand-written gradient of ${labels[k]} (explicit-transpose matMul gradient)`, g, reference[k]!));
    w0.forEach((w, k) => {
      const diff = tf.norm(tf.sub(tf.sub(w, w1[k]!), handGrads[k]!)).dataSync()[0]!;
      const scale = tf.norm(handGrads[k]!).dataSync()[0]!;
      if (!(diff <= 1e-3 * Math.max(scale, 1e-6))) bad.push(labels[k]!);
    });
  });
  start.dispose();
  next.dispose();
  return bad;
}

if (CASES.includes("train")) {
  fastGradMatMul = true;
  const model = initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(0));
  // The hand-written step takes the faster attention lowering (batched, or a loop of 2-D matMuls),
  // timed on its own forward and backward pass.
  {
    const w = weightsOf(model);
    const grads = tf.grads((...ws: tf.Tensor[]) =>
      crossEntropy(handForward(ws, xTokens, trainBias), tf.reshape(yTokens, [BATCH * SEQ])),
    );
    const time = (loop: boolean) => {
      useLoopMatMul = loop;
      let best = Infinity;
      for (let r = 0; r < 4; r++) {
        const t0 = performance.now();
        tf.tidy(() => {
          for (const g of grads(w)) g.dataSync();
        });
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const batched = Math.min(time(false), time(false));
    const loop = Math.min(time(true), time(true));
    useLoopMatMul = loop < batched;
    tf.dispose(w);
  }
  const hand = makeHandTrainer(weightsOf(model));
  // Correctness: the same logits, then the same losses over three Adam steps.
  const logitsErr = tf.tidy(() => {
    const ours = saikeiLoss(model, xTokens, yTokens);
    const theirs = crossEntropy(handForward(weightsOf(model), xTokens, trainBias), tf.reshape(yTokens, [-1]));
    check("training loss", theirs, ours);
    const a = model
      .call(new TransformerInputs({ tokens: nx.wrap(xTokens, "batch", "seq"), positions, attentionMask: trainMask }))
      .unwrap("batch", "seq", "vocabulary");
    const w = weightsOf(model);
    const b = handForward(w, xTokens, trainBias);
    const err = check("training forward logits", b, tf.reshape(a, [BATCH * SEQ, V]));
    tf.dispose(w);
    return err;
  });
  const badGradients = gradientMismatches(initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(0)));
  if (badGradients.length > 0) {
    console.error(
      `WARNING: saikei's gradients differ from the hand-written tfjs gradients (rel. > 1e-3) for ${badGradients.length} parameters: ` +
        `${badGradients.join(", ")}. The timed saikei step then does less backward work than a correct one.`,
    );
  }
  let state = TrainState.initialState(model, optimizer(), random.key(1));
  let lossErr = 0;
  for (let s = 0; s < 3; s++) {
    const [next, ours] = trainStep(state, { x: xTokens, y: yTokens });
    state = next;
    const theirs = hand.step();
    lossErr = Math.max(lossErr, Math.abs(ours - theirs) / Math.max(1, Math.abs(theirs)));
  }
  if (badGradients.length === 0 && !(lossErr <= 1e-4)) {
    throw new BenchCheckError(`training: saikei and hand-written losses differ by ${lossErr} after 3 Adam steps.`);
  }
  const ours = () => {
    const [next, loss] = trainStep(state, { x: xTokens, y: yTokens });
    state = next;
    return loss;
  };
  const kernels = { ours: countKernels(ours), baseline: countKernels(hand.step) };
  await compareWith("train-step-transformer", ours, "hand-written tfjs valueAndGrads + Adam", hand.step, {
    warmup: 1,
    iterations: 5,
    rounds: TRAIN_ROUNDS,
    extra: {
      unit: "ms per step",
      backend,
      hand_attention_matmul: useLoopMatMul ? "loop of 2-D matMuls" : "batched matMul",
      model: "D64 H4 P16 F256 2 blocks V60",
      batch: BATCH,
      seq: SEQ,
      logits_max_rel_err: round(logitsErr),
      loss_after_3_steps_rel_err: round(lossErr),
      saikei_gradients_match: badGradients.length === 0,
      ours_kernels_per_step: kernels.ours,
      baseline_kernels_per_step: kernels.baseline,
      loadavg_before: load(),
    },
  }, (r) => ({ ours_steps_per_s: round(1000 / r.ours_ms), baseline_steps_per_s: round(1000 / r.baseline_ms) }));
  state.dispose();
  hand.dispose();
  fastGradMatMul = false;
  useLoopMatMul = false;
}

// --- hand-written KV-cached decoding ------------------------------------------------------------

interface HandDecodeState {
  /** Per block: keys and values `[B, H, L, P]`. */
  readonly caches: [tf.Tensor, tf.Tensor][];
  /** Filled positions. */
  readonly index: number;
}

/** `cache` with `update` (`[B, H, S, P]`) written at positions `[start, start + S)` of axis 2. */
function writeSlot(cache: tf.Tensor, update: tf.Tensor, start: number): tf.Tensor {
  const [B, , L] = cache.shape as number[];
  const S = update.shape[2]!;
  const parts: tf.Tensor[] = [];
  if (start > 0) parts.push(tf.slice(cache, [0, 0, 0, 0], [B!, H, start, P]));
  parts.push(update);
  if (start + S < L!) parts.push(tf.slice(cache, [0, 0, start + S, 0], [B!, H, L! - start - S, P]));
  return parts.length === 1 ? parts[0]! : tf.concat(parts, 2);
}

/** Runs `tokens: [B, S]` at positions `index..index+S-1` against the caches: `[logProbs of the last token [B, V], state]`. */
function handStep(w: Weights, state: HandDecodeState, tokens: tf.Tensor2D, bias: tf.Tensor): [tf.Tensor2D, HandDecodeState] {
  const [B, S] = tokens.shape;
  const caches: [tf.Tensor, tf.Tensor][] = [];
  const logProbs = tf.tidy(() => {
    const [cos, sin] = ropeTables(tf.range(state.index, state.index + S, 1, "int32") as tf.Tensor1D);
    let x = embed(w, tokens);
    for (let i = 0; i < CONFIG.numDecoderBlocks; i++) {
      x = block(w, i, x, B, S, cos, sin, bias, (k, v) => {
        const [kc, vc] = state.caches[i]!;
        const pair: [tf.Tensor, tf.Tensor] = [tf.keep(writeSlot(kc, k, state.index)), tf.keep(writeSlot(vc, v, state.index))];
        caches.push(pair);
        return pair;
      });
    }
    const logits = tf.reshape(decode(w, x), [B, S, V]);
    return tf.logSoftmax(tf.reshape(tf.slice(logits, [0, S - 1, 0], [B, 1, V]), [B, V])) as tf.Tensor2D;
  });
  return [logProbs, { caches, index: state.index + S }];
}

function disposeHandState(state: HandDecodeState): void {
  for (const [k, v] of state.caches) tf.dispose([k, v]);
}

/**
 * A hand-written KV-cached decoding loop over fixed-size caches of `cacheLen` positions, drawing
 * tokens like `temperatureSample` (the same key splits and `random.categorical`), so it samples
 * the same tokens. Returns the sampled tokens `[B, steps]`.
 */
function makeHandDecoder(w: Weights, cacheLen: number) {
  const biasAll = causalBias(cacheLen);
  const zeroState = (B: number): HandDecodeState => ({
    caches: Array.from({ length: CONFIG.numDecoderBlocks }, () => [tf.zeros([B, H, cacheLen, P]), tf.zeros([B, H, cacheLen, P])]),
    index: 0,
  });
  const rowsOf = (start: number, n: number) => tf.slice(biasAll, [start, 0], [n, cacheLen]);
  return {
    prefill(prompt: tf.Tensor2D): [tf.Tensor2D, HandDecodeState] {
      const state = zeroState(prompt.shape[0]);
      const bias = rowsOf(0, prompt.shape[1]);
      const out = handStep(w, state, prompt, bias);
      tf.dispose(bias);
      disposeHandState(state);
      return out;
    },
    advance(state: HandDecodeState, token: tf.Tensor1D): [tf.Tensor2D, HandDecodeState] {
      const bias = rowsOf(state.index, 1);
      const tokens = tf.reshape(token, [-1, 1]) as tf.Tensor2D;
      const out = handStep(w, state, tokens, bias);
      tf.dispose([bias, tokens]);
      return out;
    },
    sample(prompt: tf.Tensor2D, key: random.RandomKey, maxSteps: number, temperature = 1): tf.Tensor2D {
      let [logProbs, state] = this.prefill(prompt);
      const sampled: tf.Tensor1D[] = [];
      let rng = key;
      for (;;) {
        const [nextRng, stepKey] = random.split(rng);
        rng = nextRng!;
        const next = tf.tidy(() => tf.cast(random.categorical(stepKey!, tf.div(logProbs, temperature), 1), "int32")) as tf.Tensor1D;
        logProbs.dispose();
        sampled.push(next);
        if (sampled.length >= maxSteps || state.index >= cacheLen) break;
        const [nextLogProbs, nextState] = this.advance(state, next);
        disposeHandState(state);
        logProbs = nextLogProbs;
        state = nextState;
      }
      disposeHandState(state);
      const result = tf.stack(sampled, 1) as tf.Tensor2D;
      tf.dispose(sampled);
      return result;
    },
    dispose() {
      biasAll.dispose();
    },
  };
}

// --- 2. KV-cached decoding: saikei against hand-written -----------------------------------------

const model = initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(0));
const weights = weightsOf(model);
const prompt = tf.tensor2d([PROMPT], undefined, "int32");
const namedPrompt = nx.wrap(prompt, "batch", "seq");
const rowsOfTokens = (t: tf.Tensor) => Array.from(t.dataSync());
if (CASES.includes("decode")) {
  const cacheLen = PROMPT.length + DECODE_TOKENS;
  const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, cacheLen, { batch: 1 });
  const hand = makeHandDecoder(weights, cacheLen);
  // Correctness: log-probabilities after the prompt and after each of four fed tokens.
  let worst = 0;
  {
    let [ours, oursState] = prefill(sampler, state0, namedPrompt, -1);
    let [theirs, theirsState] = hand.prefill(prompt);
    for (let s = 0; ; s++) {
      worst = Math.max(worst, check(`decoding log-probabilities at step ${s}`, theirs, ours.unwrap("batch", "vocabulary")));
      if (s === 4) break;
      const token = tf.tensor1d([PROMPT[s]!], "int32");
      const [o, os] = advanceOneToken(sampler, oursState, nx.wrap(token, "batch"));
      const [t, ts] = hand.advance(theirsState, token);
      tf.dispose([ours.dataArray, theirs, token, oursState.previousTokens.dataArray]);
      if (oursState.kvCacheState !== state0) oursState.kvCacheState.dispose();
      disposeHandState(theirsState);
      [ours, oursState, theirs, theirsState] = [o, os, t, ts];
    }
    tf.dispose([ours.dataArray, theirs, oursState.previousTokens.dataArray]);
    oursState.kvCacheState.dispose();
    disposeHandState(theirsState);
  }
  // saikei decodes through a DecodingStep kept across calls (its traces are made by the first
  // call, here the correctness check); `ours_fresh_step_ms` times calls that build their own.
  const step = new DecodingStep();
  const sample = (withStep: boolean) =>
    temperatureSample(sampler, state0, namedPrompt, random.key(5), {
      maxSamplingSteps: DECODE_TOKENS,
      padId: -1,
      ...(withStep ? { step } : {}),
    });
  const oursTokens = sample(true);
  const theirTokens = hand.sample(prompt, random.key(5), DECODE_TOKENS);
  const a = rowsOfTokens(oursTokens.unwrap("batch", "seq"));
  const b = rowsOfTokens(theirTokens);
  tf.dispose([oursTokens.dataArray, theirTokens]);
  if (a.join() !== b.join()) {
    throw new BenchCheckError(`decoding: saikei sampled [${a.join(", ")}] but the hand-written loop sampled [${b.join(", ")}].`);
  }
  const perToken = (n: number) => round(n / DECODE_TOKENS);
  const kernels = {
    ours: perToken(countKernels(() => sample(true).dataArray.dispose())),
    baseline: perToken(countKernels(() => hand.sample(prompt, random.key(5), DECODE_TOKENS).dispose())),
  };
  let freshStepMs = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    sample(false).dataArray.dispose();
    freshStepMs = Math.min(freshStepMs, performance.now() - t0);
  }
  await compareWith(
    "decode-kv-cached",
    () => sample(true).dataArray.dispose(),
    "hand-written tfjs KV-cached loop",
    () => hand.sample(prompt, random.key(5), DECODE_TOKENS).dispose(),
    {
      warmup: 1,
      iterations: 3,
      rounds: ROUNDS,
      extra: {
        unit: `ms per ${DECODE_TOKENS} tokens`,
        backend,
        batch: 1,
        prompt: PROMPT.length,
        cache_len: cacheLen,
        log_probs_max_rel_err: round(worst),
        same_tokens: true,
        ours_kernels_per_token: kernels.ours,
        baseline_kernels_per_token: kernels.baseline,
        ours_step: "DecodingStep kept across calls",
        step_kernels_per_token: step.stats.kernels,
        step_recorded_kernels_per_token: step.stats.recordedKernels,
        loadavg_before: load(),
      },
    },
    (r) => ({
      ours_tokens_per_s: round((DECODE_TOKENS * 1000) / r.ours_ms),
      baseline_tokens_per_s: round((DECODE_TOKENS * 1000) / r.baseline_ms),
      ours_fresh_step_ms: round(freshStepMs),
      ours_fresh_step_ratio: round(freshStepMs / r.baseline_ms),
    }),
  );
  step.dispose();
  state0.dispose();
  hand.dispose();
}

// --- 3. KV-cached against uncached recomputation, 256 tokens --------------------------------------
if (CASES.includes("long")) {
  const cacheLen = PROMPT.length + LONG_TOKENS;
  const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, cacheLen, { batch: 1 });
  // Each side's tokens from its last run, to check that both loops sample the same continuation.
  let cachedTokens = "";
  let uncachedTokens = "";
  const run = (f: () => NamedArrayBase) => {
    const out = f();
    const tokens = rowsOfTokens(out.unwrap("batch", "seq")).join();
    out.dataArray.dispose();
    return tokens;
  };
  const step = new DecodingStep();
  const cached = () => {
    cachedTokens = run(() =>
      temperatureSample(sampler, state0, namedPrompt, random.key(7), { maxSamplingSteps: LONG_TOKENS, padId: -1, step }),
    );
  };
  const uncached = () => {
    uncachedTokens = run(() => temperatureSampleUncached(model, namedPrompt, random.key(7), { maxSamplingSteps: LONG_TOKENS }));
  };
  // For reference: the hand-written KV-cached loop over the same cache (best of two runs).
  const handLong = makeHandDecoder(weights, cacheLen);
  let handLongMs = Infinity;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    handLong.sample(prompt, random.key(7), LONG_TOKENS).dispose();
    handLongMs = Math.min(handLongMs, performance.now() - t0);
  }
  handLong.dispose();
  // The uncached loop is slow: one timed run per round, no warm-up (the minimum over rounds is
  // reported). The cached side's step makes its traces in a first, untimed run.
  cached();
  await compareWith("decode-cached-vs-uncached-256", cached, "temperatureSampleUncached", uncached, {
    warmup: 0,
    iterations: 1,
    rounds: LONG_ROUNDS,
    extra: {
      unit: `ms per ${LONG_TOKENS} tokens`,
      backend,
      batch: 1,
      prompt: PROMPT.length,
      cache_len: cacheLen,
      runs_per_side: LONG_ROUNDS,
      loadavg_before: load(),
    },
  }, (r) => ({
    speedup: round(1 / r.ratio),
    target_speedup: 5,
    ours_tokens_per_s: round((LONG_TOKENS * 1000) / r.ours_ms),
    baseline_tokens_per_s: round((LONG_TOKENS * 1000) / r.baseline_ms),
    same_tokens: cachedTokens === uncachedTokens,
    hand_written_cached_ms: round(handLongMs),
    hand_written_cached_speedup: round(r.baseline_ms / handLongMs),
  }));
  step.dispose();
  state0.dispose();
}
tf.dispose([...weights, prompt]);
