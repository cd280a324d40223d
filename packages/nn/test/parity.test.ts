import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { type NamedArray, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ApplyAttentionMask,
  ApplyRoPE,
  Attention,
  ConstantRescale,
  Elementwise,
  EmbeddingDecode,
  EmbeddingLookup,
  EmbeddingTable,
  gelu,
  LayerNorm,
  Linear,
  Parameter,
  RMSLayerNorm,
  Sequential,
  Softmax,
  Standardize,
} from "../src/index.js";
import { expectClose, fixtures, multiHeadCombine, multiHeadScores, named } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

let baseline = 0;
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  tf.disposeVariables();
});

/** Disposes the given arrays and checks only they were alive beyond the baseline. */
function release(...arrays: NamedArray[]): void {
  for (const a of arrays) a.dataArray.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
}

function param(fixture: any, name: string): Parameter<NamedArray> {
  return new Parameter({ value: named(fixture, "float32"), name });
}

describe("parity with PyTorch reference outputs (float32, rtol 1e-5)", () => {
  it("LayerNorm standardizes with var = mean(x²) − mean², eps 1e-6, then scales and shifts", () => {
    const f = fixtures.layer_norm!;
    const built = LayerNorm.fromConfig({ embedding: 8 });
    const scale = param(f.scale, "scale.weights");
    const shift = param(f.shift, "shift.bias");
    const layer = new LayerNorm({
      sublayers: [
        built.sublayers[0]!,
        (built.sublayers[1] as Linear).replace({ weights: scale }),
        (built.sublayers[2] as any).replace({ bias: shift }),
      ],
    });
    const x = named(f.x, "float32");
    const y = layer.call(x) as NamedArray;
    expectClose(y, f.out);
    release(x, y, scale.value, shift.value);
  });

  it("Standardize works jointly over two axes", () => {
    const f = fixtures.standardize_two_axes!;
    const x = named(f.x, "float32");
    const y = new Standardize({ across: ["a", "b"] }).call(x);
    expectClose(y, f.out, 1e-5, 1e-5);
    release(x, y);
  });

  it("RMSLayerNorm divides by sqrt(mean(x²) + eps) and scales", () => {
    const f = fixtures.rms_layer_norm!;
    const built = RMSLayerNorm.fromConfig({ embedding: 8 });
    const scale = param(f.scale, "scale.weights");
    const layer = built.replace({
      sublayers: [built.sublayers[0]!, (built.sublayers[1] as Linear).replace({ weights: scale })],
    });
    const x = named(f.x, "float32");
    const y = layer.call(x) as NamedArray;
    expectClose(y, f.out);
    release(x, y, scale.value);
  });

  it("ApplyRoPE rotates half-split pairs with max wavelength 10000", () => {
    const f = fixtures.rope!;
    const rope = ApplyRoPE.fromConfig("token_positions", "projection");
    const handled = WithSideInputsFromInputTuple.handling(rope, ["token_positions"]);
    const x = named(f.x, "float32");
    const positions = named(f.positions, "int32");
    const y = handled.call([x, positions]) as NamedArray;
    expectClose(y, f.out, 1e-5, 2e-6);
    release(x, positions, y);
  });

  it("Linear contracts two input axes into two output axes", () => {
    const f = fixtures.linear!;
    const weights = param(f.weights, "weights");
    const linear = new Linear({ weights, inAxisNames: ["a", "b"], outAxisNames: ["c", "d"] });
    const x = named(f.x, "float32");
    const y = linear.call(x);
    expect(y.namedShape).toEqual({ batch: 2, c: 5, d: 2 });
    expectClose(y, f.out, 1e-5, 1e-5);
    release(x, y, weights.value);
  });

  it("ApplyAttentionMask replaces logits where a causal mask is false with -2.3819763e38", () => {
    const f = fixtures.apply_attention_mask!;
    const layer = WithSideInputsFromInputTuple.handling(
      ApplyAttentionMask.fromConfig("attn_mask"),
      ["attn_mask"],
    );
    const x = named(f.x, "float32");
    const mask = named(f.mask, "bool");
    const y = layer.call([x, mask]) as NamedArray;
    expectClose(y, f.out, 1e-6, 0);
    const first = y.orderAs("seq", "kv_seq", "heads").dataArray.arraySync() as number[][][];
    expect(first[0]![1]![0]).toBeCloseTo(-2.3819763e38, -31);
    release(x, mask, y);
  });

  it("multi-head attention (scaled queries, causal mask, softmax over kv_seq) matches", () => {
    const f = fixtures.attention!;
    const wq = param(f.query_weights, "query.weights");
    const wk = param(f.key_weights, "key.weights");
    const wv = param(f.value_weights, "value.weights");
    const wo = param(f.output_weights, "output.weights");
    const attention = new Attention({
      inputToQuery: new Sequential({
        sublayers: [
          new Linear({
            weights: wq,
            inAxisNames: ["embedding"],
            outAxisNames: ["heads", "projection"],
          }),
          new ConstantRescale({ by: f.query_scale }),
        ],
      }),
      inputToKey: new Linear({
        weights: wk,
        inAxisNames: ["embedding"],
        outAxisNames: ["heads", "projection"],
      }),
      inputToValue: new Linear({
        weights: wv,
        inAxisNames: ["embedding"],
        outAxisNames: ["heads", "projection"],
      }),
      queryKeyToAttn: multiHeadScores(),
      attnValueToOutput: multiHeadCombine(
        new Linear({
          weights: wo,
          inAxisNames: ["heads", "projection"],
          outAxisNames: ["embedding"],
        }),
      ),
    });
    const handled = WithSideInputsFromInputTuple.handling(attention, ["attn_mask"]);
    const x = named(f.x, "float32");
    const mask = named(f.mask, "bool");
    const y = handled.call([x, mask]) as NamedArray;
    expectClose(y, f.out, 1e-5, 1e-6);
    release(x, mask, y, wq.value, wk.value, wv.value, wo.value);
  });

  it("Softmax over one axis and jointly over two axes", () => {
    const f = fixtures.softmax!;
    const x = named(f.x, "float32");
    const one = new Softmax({ axes: "b" }).call(x);
    const two = new Softmax({ axes: ["a", "b"] }).call(x);
    expectClose(one, f.out_b);
    expectClose(two, f.out_ab);
    release(x, one, two);
  });

  it("Elementwise(gelu) is the tanh approximation", () => {
    const f = fixtures.gelu!;
    const x = named(f.x, "float32");
    const y = new Elementwise({ fn: gelu }).call(x) as NamedArray;
    expectClose(y, f.out);
    release(x, y);
  });

  it("EmbeddingLookup gathers rows and EmbeddingDecode contracts with the table", () => {
    const f = fixtures.embedding!;
    const table = new EmbeddingTable({
      embeddings: param(f.table, "embeddings"),
      vocabularyAxis: "vocabulary",
    });
    const tokens = named(f.tokens, "int32");
    const looked = new EmbeddingLookup({ table }).call(tokens);
    expectClose(looked, f.lookup, 0, 0);
    const x = named(f.x, "float32");
    const logits = new EmbeddingDecode({ table }).call(x);
    expectClose(logits, f.decode, 1e-5, 1e-6);
    release(tokens, looked, x, logits, table.embeddings.value);
  });
});

describe("lowering", () => {
  it("a contraction whose operands need reordering still gives the reference result", () => {
    const f = fixtures.linear!;
    const w = named(f.weights, "float32");
    const shuffled = w.orderAs("d", "b", "c", "a");
    const weights = new Parameter({ value: shuffled, name: "weights" });
    const x0 = named(f.x, "float32");
    const x = x0.orderAs("b", "batch", "a");
    const y = new Linear({ weights, inAxisNames: ["a", "b"], outAxisNames: ["c", "d"] }).call(x);
    expectClose(y, f.out, 1e-5, 1e-5);
    release(w, shuffled, x0, x, y);
  });

  it("keeps every named axis of the input in the output", () => {
    const x = nx.ones({ batch: 2, features: 3 });
    const y = new ConstantRescale({ by: 2 }).call(x) as NamedArray;
    expect(y.namedShape).toEqual({ batch: 2, features: 3 });
    expect(Array.from(y.dataArray.dataSync())).toEqual([2, 2, 2, 2, 2, 2]);
    release(x, y);
  });
});
