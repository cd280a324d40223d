import { random, ready } from "@saikei/named";
import { initializeParameters, Linear, RMSStandardize, Sequential } from "@saikei/nn";
import { ANY, ArraySpec, var as dim, StructureMismatchError } from "@saikei/shapecheck";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CheckLayerError, checkLayer, synthesizeInput } from "../src/index.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

describe("checkLayer", () => {
  it("runs a Linear on a synthesized input and returns its output structure", () => {
    const out = checkLayer(Linear.fromConfig({ features: 8 }, { out: 4 })) as ArraySpec;
    expect(out).toBeInstanceOf(ArraySpec);
    expect(out.dtype).toBe("float32");
    expect(out.namedShape).toMatchObject({ out: 4 });
    // The batch axes come from a named unpack variable: two prime-sized placeholder axes.
    expect(Object.entries(out.namedShape).filter(([n]) => n.startsWith("__trace_check_"))).toEqual([
      ["__trace_check_7__", 7],
      ["__trace_check_11__", 11],
    ]);
  });

  it("checks an RMSStandardize, which keeps its input's axes", () => {
    const out = checkLayer(new RMSStandardize({ across: "embedding" })) as ArraySpec;
    expect(out.namedShape).toMatchObject({ embedding: 7 });
  });

  it("uses an explicit argument and leaves initialized layers' tensors alone", () => {
    const layer = initializeParameters(
      Linear.fromConfig({ features: 3 }, { out: 2 }),
      random.key(0),
    ) as Linear;
    const x = synthesizeInput(layer.inputStructure())[0] as { dataArray: tf.Tensor };
    const out = checkLayer(layer, { argument: x, initialize: false }) as ArraySpec;
    expect(out.namedShape).toMatchObject({ out: 2 });
    expect((layer.weights.value as any).dataArray.isDisposed).toBe(false);
    (layer.weights.value as any).dataArray.dispose();
    x.dataArray.dispose();
  });

  it("synthesizes distinct primes for size variables, skipping 2, 3 and 5", () => {
    const [input, substitution] = synthesizeInput({
      x: new ArraySpec({ shape: [dim("n"), dim("m")], namedShape: { features: 3 } }),
      ids: new ArraySpec({ shape: [dim("n")], dtype: "int32" }),
    });
    expect(substitution.sizeVariables).toEqual({ n: 7, m: 11 });
    const { x, ids } = input as { x: any; ids: tf.Tensor };
    expect(x.namedShape).toEqual({ features: 3 });
    expect(x.positionalShape).toEqual([7, 11]);
    expect([ids.dtype, ids.shape]).toEqual(["int32", [7]]);
    x.dataArray.dispose();
    ids.dispose();
  });

  it("synthesizes zeros for the specs of a structure and keeps its other leaves", () => {
    const [input] = synthesizeInput({
      xs: [new ArraySpec({ shape: [dim("n")] }), "label", 4, null],
      mask: new ArraySpec({ shape: [2], dtype: "bool" }),
    });
    const { xs, mask } = input as { xs: [tf.Tensor, string, number, null]; mask: tf.Tensor };
    expect([xs[0].dtype, xs[0].shape, Array.from(xs[0].dataSync())]).toEqual([
      "float32",
      [7],
      [0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(xs.slice(1)).toEqual(["label", 4, null]);
    expect([mask.dtype, mask.shape]).toEqual(["bool", [2]]);
    xs[0].dispose();
    mask.dispose();
  });

  it("refuses an ANY nested next to specs, before making any tensor", () => {
    expect(() => synthesizeInput({ a: new ArraySpec({ shape: [2] }), b: [1, ANY] })).toThrow(
      CheckLayerError,
    );
  });

  it("rejects layers without a declared input structure, or with ANY in it", () => {
    const plain = { call: (x: unknown) => x };
    expect(() => checkLayer(plain, { initialize: false })).toThrow(CheckLayerError);
    expect(() => checkLayer(plain, { initialize: false })).toThrow(/declares no inputStructure/);
    expect(() => checkLayer(new Sequential({ sublayers: [] }))).toThrow(/contains ANY/);
  });

  it("reports a mismatching explicit argument", () => {
    const x = tf.zeros([2, 2]);
    expect(() =>
      checkLayer(Linear.fromConfig({ features: 3 }, { out: 2 }), { argument: x }),
    ).toThrow(StructureMismatchError);
    x.dispose();
  });
});
