/**
 * `@saikei/onnx` as a user gets it: installed from its tarball next to onnxruntime-node (with the
 * `.npmrc` line that skips its GPU download), run with plain `node`.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";

const run = promisify(execFile);
const project = inject("consumerDir");

const script = `
import { createRequire } from "node:module";
import { pz } from "saikei";
import * as onnx from "@saikei/onnx";
import { TransformerInputs, TransformerLM } from "@saikei/models";
import { initializeParameters } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";

const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("onnxruntime-node"));
await pz.ready();
const out = { sameNamespace: pz.onnx.export === onnx.export, loadedOnImport: loaded() };
const model = initializeParameters(
  TransformerLM.fromConfig({ numHeads: 2, numKvHeads: 1, embeddingDim: 16, projectionDim: 8, mlpHiddenDim: 32, numDecoderBlocks: 1, vocabSize: 9 }),
  pz.random.key(0),
);
const inputsFor = (batch, seq) =>
  TransformerInputs.fromBasicSegments(pz.nx.wrap(pz.random.randint(pz.random.key(seq), [batch, seq], 0, 9), "batch", "seq"));
const example = inputsFor(2, 4);
const bytes = pz.onnx.export(
  (tokens, positions, attentionMask) => model.call(new TransformerInputs({ tokens, positions, attentionMask })),
  [example.tokens, example.positions, example.attentionMask],
  { dynamicAxes: ["batch", ["seq", "kv_seq"]] },
);
out.loadedBeforeSession = loaded();
const session = await onnx.session(bytes, { threads: 1 });
out.loadedAfterSession = loaded();
const inputs = inputsFor(3, 6);
const { output } = await session.run({ input_0: inputs.tokens, input_1: inputs.positions, input_2: inputs.attentionMask });
const expected = model.call(inputs);
out.namedShape = output.namedShape;
out.maxDifference = tf.max(tf.abs(tf.sub(expected.dataArray, output.orderAs(...Object.keys(expected.namedShape)).dataArray))).arraySync();
await session.dispose();
console.log(JSON.stringify(out));
`;

describe("@saikei/onnx installed with onnxruntime-node", () => {
  it("exports a TransformerLM with dynamic axes and runs it with plain node; onnxruntime loads on the first session", async () => {
    writeFileSync(join(project, "onnx-check.mjs"), script);
    const { stdout } = await run(process.execPath, ["onnx-check.mjs"], {
      cwd: project,
      timeout: 240_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(out).toMatchObject({
      sameNamespace: true,
      loadedOnImport: false,
      loadedBeforeSession: false,
      loadedAfterSession: true,
      namedShape: { batch: 3, seq: 6, vocabulary: 9 },
    });
    expect(out.maxDifference).toBeLessThan(1e-4);
  });
});
