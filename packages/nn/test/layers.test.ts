import { WithRandomKeyFromArg } from "@saikei/effects";
import { DisposedTensorError, MisconfiguredLayerError } from "@saikei/layer";
import { AxisNameError, type NamedArray, nx, random, ready } from "@saikei/named";
import { StructureMismatchError } from "@saikei/shapecheck";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AddBias,
  AxisConfigurationError,
  CastToDType,
  checkUniqueAxisNamesForInitializer,
  constantInitializer,
  contract,
  DisabledDropout,
  Elementwise,
  type ElementwiseFn,
  EmbeddingTable,
  initializeParameters,
  Linear,
  maybeDropout,
  maybeRenameOutputAxes,
  NamedEinsum,
  Parameter,
  RenameAxes,
  Standardize,
  StochasticDropout,
  varianceScalingInitializer,
  xavierNormalInitializer,
  xavierUniformInitializer,
  zeroInitializer,
} from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

function dispose(...xs: (NamedArray | tf.Tensor)[]): void {
  for (const x of xs) (x instanceof tf.Tensor ? x : x.dataArray).dispose();
}

describe("shape-check errors name the layer, the axis and the sizes", () => {
  it("Linear called with a wrong input size", () => {
    const linear = initializeParameters(
      Linear.fromConfig({ embedding: 16 }, { out: 4 }),
      random.key(0),
    ) as Linear;
    const x = nx.zeros({ batch: 2, embedding: 8 });
    let message = "";
    try {
      linear.call(x);
    } catch (error) {
      expect(error).toBeInstanceOf(StructureMismatchError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/layer of type Linear/);
    expect(message).toMatch(/embedding/);
    expect(message).toMatch(/16/);
    expect(message).toMatch(/8/);
    dispose(x, linear.weights.value);
  });

  it("Standardize called without its axis", () => {
    const x = nx.zeros({ batch: 2, features: 3 });
    expect(() => new Standardize({ across: "embedding" }).call(x)).toThrow(
      /Standardize[\s\S]*embedding/,
    );
    dispose(x);
  });

  it("RenameAxes with lists of different lengths is misconfigured before it runs", () => {
    const x = nx.zeros({ a: 2, b: 3 });
    expect(() => new RenameAxes({ old: ["a", "b"], new: ["c"] }).call(x)).toThrow(
      MisconfiguredLayerError,
    );
    dispose(x);
  });

  it("AddBias whose new axis is missing from the bias is misconfigured", () => {
    const bias = new Parameter({ value: nx.zeros({ a: 2 }), name: "bias" });
    const layer = new AddBias({ bias, newAxisNames: ["b"] });
    const x = nx.zeros({ a: 2 });
    expect(() => layer.call(x)).toThrow(/expected out axis b was missing/);
    dispose(x, bias.value);
  });
});

describe("RenameAxes, contract and NamedEinsum", () => {
  it("RenameAxes renames without moving data", () => {
    const x = nx.wrap(
      tf.tensor2d([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      "a",
      "b",
    );
    const y = new RenameAxes({ old: "a", new: "z" }).call(x);
    expect(y.namedShape).toEqual({ z: 2, b: 3 });
    expect(y.dataArray).toBe(x.dataArray);
    dispose(x);
  });

  it("contract sums over the named axis and keeps the rest", () => {
    const a = nx.wrap(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      "i",
      "k",
    );
    const b = nx.wrap(
      tf.tensor2d([
        [5, 6],
        [7, 8],
      ]),
      "k",
      "j",
    );
    const c = contract("k", a, b);
    expect(values(c, "i", "j")).toEqual([19, 22, 43, 50]);
    // The contraction is nx.dot's, and so is the error for a missing axis.
    expect(() => contract("missing", a, b)).toThrow(AxisNameError);
    dispose(a, b, c);
  });

  it("NamedEinsum computes a matrix product, a three-operand chain and a full sum", () => {
    const a = nx.wrap(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      "r",
      "c",
    );
    const b = nx.wrap(
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      "r",
      "c",
    );
    const product = new NamedEinsum({
      inputAxes: [
        { r: "i", c: "k" },
        { r: "k", c: "j" },
      ],
      outputAxes: { r: "i", c: "j" },
    }).call([a, b]);
    expect(values(product, "r", "c")).toEqual([1, 2, 3, 4]);
    const chain = new NamedEinsum({
      inputAxes: [
        { r: "i", c: "k" },
        { r: "k", c: "l" },
        { r: "l", c: "j" },
      ],
      outputAxes: { r: "i", c: "j" },
    }).call([a, b, a]);
    expect(values(chain, "r", "c")).toEqual([7, 10, 15, 22]);
    const total = new NamedEinsum({ inputAxes: [{ r: "i", c: "k" }], outputAxes: {} }).call([a]);
    expect(Array.from(total.dataArray.dataSync())).toEqual([10]);
    dispose(a, b, product, chain, total);
  });

  it("contract agrees with an explicit sum for random shapes (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, k, m, seed) => {
          tf.tidy(() => {
            const a = nx.wrap(random.normal(random.key(seed), [k, n]), "k", "n");
            const b = nx.wrap(random.normal(random.key(seed + 1), [m, k]), "m", "k");
            const got = values(contract("k", a, b), "n", "m");
            const av = a.dataArray.arraySync() as number[][];
            const bv = b.dataArray.arraySync() as number[][];
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < m; j++) {
                let s = 0;
                for (let t = 0; t < k; t++) s += av[t]![i]! * bv[j]![t]!;
                expect(got[i * m + j]).toBeCloseTo(s, 4);
              }
            }
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("initializers", () => {
  it("variance scaling computes fans from input, output and convolution axes", () => {
    const w = varianceScalingInitializer(
      random.key(0),
      {
        inputAxes: { i: 30 },
        outputAxes: { o: 20 },
        parallelAxes: { p: 2 },
        convolutionSpatialAxes: { k: 3 },
      },
      { scale: 2, mode: "fan_in", distribution: "normal" },
    );
    expect(Object.keys(w.namedShape)).toEqual(["p", "k", "i", "o"]);
    const v = values(w);
    const variance = v.reduce((s, x) => s + x * x, 0) / v.length;
    expect(variance).toBeGreaterThan((2 / 90) * 0.8);
    expect(variance).toBeLessThan((2 / 90) * 1.2);
    dispose(w);
  });

  it("xavier normal has variance 2 / (fanIn + fanOut); truncated normal stays within 2 std", () => {
    const w = xavierNormalInitializer(random.key(1), {
      inputAxes: { i: 40 },
      outputAxes: { o: 60 },
    });
    const v = values(w);
    const variance = v.reduce((s, x) => s + x * x, 0) / v.length;
    expect(variance).toBeGreaterThan(0.02 * 0.85);
    expect(variance).toBeLessThan(0.02 * 1.15);
    const t = varianceScalingInitializer(
      random.key(2),
      { inputAxes: { i: 50 }, outputAxes: { o: 50 } },
      { scale: 1, mode: "fan_in", distribution: "truncated_normal" },
    );
    const limit = (2 * Math.sqrt(1 / 50)) / 0.87962566103423978;
    expect(values(t).every((x) => Math.abs(x) <= limit + 1e-6)).toBe(true);
    dispose(w, t);
  });

  it("constant and zero initializers fill with the value in penzai's axis order", () => {
    const c = constantInitializer(1.5)(random.key(0), {
      inputAxes: { i: 2 },
      outputAxes: { o: 1 },
      parallelAxes: { p: 2 },
    });
    expect(Object.keys(c.namedShape)).toEqual(["i", "o", "p"]);
    expect(values(c)).toEqual([1.5, 1.5, 1.5, 1.5]);
    const z = zeroInitializer(random.key(0), { inputAxes: { i: 2 }, outputAxes: {} });
    expect(values(z)).toEqual([0, 0]);
    dispose(c, z);
  });

  it("reject an axis in two roles", () => {
    expect(() => checkUniqueAxisNamesForInitializer({ a: 2 }, { a: 3 })).toThrow(
      AxisConfigurationError,
    );
    expect(() =>
      xavierUniformInitializer(random.key(0), { inputAxes: { a: 2 }, outputAxes: { a: 2 } }),
    ).toThrow(/Duplicate axis names during initialization: \["a"\]/);
  });

  it("are deterministic in the key", () => {
    const a = xavierUniformInitializer(random.key(9), {
      inputAxes: { i: 3 },
      outputAxes: { o: 2 },
    });
    const b = xavierUniformInitializer(random.key(9), {
      inputAxes: { i: 3 },
      outputAxes: { o: 2 },
    });
    expect(values(a)).toEqual(values(b));
    dispose(a, b);
  });

  it("EmbeddingTable rejects a vocabulary axis among the embedding axes", () => {
    expect(() => EmbeddingTable.fromConfig(5, { vocabulary: 3 })).toThrow(AxisConfigurationError);
  });

  it("maybeRenameOutputAxes renames only overlapping outputs", () => {
    expect(maybeRenameOutputAxes({ features: 8, batch: 2 }, { features: 16, other: 3 })).toEqual({
      outputAxes: { features_out: 16, other: 3 },
      primed: ["features_out"],
      original: ["features"],
    });
  });
});

describe("dropout and casting", () => {
  it("DisabledDropout is the identity and converts back and forth", () => {
    const x = nx.ones({ a: 3 });
    const disabled = new DisabledDropout({ dropRate: 0.5, shareAcrossAxes: [] });
    expect(disabled.call(x)).toBe(x);
    expect(disabled.enable()).toBeInstanceOf(StochasticDropout);
    expect(disabled.enable().disable()).toEqual(disabled);
    expect(maybeDropout(undefined)).toBeInstanceOf(DisabledDropout);
    expect(maybeDropout(0.1)).toBeInstanceOf(StochasticDropout);
    dispose(x);
  });

  it("StochasticDropout zeroes elements and scales the others by 1 / (1 - p), sharing masks across axes", () => {
    const counter = { next: 0 };
    const rng = { nextKey: () => random.key(counter.next++) };
    const dropout = new StochasticDropout({ dropRate: 0.5, shareAcrossAxes: ["b"], rng });
    const x = nx.ones({ a: 64, b: 4 });
    const y = dropout.call(x);
    const v = values(y, "a", "b");
    expect(v.every((e) => e === 0 || e === 2)).toBe(true);
    for (let i = 0; i < 64; i++) expect(new Set(v.slice(4 * i, 4 * i + 4)).size).toBe(1);
    const kept = v.filter((e) => e === 2).length / v.length;
    expect(kept).toBeGreaterThan(0.25);
    expect(kept).toBeLessThan(0.75);
    dispose(x, y);
  });

  it("StochasticDropout under WithRandomKeyFromArg is deterministic in the key", () => {
    const model = WithRandomKeyFromArg.handling(new StochasticDropout({ dropRate: 0.3 }));
    const x = nx.ones({ a: 32 });
    const y1 = model.call([x, random.key(1)]) as NamedArray;
    const y2 = model.call([x, random.key(1)]) as NamedArray;
    const y3 = model.call([x, random.key(2)]) as NamedArray;
    expect(values(y1)).toEqual(values(y2));
    expect(values(y1)).not.toEqual(values(y3));
    expect(values(y1).every((e) => e === 0 || Math.abs(e - 1 / 0.7) < 1e-6)).toBe(true);
    dispose(x, y1, y2, y3);
  });

  it("CastToDType casts every array in a tree", () => {
    const x = nx.wrap(tf.tensor1d([1.7, -2.2]), "a");
    const t = tf.tensor1d([0.5]);
    const [cx, ct] = new CastToDType({ dtype: "int32" }).call([x, t]);
    expect(cx.dtype).toBe("int32");
    expect(ct.dtype).toBe("int32");
    expect(Array.from(cx.dataArray.dataSync())).toEqual([1, -2]);
    dispose(x, t, cx, ct);
  });
});

describe("bad layer inputs get named errors", () => {
  it("a disposed input of Linear names the argument's key path", () => {
    const linear = initializeParameters(
      Linear.fromConfig({ a: 3 }, { b: 2 }) as Linear,
      random.key(0),
    );
    const x = nx.wrap(tf.ones([2, 3]), "batch", "a");
    x.dataArray.dispose();
    const baseline = tf.memory().numTensors;
    expect(() => linear.call(x)).toThrow(DisposedTensorError);
    expect(() => linear.call(x)).toThrow(
      "Linear.call: the argument at .dataArray is a disposed tensor (float32 [2, 3]).",
    );
    expect(tf.memory().numTensors).toBe(baseline);
    dispose(linear.weights.value as NamedArray);
  });

  it("a disposed parameter of Linear names its key path inside the layer", () => {
    const linear = initializeParameters(
      Linear.fromConfig({ a: 3 }, { b: 2 }) as Linear,
      random.key(0),
    );
    const x = nx.wrap(tf.ones([2, 3]), "batch", "a");
    const y = linear.call(x);
    expect(y.namedShape).toEqual({ batch: 2, b: 2 });
    dispose(y, linear.weights.value as NamedArray);
    expect(() => linear.call(x)).toThrow(DisposedTensorError);
    expect(() => linear.call(x)).toThrow(
      "Linear.call: its tensor at .weights.value.dataArray (float32 [3, 2]) has been disposed, so " +
        "the layer cannot run.",
    );
    dispose(x);
  });

  it("Elementwise with a fn that is not a function is a MisconfiguredLayerError", () => {
    const x = nx.wrap(tf.tensor1d([-1, 2]), "features");
    const layer = new Elementwise({ fn: 3 as unknown as ElementwiseFn });
    expect(() => layer.call(x)).toThrow(MisconfiguredLayerError);
    expect(() => layer.call(x)).toThrow(
      "Elementwise: fn must be a function from tensor to tensor, but it is 3 (number). Build the " +
        "layer with one, e.g. new Elementwise({ fn: tf.relu }) or new Elementwise({ fn: gelu }).",
    );
    const relu = new Elementwise({ fn: tf.relu }).call(x) as NamedArray;
    expect(values(relu)).toEqual([0, 2]);
    dispose(x, relu);
  });
});
