import { nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { RMSStandardize, Standardize } from "../src/index.js";
import { expectNoLeakedTensors, kernelsOf } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

expectNoLeakedTensors();

describe("standardization kernels", () => {
  const data = [
    [0.5, -1.25, 2, 3.5],
    [-0.75, 0.25, 1, -2],
  ];

  it("RMSStandardize divides by sqrt(mean(x²) + eps) with one Rsqrt kernel", () => {
    const x = nx.wrap(tf.tensor2d(data), "batch", "embedding");
    const layer = new RMSStandardize({ across: "embedding", epsilon: 1e-6 });
    const y = layer.call(x);
    const got = y.orderAs("batch", "embedding").dataArray.arraySync() as number[][];
    for (const [i, row] of data.entries()) {
      const scale = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + 1e-6);
      for (const [j, v] of row.entries()) expect(got[i]![j]).toBeCloseTo(v / scale, 6);
    }
    expect(kernelsOf(() => layer.call(x))).toEqual({
      Square: 1,
      Mean: 1,
      Add: 1,
      Rsqrt: 1,
      Multiply: 1,
    });
    tf.dispose([x.dataArray, y.dataArray]);
  });

  it("Standardize uses Rsqrt and no casts", () => {
    const x = nx.wrap(tf.tensor2d(data), "batch", "embedding");
    const kernels = kernelsOf(() => new Standardize({ across: "embedding" }).call(x));
    expect(kernels.Rsqrt).toBe(1);
    expect(kernels.Cast).toBeUndefined();
    expect(kernels.Sqrt).toBeUndefined();
    x.dataArray.dispose();
  });
});
