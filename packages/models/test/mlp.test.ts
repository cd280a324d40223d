import { WithRandomKeyFromArg } from "@saikei/effects";
import { nx, random, ready } from "@saikei/named";
import { initializeParameters, Linear, parameterNames } from "@saikei/nn";
import { select } from "@saikei/select";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { DropoutMLP, MLP, ModelConfigError } from "../src/index.js";

describe("MLP", () => {
  beforeAll(async () => {
    await ready();
  });

  it("has penzai's structure and parameter names", () => {
    const mlp = MLP.fromConfig([8, 16, 32, 32]);
    expect(parameterNames(mlp)).toEqual([
      "Affine_0.Linear.weights",
      "Affine_0.AddBias.bias",
      "Affine_1.Linear.weights",
      "Affine_1.AddBias.bias",
      "Affine_2.Linear.weights",
      "Affine_2.AddBias.bias",
    ]);
    expect(select(mlp).atInstancesOf(Linear).count()).toBe(3);
    expect((mlp.sublayers[2] as MLP).sublayers[0]).toBeInstanceOf(Linear);
  });

  it("computes relu(x W0 + b0) W1 + b1 on the feature axis", () => {
    const mlp = initializeParameters(MLP.fromConfig([2, 3, 1]), random.key(0));
    const [w0, b0, w1, b1] = select(mlp)
      .atSubtreesWhere((n) => nx.isNamedArray(n))
      .getSequence()
      .map((a: any) => a.dataArray.arraySync());
    const x = [1, -2];
    const h = [0, 1, 2].map((j) => Math.max(0, x[0]! * w0[0][j] + x[1]! * w0[1][j] + b0[j]));
    const y = h[0]! * w1[0][0] + h[1]! * w1[1][0] + h[2]! * w1[2][0] + b1[0];
    const out = mlp.call(nx.wrap(tf.tensor2d([x])).tag("batch", "features"));
    expect(out.namedShape).toEqual({ batch: 1, features: 1 });
    expect(out.unwrap("batch", "features").dataSync()[0]).toBeCloseTo(y, 5);
  });

  it("rejects fewer than two sizes", () => {
    expect(() => MLP.fromConfig([8])).toThrow(ModelConfigError);
    expect(() => DropoutMLP.fromConfig([8, 4], 1)).toThrow("dropRate must be in [0, 1), got 1.");
  });

  it("DropoutMLP needs a random handler and is deterministic for a key", () => {
    const mlp = initializeParameters(DropoutMLP.fromConfig([4, 64, 4], 0.5), random.key(0));
    const x = nx.wrap(tf.ones([2, 4])).tag("batch", "features");
    expect(() => mlp.call(x)).toThrow(/RandomEffect|random/i);
    const handled = WithRandomKeyFromArg.handling(mlp);
    const a = handled
      .call([x, random.key(3)])
      .unwrap("batch", "features")
      .dataSync();
    const b = handled
      .call([x, random.key(3)])
      .unwrap("batch", "features")
      .dataSync();
    const c = handled
      .call([x, random.key(4)])
      .unwrap("batch", "features")
      .dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});
