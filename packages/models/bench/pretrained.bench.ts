/**
 * Loading and running a Hugging Face checkpoint (issue 16's benchmark), on a generated
 * ~100M-parameter Llama-layout folder (BF16, two shards, grouped-query attention, untied head)
 * written to a temporary folder by the bench itself:
 *
 * 1. `load-pretrained-100m`: `loadPretrained` in a fresh child process: seconds, MB/s of file
 *    read, and the peak RSS it adds over the float32 bytes of the parameters
 *    (`peak_rss_over_f32`; target: extra RSS ≤ 1.5 × float32 bytes + 100 MB, `within_target`).
 * 2. `generate-pretrained-100m`: prefill of a 16-token prompt + 32 greedy tokens with
 *    `generateTokens` (KV-cached, with a kept `DecodingStep` whose traces replay) against a
 *    hand-written tfjs forward of the same weights with growing KV caches. Target ratio ≤ 1.1.
 *    The line says whether both produced the same tokens (`tokens_match`).
 *    `generate-pretrained-100m-own-step`: the same with the default (each call traces its own step).
 *
 * Run: npx tsx --conditions=@saikei/source packages/models/bench/pretrained.bench.ts
 * Environment: ROUNDS (default 2), LAYERS (default 8), KEEP (keep the folder, default no).
 */

import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nx, ready } from "@saikei/named";
import { isAnyParameter } from "@saikei/nn";
import { flattenWithPath } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { compare, round } from "../../../bench/harness.js";
import { DecodingStep, generateTokens, loadPretrained, type TransformerLM } from "../src/index.js";

const V = 32000;
const D = 768;
const H = 12;
const K = 4;
const P = 64;
const F = 2048;
const LAYERS = Number(process.env.LAYERS ?? 8);
const PROMPT = 16;
const NEW_TOKENS = 32;

/** The tensors of the folder, in Hugging Face names and shapes. */
function tensorShapes(): [string, number[]][] {
  const shapes: [string, number[]][] = [["model.embed_tokens.weight", [V, D]]];
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [D]],
      [`${p}self_attn.q_proj.weight`, [H * P, D]],
      [`${p}self_attn.k_proj.weight`, [K * P, D]],
      [`${p}self_attn.v_proj.weight`, [K * P, D]],
      [`${p}self_attn.o_proj.weight`, [D, H * P]],
      [`${p}post_attention_layernorm.weight`, [D]],
      [`${p}mlp.gate_proj.weight`, [F, D]],
      [`${p}mlp.up_proj.weight`, [F, D]],
      [`${p}mlp.down_proj.weight`, [D, F]],
    );
  }
  shapes.push(["model.norm.weight", [D]], ["lm_head.weight", [V, D]]);
  return shapes;
}

/** Random bf16 values, ~N(0, scale) (norm weights ~1), written straight to the file. */
function bf16Values(count: number, seed: number, norm: boolean): Uint16Array {
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const u = ((state >>> 0) / 2 ** 32 - 0.5) * 3.4; // roughly unit variance
    f[0] = norm ? 1 + 0.1 * u : 0.04 * u;
    out[i] = bits[0]! >>> 16;
  }
  return out;
}

/** Writes the folder (two shards and an index) one tensor at a time; returns the file bytes. */
function writeFolder(dir: string): { fileBytes: number; parameters: number } {
  const shapes = tensorShapes();
  const half = Math.ceil(shapes.length / 2);
  const groups = [shapes.slice(0, half), shapes.slice(half)];
  const weightMap: Record<string, string> = {};
  let fileBytes = 0;
  let parameters = 0;
  groups.forEach((group, s) => {
    const file = `model-0000${s + 1}-of-00002.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    let offset = 0;
    for (const [name, shape] of group) {
      const bytes = shape.reduce((a, b) => a * b, 1) * 2;
      header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      weightMap[name] = file;
    }
    let text = JSON.stringify(header);
    text += " ".repeat((8 - (text.length % 8)) % 8);
    const fd = openSync(join(dir, file), "w");
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(text.length), true);
    writeSync(fd, length);
    writeSync(fd, text);
    group.forEach(([name, shape], i) => {
      const count = shape.reduce((a, b) => a * b, 1);
      parameters += count;
      writeSync(fd, new Uint8Array(bf16Values(count, s * 1000 + i + 1, name.endsWith("norm.weight")).buffer));
    });
    closeSync(fd);
    fileBytes += 8 + text.length + offset;
  });
  writeFileSync(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: fileBytes }, weight_map: weightMap }),
  );
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: D,
      intermediate_size: F,
      num_attention_heads: H,
      num_key_value_heads: K,
      num_hidden_layers: LAYERS,
      vocab_size: V,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
      torch_dtype: "bfloat16",
      eos_token_id: 2,
    }),
  );
  return { fileBytes, parameters };
}

/** In the child: load the folder once and report time and memory as one JSON line. */
async function measureLoadInChild(dir: string): Promise<void> {
  await ready();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const { model } = await loadPretrained(dir);
  const seconds = (performance.now() - t0) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ seconds, rssBefore, peakRss, tensors: tf.memory().numTensors, model: model.config.numDecoderBlocks }));
}

// --- The hand-written forward: plain tfjs on the same weights, growing KV caches -------------------

interface Weights {
  embed: tf.Tensor2D;
  layers: {
    inNorm: tf.Tensor;
    q: tf.Tensor2D;
    k: tf.Tensor2D;
    v: tf.Tensor2D;
    o: tf.Tensor2D;
    postNorm: tf.Tensor;
    gate: tf.Tensor2D;
    up: tf.Tensor2D;
    down: tf.Tensor2D;
  }[];
  norm: tf.Tensor;
  head: tf.Tensor2D;
}

function weightsOf(model: TransformerLM): Weights {
  const byName = new Map<string, nx.NamedArray>();
  for (const [, node] of flattenWithPath(model, isAnyParameter)[0]) {
    if (isAnyParameter(node)) byName.set(node.name, node.value as nx.NamedArray);
  }
  const get = (name: string, order: string[], shape: number[]) =>
    tf.reshape(byName.get(name)!.unwrap(...order), shape) as tf.Tensor2D;
  return {
    embed: get("embedder.embeddings", ["vocabulary", "embedding"], [V, D]),
    layers: Array.from({ length: LAYERS }, (_, i) => {
      const b = `block_${i}.`;
      return {
        inNorm: get(`${b}pre_attention_norm.scale.weights`, ["embedding"], [D]),
        q: get(`${b}attn.query.weights`, ["embedding", "kv_heads", "q_rep", "projection"], [D, H * P]),
        k: get(`${b}attn.key.weights`, ["embedding", "kv_heads", "projection"], [D, K * P]),
        v: get(`${b}attn.value.weights`, ["embedding", "kv_heads", "projection"], [D, K * P]),
        o: get(`${b}attn.output.weights`, ["kv_heads", "q_rep", "projection", "embedding"], [H * P, D]),
        postNorm: get(`${b}pre_ffw_norm.scale.weights`, ["embedding"], [D]),
        gate: get(`${b}mlp.gating_linear.weights`, ["embedding", "neurons"], [D, F]),
        up: get(`${b}mlp.value_linear.weights`, ["embedding", "neurons"], [D, F]),
        down: get(`${b}mlp.out_linear.weights`, ["neurons", "embedding"], [F, D]),
      };
    }),
    norm: get("final_norm.scale.weights", ["embedding"], [D]),
    head: get("lm_head.weights", ["embedding", "vocabulary"], [D, V]),
  };
}

const rms = (x: tf.Tensor, w: tf.Tensor) =>
  tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-5))), w);

/** cos and sin [S, P] for positions start..start+S-1 (rotate-half layout). */
function ropeTables(start: number, S: number): [tf.Tensor, tf.Tensor] {
  const inv = Float32Array.from({ length: P / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / P));
  const angles = new Float32Array(S * P);
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < P / 2; i++) {
      angles[s * P + i] = (start + s) * inv[i]!;
      angles[s * P + P / 2 + i] = (start + s) * inv[i]!;
    }
  }
  const a = tf.tensor2d(angles, [S, P]);
  return [tf.cos(a), tf.sin(a)];
}

function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const [a, b] = tf.split(x, 2, -1);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(b!), a!], -1), sin));
}

/** One forward over `ids` at positions start.., growing the caches; returns the last logits. */
function handStep(w: Weights, ids: number[], start: number, caches: [tf.Tensor, tf.Tensor][]): tf.Tensor {
  const S = ids.length;
  const R = H / K;
  const [cos, sin] = ropeTables(start, S);
  const T = start + S;
  const maskValues = new Float32Array(S * T);
  for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) maskValues[s * T + t] = t <= start + s ? 0 : -1e9;
  const mask = tf.tensor2d(maskValues, [S, T]);
  let x: tf.Tensor = tf.gather(w.embed, tf.tensor1d(ids, "int32"));
  w.layers.forEach((l, i) => {
    const h = rms(x, l.inNorm);
    const q = rope(tf.reshape(tf.matMul(h as tf.Tensor2D, l.q), [S, K, R, P]), tf.reshape(cos, [S, 1, 1, P]), tf.reshape(sin, [S, 1, 1, P]));
    const k = rope(tf.reshape(tf.matMul(h as tf.Tensor2D, l.k), [S, K, P]), tf.reshape(cos, [S, 1, P]), tf.reshape(sin, [S, 1, P]));
    const v = tf.reshape(tf.matMul(h as tf.Tensor2D, l.v), [S, K, P]);
    const [kc, vc] = caches[i]!;
    const keys = tf.keep(kc.shape[0] === 0 ? k : tf.concat([kc, k], 0)); // [T, K, P]
    const values = tf.keep(kc.shape[0] === 0 ? v : tf.concat([vc, v], 0));
    kc.dispose();
    vc.dispose();
    caches[i] = [keys, values];
    const qh = tf.reshape(tf.transpose(q, [1, 2, 0, 3]), [K, R * S, P]);
    const scores = tf.mul(tf.matMul(qh, tf.transpose(keys, [1, 2, 0])), P ** -0.5); // [K, R*S, T]
    const masked = tf.add(tf.reshape(scores, [K, R, S, T]), mask);
    const probs = tf.reshape(tf.softmax(masked, -1), [K, R * S, T]);
    const attended = tf.matMul(probs, tf.transpose(values, [1, 0, 2])); // [K, R*S, P]
    const merged = tf.reshape(tf.transpose(tf.reshape(attended, [K, R, S, P]), [2, 0, 1, 3]), [S, H * P]);
    x = tf.add(x, tf.matMul(merged, l.o));
    const g = rms(x, l.postNorm) as tf.Tensor2D;
    const a = tf.matMul(g, l.gate);
    const gated = tf.mul(tf.mul(a, tf.sigmoid(a)), tf.matMul(g, l.up));
    x = tf.add(x, tf.matMul(gated as tf.Tensor2D, l.down));
  });
  const last = tf.slice(rms(x, w.norm), [S - 1, 0], [1, D]) as tf.Tensor2D;
  return tf.matMul(last, w.head);
}

function handGenerate(w: Weights, prompt: number[]): number[] {
  const caches: [tf.Tensor, tf.Tensor][] = w.layers.map(() => [tf.zeros([0, K, P]), tf.zeros([0, K, P])]);
  const out: number[] = [];
  let ids = prompt;
  let position = 0;
  for (let n = 0; n < NEW_TOKENS; n++) {
    const token = tf.tidy(() => tf.argMax(handStep(w, ids, position, caches), -1)).dataSync()[0]!;
    position += ids.length;
    out.push(token);
    ids = [token];
  }
  for (const [k, v] of caches) tf.dispose([k, v]);
  return out;
}

async function main(): Promise<void> {
  const childDir = process.env.PRETRAINED_BENCH_CHILD;
  if (childDir !== undefined) return measureLoadInChild(childDir);
  const rounds = Number(process.env.ROUNDS ?? 4);
  const dir = mkdtempSync(join(os.tmpdir(), "saikei-pretrained-bench-"));
  try {
    const { fileBytes, parameters } = writeFolder(dir);
    const float32Bytes = parameters * 4;
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, PRETRAINED_BENCH_CHILD: dir },
      encoding: "utf8",
    });
    if (child.status !== 0) throw new Error(`the load child failed: ${child.stderr}`);
    const load = JSON.parse(child.stdout.trim().split("\n").at(-1)!);
    const extra = load.peakRss - load.rssBefore;
    console.log(
      JSON.stringify({
        case: "load-pretrained-100m",
        parameters,
        file_mb: round(fileBytes / 1e6),
        seconds: round(load.seconds),
        mb_per_s: round(fileBytes / 1e6 / load.seconds),
        float32_mb: round(float32Bytes / 1e6),
        rss_before_mb: round(load.rssBefore / 1e6),
        peak_rss_mb: round(load.peakRss / 1e6),
        peak_rss_over_f32: round(extra / float32Bytes),
        within_target: extra <= 1.5 * float32Bytes + 100e6,
        loadavg: os.loadavg().map(round),
      }),
    );

    await ready();
    const { model } = await loadPretrained(dir);
    const weights = weightsOf(model);
    const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 3) % V);
    const options = { maxNewTokens: NEW_TOKENS, temperature: 0, eosTokenIds: [] };
    const ours = generateTokens(model, prompt, options);
    const theirs = handGenerate(weights, prompt);
    const tokensMatch = ours.length === theirs.length && ours.every((t, i) => t === theirs[i]);
    if (!tokensMatch) console.warn(`tokens differ: saikei ${ours} / hand-written ${theirs}`);
    const step = new DecodingStep();
    generateTokens(model, prompt, { ...options, step }); // traces once; later calls replay
    const lineFields = () => ({
      prompt: PROMPT,
      new_tokens: NEW_TOKENS,
      tokens_match: tokensMatch,
      loadavg: os.loadavg().map(round),
    });
    await compare(
      "generate-pretrained-100m",
      () => generateTokens(model, prompt, { ...options, step }),
      "hand-written tfjs forward, growing KV caches",
      () => handGenerate(weights, prompt),
      { warmup: 1, iterations: 1, rounds, extra: lineFields() },
    );
    await compare(
      "generate-pretrained-100m-own-step",
      () => generateTokens(model, prompt, options),
      "hand-written tfjs forward, growing KV caches",
      () => handGenerate(weights, prompt),
      { warmup: 0, iterations: 1, rounds, extra: lineFields() },
    );
    step.dispose();
  } finally {
    if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
