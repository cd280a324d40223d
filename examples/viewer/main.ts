/**
 * The viewer page: builds a small decoder-only transformer LM with saikei (`@saikei/models`) on
 * the tfjs wasm backend, runs it once, samples a continuation through a compiled decoding step
 * (`jit`) and eagerly, and renders the model, a selection of its Linear layers, the attention
 * pattern of every head (`renderArray`, captured by a probe after each softmax) and the text form
 * of one block with `@saikei/treescope`. Everything happens in the browser.
 *
 * It is built as an application built on saikei is: vite bundles the packages as installed
 * (their `dist`), minifies them, and serves the tfjs wasm binaries as assets (see
 * docs/browser.md).
 */
/// <reference types="vite/client" />
import { CollectingSideOutputs, TellIntermediate } from "@saikei/effects";
import {
  DecodingStep,
  KVCachingTransformerLM,
  TransformerInputs,
  TransformerLM,
  temperatureSample,
} from "@saikei/models";
import { NamedArray, nx, random, ready } from "@saikei/named";
import { initializeParameters, Linear, Softmax } from "@saikei/nn";
import { select } from "@saikei/select";
import { display, displayArray, displayTokens, renderToText } from "@saikei/treescope";
// The browser recipe: vite copies each wasm binary into the build and gives its URL.
import wasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import wasmSimd from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import wasmThreadedSimd from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import * as tf from "@tensorflow/tfjs-core";

const WASM_PATHS = {
  "tfjs-backend-wasm.wasm": wasm,
  "tfjs-backend-wasm-simd.wasm": wasmSimd,
  "tfjs-backend-wasm-threaded-simd.wasm": wasmThreadedSimd,
};

const CONFIG = {
  numHeads: 2,
  embeddingDim: 16,
  projectionDim: 4,
  mlpHiddenDim: 32,
  numDecoderBlocks: 2,
  vocabSize: 11,
};

async function main(): Promise<void> {
  const status = document.getElementById("status")!;
  // `?wasmPaths=none` leaves the binaries unfound, to show the cpu fallback and its warning.
  const unserved = new URLSearchParams(location.search).get("wasmPaths") === "none";
  const backend = await ready(unserved ? {} : { wasmPaths: WASM_PATHS });
  document.body.dataset.backend = backend;
  const model = initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(2));

  const tokens = NamedArray.wrap(tf.tensor2d([[1, 5, 9, 2]], [1, 4], "int32")).tag("batch", "seq");
  const inputs = TransformerInputs.fromBasicSegments(tokens);
  const logits = model.call(inputs);
  status.textContent =
    `Built and ran on the ${backend} backend; logits have named shape ` +
    `${JSON.stringify(logits.namedShape)}.`;
  tf.dispose([inputs.positions.dataArray, inputs.attentionMask.dataArray, logits.dataArray]);

  // Sampling: a kept DecodingStep traces the model once and replays it for every token; the
  // eager loop must draw the same tokens.
  const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 12, { batch: 1 });
  const step = new DecodingStep();
  const options = { maxSamplingSteps: 6, padId: -1 };
  const compiled = temperatureSample(sampler, state0, tokens, random.key(4), { ...options, step });
  const eager = temperatureSample(sampler, state0, tokens, random.key(4), {
    ...options,
    jit: false,
  });
  const sampled = Array.from(compiled.unwrap("batch", "seq").dataSync());
  document.getElementById("sampled")!.textContent =
    `Sampled tokens ${JSON.stringify(sampled)}: ${step.stats.traces} traces, ` +
    `${step.stats.replays} replays of ${step.stats.kernels} kernels.`;
  document.body.dataset.sampledSame = String(
    JSON.stringify(sampled) === JSON.stringify(Array.from(eager.unwrap("batch", "seq").dataSync())),
  );
  document.body.dataset.replays = String(step.stats.replays);
  tf.dispose([tokens.dataArray, compiled.dataArray, eager.dataArray]);
  step.dispose();
  state0.dispose();

  showAttention(model);
  display(model, { target: document.getElementById("model")!, expandDepth: 3 });
  const linears = select(model).atInstancesOf(Linear);
  display(linears, { target: document.getElementById("selection")! });
  document.body.dataset.linears = String(linears.count());
  document.getElementById("text")!.textContent = renderToText(model, {
    multiline: true,
    color: false,
  });
  document.body.dataset.ready = "true";
}

/** A repeated sequence of tokens, shown as token boxes. */
const PATTERN = [1, 5, 9, 2, 7, 3, 1, 5, 9, 2, 7, 3];

/**
 * Runs the model with a probe after every softmax (a selection inserts `TellIntermediate` after
 * each `Softmax`; `CollectingSideOutputs` collects what the probes tell) and shows the attention
 * pattern of every block and head with `displayArray`, one row of facets per block and one column
 * per head.
 */
function showAttention(model: TransformerLM): void {
  const tokens = NamedArray.wrap(tf.tensor2d([PATTERN], [1, PATTERN.length], "int32")).tag(
    "batch",
    "seq",
  );
  const inputs = TransformerInputs.fromBasicSegments(tokens);
  const probed = select(model)
    .atInstancesOf(Softmax)
    .insertAfter(TellIntermediate.fromConfig("attention"));
  const [logits, told] = CollectingSideOutputs.handling(probed, "attention").call(inputs);
  const patterns = told.map((t) => t.value as NamedArray);
  const stacked = nx.stack(patterns, "blocks");
  const target = document.getElementById("attention")!;
  displayTokens(tokens, { target });
  // nx.stack appends "blocks" as the last axis, so the pixel axes are listed too
  displayArray(stacked, {
    target,
    rows: ["blocks", "seq"],
    columns: ["heads", "kv_seq"],
    vmin: 0,
    vmax: 1,
  });
  document.body.dataset.attentionShape = JSON.stringify(stacked.namedShape);
  tf.dispose([
    tokens.dataArray,
    inputs.positions.dataArray,
    inputs.attentionMask.dataArray,
    logits.dataArray,
    stacked.dataArray,
    ...patterns.map((p) => p.dataArray),
  ]);
}

main().catch((error) => {
  console.error(error);
  document.getElementById("status")!.textContent = `Failed: ${error}`;
});
