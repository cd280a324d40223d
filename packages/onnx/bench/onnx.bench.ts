/**
 * onnxruntime against saikei on tfjs, in the same process (issue 18's benchmarks):
 *
 * 1. `forward-d256x4-b8-s128`: a `TransformerLM` forward pass (d256, 4 heads of 64, MLP 1024,
 *    4 blocks, vocabulary 256; batch 8, sequence 128) exported once and run by onnxruntime-node on
 *    one thread (`ours`) against the same model on tfjs (the fastest tfjs path: `jit`, on the
 *    backend `ready()` picks, wasm in Node). Target: at least 4x faster (`speedup`). A second line
 *    runs onnxruntime on every core.
 * 2. `matmul-1024`: a 1024³ float32 matMul on onnxruntime alone (one thread, its own tensors)
 *    against tfjs, with both GFLOP/s and the time through `session.run` (which copies the inputs
 *    and the output between tfjs and onnxruntime); the forward lines report their GFLOP/s as a
 *    share of the engine's matMul (`share_of_matmul`). FLOPs of the forward are counted from its
 *    traced matMul kernels.
 * 3. `decode-kv-cached-128`: `temperatureSample` of 128 greedy tokens (batch 1, prompt 8) with
 *    `engine: onnx.decodingEngine({ threads: 1 })` against the tfjs path (`DecodingStep`), in
 *    tokens per second. Target: at least 2x. Before timing, both give the same tokens (else it throws).
 *
 * Run: npm run bench -- onnx. Environment: ROUNDS (default 2), CASES (default "forward,matmul,decode").
 */

import os from "node:os";
import {
  KVCachingTransformerLM,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
  temperatureSample,
  DecodingStep,
} from "@saikei/models";
import { jit, type NamedArrayBase, nx, random, ready, traceKernels } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { compare, measure, round } from "../../../bench/harness.js";
import * as onnx from "../src/index.js";

const backend = await ready();
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CASES = (process.env.CASES ?? "forward,matmul,decode").split(",");
const CORES = os.cpus().length;

const CONFIG: TransformerConfig = {
  numHeads: 4,
  embeddingDim: 256,
  projectionDim: 64,
  mlpHiddenDim: 1024,
  numDecoderBlocks: 4,
  vocabSize: 256,
};
const model = initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(0));

/** Multiply-add FLOPs of the matMul kernels `fn` runs on `args` (2·batch·m·k·n each). */
function matMulFlops(fn: (...a: never[]) => unknown, args: unknown[]): number {
  const trace = traceKernels(fn, args);
  let flops = 0;
  for (const k of trace.kernels) {
    if (k.kernel !== "BatchMatMul" && k.kernel !== "_FusedMatMul") continue;
    const out = trace.values[k.outputs[0]!] as { shape: number[] };
    const a = trace.values[k.inputs[0]!] as { kind: string; shape?: number[]; tensor?: tf.Tensor };
    const aShape = a.kind === "constant" ? a.tensor!.shape : a.shape!;
    const inner = k.attrs?.transposeA === true ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
    flops += 2 * out.shape.reduce((p, s) => p * s, 1) * inner;
  }
  trace.dispose();
  return flops;
}

const gflops = (flops: number, ms: number) => round(flops / ms / 1e6);

let matmulGflops: number | undefined;

async function matmulCase(): Promise<void> {
  const a = random.normal(random.key(1), [1024, 1024]);
  const b = random.normal(random.key(2), [1024, 1024]);
  const bytes = onnx.export((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y), [a, b]);
  const session = await onnx.session(bytes, { threads: 1 });
  // The engine alone: onnxruntime tensors made once, no copies between tfjs and onnxruntime.
  const ort = await import("onnxruntime-node");
  const raw = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {
    input_0: new ort.Tensor("float32", a.dataSync() as Float32Array, [1024, 1024]),
    input_1: new ort.Tensor("float32", b.dataSync() as Float32Array, [1024, 1024]),
  };
  const flops = 2 * 1024 ** 3;
  const result = await compare(
    "matmul-1024",
    async () => {
      await raw.run(feeds);
    },
    `tfjs-${backend}`,
    () => tf.matMul(a, b).dispose(),
    { warmup: 2, iterations: 5, rounds: ROUNDS, extra: { threads: 1 } },
  );
  const throughSession = await measure(async () => {
    const { output } = await session.run({ input_0: a, input_1: b });
    (output as tf.Tensor).dispose();
  }, { warmup: 1, iterations: 5 });
  matmulGflops = flops / result.ours_ms / 1e6;
  console.log(
    JSON.stringify({
      case: "matmul-1024-gflops",
      onnxruntime_gflops: round(matmulGflops),
      tfjs_gflops: gflops(flops, result.baseline_ms),
      // With the copies of two 4 MB inputs and the output between tfjs and onnxruntime.
      onnx_session_ms: round(throughSession),
      onnx_session_gflops: gflops(flops, throughSession),
    }),
  );
  await raw.release();
  await session.dispose();
  tf.dispose([a, b]);
}

async function forwardCase(): Promise<void> {
  const tokens = nx.wrap(random.randint(random.key(3), [8, 128], 0, CONFIG.vocabSize), "batch", "seq");
  const inputs = TransformerInputs.fromBasicSegments(tokens);
  const forward = (t: NamedArrayBase, p: NamedArrayBase, m: NamedArrayBase) =>
    model.call(new TransformerInputs({ tokens: t, positions: p, attentionMask: m }));
  const args = [inputs.tokens, inputs.positions, inputs.attentionMask] as [NamedArrayBase, NamedArrayBase, NamedArrayBase];
  const flops = matMulFlops(forward as never, args);
  const bytes = onnx.export(forward, args, { dynamicAxes: ["batch", ["seq", "kv_seq"]] });
  const feeds = { input_0: inputs.tokens, input_1: inputs.positions, input_2: inputs.attentionMask };
  const traced = jit(forward);
  // Parity first: a wrong model would make any timing meaningless.
  const session1 = await onnx.session(bytes, { threads: 1 });
  const { output } = await session1.run(feeds);
  const expected = traced(...args);
  const worst = tf.tidy(() =>
    tf.max(tf.abs(tf.sub(expected.dataArray, (output as NamedArrayBase).orderAs(...Object.keys(expected.namedShape)).dataArray))).arraySync(),
  ) as number;
  if (!(worst < 1e-3)) throw new Error(`forward: onnxruntime and tfjs logits differ by ${worst}`);
  tf.dispose([expected.dataArray, (output as NamedArrayBase).dataArray]);
  const tfjs = () => traced(...args).dataArray.dispose();
  for (const threads of [1, CORES]) {
    const session = threads === 1 ? session1 : await onnx.session(bytes, { threads });
    const ours = async () => {
      const { output: o } = await session.run(feeds);
      (o as NamedArrayBase).dataArray.dispose();
    };
    const onOrt = await compare(`forward-d256x4-b8-s128-threads${threads}`, ours, `saikei-jit-tfjs-${backend}`, tfjs, {
      warmup: 1,
      iterations: 3,
      rounds: ROUNDS,
      extra: { threads, gflop: round(flops / 1e9), max_logit_difference: round(worst) },
    });
    const ortGflops = flops / onOrt.ours_ms / 1e6;
    console.log(
      JSON.stringify({
        case: `forward-d256x4-b8-s128-threads${threads}-summary`,
        speedup: round(onOrt.baseline_ms / onOrt.ours_ms),
        target_speedup: threads === 1 ? 4 : undefined,
        onnxruntime_gflops: round(ortGflops),
        tfjs_gflops: gflops(flops, onOrt.baseline_ms),
        share_of_matmul: matmulGflops === undefined ? undefined : round(ortGflops / matmulGflops),
      }),
    );
    await session.dispose();
  }
  traced.dispose();
  tf.dispose([inputs.tokens.dataArray, inputs.positions.dataArray, inputs.attentionMask.dataArray]);
}

async function decodeCase(): Promise<void> {
  const TOKENS = 128;
  const prompt = nx.wrap(random.randint(random.key(4), [1, 8], 1, CONFIG.vocabSize), "batch", "seq");
  const [sampler, state] = KVCachingTransformerLM.fromUncached(model, 8 + TOKENS, { batch: 1 });
  const engine = onnx.decodingEngine({ threads: 1 });
  const step = new DecodingStep();
  const options = { temperature: 0, maxSamplingSteps: TOKENS, padId: 0 };
  const onOrt = await temperatureSample(sampler, state, prompt, random.key(5), { ...options, engine });
  const onTfjs = temperatureSample(sampler, state, prompt, random.key(5), { ...options, step });
  const same = JSON.stringify(onOrt.dataArray.arraySync()) === JSON.stringify(onTfjs.dataArray.arraySync());
  tf.dispose([onOrt.dataArray, onTfjs.dataArray]);
  if (!same) throw new Error("decode: onnxruntime and tfjs sampled different tokens");
  const result = await compare(
    `decode-kv-cached-${TOKENS}`,
    async () => (await temperatureSample(sampler, state, prompt, random.key(5), { ...options, engine })).dataArray.dispose(),
    `saikei-DecodingStep-tfjs-${backend}`,
    () => temperatureSample(sampler, state, prompt, random.key(5), { ...options, step }).dataArray.dispose(),
    { warmup: 1, iterations: 2, rounds: ROUNDS, extra: { threads: 1, same_tokens: same } },
  );
  console.log(
    JSON.stringify({
      case: `decode-kv-cached-${TOKENS}-summary`,
      onnxruntime_tokens_per_s: round((TOKENS / result.ours_ms) * 1000),
      tfjs_tokens_per_s: round((TOKENS / result.baseline_ms) * 1000),
      speedup: round(result.baseline_ms / result.ours_ms),
      target_speedup: 2,
      engine: engine.stats,
    }),
  );
  await engine.dispose();
  step.dispose();
  state.dispose();
}

if (CASES.includes("matmul")) await matmulCase();
if (CASES.includes("forward")) await forwardCase();
if (CASES.includes("decode")) await decodeCase();
console.log(JSON.stringify({ case: "environment", backend, cores: CORES, loadavg: os.loadavg().map(round) }));
