/**
 * The main job (`npm run demo`): build a small transformer LM with saikei, train it on Shakespeare's
 * sonnets (characters), save a loss plot and a checkpoint, switch it to KV-cached sampling mode,
 * generate text, and write its treescope HTML.
 *
 * Flags: `--steps N` (default 300; training also stops after `--seconds`, default 100),
 * `--out DIR` (default examples/out), `--seed N`, `--backend wasm|cpu` (default: the fastest),
 * `--help`. An unknown flag or a bad value prints the error and the usage and exits with code 2.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  KVCachingTransformerLM,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
  temperatureSample,
} from "@saikei/models";
import { initializeParameters } from "@saikei/nn";
import { adam, buildTrainStepFn, TrainState } from "@saikei/toolshed";
import { loadParametersFile, saveParametersFile } from "@saikei/toolshed/node";
import * as tf from "@tensorflow/tfjs-core";
import { pz } from "saikei";
import { commandLine } from "./lib/args.js";
import { lossPlotSvg } from "./lib/plot.js";
import { ProgressBar } from "./lib/progress.js";
import { CharTokenizer } from "./lib/tokenizer.js";

const here = dirname(fileURLToPath(import.meta.url));
const command = commandLine(process.argv.slice(2));
if (command.kind === "exit") {
  process.stdout.write(command.stdout);
  process.stderr.write(command.stderr);
  process.exit(command.code);
}
const { steps, seconds, seed, out, backend: backendFlag } = command.options;
const outDir = resolve(out ?? join(here, "out"));
mkdirSync(outDir, { recursive: true });

const backend = await pz.ready(backendFlag === undefined ? {} : { backends: [backendFlag] });
const text = readFileSync(join(here, "data", "sonnets.txt"), "utf8");
const tokenizer = new CharTokenizer(text);
const ids = tokenizer.encode(text);

const config: TransformerConfig = {
  numHeads: 4,
  numKvHeads: 2, // grouped key-value attention
  embeddingDim: 64,
  projectionDim: 16,
  mlpHiddenDim: 128,
  numDecoderBlocks: 2,
  vocabSize: tokenizer.vocabSize,
};
const model = initializeParameters(TransformerLM.fromConfig(config), pz.random.key(seed));
console.log(
  `saikei demo on the ${backend} backend: a ${config.numDecoderBlocks}-block transformer, ` +
    `${config.numHeads} heads (${config.numKvHeads} key/value heads), vocabulary ${config.vocabSize}, ` +
    `${ids.length} characters of sonnets.`,
);

// Training batches: random windows of the text, the targets shifted by one character.
const batchSize = 8;
const seqLen = 64;
let state = seed * 2654435761;
function nextRandom(): number {
  state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
  return state / 2 ** 32;
}
function batch(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(nextRandom() * (ids.length - seqLen - 1));
    xs.push(ids.slice(start, start + seqLen));
    ys.push(ids.slice(start + 1, start + seqLen + 1));
  }
  return { x: tf.tensor2d(xs, undefined, "int32"), y: tf.tensor2d(ys, undefined, "int32") };
}

const positions = pz.nx.arange("seq", seqLen);
const mask = positions.ge(pz.nx.arange("kv_seq", seqLen));

const trainStep = buildTrainStepFn<
  TransformerLM,
  null,
  { loss: number },
  { x: tf.Tensor2D; y: tf.Tensor2D }
>(({ model, state, x, y }) => {
  const tokens = pz.nx.wrap(x, "batch", "seq");
  const logits = model
    .call(new TransformerInputs({ tokens, positions, attentionMask: mask }))
    .unwrap("batch", "seq", "vocabulary");
  const logProbs = tf.logSoftmax(logits);
  const targets = tf.oneHot(y, config.vocabSize);
  const loss = tf.neg(tf.mean(tf.sum(tf.mul(targets, logProbs), 2)));
  return [loss, state, { loss: loss.dataSync()[0]! }];
});

let trainState = TrainState.initialState(
  model,
  adam({ learningRate: 3e-3 }),
  pz.random.key(seed + 1),
);
const losses: number[] = [];
const progress = new ProgressBar(steps);
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  const { x, y } = batch();
  const [next, aux] = trainStep(trainState, { x, y });
  trainState = next;
  tf.dispose([x, y]);
  losses.push(aux.loss);
  progress.update(step, aux.loss, step * batchSize * seqLen);
  if ((performance.now() - started) / 1000 > seconds) {
    console.log(`\nstopping after ${step} steps: the ${seconds}s training budget is spent.`);
    break;
  }
}
const trained = trainState.model;

const lossPath = join(outDir, "loss.svg");
writeFileSync(lossPath, lossPlotSvg(losses, "character-level cross-entropy on the sonnets"));
const checkpointPath = join(outDir, "checkpoint.safetensors");
// Written atomically: stopping the demo mid-save never leaves a truncated checkpoint.
saveParametersFile(checkpointPath, trained);
// The checkpoint loads back into a freshly built model by parameter name.
const reloaded = loadParametersFile(checkpointPath, TransformerLM.fromConfig(config));
tf.dispose(pz.tree.leaves(reloaded).filter((leaf) => leaf instanceof tf.Tensor));

// Sampling mode: every attention block becomes a KVCachingAttention by selector.
const prompt = "Shall I compare thee";
const promptIds = tokenizer.encode(prompt);
const cacheLen = 160;
const [sampler, initialState] = KVCachingTransformerLM.fromUncached(trained, cacheLen, {
  batch: 1,
});
const promptArray = pz.nx.wrap(tf.tensor2d([promptIds], undefined, "int32"), "batch", "seq");
const sampled = temperatureSample(sampler, initialState, promptArray, pz.random.key(seed + 2), {
  temperature: 0.7,
  maxSamplingSteps: cacheLen - promptIds.length,
  padId: 0,
});
const generated = tokenizer.decode(Array.from(sampled.unwrap("batch", "seq").dataSync()));
const samplePath = join(outDir, "sample.txt");
writeFileSync(samplePath, `${prompt}${generated}\n`);

const htmlPath = join(outDir, "model.html");
writeFileSync(htmlPath, pz.ts.renderToHTML(trained));

console.log(`\nfinal loss ${losses.at(-1)!.toFixed(4)} after ${losses.length} steps`);
console.log(
  `\n--- sample (temperature 0.7) ---\n${prompt}${generated}\n---------------------------------`,
);
console.log("outputs:");
console.log(`  loss plot:   ${lossPath}`);
console.log(`  checkpoint:  ${checkpointPath}`);
console.log(`  sample:      ${samplePath}`);
console.log(`  treescope:   ${htmlPath}`);
initialState.dispose();
