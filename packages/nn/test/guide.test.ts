import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import { tree } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AddBias,
  Affine,
  ApplyAttentionMask,
  addParameterPrefix,
  Elementwise,
  EmbeddingDecode,
  FrozenParameter,
  gelu,
  initializeParameters,
  LayerNorm,
  Linear,
  type LinearInPlace,
  NamedGroup,
  Parameter,
  parameterNames,
  Sequential,
  UninitializedParameter,
} from "../src/index.js";

beforeAll(async () => {
  await ready();
});

describe("the guide (docs/nn.md)", () => {
  it("builds, initializes and runs the MLP of the first example", () => {
    const mlp = new Sequential({
      sublayers: [
        LayerNorm.fromConfig({ features: 8 }),
        addParameterPrefix("in", Affine.fromConfig({ features: 8 }, { hidden: 32 })),
        new Elementwise({ fn: gelu }),
        addParameterPrefix("out", Linear.fromConfig({ hidden: 32 }, { features: 8 })),
      ],
    });
    expect(parameterNames(mlp)).toEqual([
      "scale.weights",
      "shift.bias",
      "in.Linear.weights",
      "in.AddBias.bias",
      "out.weights",
    ]);
    const model = initializeParameters(mlp, random.key(0));
    const x = nx.ones({ batch: 2, features: 8 });
    const y = model.call(x) as NamedArray;
    expect(y.namedShape).toEqual({ batch: 2, features: 8 });
    for (const leaf of tree.leaves([model, x, y])) if (leaf instanceof tf.Tensor) leaf.dispose();
  });

  it("masks with a causal mask built from nx.arange", () => {
    const handled = WithSideInputsFromInputTuple.handling(
      ApplyAttentionMask.fromConfig("attn_mask"),
      ["attn_mask"],
    );
    const mask = nx.arange("seq", 3).ge(nx.arange("kv_seq", 3));
    const logits = nx.zeros({ seq: 3, kv_seq: 3 });
    const out = handled.call([logits, mask]) as NamedArray;
    const v = Array.from(out.orderAs("seq", "kv_seq").dataArray.dataSync());
    expect(v.map((e) => (e === 0 ? 0 : 1))).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 0]);
    for (const leaf of tree.leaves([mask, logits, out]))
      if (leaf instanceof tf.Tensor) leaf.dispose();
  });

  it("gives penzai's treescope colours", () => {
    const value = nx.zeros({ a: 1 });
    expect(new Parameter({ value, name: "p" }).treescopeColor()).toBe("#93cce1");
    expect(new FrozenParameter({ value, name: "p" }).treescopeColor()).toBe("#a0b0c9");
    expect(
      new UninitializedParameter({
        initializer: () => nx.zeros({ a: 1 }),
        name: "u",
      }).treescopeColor(),
    ).toBe("#cea03c");
    expect((Linear.fromConfig({ a: 1 }, { b: 1 }) as Linear).treescopeColor()).toBe("#eba875");
    expect((Linear.fromConfig({ a: 1 }, { a: 1 }) as LinearInPlace).treescopeColor()).toBe(
      "#eba875",
    );
    expect(AddBias.fromConfig({ a: 1 }).treescopeColor()).toBe("#65cfbc");
    expect(new NamedGroup({ name: "g", sublayers: [] }).treescopeColor()).toBe("#cdcdcd");
    // colorFromString("gelu"): FNV-1a 0x81febb6e % 3600 = 2990, OKLCH(0.785 0.103 299°).
    expect(new Elementwise({ fn: gelu }).treescopeColor()).toBe("#c2aaf2");
    expect(EmbeddingDecode.name).toBe("EmbeddingDecode");
    value.dataArray.dispose();
  });
});
