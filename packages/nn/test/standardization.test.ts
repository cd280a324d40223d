import { type NamedArray, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RMSStandardize, Standardize } from "../src/index.js";

beforeAll(async () => {
  await ready();
});

let baseline = 0;
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

/** The kernels `f` dispatches, by name (its result is disposed). */
function kernelsOf(f: () => NamedArray): Record<string, number> {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  const counts: Record<string, number> = {};
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    const name = args[0] as string;
    counts[name] = (counts[name] ?? 0) + 1;
    return original.apply(this, args);
  };
  try {
    f().dataArray.dispose();
  } finally {
    engine.runKernel = original;
  }
  return counts;
}

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
