import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nx, random, ready } from "@saikei/named";
import { initializeParameters, isAnyParameter } from "@saikei/nn";
import { select } from "@saikei/select";
import { flattenWithPath, UnknownOptionError } from "@saikei/struct";
import {
  adam,
  buildTrainStepFn,
  loraifyLinearsInSelection,
  parseSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  serializeSafetensors,
  TrainState,
} from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  type DecodingEngine,
  DecodingStep,
  generate,
  generateTokens,
  type LoadProgress,
  loadPretrained,
  type Pretrained,
  type PretrainedArchitecture,
  PretrainedConfigError,
  PretrainedError,
  PretrainedFolderError,
  PretrainedTokenizer,
  PretrainedWeightsError,
  savePretrained,
  type TransformerConfig,
  TransformerFeedForward,
  TransformerInputs,
  type TransformerLM,
  TransformerLM as TransformerLMClass,
  UnsupportedArchitectureError,
} from "../src/index.js";
import { weightLayout } from "../src/pretrainedArchitectures.js";
import {
  checkpointFromParameters,
  parameterAxisOrders,
  parametersFromCheckpoint,
} from "../src/pretrainedTensors.js";

const fixtures = fileURLToPath(new URL("../fixtures/pretrained/", import.meta.url));
const NAMES = [
  "llama-gqa-f32",
  "llama-tied-bf16-sharded",
  "gpt2-f16",
  "gemma-mqa",
  "qwen2-bias",
] as const;

interface Expected {
  prompt: string;
  promptIds: number[];
  logits: number[][];
  greedy: number[];
  greedyText: string;
  tokenizer: { text: string; ids: number[]; decoded: string; decodedWithSpecial: string }[];
}

const expectedOf = (name: string): Expected =>
  JSON.parse(readFileSync(join(fixtures, `${name}.expected.json`), "utf8"));

let scratch: string;

/** A copy of a fixture folder that a test may damage. */
function copyOf(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(join(fixtures, name), dir, { recursive: true });
  return dir;
}

function logitsOf(model: TransformerLM, ids: number[]): Float32Array {
  const tokens = nx.wrap(tf.tensor2d([ids], undefined, "int32")).tag("batch", "seq");
  const inputs = TransformerInputs.fromBasicSegments(tokens);
  const logits = model.call(inputs);
  const data = logits.unwrap("batch", "seq", "vocabulary").dataSync() as Float32Array;
  for (const t of [tokens, inputs.positions, inputs.attentionMask, logits]) t.dataArray.dispose();
  return data;
}

function disposeModel(model: TransformerLM): void {
  for (const [, node] of flattenWithPath(model, isAnyParameter)[0]) {
    if (isAnyParameter(node)) (node.value as { dataArray: tf.Tensor }).dataArray.dispose();
  }
}

/** Every parameter's values by name, as bits. */
function parameterBits(
  model: TransformerLM,
): Map<string, { shape: Record<string, number>; bits: Uint32Array }> {
  const out = new Map<string, { shape: Record<string, number>; bits: Uint32Array }>();
  for (const [, node] of flattenWithPath(model, isAnyParameter)[0]) {
    if (!isAnyParameter(node)) continue;
    const value = node.value as nx.NamedArray;
    const names = Object.keys(value.namedShape).sort();
    const ordered = value.unwrap(...names);
    const data = ordered.dataSync() as Float32Array;
    if (ordered !== value.dataArray) ordered.dispose();
    out.set(node.name, {
      shape: Object.fromEntries(names.map((n) => [n, value.namedShape[n]!])),
      bits: new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
  }
  return out;
}

beforeAll(async () => {
  await ready();
  scratch = mkdtempSync(join(tmpdir(), "saikei-pretrained-"));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(NAMES)("loadPretrained(%s)", (name) => {
  const expected = expectedOf(name);

  it("gives the reference logits (within 1e-4) and greedy tokens, and the tokenizer's ids", async () => {
    const before = tf.memory().numTensors;
    const { model, tokenizer, config } = await loadPretrained(join(fixtures, name));
    expect(tokenizer!.encode(expected.prompt)).toEqual(expected.promptIds);
    const logits = logitsOf(model, expected.promptIds);
    const wanted = expected.logits.flat();
    expect(logits.length).toBe(wanted.length);
    let worst = 0;
    for (let i = 0; i < wanted.length; i++)
      worst = Math.max(worst, Math.abs(logits[i]! - wanted[i]!));
    expect(worst).toBeLessThan(1e-4);
    const greedy = generateTokens(model, expected.promptIds, {
      maxNewTokens: expected.greedy.length,
      temperature: 0,
    });
    expect(greedy).toEqual(expected.greedy);
    expect(config.architecture).toBe(
      JSON.parse(readFileSync(join(fixtures, name, "config.json"), "utf8")).architectures[0],
    );
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("tokenizes and decodes as the reference tokenizer", async () => {
    const { model, tokenizer } = await loadPretrained(join(fixtures, name));
    disposeModel(model);
    for (const c of expected.tokenizer) {
      expect(tokenizer!.encode(c.text)).toEqual(c.ids);
      expect(tokenizer!.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded);
      expect(tokenizer!.decode(c.ids)).toBe(c.decodedWithSpecial);
    }
  });

  it("load → save → load gives every tensor bit for bit and the same config.json fields", async () => {
    const before = tf.memory().numTensors;
    const first = await loadPretrained(join(fixtures, name));
    const out = join(scratch, `${name}-saved`);
    await savePretrained(first.model, out, { tokenizer: first.tokenizer });
    const second = await loadPretrained(out);
    expect(parameterBits(second.model)).toEqual(parameterBits(first.model));
    const original = JSON.parse(readFileSync(join(fixtures, name, "config.json"), "utf8"));
    const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    for (const [key, value] of Object.entries(original))
      expect([key, saved[key]]).toEqual([key, value]);
    expect(second.tokenizer!.encode(expected.prompt)).toEqual(expected.promptIds);
    // The saved file stores the checkpoint's own format and tensor names.
    const originalNames = new Set<string>();
    for (const f of readdirSync(join(fixtures, name)).filter((f) => f.endsWith(".safetensors"))) {
      for (const e of readSafetensorsHeader(new Uint8Array(readFileSync(join(fixtures, name, f))))
        .entries) {
        originalNames.add(`${e.name} ${e.dtype} [${e.shape.join(",")}]`);
      }
    }
    const savedNames = new Set<string>();
    for (const f of readdirSync(out).filter((f) => f.endsWith(".safetensors"))) {
      for (const e of readSafetensorsHeader(new Uint8Array(readFileSync(join(out, f)))).entries) {
        savedNames.add(`${e.name} ${e.dtype} [${e.shape.join(",")}]`);
      }
    }
    expect(savedNames).toEqual(originalNames);
    disposeModel(first.model);
    disposeModel(second.model);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("loadPretrained", () => {
  it("stores a tied head once and reads bf16 shards", async () => {
    const { model, config } = await loadPretrained(join(fixtures, "llama-tied-bf16-sharded"));
    expect(config.storedDtypes).toEqual({ BF16: 20 });
    expect(model.config.tiedEmbeddings).toBe(true);
    disposeModel(model);
  });

  it("reads GPT-2 tensors without the transformer. prefix, as the original upload names them", async () => {
    const dir = copyOf("gpt2-f16");
    const file = join(dir, "model.safetensors");
    const tensors = parseSafetensors(new Uint8Array(readFileSync(file)));
    const renamed = Object.fromEntries(
      Object.entries(tensors).map(([n, t]) => [n.replace(/^transformer\./, ""), t]),
    );
    // The original upload also carries the attention-mask buffers; they are skipped.
    renamed["h.0.attn.bias"] = tf.ones([1, 1, 64, 64]);
    writeFileSync(file, serializeSafetensors(renamed, undefined, { floatFormat: "F16" }));
    tf.dispose(Object.values(renamed));
    const { model } = await loadPretrained(dir);
    const expected = expectedOf("gpt2-f16");
    const logits = logitsOf(model, expected.promptIds);
    expect(Math.abs(logits[0]! - expected.logits[0]![0]!)).toBeLessThan(1e-4);
    disposeModel(model);
  });

  it("reads MistralForCausalLM as the Llama family", async () => {
    const dir = copyOf("llama-gqa-f32");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        ...config,
        architectures: ["MistralForCausalLM"],
        model_type: "mistral",
        sliding_window: 4096,
      }),
    );
    const { model, config: loaded } = await loadPretrained(dir);
    expect(loaded.architecture).toBe("MistralForCausalLM");
    const expected = expectedOf("llama-gqa-f32");
    const logits = logitsOf(model, expected.promptIds);
    const wanted = expected.logits.flat();
    expect(Math.max(...wanted.map((w, i) => Math.abs(w - logits[i]!)))).toBeLessThan(1e-4);
    disposeModel(model);
  });

  it("names the file of a corrupt safetensors header", async () => {
    const dir = copyOf("gemma-mqa");
    const file = join(dir, "model.safetensors");
    const bytes = new Uint8Array(readFileSync(file));
    bytes[10] = 0x5b; // "__metadata__" becomes "[_metadata__", an entry without a dtype
    writeFileSync(file, bytes);
    const error = await loadPretrained(dir).catch((e) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toContain(
      `${file}: Safetensors tensor "[_metadata__" has no string "dtype"`,
    );
  });

  it("names the architecture it cannot build and lists the supported ones", async () => {
    const dir = copyOf("llama-gqa-f32");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...config, architectures: ["BertForMaskedLM"], model_type: "bert" }),
    );
    const error = await loadPretrained(dir).catch((e) => e);
    expect(error).toBeInstanceOf(UnsupportedArchitectureError);
    expect(error.message).toContain('"BertForMaskedLM"');
    expect(error.message).toContain(
      "Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GemmaForCausalLM, GPT2LMHeadModel",
    );
  });

  it("lists missing and mis-shaped tensors, and leaves nothing allocated", async () => {
    const dir = copyOf("llama-gqa-f32");
    const file = join(dir, "model.safetensors");
    const tensors = parseSafetensors(new Uint8Array(readFileSync(file)));
    const damaged = { ...tensors };
    delete damaged["model.norm.weight"];
    damaged["model.layers.1.mlp.up_proj.weight"] = tf.zeros([64, 31]);
    writeFileSync(file, serializeSafetensors(damaged));
    tf.dispose([...Object.values(tensors), damaged["model.layers.1.mlp.up_proj.weight"]!]);
    const before = tf.memory().numTensors;
    const error = await loadPretrained(dir).catch((e) => e);
    expect(error).toBeInstanceOf(PretrainedWeightsError);
    expect(error.message).toContain(
      '1 tensor(s) the LlamaForCausalLM architecture needs are missing: "model.norm.weight"',
    );
    expect(error.message).toContain(
      '"model.layers.1.mlp.up_proj.weight" is [64, 31] where config.json implies [64, 32]',
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects leftover tensors unless strict is false", async () => {
    const dir = copyOf("gemma-mqa");
    const file = join(dir, "model.safetensors");
    const tensors = parseSafetensors(new Uint8Array(readFileSync(file)));
    const extra = tf.zeros([2]);
    writeFileSync(file, serializeSafetensors({ ...tensors, "model.extra.weight": extra }));
    tf.dispose([...Object.values(tensors), extra]);
    await expect(loadPretrained(dir)).rejects.toThrow(
      /1 tensor\(s\) have no place in the model: "model.extra.weight"/,
    );
    const { model } = await loadPretrained(dir, { strict: false });
    disposeModel(model);
  });

  it("says which file is missing", async () => {
    const dir = copyOf("llama-tied-bf16-sharded");
    rmSync(join(dir, "model-00002-of-00002.safetensors"));
    await expect(loadPretrained(dir)).rejects.toThrow(PretrainedFolderError);
    await expect(loadPretrained(dir)).rejects.toThrow(/model-00002-of-00002.safetensors/);
    await expect(loadPretrained(join(scratch, "nowhere"))).rejects.toThrow(/is not a folder/);
  });

  it("rejects config fields it does not implement, naming them", async () => {
    const dir = copyOf("llama-gqa-f32");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...config, rope_scaling: { type: "linear", factor: 2 } }),
    );
    await expect(loadPretrained(dir)).rejects.toThrow(PretrainedConfigError);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, hidden_size: "32" }));
    await expect(loadPretrained(dir)).rejects.toThrow(/"hidden_size" must be a positive integer/);
  });

  it("checks its options", async () => {
    await expect(
      loadPretrained(join(fixtures, "gpt2-f16"), { progress: true } as never),
    ).rejects.toThrow(UnknownOptionError);
  });

  it("reports progress after every tensor", async () => {
    const seen: number[] = [];
    const { model } = await loadPretrained(join(fixtures, "gpt2-f16"), {
      onProgress: (p) => seen.push(p.bytesRead / p.totalBytes),
    });
    expect(seen.length).toBe(4 + 2 * 12);
    expect(seen.at(-1)).toBe(1);
    disposeModel(model);
  });
});

describe("generate", () => {
  it.each(["gpt2-f16", "llama-tied-bf16-sharded", "gemma-mqa"])(
    "decodes the greedy continuation of %s and leaks nothing",
    async (name) => {
      const { model, tokenizer } = await loadPretrained(join(fixtures, name));
      const expected = expectedOf(name);
      const before = tf.memory().numTensors;
      const text = generate(model, tokenizer!, expected.prompt, {
        maxNewTokens: expected.greedy.length,
      });
      expect(text).toBe(expected.greedyText);
      expect(tf.memory().numTensors).toBe(before);
      disposeModel(model);
    },
  );

  it("samples reproducibly with a seed and stops at an EOS token", async () => {
    const { model, tokenizer } = await loadPretrained(join(fixtures, "llama-gqa-f32"));
    const ids = tokenizer!.encode("the quick");
    const a = generateTokens(model, ids, { maxNewTokens: 6, temperature: 1, seed: 7 });
    const b = generateTokens(model, ids, { maxNewTokens: 6, temperature: 1, seed: 7 });
    expect(a).toEqual(b);
    // A kept step replays its traces across calls and gives the same tokens.
    const before = tf.memory().numTensors;
    const step = new DecodingStep();
    expect(generateTokens(model, ids, { maxNewTokens: 6, temperature: 1, seed: 7, step })).toEqual(
      a,
    );
    expect(generateTokens(model, ids, { maxNewTokens: 6, temperature: 1, seed: 7, step })).toEqual(
      a,
    );
    expect(step.stats.replays).toBeGreaterThan(step.stats.traces);
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const stopAt = a[2]!;
    const stopped = generateTokens(model, ids, {
      maxNewTokens: 6,
      temperature: 1,
      seed: 7,
      eosTokenIds: [stopAt],
    });
    expect(stopped).toEqual(a.slice(0, a.indexOf(stopAt) + 1));
    expect(() => generateTokens(model, [], {})).toThrow(/the prompt has no tokens/);
    expect(() => generateTokens(model, ids, { maxNewTokens: 0 })).toThrow(
      /maxNewTokens must be a positive integer/,
    );
    disposeModel(model);
  });

  it("refuses to run past GPT-2's learned positions", async () => {
    const { model } = await loadPretrained(join(fixtures, "gpt2-f16"));
    expect(() => generateTokens(model, [1, 2, 3], { maxNewTokens: 62 })).toThrow(
      /65 positions, more than the model's 64 learned positions/,
    );
    disposeModel(model);
  });
});

describe("public types", () => {
  it("has typed signatures", () => {
    expectTypeOf(loadPretrained).returns.resolves.toEqualTypeOf<Pretrained>();
    expectTypeOf<Pretrained["model"]>().toEqualTypeOf<TransformerLM>();
    expectTypeOf<Pretrained["tokenizer"]>().toEqualTypeOf<PretrainedTokenizer | undefined>();
    expectTypeOf<Pretrained["config"]["architecture"]>().toEqualTypeOf<PretrainedArchitecture>();
    expectTypeOf(savePretrained).returns.resolves.toBeVoid();
    const text = (model: TransformerLM, tokenizer: PretrainedTokenizer) =>
      generate(model, tokenizer, "hi");
    expectTypeOf(text).returns.toBeString();
    const ids = (model: TransformerLM) => generateTokens(model, [1], { maxNewTokens: 2 });
    expectTypeOf(ids).returns.toEqualTypeOf<number[]>();
    const onEngine = (model: TransformerLM, engine: DecodingEngine) =>
      generateTokens(model, [1], { engine });
    expectTypeOf(onEngine).returns.resolves.toEqualTypeOf<number[]>();
    expectTypeOf<LoadProgress["bytesRead"]>().toBeNumber();
    expectTypeOf<PretrainedTokenizer["encode"]>().returns.toEqualTypeOf<number[]>();
    const typeOnly = (model: TransformerLM) =>
      // @ts-expect-error: options are checked at compile time too
      savePretrained(model, "dir", { format: "F16" });
    expectTypeOf(typeOnly).returns.resolves.toBeVoid();
  });
});

describe("a loaded model", () => {
  it.each(["gpt2-f16", "gemma-mqa"])(
    "%s trains: every parameter moves and the loss goes down",
    async (name) => {
      const { model, tokenizer } = await loadPretrained(join(fixtures, name));
      const ids = tokenizer!.encode("the quick brown fox jumps over the lazy dog");
      const x = nx.wrap(tf.tensor2d([ids.slice(0, -1)], undefined, "int32"), "batch", "seq");
      const y = tf.tensor2d([ids.slice(1)], undefined, "int32");
      const step = buildTrainStepFn<TransformerLM, null, number, Record<string, never>>(
        ({ model, state }) => {
          const inputs = TransformerInputs.fromBasicSegments(x);
          const logits = model.call(inputs).unwrap("batch", "seq", "vocabulary");
          const loss = tf.losses.softmaxCrossEntropy(
            tf.oneHot(y, model.config.vocabSize),
            logits,
          ) as tf.Scalar;
          return [loss, state, loss.dataSync()[0]!];
        },
      );
      const start = parameterBits(model);
      let state = TrainState.initialState(model, adam({ learningRate: 1e-2 }), random.key(0));
      const losses: number[] = [];
      for (let i = 0; i < 5; i++) {
        let loss: number;
        [state, loss] = step(state, {});
        losses.push(loss);
      }
      expect(losses[4]).toBeLessThan(losses[0]!);
      const end = parameterBits(state.model);
      for (const [parameter, { bits }] of start) {
        expect([parameter, end.get(parameter)!.bits.every((b, i) => b === bits[i])]).toEqual([
          parameter,
          false,
        ]);
      }
      disposeModel(state.model);
      tf.dispose([x.dataArray, y]);
    },
  );
});

describe("savePretrained", () => {
  it("refuses parameters the checkpoint has no tensor for (LoRA adapters), writing nothing", async () => {
    const { model } = await loadPretrained(join(fixtures, "gemma-mqa"));
    const adapted = initializeParameters(
      loraifyLinearsInSelection(select(model).atInstancesOf(TransformerFeedForward), 2),
      random.key(1),
    );
    const out = join(scratch, "lora-gemma");
    const error = await savePretrained(adapted, out).catch((e) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect(error.message).toMatch(
      /has 12 parameter\(s\) a GemmaForCausalLM checkpoint has no tensor for: ".*LoRA_A\.weights", /,
    );
    expect(readdirSync(scratch)).not.toContain("lora-gemma");
    disposeModel(adapted);
  });
});

describe("the tensor mapping", () => {
  const configs = fc.record({
    kvHeads: fc.constantFrom(1, 2, 4),
    projectionDim: fc.constantFrom(2, 4),
    architecture: fc.constantFrom(
      "LlamaForCausalLM",
      "Qwen2ForCausalLM",
      "GemmaForCausalLM",
      "GPT2LMHeadModel",
    ),
    tied: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1000 }),
  });

  it("checkpoint → parameters → checkpoint is the identity, bit for bit, for every tensor (property)", () => {
    fc.assert(
      fc.property(configs, ({ kvHeads, projectionDim, architecture, tied, seed }) => {
        const gpt2 = architecture === "GPT2LMHeadModel";
        const config: TransformerConfig = {
          numHeads: 4,
          numKvHeads: gpt2 ? 4 : kvHeads,
          embeddingDim: gpt2 ? 4 * projectionDim : 6,
          projectionDim,
          mlpHiddenDim: 5,
          numDecoderBlocks: 1,
          vocabSize: 7,
          tiedEmbeddings: tied,
          ...(gpt2
            ? {
                positionEmbedding: "learned",
                maxPositions: 3,
                normalization: "layer_norm",
                mlp: "plain",
                attentionBias: "all",
                mlpBias: true,
              }
            : { attentionBias: architecture === "Qwen2ForCausalLM" ? "qkv" : "none" }),
        };
        const orders = parameterAxisOrders(TransformerLMClass.fromConfig(config));
        const before = tf.memory().numTensors;
        for (const mapping of weightLayout(architecture, config).tensors) {
          const size = mapping.shape.reduce((a, b) => a * b, 1);
          const stored = tf.randomNormal(mapping.shape as number[], 0, 1, "float32", seed);
          const parameters = parametersFromCheckpoint(mapping, stored, orders);
          const values = new Map(
            parameters.map(([n, t]) => [n, nx.wrap(t, ...orders.get(n)!)] as const),
          );
          const back = checkpointFromParameters(mapping, values);
          expect(back.shape).toEqual(mapping.shape);
          expect(Array.from(back.dataSync())).toEqual(Array.from(stored.dataSync()));
          expect(size).toBe(parameters.reduce((n, [, t]) => n + t.size, 0));
          tf.dispose([stored, back, ...parameters.map(([, t]) => t)]);
        }
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 12 },
    );
  });
});

describe("PretrainedTokenizer", () => {
  it("encodes without special tokens on request and checks its options", async () => {
    const { model, tokenizer } = await loadPretrained(join(fixtures, "llama-gqa-f32"));
    disposeModel(model);
    const [withBos] = expectedOf("llama-gqa-f32").tokenizer;
    expect(tokenizer!.encode(withBos!.text, { addSpecialTokens: false })).toEqual(
      withBos!.ids.slice(1),
    );
    expect(tokenizer!.bosTokenId).toBe(1);
    expect(tokenizer!.eosTokenId).toBe(2);
    expect(() => tokenizer!.encode("x", { special: true } as never)).toThrow(UnknownOptionError);
    expect(() => tokenizer!.decode([1.5])).toThrow(/non-negative integers, got 1.5/);
    expect(() => PretrainedTokenizer.fromJSON({ version: "1.0" })).toThrow(/"model" entry/);
  });
});
