// Lists the tfjs kernels that the forward pass of each saikei model's training loss dispatches, and
// for each whether a gradient is registered, in a plain-node process from the installed packages.
// Prints one JSON line: { model: { kernel: hasGradient } }.
import * as tf from "@tensorflow/tfjs-core";
import { pz } from "saikei";

await pz.ready();
const { TransformerLM, TransformerInputs, MLP } = pz.models;
const key = pz.random.key(0);

async function kernelsOf(fn) {
  const info = await tf.profile(() => tf.tidy(fn));
  const names = [...new Set(info.kernels.map((k) => k.name))].sort();
  return Object.fromEntries(names.map((name) => [name, tf.getGradient(name) !== undefined]));
}

const vocabSize = 11;
const transformer = pz.nn.initializeParameters(
  TransformerLM.fromConfig({
    numHeads: 2,
    numKvHeads: 1,
    embeddingDim: 16,
    projectionDim: 8,
    mlpHiddenDim: 32,
    numDecoderBlocks: 1,
    vocabSize,
  }),
  key,
);
const tokens = pz.nx.wrap(tf.tensor2d([[1, 2, 3, 4]], undefined, "int32"), "batch", "seq");
const positions = pz.nx.arange("seq", 4);
const mask = positions.ge(pz.nx.arange("kv_seq", 4));
const targets = tf.tensor2d([[2, 3, 4, 5]], undefined, "int32");
const transformerKernels = await kernelsOf(() => {
  const logits = transformer
    .call(new TransformerInputs({ tokens, positions, attentionMask: mask }))
    .unwrap("batch", "seq", "vocabulary");
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(targets, vocabSize), tf.logSoftmax(logits)), 2)));
});

const mlp = pz.nn.initializeParameters(MLP.fromConfig([3, 8, 2]), key);
const x = pz.nx.wrap(
  tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]),
  "batch",
  "features",
);
const y = tf.tensor2d([
  [1, 0],
  [0, 1],
]);
const mlpKernels = await kernelsOf(() =>
  tf.mean(tf.square(tf.sub(mlp.call(x).unwrap("batch", "features"), y))),
);

// The optimizer's update runs outside the tape; listed for completeness of what training runs.
console.log(JSON.stringify({ TransformerLM: transformerKernels, MLP: mlpKernels }));
