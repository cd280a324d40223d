import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  addParameterPrefix,
  FrozenParameter,
  initializeParameters,
  Linear,
  Parameter,
  Sequential,
  UninitializedParameter,
} from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  loadParameters,
  SafetensorsMissingTensorError,
  SafetensorsTemplateMismatchError,
  SafetensorsUnexpectedTensorError,
  saveParameters,
  serializeSafetensors,
} from "../src/index.js";

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

const build = () =>
  new Sequential({
    sublayers: [
      addParameterPrefix("first", Linear.fromConfig({ features: 3 }, { hidden: 4 })),
      addParameterPrefix("second", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
    ],
  });

const weightsOf = (m: Sequential) =>
  m.sublayers.map((l) => (l as Linear).weights.value as NamedArray);

describe("saveParameters / loadParameters", () => {
  it("round-trips by parameter name into an uninitialized model", () => {
    const trained = initializeParameters(build(), random.key(3));
    const bytes = saveParameters(trained);
    const loaded = loadParameters(bytes, build());
    const [a, b] = [weightsOf(trained), weightsOf(loaded)];
    for (let i = 0; i < 2; i++) {
      expect((loaded.sublayers[i] as Linear).weights).toBeInstanceOf(Parameter);
      expect(b[i]!.namedShape).toEqual(a[i]!.namedShape);
      expect(Array.from(b[i]!.dataArray.dataSync())).toEqual(
        Array.from(a[i]!.dataArray.dataSync()),
      );
    }
    const x = nx.wrap(tf.ones([2, 3]), "batch", "features");
    const [y1, y2] = [trained.call(x) as NamedArray, loaded.call(x) as NamedArray];
    expect(Array.from(y2.unwrap("batch", "out").dataSync())).toEqual(
      Array.from(y1.unwrap("batch", "out").dataSync()),
    );
    tf.dispose([...a, ...b].map((w) => w.dataArray));
    tf.dispose([x.dataArray, y1.dataArray, y2.dataArray]);
  });

  it("reads files without axis metadata in the parameter's axis order (PyTorch names)", () => {
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const bytes = serializeSafetensors({ weights: w });
    const template = new UninitializedParameter({
      initializer: () => nx.zeros({ features: 3, out: 2 }),
      name: "weights",
    });
    const loaded = loadParameters(bytes, { p: template });
    expect(loaded.p).toBeInstanceOf(Parameter);
    const value = (loaded.p as unknown as Parameter).value as NamedArray;
    expect(value.namedShape).toEqual({ features: 3, out: 2 });
    const t = value.unwrap("out", "features");
    expect(Array.from(t.dataSync())).toEqual([1, 3, 5, 2, 4, 6]);
    tf.dispose([w, t, value.dataArray]);
  });

  it("keeps FrozenParameters frozen and plain tensors plain", () => {
    const frozen = new FrozenParameter({ value: tf.tensor([1, 2]), name: "scale" });
    const bytes = saveParameters({ frozen });
    const loaded = loadParameters(bytes, { frozen });
    expect(loaded.frozen).toBeInstanceOf(FrozenParameter);
    expect(Array.from((loaded.frozen.value as tf.Tensor).dataSync())).toEqual([1, 2]);
    tf.dispose([frozen.value as tf.Tensor, loaded.frozen.value as tf.Tensor]);
  });

  it("rejects missing, mismatched and unexpected tensors without leaking", () => {
    const trained = initializeParameters(build(), random.key(3));
    const bytes = saveParameters(trained);
    const renamed = new Sequential({
      sublayers: [addParameterPrefix("other", Linear.fromConfig({ features: 3 }, { hidden: 4 }))],
    });
    expect(() => loadParameters(bytes, renamed)).toThrow(SafetensorsMissingTensorError);
    const wrongSize = new Sequential({
      sublayers: [
        addParameterPrefix("first", Linear.fromConfig({ features: 5 }, { hidden: 4 })),
        addParameterPrefix("second", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
      ],
    });
    expect(() => loadParameters(bytes, wrongSize)).toThrow(SafetensorsTemplateMismatchError);
    expect(() => loadParameters(bytes, wrongSize)).toThrow(
      /"first.weights" expects float32 \{features: 5, hidden: 4\}/,
    );
    const half = new Sequential({
      sublayers: [addParameterPrefix("first", Linear.fromConfig({ features: 3 }, { hidden: 4 }))],
    });
    expect(() => loadParameters(bytes, half)).toThrow(SafetensorsUnexpectedTensorError);
    const partial = loadParameters(bytes, half, { strict: false });
    tf.dispose(weightsOf(partial).map((w) => w.dataArray));
    tf.dispose(weightsOf(trained).map((w) => w.dataArray));
  });
});
