import { type NamedArray, nx, random, ready } from "@saikei/named";
import { initializeParameters, Parameter, parameterNames } from "@saikei/nn";
import { select } from "@saikei/select";
import { loadParameters, parseSafetensors, saveParameters } from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TransformerConfig, TransformerInputs, TransformerLM } from "../src/index.js";

// The models save and load their weights with @saikei/toolshed's saveParameters / loadParameters
// (the one checkpoint-by-name API); these tests pin that it fits a TransformerLM end to end.

let baseline = 0;
beforeAll(async () => {
  await ready();
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

const config: TransformerConfig = {
  numHeads: 2,
  embeddingDim: 8,
  projectionDim: 4,
  mlpHiddenDim: 16,
  numDecoderBlocks: 1,
  vocabSize: 7,
};

/** The tensors a model's parameters hold. */
const valuesOf = (model: TransformerLM) =>
  select(model)
    .atInstancesOf(Parameter)
    .getSequence()
    .map((p) => ((p as Parameter).value as NamedArray).dataArray);

function logitsOf(model: TransformerLM): number[] {
  const inputs = TransformerInputs.fromBasicSegments(
    nx.wrap(tf.tensor2d([[1, 2, 3, 4]], undefined, "int32")).tag("batch", "seq"),
  );
  const logits = model.call(inputs);
  const values = Array.from(logits.unwrap("batch", "seq", "vocabulary").dataSync());
  tf.dispose([
    logits.dataArray,
    inputs.tokens.dataArray,
    inputs.positions.dataArray,
    inputs.attentionMask.dataArray,
  ]);
  return values;
}

describe("TransformerLM checkpoints by parameter name", () => {
  it("a trained model's bytes load into a freshly built one with the same logits", () => {
    const trained = initializeParameters(TransformerLM.fromConfig(config), random.key(0));
    const bytes = saveParameters(trained, { metadata: { step: "1" } });
    const loaded = loadParameters(bytes, TransformerLM.fromConfig(config));
    expect(parameterNames(loaded)).toEqual(parameterNames(trained));
    expect(logitsOf(loaded)).toEqual(logitsOf(trained));
    tf.dispose([...valuesOf(trained), ...valuesOf(loaded)]);
  });

  it("tensors by name (parseSafetensors, a PyTorch export) load the same way", () => {
    const trained = initializeParameters(TransformerLM.fromConfig(config), random.key(1));
    const tensors = parseSafetensors(saveParameters(trained));
    const loaded = loadParameters(tensors, TransformerLM.fromConfig(config));
    expect(logitsOf(loaded)).toEqual(logitsOf(trained));
    tf.dispose([...valuesOf(trained), ...Object.values(tensors)]);
  });
});
