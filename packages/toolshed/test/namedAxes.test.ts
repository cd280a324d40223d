import { NamedArray, NamedArrayView, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  axisLabelsOf,
  loadSafetensors,
  NAMED_AXES_METADATA_KEY,
  parseSafetensorsWithMetadata,
  readNamedAxes,
  readSafetensorsHeader,
  SafetensorsNamedAxesError,
  SafetensorsTemplateMismatchError,
  saveSafetensors,
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

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe("axis names travel with every saved NamedArray", () => {
  it("saveSafetensors records the axis names of a real NamedArray", () => {
    const w = nx.wrap(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), "in", "out");
    const { metadata } = readSafetensorsHeader(saveSafetensors({ w }));
    expect(JSON.parse(metadata[NAMED_AXES_METADATA_KEY]!)).toEqual({ "['w']": ["in", "out"] });
    w.dataArray.dispose();
  });

  it("loading into a slot with the axes in the other order transposes (square case)", () => {
    // The probe: before, the square tensor came back transposed without an error.
    const saved = nx.wrap(tf.tensor2d([1, 2, 3, 4], [2, 2]), "in", "out");
    const bytes = saveSafetensors({ w: saved });
    const template = { w: nx.wrap(tf.zeros([2, 2]), "out", "in") };
    const loaded = loadSafetensors(bytes, template);
    expect(Object.keys(loaded.w.namedShape)).toEqual(["out", "in"]);
    expect(values(loaded.w.dataArray)).toEqual([1, 3, 2, 4]);
    const byName = loaded.w.unwrap("in", "out");
    expect(values(byName)).toEqual([1, 2, 3, 4]);
    tf.dispose([saved.dataArray, template.w.dataArray, loaded.w.dataArray, byName]);
  });

  it("loading into a slot with the axes in the other order transposes (rectangular case)", () => {
    const saved = nx.wrap(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), "in", "out");
    const bytes = saveSafetensors({ w: saved });
    const template = { w: nx.zeros({ out: 3, in: 2 }) as NamedArray };
    const loaded = loadSafetensors(bytes, template);
    expect(loaded.w.namedShape).toEqual({ out: 3, in: 2 });
    expect(values(loaded.w.dataArray)).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose([saved.dataArray, template.w.dataArray, loaded.w.dataArray]);
  });

  it("different axis names raise SafetensorsTemplateMismatchError and leak nothing", () => {
    const saved = nx.wrap(tf.zeros([2, 2]), "in", "out");
    const bytes = saveSafetensors({ w: saved });
    const template = { w: nx.wrap(tf.zeros([2, 2]), "in", "hidden") };
    const before = tf.memory().numTensors;
    expect(() => loadSafetensors(bytes, template)).toThrow(SafetensorsTemplateMismatchError);
    expect(() => loadSafetensors(bytes, template)).toThrow(
      /\['w'\] \(a NamedArray\) has axes \(in, hidden\), but the file saved it with axes \(in, out\)/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([saved.dataArray, template.w.dataArray]);
  });

  it("sizes that disagree after matching names raise SafetensorsTemplateMismatchError", () => {
    const saved = nx.wrap(tf.zeros([2, 3]), "in", "out");
    const bytes = saveSafetensors({ w: saved });
    const template = { w: nx.zeros({ out: 2, in: 3 }) as NamedArray };
    expect(() => loadSafetensors(bytes, template)).toThrow(
      /is float32\[2, 3\] with axes \(out, in\) \(the file's axes \(in, out\)\), but the file's tensor "\['w'\]" is float32\[2, 3\]/,
    );
    tf.dispose([saved.dataArray, template.w.dataArray]);
  });

  it("positional axes are labelled by index, so views round-trip", () => {
    const base = nx.wrap(tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]), "batch", "seq", "features");
    const view = base.untag("seq") as NamedArrayView;
    expect(view).toBeInstanceOf(NamedArrayView);
    expect(axisLabelsOf(view)).toEqual(["batch", 0, "features"]);
    const bytes = saveSafetensors({ v: view });
    const loaded = loadSafetensors(bytes, { v: view });
    expect(loaded.v).toBeInstanceOf(NamedArrayView);
    expect(values(loaded.v.dataArray)).toEqual([1, 2, 3, 4, 5, 6]);
    // A template with the positional axis first takes the same values by label.
    const prefix = new NamedArray({
      namedAxes: { batch: 1, features: 3 },
      dataArray: tf.zeros([2, 1, 3]),
    });
    const moved = loadSafetensors(bytes, { v: prefix });
    expect(moved.v.dataArray.shape).toEqual([2, 1, 3]);
    expect(values(moved.v.dataArray)).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([base.dataArray, loaded.v.dataArray, prefix.dataArray, moved.v.dataArray]);
  });

  it("a file without axis metadata (PyTorch) loads in the template's order", () => {
    const t = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const bytes = serializeSafetensors({ "['w']": t });
    const template = { w: nx.wrap(tf.zeros([2, 2]), "out", "in") };
    const loaded = loadSafetensors(bytes, template);
    expect(values(loaded.w.dataArray)).toEqual([1, 2, 3, 4]);
    tf.dispose([t, template.w.dataArray, loaded.w.dataArray]);
  });

  it("axis labels that do not fit the tensor's rank raise SafetensorsNamedAxesError", () => {
    const t = tf.zeros([2, 2]);
    const bytes = serializeSafetensors(
      { "['w']": t },
      { [NAMED_AXES_METADATA_KEY]: JSON.stringify({ "['w']": ["in"] }) },
    );
    const template = { w: nx.wrap(tf.zeros([2, 2]), "in", "out") };
    expect(() => loadSafetensors(bytes, template)).toThrow(SafetensorsNamedAxesError);
    expect(() => loadSafetensors(bytes, template)).toThrow(
      /1 axis labels \(in\) for a tensor of rank 2/,
    );
    tf.dispose([t, template.w.dataArray]);
  });

  it("records axis names under tensor names such as __proto__ and constructor", () => {
    const tree = Object.defineProperty(
      { constructor: nx.wrap(tf.zeros([1, 2]), "a", "b") },
      "__proto__",
      { value: nx.wrap(tf.zeros([3]), "c"), enumerable: true },
    ) as Record<string, NamedArray>;
    const bytes = saveSafetensors(tree, {
      nameOf: (path) => String((path[0] as { key: string }).key),
    });
    const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
    const axes = readNamedAxes(metadata);
    expect(axes.get("__proto__")).toEqual(["c"]);
    expect(axes.get("constructor")).toEqual(["a", "b"]);
    expect(axes.get("toString")).toBeUndefined();
    tf.dispose([...Object.values(tensors), ...Object.values(tree).map((x) => x.dataArray)]);
  });
});
