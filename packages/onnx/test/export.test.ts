import { MLP, TransformerInputs, TransformerLM } from "@saikei/models";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import onnxProto from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import * as onnx from "../src/index.js";
import { disposeResults, maxAbsDiff } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("export and session (Node)", () => {
  it("an MLP gives the tfjs outputs within 1e-4", async () => {
    const model = initializeParameters(MLP.fromConfig([8, 16, 4]), random.key(1));
    const x = nx.wrap(random.normal(random.key(2), [3, 8])).tag("batch", "features");
    const bytes = onnx.export((v: NamedArray) => model.call(v), [x]);
    const s = await onnx.session(bytes, { threads: 1 });
    const expected = model.call(x);
    const { output } = await s.run({ input: x });
    expect((output as NamedArray).namedShape).toEqual({ batch: 3, features: 4 });
    expect(maxAbsDiff(expected, output as NamedArray)).toBeLessThan(1e-4);
    disposeResults({ output: output! });
    expected.dataArray.dispose();
    x.dataArray.dispose();
    await s.dispose();
  });

  it("TransformerLM forward matches tfjs for two batch/seq shapes with dynamic axes", async () => {
    const config = {
      numHeads: 2,
      numKvHeads: 1,
      embeddingDim: 16,
      projectionDim: 8,
      mlpHiddenDim: 32,
      numDecoderBlocks: 2,
      vocabSize: 11,
    };
    const model = initializeParameters(TransformerLM.fromConfig(config), random.key(3));
    const forward = (tokens: NamedArray, positions: NamedArray, mask: NamedArray) =>
      model.call(new TransformerInputs({ tokens, positions, attentionMask: mask }));
    const inputsFor = (batch: number, seq: number) => {
      const tokens = nx
        .wrap(random.randint(random.key(batch * 10 + seq), [batch, seq], 0, 11))
        .tag("batch", "seq");
      return TransformerInputs.fromBasicSegments(tokens);
    };
    const example = inputsFor(2, 5);
    const bytes = onnx.export(
      forward,
      [example.tokens, example.positions, example.attentionMask] as [
        NamedArray,
        NamedArray,
        NamedArray,
      ],
      {
        dynamicAxes: ["batch", ["seq", "kv_seq"]],
        inputNames: ["tokens", "positions", "mask"],
        outputNames: ["logits"],
      },
    );
    const s = await onnx.session(bytes);
    for (const [batch, seq] of [
      [3, 7],
      [1, 12],
    ] as const) {
      const inputs = inputsFor(batch, seq);
      const expected = model.call(inputs);
      const { logits } = await s.run({
        tokens: inputs.tokens,
        positions: inputs.positions,
        mask: inputs.attentionMask,
      });
      expect((logits as NamedArray).namedShape).toEqual({ batch, seq, vocabulary: 11 });
      expect(maxAbsDiff(expected, logits as NamedArray)).toBeLessThan(1e-4);
      disposeResults({ logits: logits! });
      expected.dataArray.dispose();
    }
    await s.dispose();
  });

  it("runs a model without saikei's metadata (another exporter's) with plain tensors", async () => {
    const x = nx.wrap(
      tf.tensor2d([
        [1, -2],
        [3, -4],
      ]),
      "batch",
      "features",
    );
    const model = onnxProto.onnx.ModelProto.decode(
      onnx.export((v: NamedArray) => v.abs().sum("features"), [x]),
    );
    model.metadataProps = [];
    const s = await onnx.session(onnxProto.onnx.ModelProto.encode(model).finish());
    expect(s.inputs).toEqual([
      {
        name: "input",
        path: "input",
        axes: [null, null],
        shape: [2, 2],
        dtype: "float32",
        named: false,
      },
    ]);
    const { output } = await s.run({ input: x.unwrap("batch", "features") });
    expect((output as tf.Tensor).arraySync()).toEqual([3, 7]);
    (output as tf.Tensor).dispose();
    x.dataArray.dispose();
    await s.dispose();
  });
});
