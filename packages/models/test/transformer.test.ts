import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nx, random, ready } from "@saikei/named";
import { initializeParameters, parameterNames } from "@saikei/nn";
import {
  loadParameters,
  parseSafetensors,
  SafetensorsMissingTensorError,
  SafetensorsTemplateMismatchError,
} from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ModelConfigError,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
} from "../src/index.js";

const fixtures = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const expected = JSON.parse(readFileSync(fixtures("transformer_expected.json"), "utf8")) as Record<
  string,
  { config: TransformerConfig; tokens: number[][]; logits: number[][][] }
>;

const small: TransformerConfig = {
  numHeads: 2,
  embeddingDim: 16,
  projectionDim: 4,
  mlpHiddenDim: 32,
  numDecoderBlocks: 2,
  vocabSize: 11,
};

function tokens(rows: number[][]) {
  return nx.wrap(tf.tensor2d(rows, undefined, "int32")).tag("batch", "seq");
}

function maxRelativeError(actual: ArrayLike<number>, wanted: number[]): number {
  let worst = 0;
  for (let i = 0; i < wanted.length; i++) {
    const err = Math.abs(actual[i]! - wanted[i]!) / Math.max(1, Math.abs(wanted[i]!));
    worst = Math.max(worst, err);
  }
  return worst;
}

describe("TransformerLM", () => {
  beforeAll(async () => {
    await ready();
  });

  it("names its parameters like penzai's Gemma model", () => {
    const names = parameterNames(TransformerLM.fromConfig({ ...small, numDecoderBlocks: 1 }));
    expect(names).toEqual([
      "block_0.pre_attention_norm.scale.weights",
      "block_0.attn.query.weights",
      "block_0.attn.key.weights",
      "block_0.attn.value.weights",
      "block_0.attn.output.weights",
      "block_0.pre_ffw_norm.scale.weights",
      "block_0.mlp.gating_linear.weights",
      "block_0.mlp.value_linear.weights",
      "block_0.mlp.out_linear.weights",
      "final_norm.scale.weights",
      "embedder.embeddings",
    ]);
  });

  it("rejects inconsistent configurations with the field name", () => {
    expect(() => TransformerLM.fromConfig({ ...small, numKvHeads: 3 })).toThrow(ModelConfigError);
    expect(() => TransformerLM.fromConfig({ ...small, numKvHeads: 3 })).toThrow(
      "numKvHeads must be a positive divisor of numHeads (2), got 3",
    );
    expect(() => TransformerLM.fromConfig({ ...small, embeddingDim: 0 })).toThrow(
      "TransformerConfig.embeddingDim must be a positive integer, got 0.",
    );
  });

  for (const name of ["multi_head", "grouped"]) {
    it(`matches an independent PyTorch implementation (${name}, rel. tol. 1e-4)`, () => {
      const fixture = expected[name]!;
      const weights = parseSafetensors(
        new Uint8Array(readFileSync(fixtures(`transformer_${name}.safetensors`))),
      );
      const model = loadParameters(weights, TransformerLM.fromConfig(fixture.config));
      const inputs = TransformerInputs.fromBasicSegments(tokens(fixture.tokens));
      const logits = model.call(inputs);
      expect(logits.namedShape).toEqual({ batch: 3, seq: 7, vocabulary: 11 });
      const actual = logits.unwrap("batch", "seq", "vocabulary").dataSync();
      expect(maxRelativeError(actual, fixture.logits.flat(2))).toBeLessThan(1e-4);
      tf.dispose([
        logits.dataArray,
        inputs.tokens.dataArray,
        inputs.positions.dataArray,
        inputs.attentionMask.dataArray,
      ]);
      tf.dispose(Object.values(weights));
    });
  }

  it("is causal: changing a later token leaves earlier logits unchanged", () => {
    const model = initializeParameters(TransformerLM.fromConfig(small), random.key(3));
    const a = TransformerInputs.fromBasicSegments(tokens([[1, 2, 3, 4, 5]]));
    const b = TransformerInputs.fromBasicSegments(tokens([[1, 2, 3, 9, 9]]));
    const la = model.call(a).unwrap("batch", "seq", "vocabulary").arraySync() as number[][][];
    const lb = model.call(b).unwrap("batch", "seq", "vocabulary").arraySync() as number[][][];
    for (let s = 0; s < 3; s++) {
      for (let v = 0; v < 11; v++) expect(lb[0]![s]![v]).toBeCloseTo(la[0]![s]![v]!, 5);
    }
    expect(Math.abs(lb[0]![4]![0]! - la[0]![4]![0]!)).toBeGreaterThan(1e-6);
  });

  it("leaks no tensors over repeated calls and never disposes its inputs", () => {
    const model = initializeParameters(TransformerLM.fromConfig(small), random.key(4));
    const inputs = TransformerInputs.fromBasicSegments(
      tokens([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) model.call(inputs).dataArray.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(inputs.tokens.dataArray.isDisposed).toBe(false);
  });

  it("reports missing, extra and mis-shaped weights without loading any", () => {
    const model = TransformerLM.fromConfig({ ...small, numDecoderBlocks: 1 });
    const wrongShape = { "embedder.embeddings": tf.zeros([11, 8]), "stray.weights": tf.zeros([2]) };
    expect(() => loadParameters(wrongShape, model)).toThrow(SafetensorsMissingTensorError);
    expect(() => loadParameters(wrongShape, model)).toThrow(
      /no tensor is named after 10 of the model's 11 parameters: "block_0.pre_attention_norm.scale.weights", "block_0.attn.query.weights"/,
    );
    const lenient = { strict: false };
    expect(() => loadParameters(wrongShape, model, lenient)).toThrow(
      SafetensorsTemplateMismatchError,
    );
    expect(() => loadParameters(wrongShape, model, lenient)).toThrow(
      'parameter "embedder.embeddings" expects float32 {vocabulary: 11, embedding: 16}, but the checkpoint has float32[11, 8]',
    );
    const stray = { "stray.weights": wrongShape["stray.weights"] };
    expect(() => loadParameters(stray, model, lenient)).not.toThrow(); // nothing to load
    tf.dispose(Object.values(wrongShape));
  });
});
