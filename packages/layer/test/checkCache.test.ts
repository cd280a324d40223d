import { InvalidNamedArrayError, NamedArray, ready, wrap } from "@saikei/named";
import { ArraySpec, var as dim, StructureMismatchError } from "@saikei/shapecheck";
import { field, tree } from "@saikei/struct";
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

let scaleStructureCalls = 0;

/** Multiplies by a weight over "features"; its structures depend on the weight's shape. */
class Scale extends Layer.define({
  weight: field<ReturnType<typeof wrap>>(),
  label: field<string>({ static: true }),
}) {
  inputStructure() {
    scaleStructureCalls++;
    return new ArraySpec({ namedShape: { batch: dim("b"), ...this.weight.namedShape } });
  }
  outputStructure() {
    return new ArraySpec({ namedShape: { batch: dim("b"), ...this.weight.namedShape } });
  }
  @checkedLayerCall
  call(x: ReturnType<typeof wrap>) {
    return x.mul(this.weight);
  }
}

/** Layers told apart only by a static function: equal leaf texts, different structures. */
class Keyed extends Layer.define({ fn: field<(v: number) => number>({ static: true }) }) {
  inputStructure() {
    scaleStructureCalls++;
    return new ArraySpec({ namedShape: { batch: dim("b"), features: 3 } });
  }
  @checkedLayerCall
  call(x: ReturnType<typeof wrap>) {
    return x.mul(2);
  }
}

/** A class instance is a leaf whose equality a pattern might test. */
class Note {
  constructor(readonly text: string) {}
}

/** Holds a leaf that is neither an array nor a primitive: no signature, so no sharing. */
class Tagged extends Layer.define({ tag: field<Note>() }) {
  inputStructure() {
    scaleStructureCalls++;
    return new ArraySpec({ namedShape: { batch: dim("b"), features: 3 } });
  }
  @checkedLayerCall
  call(x: ReturnType<typeof wrap>) {
    return x.mul(2);
  }
}

describe("checked calls remember the signatures that passed", () => {
  beforeAll(async () => {
    await ready();
  });

  it("builds a layer's structures once, whatever shapes it checks", () => {
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
    // Another instance with the same fields checks alike and shares the record.
    new Widen().call(x2).dataArray.dispose();
    expect(inputStructureCalls).toBe(1);
    tf.dispose([x2.dataArray, x3.dataArray]);
  });

  it("shares the record between instances whose fields have equal structures and shapes", () => {
    const before = tf.memory().numTensors;
    const x = wrap(tf.ones([2, 3]), "batch", "features");
    const scale = (values: number[], label = "s") =>
      new Scale({ weight: wrap(tf.tensor(values), "features"), label });
    const first = scale([1, 2, 3]);
    scaleStructureCalls = 0;
    first.call(x).dataArray.dispose();
    // New parameter values, as a training step makes them: same record, no new structures.
    const rebuilt = tree.map((leaf) => leaf, first) as Scale;
    expect(rebuilt === first).toBe(false);
    const stepped = scale([4, 5, 6]);
    rebuilt.call(x).dataArray.dispose();
    stepped.call(x).dataArray.dispose();
    expect(scaleStructureCalls).toBe(1);
    // A different static field or weight shape is a different record, checked in full.
    const relabelled = scale([1, 2, 3], "t");
    relabelled.call(x).dataArray.dispose();
    expect(scaleStructureCalls).toBe(2);
    const wider = scale([1, 2, 3, 4]);
    expect(() => wider.call(x)).toThrow("Error while checking the input of a layer of type Scale");
    expect(scaleStructureCalls).toBe(3);
    const weights = [first, stepped, relabelled, wider].map((l) => l.weight.dataArray);
    tf.dispose([x.dataArray, ...weights]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("keeps at most 64 shared records per leaf text, dropping the oldest", () => {
    const x = wrap(tf.ones([2, 3]), "batch", "features");
    const fns = Array.from({ length: 65 }, (_, i) => (v: number) => v + i);
    scaleStructureCalls = 0;
    for (const fn of fns) new Keyed({ fn }).call(x).dataArray.dispose();
    expect(scaleStructureCalls).toBe(65);
    new Keyed({ fn: fns[64]! }).call(x).dataArray.dispose(); // still shared
    expect(scaleStructureCalls).toBe(65);
    new Keyed({ fn: fns[0]! }).call(x).dataArray.dispose(); // dropped, built again
    expect(scaleStructureCalls).toBe(66);
    x.dataArray.dispose();
  });

  it("keeps a record per instance for a layer holding objects a signature cannot describe", () => {
    const x = wrap(tf.ones([2, 3]), "batch", "features");
    scaleStructureCalls = 0;
    new Tagged({ tag: new Note("a") }).call(x).dataArray.dispose();
    new Tagged({ tag: new Note("a") }).call(x).dataArray.dispose();
    expect(scaleStructureCalls).toBe(2);
    x.dataArray.dispose();
  });

  it("still rejects an invalid named array after passing calls with valid ones", () => {
    const layer = new Widen();
    const ok = wrap(tf.zeros([2, 4]), "batch", "features");
    layer.call(ok).dataArray.dispose();
    const data = tf.zeros([2, 4]);
    const badSize = new NamedArray({ namedAxes: { batch: 2, features: 5 }, dataArray: data });
    const stringSize = new NamedArray({
      namedAxes: { batch: 2, features: "4" as unknown as number },
      dataArray: data,
    });
    const before = tf.memory().numTensors;
    expect(() => layer.call(badSize)).toThrow(InvalidNamedArrayError);
    expect(() => layer.call(stringSize)).toThrow(InvalidNamedArrayError);
    expect(() => layer.call(stringSize)).toThrow('axis "features" has size 4');
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ok.dataArray, data]);
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
