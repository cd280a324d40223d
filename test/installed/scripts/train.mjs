// A user's ESM script: build a TransformerLM, train it 20 steps on wasm, save and reload a
// checkpoint (written atomically through saikei/node), sample text. Prints one JSON line with what the test checks.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { pz } from "saikei";
import { loadParametersFile, saveParametersFile } from "saikei/node";

const backend = await pz.ready();
const text =
  "shall i compare thee to a summer's day? thou art more lovely and more temperate. ".repeat(8);
const vocabulary = [...new Set(text)].sort();
const ids = [...text].map((c) => vocabulary.indexOf(c));
const config = {
  numHeads: 2,
  numKvHeads: 1,
  embeddingDim: 32,
  projectionDim: 16,
  mlpHiddenDim: 64,
  numDecoderBlocks: 1,
  vocabSize: vocabulary.length,
};
const { TransformerLM, TransformerInputs, KVCachingTransformerLM, temperatureSample } = pz.models;
const model = pz.nn.initializeParameters(TransformerLM.fromConfig(config), pz.random.key(0));
const seqLen = 32;
const positions = pz.nx.arange("seq", seqLen);
const mask = positions.ge(pz.nx.arange("kv_seq", seqLen));
const step = pz.toolshed.buildTrainStepFn(({ model, state, x, y }) => {
  const logits = model
    .call(
      new TransformerInputs({
        tokens: pz.nx.wrap(x, "batch", "seq"),
        positions,
        attentionMask: mask,
      }),
    )
    .unwrap("batch", "seq", "vocabulary");
  const loss = tf.neg(
    tf.mean(tf.sum(tf.mul(tf.oneHot(y, config.vocabSize), tf.logSoftmax(logits)), 2)),
  );
  return [loss, state, { loss: loss.dataSync()[0] }];
});
let state = pz.toolshed.TrainState.initialState(
  model,
  pz.toolshed.adam({ learningRate: 1e-2 }),
  pz.random.key(1),
);
const losses = [];
for (let i = 0; i < 20; i++) {
  const starts = [0, 7, 19, 40].map((s) => (s + i * 3) % (ids.length - seqLen - 1));
  const x = tf.tensor2d(
    starts.map((s) => ids.slice(s, s + seqLen)),
    undefined,
    "int32",
  );
  const y = tf.tensor2d(
    starts.map((s) => ids.slice(s + 1, s + seqLen + 1)),
    undefined,
    "int32",
  );
  const [next, aux] = step(state, { x, y });
  state = next;
  tf.dispose([x, y]);
  losses.push(aux.loss);
}
const trained = state.model;

const dir = mkdtempSync(join(tmpdir(), "saikei-checkpoint-"));
const path = join(dir, "model.safetensors");
saveParametersFile(path, trained); // written atomically, parameters keyed by name
const reloaded = loadParametersFile(path, TransformerLM.fromConfig(config));
rmSync(dir, { recursive: true, force: true });
const probe = pz.nx.wrap(tf.tensor2d([ids.slice(0, seqLen)], undefined, "int32"), "batch", "seq");
const inputs = new TransformerInputs({ tokens: probe, positions, attentionMask: mask });
const a = trained.call(inputs).unwrap("batch", "seq", "vocabulary");
const b = reloaded.call(inputs).unwrap("batch", "seq", "vocabulary");
const reloadDifference = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];

const [sampler, cache] = KVCachingTransformerLM.fromUncached(reloaded, 48, { batch: 1 });
const prompt = pz.nx.wrap(tf.tensor2d([ids.slice(0, 8)], undefined, "int32"), "batch", "seq");
const sampled = temperatureSample(sampler, cache, prompt, pz.random.key(2), {
  temperature: 0.7,
  maxSamplingSteps: 16,
  padId: 0,
});
const sample = Array.from(sampled.unwrap("batch", "seq").dataSync(), (i) => vocabulary[i]).join("");
console.log(
  JSON.stringify({
    backend,
    losses,
    reloadDifference,
    sample,
    html: pz.ts.renderToHTML(reloaded).length,
  }),
);
