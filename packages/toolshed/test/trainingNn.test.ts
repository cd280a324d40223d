import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  Affine,
  DuplicateParameterError,
  Elementwise,
  FrozenParameter,
  initializeParameters,
  Parameter,
  Sequential,
} from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  adam,
  buildTrainStepFn,
  loadSafetensors,
  saveSafetensors,
  TrainState,
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

function buildMlp(seed: number): Sequential {
  const uninit = new Sequential({
    sublayers: [
      Affine.fromConfig({ features: 2 }, { hidden: 8 }),
      new Elementwise({ fn: tf.tanh }),
      Affine.fromConfig({ hidden: 8 }, { out: 1 }),
    ],
  });
  // Give the two Affine blocks distinct parameter names.
  return initializeParameters(renameLayers(uninit), random.key(seed));
}

function renameLayers(model: Sequential): Sequential {
  const [a, act, b] = model.sublayers as [Affine, Elementwise, Affine];
  const prefix = (layer: Affine, p: string) =>
    layer.replace({
      sublayers: layer.sublayers.map((l: any) =>
        l.weights !== undefined
          ? l.replace({ weights: l.weights.withRenamedParameters((n: string) => `${p}.${n}`) })
          : l.bias !== undefined
            ? l.replace({ bias: l.bias.withRenamedParameters((n: string) => `${p}.${n}`) })
            : l,
      ),
    });
  return model.replace({ sublayers: [prefix(a, "0"), act, prefix(b, "2")] });
}

function disposeModel(tree: unknown): void {
  for (const t of tf.engine().state.numTensors >= 0 ? collect(tree) : []) t.dispose();
}

function collect(tree: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (tree instanceof tf.Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const x of tree) collect(x, out);
  else if (tree !== null && typeof tree === "object")
    for (const x of Object.values(tree)) collect(x, out);
  return out;
}

describe("training an @saikei/nn model", () => {
  it("takes Parameter values by name and lowers the XOR loss below 0.05 (seed 1, 300 Adam steps)", () => {
    const model = buildMlp(1);
    const x = nx.wrap(tf.tensor2d([0, 0, 0, 1, 1, 0, 1, 1], [4, 2])).tag("batch", "features");
    const y = tf.tensor2d([0, 1, 1, 0], [4, 1]);
    const step = buildTrainStepFn<
      Sequential,
      null,
      { loss: number },
      { x: NamedArray; y: tf.Tensor }
    >(({ model, state, x, y }) => {
      const logits = (model.call(x) as NamedArray).unwrap("batch", "out");
      const loss = tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
      return [loss, state, { loss: loss.dataSync()[0]! }];
    });
    let state = TrainState.initialState(model, adam({ learningRate: 0.05 }), random.key(0));
    expect(Object.keys(state.params).sort()).toEqual([
      "0.AddBias.bias",
      "0.Linear.weights",
      "2.AddBias.bias",
      "2.Linear.weights",
    ]);
    let first = 0;
    let last = 0;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 300; i++) {
      const [next, aux] = step(state, { x, y });
      state = next;
      if (i === 0) first = aux.loss;
      last = aux.loss;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(first).toBeGreaterThan(0.5);
    expect(last).toBeLessThan(0.05);
    const trained = state.model;
    expect(trained.sublayers[0]).toBeInstanceOf(Affine);
    // The trained parameters save and load back into the trained model's structure.
    const bytes = saveSafetensors(trained);
    const restored = loadSafetensors(bytes, trained);
    const out = tf.tidy(() =>
      Array.from(tf.sigmoid((restored.call(x) as NamedArray).unwrap("batch", "out")).dataSync()),
    );
    expect(out.map(Math.round)).toEqual([0, 1, 1, 0]);
    state.dispose();
    disposeModel(restored);
    x.dataArray.dispose();
    y.dispose();
  });

  it("does not train FrozenParameters", () => {
    const frozen = new FrozenParameter({ value: nx.wrap(tf.tensor([2])).tag("f"), name: "frozen" });
    const trainable = new Parameter({ value: nx.wrap(tf.tensor([3])).tag("f"), name: "trainable" });
    const state = TrainState.initialState(
      { frozen, trainable },
      adam({ learningRate: 1 }),
      random.key(0),
    );
    expect(Object.keys(state.params)).toEqual(["trainable"]);
    expect(state.model.frozen.value.dataArray).toBe(frozen.value.dataArray);
    state.dispose();
    frozen.value.dataArray.dispose();
  });

  it("puts the parameters back where they were, next to other leaves, sharing parameter-free parts", () => {
    const act = new Elementwise({ fn: tf.tanh });
    const trainable = new Parameter({ value: nx.wrap(tf.tensor([3])).tag("f"), name: "trainable" });
    const model = { layers: [act, { p: trainable, note: "x", none: null }], n: 3 };
    const state = TrainState.initialState(model, adam({ learningRate: 1 }), random.key(0));
    const rebuilt = state.model;
    expect(rebuilt.layers[0]).toBe(act);
    expect(rebuilt.n).toBe(3);
    const holder = rebuilt.layers[1] as { p: Parameter; note: string; none: null };
    expect([holder.note, holder.none]).toEqual(["x", null]);
    expect(holder.p).toBeInstanceOf(Parameter);
    expect(holder.p.name).toBe("trainable");
    expect(holder.p.value).toBe(state.params.trainable);
    state.dispose();
  });

  it("rejects duplicate parameter names with DuplicateParameterError, as @saikei/nn does", () => {
    const a = new Parameter({ value: tf.tensor([1]), name: "w" });
    const b = new Parameter({ value: tf.tensor([2]), name: "w" });
    expect(() => TrainState.initialState([a, b], adam({ learningRate: 1 }), random.key(0))).toThrow(
      DuplicateParameterError,
    );
    expect(() => TrainState.initialState([a, b], adam({ learningRate: 1 }), random.key(0))).toThrow(
      /named "w"/,
    );
    a.value.dispose();
    b.value.dispose();
  });
});
