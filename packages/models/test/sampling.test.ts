import { nx, random, ready } from "@saikei/named";
import { initializeParameters, KVCachingAttention } from "@saikei/nn";
import { select } from "@saikei/select";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  advanceOneToken,
  DecodingStep,
  KVCachingInputs,
  KVCachingTransformerLM,
  ModelConfigError,
  prefill,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
  temperatureSample,
  temperatureSampleUncached,
} from "../src/index.js";

const configs: Record<string, TransformerConfig> = {
  "multi-head": {
    numHeads: 2,
    embeddingDim: 16,
    projectionDim: 4,
    mlpHiddenDim: 32,
    numDecoderBlocks: 2,
    vocabSize: 11,
  },
  "single kv head": {
    numHeads: 2,
    numKvHeads: 1,
    embeddingDim: 16,
    projectionDim: 4,
    mlpHiddenDim: 32,
    numDecoderBlocks: 2,
    vocabSize: 11,
  },
  grouped: {
    numHeads: 4,
    numKvHeads: 2,
    embeddingDim: 16,
    projectionDim: 4,
    mlpHiddenDim: 32,
    numDecoderBlocks: 1,
    vocabSize: 11,
  },
};

const rows = (t: { unwrap(...n: string[]): tf.Tensor }) => t.unwrap("batch", "seq").arraySync();
const tokens = (values: number[][]) =>
  nx.wrap(tf.tensor2d(values, undefined, "int32")).tag("batch", "seq");

describe("sampling mode", () => {
  beforeAll(async () => {
    await ready();
  });

  it("replaces every attention block by a KVCachingAttention and builds zero caches", () => {
    const model = TransformerLM.fromConfig(configs["multi-head"]!);
    const [sampler, state] = KVCachingTransformerLM.fromUncached(model, 20, { batch: 3 });
    expect(select(sampler).atInstancesOf(KVCachingAttention).count()).toBe(2);
    expect(state.cacheEndIndex).toBe(0);
    const caches = Object.values(state.kvCaches) as [nx.NamedArray, nx.NamedArray][];
    expect(caches).toHaveLength(2);
    expect(caches[0]![0].namedShape).toEqual({ batch: 3, heads: 2, projection: 4, seq: 20 });
    state.dispose();
  });

  for (const [name, config] of Object.entries(configs)) {
    it(`KV-cached decoding gives the same tokens as uncached decoding (${name})`, () => {
      const model = initializeParameters(TransformerLM.fromConfig(config), random.key(2));
      const prompt = tokens([
        [1, 2, 3, 4, 5],
        [2, 3, 4, 5, 6],
        [3, 1, 4, 1, 5],
      ]);
      const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 20, { batch: 3 });
      const baseline = tf.memory().numTensors;
      // padId -1 matches no token, so every sampled token counts, as in the uncached loop.
      for (const temperature of [0, 1]) {
        const cached = temperatureSample(sampler, state0, prompt, random.key(1), {
          maxSamplingSteps: 12,
          temperature,
          padId: -1,
        });
        const uncached = temperatureSampleUncached(model, prompt, random.key(1), {
          maxSamplingSteps: 12,
          temperature,
        });
        const eager = temperatureSample(sampler, state0, prompt, random.key(1), {
          maxSamplingSteps: 12,
          temperature,
          padId: -1,
          jit: false,
        });
        expect(cached.namedShape).toEqual({ batch: 3, seq: 12 });
        expect(rows(cached)).toEqual(rows(uncached));
        expect(rows(eager)).toEqual(rows(uncached));
        tf.dispose([cached.dataArray, uncached.dataArray, eager.dataArray]);
      }
      expect(tf.memory().numTensors).toBe(baseline);
      state0.dispose();
    });
  }

  it("a compiled decoding step replays one trace at every position, like eager steps", () => {
    const model = initializeParameters(TransformerLM.fromConfig(configs.grouped!), random.key(3));
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 9, { batch: 2 });
    const prompt = tokens([
      [1, 2, 3, 0],
      [4, 5, 0, 0],
    ]);
    const baseline = tf.memory().numTensors;
    const step = new DecodingStep();
    let [eagerLogProbs, eagerState] = prefill(sampler, state0, prompt, 0);
    let [jitLogProbs, jitState] = prefill(sampler, state0, prompt, 0);
    for (const [a, b] of [
      [7, 8],
      [9, 0],
      [2, 6],
      [10, 3],
      [1, 1],
    ]) {
      const token = nx.wrap(tf.tensor1d([a!, b!], "int32"), "batch");
      const [e, es] = advanceOneToken(sampler, eagerState, token);
      const [j, js] = advanceOneToken(sampler, jitState, token, step);
      const want = e.unwrap("batch", "vocabulary").dataSync();
      const got = j.unwrap("batch", "vocabulary").dataSync();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
      expect(js.kvCacheState.cacheEndIndex).toBe(es.kvCacheState.cacheEndIndex);
      expect(js.previousTokens.unwrap("batch", "seq").arraySync()).toEqual(
        es.previousTokens.unwrap("batch", "seq").arraySync(),
      );
      for (const s of [eagerState, jitState]) {
        s.previousTokens.dataArray.dispose();
        s.kvCacheState.dispose();
      }
      tf.dispose([
        token.dataArray,
        e.dataArray,
        j.dataArray,
        eagerLogProbs.dataArray,
        jitLogProbs.dataArray,
      ]);
      [eagerLogProbs, eagerState, jitLogProbs, jitState] = [e, es, j, js];
    }
    expect(step.stats).toMatchObject({ traces: 1, replays: 4, eager: 0 });
    expect(step.stats.kernels).toBeLessThan(step.stats.recordedKernels);
    step.dispose();
    eagerState.dispose();
    jitState.dispose();
    tf.dispose([eagerLogProbs.dataArray, jitLogProbs.dataArray]);
    expect(tf.memory().numTensors).toBe(baseline);
    state0.dispose();
  });

  it("a step kept across temperatureSample calls replays the prompt and every token", () => {
    const model = initializeParameters(
      TransformerLM.fromConfig(configs["multi-head"]!),
      random.key(4),
    );
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 12, { batch: 1 });
    const prompt = tokens([[3, 1, 4]]);
    const baseline = tf.memory().numTensors;
    const step = new DecodingStep();
    const options = { maxSamplingSteps: 6, padId: -1, step };
    const first = temperatureSample(sampler, state0, prompt, random.key(8), options);
    expect(step.stats).toMatchObject({ traces: 2, replays: 4 }); // prompt, then 5 tokens
    const second = temperatureSample(sampler, state0, prompt, random.key(9), options);
    expect(step.stats).toMatchObject({ traces: 2, replays: 10, eager: 0 });
    const eager = temperatureSample(sampler, state0, prompt, random.key(9), {
      maxSamplingSteps: 6,
      padId: -1,
      jit: false,
    });
    expect(rows(second)).toEqual(rows(eager));
    tf.dispose([first.dataArray, second.dataArray, eager.dataArray]);
    step.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    state0.dispose();
  });

  it("stops when the cache is full, before maxSamplingSteps", () => {
    const model = initializeParameters(
      TransformerLM.fromConfig(configs["single kv head"]!),
      random.key(5),
    );
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 8, { batch: 3 });
    const prompt = tokens([
      [1, 2, 3, 4, 5],
      [2, 3, 4, 5, 6],
      [3, 1, 4, 1, 5],
    ]);
    const out = temperatureSample(sampler, state0, prompt, random.key(1), { maxSamplingSteps: 12 });
    // Three slots remain after the 5-token prompt: the tokens that fill them, plus the last draw.
    expect(out.namedShape).toEqual({ batch: 3, seq: 4 });
    state0.dispose();
  });

  it("prefill of a padded prompt predicts like the unpadded prompt", () => {
    const model = initializeParameters(
      TransformerLM.fromConfig(configs["multi-head"]!),
      random.key(6),
    );
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 10, { batch: 1 });
    const [short] = prefill(sampler, state0, tokens([[4, 7, 2]]), 0);
    const [padded, paddedState] = prefill(sampler, state0, tokens([[4, 7, 2, 0, 0]]), 0);
    const a = short.unwrap("batch", "vocabulary").arraySync() as number[][];
    const b = padded.unwrap("batch", "vocabulary").arraySync() as number[][];
    for (let v = 0; v < 11; v++) expect(b[0]![v]).toBeCloseTo(a[0]![v]!, 5);
    // The next token continues after the real tokens: position 3, not 5.
    const [afterPad] = advanceOneToken(
      sampler,
      paddedState,
      nx.wrap(tf.tensor1d([9], "int32"), "batch"),
    );
    const [sUnpadded] = prefill(sampler, state0, tokens([[4, 7, 2, 9]]), 0);
    const c = afterPad.unwrap("batch", "vocabulary").arraySync() as number[][];
    const d = sUnpadded.unwrap("batch", "vocabulary").arraySync() as number[][];
    for (let v = 0; v < 11; v++) expect(c[0]![v]).toBeCloseTo(d[0]![v]!, 4);
    state0.dispose();
  });

  it("matches the uncached logits position by position", () => {
    const model = initializeParameters(TransformerLM.fromConfig(configs.grouped!), random.key(7));
    const seq = tokens([[5, 3, 8, 1]]);
    const full = model
      .call(TransformerInputs.fromBasicSegments(seq))
      .unwrap("batch", "seq", "vocabulary")
      .arraySync() as number[][][];
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 6, { batch: 1 });
    let state = state0;
    for (let s = 0; s < 4; s++) {
      const one = tokens([[[5, 3, 8, 1][s]!]]);
      const [logits, next] = sampler.call(KVCachingInputs.fromBasicSubsegments(one, state));
      const got = logits.unwrap("batch", "seq", "vocabulary").arraySync() as number[][][];
      for (let v = 0; v < 11; v++) expect(got[0]![0]![v]).toBeCloseTo(full[0]![s]![v]!, 4);
      expect(next.cacheEndIndex).toBe(s + 1);
      state = next;
    }
  });

  it("rejects a prompt longer than the cache and a batch the cache was not built for", () => {
    const model = TransformerLM.fromConfig(configs["multi-head"]!);
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 3, { batch: 1 });
    expect(() => prefill(sampler, state0, tokens([[1, 2, 3, 4]]))).toThrow(
      "prefill: the prompt has 4 tokens but the cache holds 3. Build the sampler with a longer cacheLen.",
    );
    expect(() => prefill(sampler, state0, tokens([[1], [2]]))).toThrow(ModelConfigError);
    state0.dispose();
  });
});
