import { ready, wrap } from "@saikei/named";
import { ArraySpec, var as dim, StructureMismatchError } from "@saikei/shapecheck";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { checkedLayerCall, Layer } from "../src/index.js";

let inputStructureCalls = 0;
let outputWidth = 4;

class Widen extends Layer {
  inputStructure() {
    inputStructureCalls++;
    return new ArraySpec({ namedShape: { batch: dim("b"), features: 4 }, dtype: "float32" });
  }
  outputStructure() {
    return new ArraySpec({ namedShape: { batch: dim("b"), features: 4 }, dtype: "float32" });
  }
  @checkedLayerCall
  call(x: ReturnType<typeof wrap>) {
    return wrap(tf.zeros([x.namedShape.batch!, outputWidth]), "batch", "features");
  }
}

describe("checked calls remember the signatures that passed", () => {
  beforeAll(async () => {
    await ready();
  });

  it("builds a layer's structures once per layer instance, whatever shapes it checks", () => {
    const layer = new Widen();
    const x2 = wrap(tf.zeros([2, 4]), "batch", "features");
    const x3 = wrap(tf.zeros([3, 4]), "batch", "features");
    inputStructureCalls = 0;
    layer.call(x2).dataArray.dispose();
    layer.call(x2).dataArray.dispose();
    layer.call(x2).dataArray.dispose();
    expect(inputStructureCalls).toBe(1);
    layer.call(x3).dataArray.dispose(); // a new shape is checked against the same structures
    expect(inputStructureCalls).toBe(1);
    // Another instance has its own record.
    new Widen().call(x2).dataArray.dispose();
    expect(inputStructureCalls).toBe(2);
    tf.dispose([x2.dataArray, x3.dataArray]);
  });

  it("still rejects a wrong input after passing calls", () => {
    const layer = new Widen();
    const ok = wrap(tf.zeros([2, 4]), "batch", "features");
    const bad = wrap(tf.zeros([2, 5]), "batch", "features");
    layer.call(ok).dataArray.dispose();
    expect(() => layer.call(bad)).toThrow(StructureMismatchError);
    expect(() => layer.call(bad)).toThrow("Actual size 5 does not match expected 4");
    tf.dispose([ok.dataArray, bad.dataArray]);
  });

  it("checks the output in full when its signature is new", () => {
    const layer = new Widen();
    const x = wrap(tf.zeros([2, 4]), "batch", "features");
    outputWidth = 4;
    layer.call(x).dataArray.dispose();
    outputWidth = 6;
    const before = tf.memory().numTensors;
    expect(() => layer.call(x)).toThrow("Error while checking the output of a layer of type Widen");
    outputWidth = 4;
    // The rejected result is the caller's problem in penzai too; here it is one tensor.
    expect(tf.memory().numTensors - before).toBe(1);
    x.dataArray.dispose();
  });
});
