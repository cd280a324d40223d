import {
  generateTokens,
  KVCachingTransformerLM,
  TransformerLM,
  temperatureSample,
} from "@saikei/models";
import { type NamedArrayBase, nx, random, ready } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as onnx from "../src/index.js";

beforeAll(async () => {
  await ready();
});

const config = {
  numHeads: 2,
  numKvHeads: 1,
  embeddingDim: 16,
  projectionDim: 8,
  mlpHiddenDim: 32,
  numDecoderBlocks: 2,
  vocabSize: 13,
};

const rows = (t: NamedArrayBase) => t.unwrap("batch", "seq").arraySync();

describe("KV-cached decoding on onnxruntime", () => {
  it("gives the same greedy tokens as tfjs, exports each step once, and leaks nothing", async () => {
    const model = initializeParameters(TransformerLM.fromConfig(config), random.key(4));
    const prompt = nx
      .wrap(
        tf.tensor2d(
          [
            [1, 2, 3, 4],
            [5, 6, 7, 8],
          ],
          undefined,
          "int32",
        ),
      )
      .tag("batch", "seq");
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 16, { batch: 2 });
    const options = { temperature: 0, maxSamplingSteps: 10 };
    const expected = temperatureSample(sampler, state0, prompt, random.key(7), options);
    const engine = onnx.decodingEngine({ threads: 1 });
    const baseline = tf.memory().numTensors;
    const got = await temperatureSample(sampler, state0, prompt, random.key(7), {
      ...options,
      engine,
    });
    expect(rows(got)).toEqual(rows(expected));
    // The prompt and the one-token step are exported once each; every token replays.
    expect(engine.stats).toEqual({ exports: 2, runs: 10 });
    got.dataArray.dispose();
    const again = await temperatureSample(sampler, state0, prompt, random.key(7), {
      ...options,
      engine,
    });
    expect(rows(again)).toEqual(rows(expected));
    expect(engine.stats.exports).toBe(2);
    again.dataArray.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    await engine.dispose();
    await expect(
      temperatureSample(sampler, state0, prompt, random.key(7), { ...options, engine }),
    ).rejects.toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(baseline);
    expected.dataArray.dispose();
    state0.dispose();
  });

  it("runs generateTokens on the engine: the same tokens as tfjs, greedy and sampled, nothing leaked", async () => {
    const model = initializeParameters(TransformerLM.fromConfig(config), random.key(6));
    const engine = onnx.decodingEngine({ threads: 1 });
    const baseline = tf.memory().numTensors;
    for (const options of [
      { maxNewTokens: 9, temperature: 0 },
      { maxNewTokens: 9, temperature: 1, seed: 3 },
    ]) {
      const expected = generateTokens(model, [2, 7, 1], options);
      const got = await generateTokens(model, [2, 7, 1], { ...options, engine });
      expect(expected).toHaveLength(9);
      expect(got).toEqual(expected);
    }
    expect(tf.memory().numTensors).toBe(baseline);
    await engine.dispose();
    await expect(generateTokens(model, [2], { engine })).rejects.toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("samples with a temperature the same tokens as tfjs for the same key", async () => {
    const model = initializeParameters(TransformerLM.fromConfig(config), random.key(5));
    const prompt = nx.wrap(tf.tensor2d([[3, 1, 4]], undefined, "int32")).tag("batch", "seq");
    const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 12, { batch: 1 });
    const options = { temperature: 1, maxSamplingSteps: 8 };
    const expected = temperatureSample(sampler, state0, prompt, random.key(11), options);
    const engine = onnx.decodingEngine();
    const got = await temperatureSample(sampler, state0, prompt, random.key(11), {
      ...options,
      engine,
    });
    expect(rows(got)).toEqual(rows(expected));
    await engine.dispose();
    for (const t of [got, expected]) t.dataArray.dispose();
    state0.dispose();
  });
});
