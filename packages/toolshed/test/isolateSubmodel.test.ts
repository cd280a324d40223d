import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { Layer } from "@saikei/layer";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  ApplyAttentionMask,
  addParameterPrefix,
  Elementwise,
  initializeParameters,
  Linear,
  Sequential,
} from "@saikei/nn";
import { select } from "@saikei/select";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callAndExtractSubmodel, IsolatedSubmodel, IsolationError } from "../src/index.js";

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
        addParameterPrefix("a", Linear.fromConfig({ features: 3 }, { hidden: 4 })),
        new Elementwise({ fn: tf.relu }),
        addParameterPrefix("b", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
      ],
    }),
    random.key(0),
  );
}

/** Calls its sublayer twice. */
class Twice extends Layer.define({ inner: field<Layer>() }) {
  call(x: unknown): unknown {
    return this.inner.call(this.inner.call(x));
  }
}

const disposeParams = (m: Sequential) => {
  for (const l of m.sublayers)
    if (l instanceof Linear) (l.weights.value as NamedArray).dataArray.dispose();
};

describe("callAndExtractSubmodel", () => {
  it("returns the selected layer with the input and output of its call", () => {
    const m = model();
    const x = nx.wrap(tf.tensor2d([1, -2, 3, 0, 1, -1], [2, 3]), "batch", "features");
    const isolated = callAndExtractSubmodel(
      select(m).at((s) => s.sublayers[1]),
      x,
    ) as IsolatedSubmodel;
    expect(isolated).toBeInstanceOf(IsolatedSubmodel);
    expect(isolated.submodel).toBe(m.sublayers[1]);
    const input = isolated.savedInput as NamedArray;
    const output = isolated.savedOutput as NamedArray;
    expect(input.namedShape).toEqual({ batch: 2, hidden: 4 });
    const replay = (isolated.submodel as Elementwise).call(input) as NamedArray;
    expect(Array.from(replay.dataArray.dataSync())).toEqual(
      Array.from(output.dataArray.dataSync()),
    );
    for (const t of [replay.dataArray, input.dataArray, output.dataArray, x.dataArray]) t.dispose();
    disposeParams(m);
  });

  it("returns one record per call", () => {
    const twice = new Twice({ inner: new Elementwise({ fn: tf.neg }) });
    const x = tf.tensor([1, 2]);
    const records = callAndExtractSubmodel(select(twice).atInstancesOf(Elementwise), x);
    expect(records).toHaveLength(2);
    const [first, second] = records as IsolatedSubmodel[];
    expect(Array.from((second!.savedInput as tf.Tensor).dataSync())).toEqual([-1, -2]);
    for (const t of [first!.savedOutput, second!.savedOutput, x] as tf.Tensor[]) t.dispose();
  });

  it("rejects selections of zero or several layers, non-layers, and non-layer roots", () => {
    const m = new Sequential({
      sublayers: [new Elementwise({ fn: tf.neg }), new Elementwise({ fn: tf.abs })],
    });
    expect(() => callAndExtractSubmodel(select(m).atInstancesOf(Elementwise), 1)).toThrow(
      /exactly one sublayer, but it selects 2/,
    );
    expect(() =>
      callAndExtractSubmodel(
        select({ a: m }).at((t) => t.a),
        1,
      ),
    ).toThrow(/must be a layer/);
    expect(() =>
      callAndExtractSubmodel(
        select(m).at((t) => t.sublayers),
        1,
      ),
    ).toThrow(IsolationError);
  });

  it("rejects submodels whose effects are handled outside them", () => {
    const handled = WithSideInputsFromInputTuple.handling(
      new Sequential({ sublayers: [ApplyAttentionMask.fromConfig("mask")] }),
      ["mask"],
    );
    const input = [tf.scalar(1), tf.scalar(true)];
    expect(() =>
      callAndExtractSubmodel(select(handled).atInstancesOf(ApplyAttentionMask), input),
    ).toThrow(/handled outside it/);
    tf.dispose(input);
  });
});
