import { SideOutputRequest } from "@saikei/effects";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  addParameterPrefix,
  CheckStructure,
  Elementwise,
  initializeParameters,
  Linear,
  Residual,
  Sequential,
} from "@saikei/nn";
import { type ArraySpec, StructureMismatchError } from "@saikei/shapecheck";
import { className } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  annotateShapes,
  CalledWithManyStructures,
  disposeSavedActivations,
  IdentityWithSavedActivations,
  InterceptionError,
  runAndInterleaveIntermediates,
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

function model(): Sequential {
  return initializeParameters(
    new Sequential({
      sublayers: [
        addParameterPrefix("first", Linear.fromConfig({ features: 3 }, { hidden: 4 })),
        new Elementwise({ fn: tf.relu }),
        addParameterPrefix("second", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
      ],
    }),
    random.key(0),
  );
}

function disposeParams(m: Sequential): void {
  for (const layer of m.sublayers)
    if (layer instanceof Linear) (layer.weights.value as NamedArray).dataArray.dispose();
}

const input = () => nx.wrap(tf.tensor2d([1, 2, 3, -1, 0, 1], [2, 3]), "batch", "features");

describe("annotateShapes", () => {
  it("puts a CheckStructure with the observed structure between every pair of sublayers", () => {
    const m = model();
    const x = input();
    const annotated = annotateShapes(m, x);
    const kinds = annotated.sublayers.map((l) => className(l.constructor));
    expect(kinds).toEqual([
      "CheckStructure",
      "Linear",
      "CheckStructure",
      "Elementwise",
      "CheckStructure",
      "Linear",
      "CheckStructure",
    ]);
    const specs = annotated.sublayers
      .filter((l) => l instanceof CheckStructure)
      .map((l) => (l as CheckStructure).expected as ArraySpec);
    expect(specs.map((s) => s.namedShape)).toEqual([
      { batch: 2, features: 3 },
      { batch: 2, hidden: 4 },
      { batch: 2, hidden: 4 },
      { batch: 2, out: 2 },
    ]);
    const y = annotated.call(x) as NamedArray;
    expect(y.namedShape).toEqual({ batch: 2, out: 2 });
    y.dataArray.dispose();
    const wrong = nx.wrap(tf.zeros([5, 3]), "batch", "features");
    expect(() => annotated.call(wrong)).toThrow(StructureMismatchError);
    wrong.dataArray.dispose();
    x.dataArray.dispose();
    disposeParams(m);
  });

  it("wraps layers nested in non-group layers, and marks points that saw several structures", () => {
    const inner = new Elementwise({ fn: tf.neg });
    const twice = new Sequential({ sublayers: [new Residual({ delta: inner })] });
    const ones = tf.ones([3]);
    const annotated = annotateShapes(twice, ones);
    ones.dispose();
    const residual = annotated.sublayers[1] as Residual;
    expect(residual).toBeInstanceOf(Residual);
    expect((residual.delta as Sequential).sublayers.map((l) => l.constructor.name)).toEqual([
      "CheckStructure",
      "Elementwise",
      "CheckStructure",
    ]);
    expect(new CalledWithManyStructures({ structures: [1, 2] }).call("x")).toBe("x");
  });

  it("wraps every layer of a chain of non-group layers, outermost first, and keeps other fields", () => {
    const leaf = new Elementwise({ fn: tf.neg });
    const nested = new Residual({ delta: new Residual({ delta: leaf }) });
    const ones = tf.ones([2]);
    const annotated = annotateShapes(nested, ones) as unknown as Sequential;
    ones.dispose();
    const names = (layers: readonly unknown[]) =>
      layers.map((l) => className((l as object).constructor));
    expect(names(annotated.sublayers)).toEqual(["CheckStructure", "Residual", "CheckStructure"]);
    const outer = (annotated.sublayers[1] as Residual).delta as Sequential;
    expect(names(outer.sublayers)).toEqual(["CheckStructure", "Residual", "CheckStructure"]);
    const inner = (outer.sublayers[1] as Residual).delta as Sequential;
    expect(names(inner.sublayers)).toEqual(["CheckStructure", "Elementwise", "CheckStructure"]);
    // The innermost layer is not rebuilt: its function field is the same object.
    expect((inner.sublayers[1] as Elementwise).fn).toBe(tf.neg);
  });

  it("refuses the reserved tag on a request nested inside another layer", () => {
    const tag = Symbol.for("saikei.toolshed.InterceptShapes");
    const m = new Residual({ delta: new SideOutputRequest({ tag }) as never });
    expect(() => annotateShapes(m, 1)).toThrow(
      "Model has SideOutputRequests with the annotateShapes tag",
    );
  });

  it("refuses models that already use the reserved tag", () => {
    const m = new Sequential({
      sublayers: [
        new SideOutputRequest({ tag: Symbol.for("saikei.toolshed.InterceptShapes") }) as never,
      ],
    });
    expect(() => annotateShapes(m, 1)).toThrow(InterceptionError);
  });
});

describe("runAndInterleaveIntermediates", () => {
  it("saves the value seen at every point, ending with the model's output", () => {
    const m = model();
    const x = input();
    const expected = m.call(x) as NamedArray;
    const withValues = runAndInterleaveIntermediates(m, x);
    const saved = withValues.sublayers.filter(
      (l) => l instanceof IdentityWithSavedActivations,
    ) as IdentityWithSavedActivations[];
    expect(saved).toHaveLength(4);
    // The first point saw the argument: saved as a tensor of its own, with the same values.
    const first = (saved[0]!.savedActivations[0] as NamedArray).dataArray;
    expect(first).not.toBe(x.dataArray);
    expect(Array.from(first.dataSync())).toEqual(Array.from(x.dataArray.dataSync()));
    const relu = saved[2]!.savedActivations[0] as NamedArray;
    expect(Array.from(relu.dataArray.dataSync()).every((v) => v >= 0)).toBe(true);
    const last = saved[3]!.savedActivations[0] as NamedArray;
    expect(Array.from(last.unwrap("batch", "out").dataSync())).toEqual(
      Array.from(expected.unwrap("batch", "out").dataSync()),
    );
    // The saved layers still compute the model.
    const again = withValues.call(x) as NamedArray;
    expect(again.namedShape).toEqual({ batch: 2, out: 2 });
    again.dataArray.dispose();
    disposeSavedActivations(withValues);
    expect(x.dataArray.isDisposed).toBe(false);
    x.dataArray.dispose();
    expected.dataArray.dispose();
    disposeParams(m);
  });
});
