import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  addParameterPrefix,
  DuplicateParameterError,
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
  NAMED_AXES_METADATA_KEY,
  parseSafetensors,
  readNamedAxes,
  readSafetensorsHeader,
  SafetensorsError,
  SafetensorsInvalidMetadataError,
  SafetensorsInvalidNameError,
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

  it("a missing-tensor error lists every parameter without a tensor", () => {
    const trained = initializeParameters(build(), random.key(3));
    const bytes = saveParameters(trained);
    const renamed = new Sequential({
      sublayers: [
        addParameterPrefix("a", Linear.fromConfig({ features: 3 }, { hidden: 4 })),
        addParameterPrefix("b", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
      ],
    });
    const before = tf.memory().numTensors;
    expect(() => loadParameters(bytes, renamed)).toThrow(
      /no tensor is named after 2 of the model's 2 parameters: "a.weights", "b.weights"\. The checkpoint has 2 tensors, e\.g\. "first.weights", "second.weights"/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(weightsOf(trained).map((w) => w.dataArray));
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
    expect(() => loadParameters(bytes, half)).toThrow(
      /"second.weights"\. Pass \{ strict: false \}/,
    );
    const partial = loadParameters(bytes, half, { strict: false });
    tf.dispose(weightsOf(partial).map((w) => w.dataArray));
    tf.dispose(weightsOf(trained).map((w) => w.dataArray));
  });

  it("strict: false loads what matches and leaves the other parameters as they are", () => {
    const trained = initializeParameters(build(), random.key(3));
    const bytes = saveParameters([(trained.sublayers[0] as Linear).weights]);
    const fresh = build();
    const loaded = loadParameters(bytes, fresh, { strict: false });
    expect((loaded.sublayers[0] as Linear).weights).toBeInstanceOf(Parameter);
    expect((loaded.sublayers[1] as Linear).weights).toBe((fresh.sublayers[1] as Linear).weights);
    expect((loaded.sublayers[1] as Linear).weights).toBeInstanceOf(UninitializedParameter);
    expect(() => loadParameters(bytes, fresh)).toThrow(SafetensorsMissingTensorError);
    tf.dispose(weightsOf(trained).map((w) => w.dataArray));
    tf.dispose(((loaded.sublayers[0] as Linear).weights.value as NamedArray).dataArray);
  });

  it("frozen: false neither saves nor loads FrozenParameters", () => {
    const frozen = new FrozenParameter({ value: tf.tensor([1, 2]), name: "scale" });
    const trainable = new Parameter({ value: tf.tensor([3]), name: "bias" });
    const all = saveParameters({ frozen, trainable });
    const onlyTrainable = saveParameters({ frozen, trainable }, { frozen: false });
    expect(readSafetensorsHeader(onlyTrainable).entries.map((e) => e.name)).toEqual(["bias"]);
    // A checkpoint without the frozen weights loads when they are left alone.
    const other = new FrozenParameter({ value: tf.tensor([7, 7]), name: "scale" });
    const template = { frozen: other, trainable };
    expect(() => loadParameters(onlyTrainable, template)).toThrow(SafetensorsMissingTensorError);
    const adapted = loadParameters(onlyTrainable, template, { frozen: false });
    expect(adapted.frozen).toBe(other);
    // A full checkpoint's frozen tensors are named after a parameter, so they are not unexpected.
    const kept = loadParameters(all, template, { frozen: false });
    expect(kept.frozen).toBe(other);
    tf.dispose([frozen.value, trainable.value, other.value] as tf.Tensor[]);
    tf.dispose([adapted.trainable.value, kept.trainable.value] as tf.Tensor[]);
  });

  it("records the axis names in the file's metadata", () => {
    const model = [new Parameter({ value: nx.wrap(tf.zeros([3, 2]), "out", "in"), name: "w" })];
    const bytes = saveParameters(model);
    expect(readNamedAxes(readSafetensorsHeader(bytes).metadata).get("w")).toEqual(["out", "in"]);
    expect(() => saveParameters(model, { metadata: { [NAMED_AXES_METADATA_KEY]: "x" } })).toThrow(
      /reserved/,
    );
    tf.dispose(model.map((p) => (p.value as NamedArray).dataArray));
  });
});

describe("loadParameters from tensors by name", () => {
  const fresh = (names: string[]) =>
    names.map(
      (name) =>
        new UninitializedParameter({ initializer: () => nx.zeros({ in: 2, out: 3 }), name }),
    );

  it("uses the given tensors as they are, in the parameter's axis order", () => {
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const [p] = loadParameters({ w }, fresh(["w"])) as unknown as Parameter[];
    const value = p!.value as NamedArray;
    expect(value.namedShape).toEqual({ in: 2, out: 3 });
    expect(value.dataArray).toBe(w); // not copied: the model holds the caller's tensor
    w.dispose();
  });

  it("loads parseSafetensors output, e.g. a PyTorch file", () => {
    const source = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const tensors = parseSafetensors(serializeSafetensors({ w: source }));
    const [p] = loadParameters(tensors, fresh(["w"])) as unknown as Parameter[];
    expect(Array.from((p!.value as NamedArray).dataArray.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([source, ...Object.values(tensors)]);
  });

  it("never disposes the caller's tensors, even when loading fails", () => {
    const w = tf.zeros([2, 3]);
    const stray = tf.zeros([1]);
    expect(() => loadParameters({ w, stray }, fresh(["w"]))).toThrow(
      SafetensorsUnexpectedTensorError,
    );
    expect(() => loadParameters({ w: stray }, fresh(["w"]))).toThrow(
      /parameter "w" expects float32 \{in: 2, out: 3\}, but the checkpoint has float32\[1\]/,
    );
    expect(w.isDisposed || stray.isDisposed).toBe(false);
    tf.dispose([w, stray]);
  });

  it("a name missing from a plain object is reported, not looked up on its prototype", () => {
    const w = tf.zeros([2, 3]);
    expect(() => loadParameters({ w }, fresh(["constructor", "toString"]))).toThrow(
      /no tensor is named after 2 .*: "constructor", "toString"/,
    );
    w.dispose();
  });

  it("rejects a value that is not a tensor, and a source that is neither bytes nor tensors", () => {
    const bad = { w: [1, 2, 3] } as unknown as Record<string, tf.Tensor>;
    expect(() => loadParameters(bad, fresh(["w"]))).toThrow(SafetensorsTemplateMismatchError);
    expect(() => loadParameters(bad, fresh(["w"]))).toThrow(/not a tf\.Tensor/);
    expect(() => loadParameters(null as unknown as Uint8Array, fresh(["w"]))).toThrow(
      SafetensorsError,
    );
  });
});

describe("parameter names in checkpoints", () => {
  const awkward = ["constructor", "toString", "valueOf", "__proto__", "hasOwnProperty"];
  const modelWith = (names: string[]) =>
    names.map(
      (name, i) => new Parameter({ value: nx.wrap(tf.fill([2, 3], i + 1), "in", "out"), name }),
    );

  it("names such as constructor, toString, valueOf and __proto__ are ordinary names", () => {
    const model = modelWith(awkward);
    const bytes = saveParameters(model);
    const templates = awkward.map(
      (name) =>
        new UninitializedParameter({ initializer: () => nx.zeros({ in: 2, out: 3 }), name }),
    );
    const loaded = loadParameters(bytes, templates) as unknown as Parameter[];
    expect(loaded.map((p) => p.name)).toEqual(awkward);
    for (let i = 0; i < awkward.length; i++) {
      const value = loaded[i]!.value as NamedArray;
      expect(value.namedShape).toEqual({ in: 2, out: 3 });
      expect(Array.from(value.dataArray.dataSync())).toEqual(new Array(6).fill(i + 1));
    }
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    tf.dispose([...model, ...loaded].map((p) => (p.value as NamedArray).dataArray));
  });

  it("two parameters of one name are a DuplicateParameterError when saving and when loading", () => {
    const model = modelWith(["w", "w"]);
    expect(() => saveParameters(model)).toThrow(DuplicateParameterError);
    expect(() => saveParameters(model)).toThrow(
      /parameters at \[0\] and \[1\] are both named "w".*addParameterPrefix/,
    );
    const bytes = saveParameters([model[0]]);
    const before = tf.memory().numTensors;
    expect(() => loadParameters(bytes, model)).toThrow(DuplicateParameterError);
    expect(tf.memory().numTensors).toBe(before);
    const t = tf.zeros([2, 3]);
    expect(() => loadParameters({ w: t }, model)).toThrow(DuplicateParameterError);
    t.dispose();
    tf.dispose(model.map((p) => (p.value as NamedArray).dataArray));
  });

  it("finds parameters nested at any depth next to other leaves, and keeps those leaves", () => {
    const [p, q] = modelWith(["w", "w"]);
    const clash = { a: [p!], b: { inner: q! }, note: "x" };
    expect(() => saveParameters(clash)).toThrow(
      `saveParameters: the parameters at ['a'][0] and ['b']['inner'] are both named "w"`,
    );
    const meta = ["tag", 3, null];
    const frozen = new FrozenParameter({ value: tf.zeros([1]), name: "frozen" });
    const first = new UninitializedParameter({
      initializer: () => nx.zeros({ in: 2, out: 3 }),
      name: "w",
    });
    const model = { meta, layers: { first }, frozen };
    const t = tf.zeros([2, 3]);
    const loaded = loadParameters({ w: t }, model, { frozen: false });
    expect(loaded.meta).toBe(meta);
    expect(loaded.frozen).toBe(frozen);
    const filled = loaded.layers.first as unknown as Parameter;
    expect(filled).toBeInstanceOf(Parameter);
    expect((filled.value as NamedArray).dataArray).toBe(t);
    tf.dispose([t, frozen.value as tf.Tensor]);
    tf.dispose([p!, q!].map((x) => (x.value as NamedArray).dataArray));
  });

  it("an empty parameter name is rejected with SafetensorsInvalidNameError", () => {
    const model = modelWith([""]);
    expect(() => saveParameters(model)).toThrow(SafetensorsInvalidNameError);
    expect(() => saveParameters(model)).toThrow(/Parameter at \[0\] has an empty name/);
    expect(() => loadParameters(serializeSafetensors({}), model)).toThrow(
      SafetensorsInvalidNameError,
    );
    tf.dispose(model.map((p) => (p.value as NamedArray).dataArray));
  });

  it("axes saved in another order than the parameter's are matched by name", () => {
    const trained = new Parameter({
      value: nx.wrap(tf.tensor2d([1, 2, 3, 4], [2, 2]), "out", "in"),
      name: "w",
    });
    const bytes = saveParameters({ trained });
    const template = new UninitializedParameter({
      initializer: () => nx.zeros({ in: 2, out: 2 }),
      name: "w",
    });
    const loaded = loadParameters(bytes, { template });
    const value = (loaded.template as unknown as Parameter).value as NamedArray;
    expect(Object.keys(value.namedShape)).toEqual(["in", "out"]);
    const original = (trained.value as NamedArray).unwrap("in", "out");
    const restored = value.unwrap("in", "out");
    expect(Array.from(restored.dataSync())).toEqual(Array.from(original.dataSync()));
    tf.dispose([(trained.value as NamedArray).dataArray, value.dataArray, original, restored]);
  });

  it("metadata values must be strings", () => {
    const model = modelWith(["w"]);
    expect(() =>
      saveParameters(model, { metadata: { step: 300 } as unknown as Record<string, string> }),
    ).toThrow(SafetensorsInvalidMetadataError);
    tf.dispose(model.map((p) => (p.value as NamedArray).dataArray));
  });
});
