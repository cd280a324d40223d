import { type NamedArray, nx, ready } from "@saikei/named";
import { Parameter, UninitializedParameter } from "@saikei/nn";
import {
  NAMED_AXES_METADATA_KEY,
  parseSafetensors,
  readNamedAxes,
  readSafetensorsHeader,
  serializeSafetensors,
} from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadParametersByName, saveParametersByName, WeightLoadingError } from "../src/index.js";

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

const trained = (names: string[]) =>
  names.map(
    (name, i) => new Parameter({ value: nx.wrap(tf.fill([2, 3], i + 1), "in", "out"), name }),
  );
const fresh = (names: string[]) =>
  names.map(
    (name) => new UninitializedParameter({ initializer: () => nx.zeros({ in: 2, out: 3 }), name }),
  );
const dataOf = (params: unknown[]) =>
  params.map((p) => ((p as Parameter).value as NamedArray).dataArray);

describe("saveParametersByName / loadParametersByName", () => {
  it("names such as constructor, toString, valueOf and __proto__ work end to end", () => {
    const names = ["constructor", "toString", "valueOf", "__proto__"];
    const model = trained(names);
    const tensors = parseSafetensors(saveParametersByName(model));
    expect(Object.keys(tensors).sort()).toEqual([...names].sort());
    const loaded = loadParametersByName(fresh(names), tensors) as unknown as Parameter[];
    for (const [i, p] of loaded.entries()) {
      expect(p.name).toBe(names[i]);
      expect(Array.from(dataOf([p])[0]!.dataSync())).toEqual(new Array(6).fill(i + 1));
    }
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    tf.dispose([...dataOf(model), ...Object.values(tensors)]);
  });

  it("a name missing from a plain tensors object is reported, not looked up on its prototype", () => {
    const w = tf.zeros([2, 3]);
    const error = (() => {
      try {
        loadParametersByName(fresh(["constructor", "toString"]), { w });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(WeightLoadingError);
    expect(error!.message).toMatch(/missing tensor for parameter "constructor"/);
    expect(error!.message).toMatch(/missing tensor for parameter "toString"/);
    expect(error!.message).toMatch(/tensor "w" matches no parameter/);
    w.dispose();
  });

  it("two parameters of one name are rejected when saving and when loading", () => {
    const model = trained(["w", "w"]);
    expect(() => saveParametersByName(model)).toThrow(WeightLoadingError);
    expect(() => saveParametersByName(model)).toThrow(/2 parameters are named "w"/);
    const t = tf.zeros([2, 3]);
    expect(() => loadParametersByName(fresh(["w", "w"]), { w: t })).toThrow(
      /2 parameters are named "w"; give them distinct names/,
    );
    tf.dispose([t, ...dataOf(model)]);
  });

  it("an empty parameter name is rejected", () => {
    const model = trained([""]);
    expect(() => saveParametersByName(model)).toThrow(/a parameter has an empty name/);
    expect(() => loadParametersByName(fresh([""]), {})).toThrow(WeightLoadingError);
    tf.dispose(dataOf(model));
  });

  it("records the axis names in the file's metadata", () => {
    const model = [new Parameter({ value: nx.wrap(tf.zeros([3, 2]), "out", "in"), name: "w" })];
    const bytes = saveParametersByName(model);
    expect(readNamedAxes(readSafetensorsHeader(bytes).metadata).get("w")).toEqual(["out", "in"]);
    expect(readSafetensorsHeader(serializeSafetensors({})).metadata[NAMED_AXES_METADATA_KEY]).toBe(
      undefined,
    );
    tf.dispose(dataOf(model));
  });
});
