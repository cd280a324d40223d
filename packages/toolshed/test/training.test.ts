import { type RandomKey, random, ready } from "@saikei/named";
import { NotInThisPartition } from "@saikei/select";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  adam,
  buildTrainStepFn,
  type LossFunction,
  sgd,
  TrainingError,
  TrainState,
  type TrainStepFunction,
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

interface Mlp {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

function initMlp(seed: number, hidden: number): Mlp {
  const [k1, k2] = random.split(random.key(seed));
  return tf.tidy(() => ({
    w1: tf.mul(random.normal(k1!, [2, hidden]), 1) as tf.Tensor2D,
    b1: tf.zeros([hidden]) as tf.Tensor1D,
    w2: tf.mul(random.normal(k2!, [hidden, 1]), 1 / Math.sqrt(hidden)) as tf.Tensor2D,
    b2: tf.zeros([1]) as tf.Tensor1D,
  }));
}

function mlp(m: Mlp, x: tf.Tensor2D): tf.Tensor2D {
  const h = tf.tanh(tf.add(tf.matMul(x, m.w1), m.b1));
  return tf.add(tf.matMul(h, m.w2), m.b2) as tf.Tensor2D;
}

const xorLoss: LossFunction<Mlp, null, { loss: number }, { x: tf.Tensor2D; y: tf.Tensor2D }> = ({
  model,
  state,
  x,
  y,
}) => {
  const loss = tf.losses.sigmoidCrossEntropy(y, mlp(model, x)) as tf.Scalar;
  return [loss, state, { loss: loss.dataSync()[0]! }];
};

describe("buildTrainStepFn", () => {
  it("trains a tiny MLP on XOR below a loss of 0.05 in 300 Adam steps (seed 0)", () => {
    const x = tf.tensor2d([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
    const y = tf.tensor2d([0, 1, 1, 0], [4, 1]);
    const step = buildTrainStepFn(xorLoss);
    let state = TrainState.initialState(initMlp(0, 8), adam({ learningRate: 0.05 }), random.key(0));
    const losses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const [next, aux] = step(state, { x, y });
      state = next;
      losses.push(aux.loss);
    }
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses[299]).toBeLessThan(0.05);
    expect(state.step).toBe(300);
    const predictions = tf.tidy(() =>
      Array.from(tf.sigmoid(mlp(state.model, x)).dataSync()).map(Math.round),
    );
    expect(predictions).toEqual([0, 1, 1, 0]);
    state.dispose();
    x.dispose();
    y.dispose();
  });

  it("fits linear regression with SGD to the exact weights", () => {
    const x = tf.tensor2d([1, 0, 0, 1, 1, 1, 2, -1], [4, 2]);
    const y = tf.tensor2d([3, -1, 2, 7], [4, 1]); // y = 3 x0 - x1 + 0
    type Lin = { w: tf.Tensor2D };
    const step = buildTrainStepFn<Lin, null, null, { x: tf.Tensor2D; y: tf.Tensor2D }>(
      ({ model, state, x, y }) => [
        tf.losses.meanSquaredError(y, tf.matMul(x, model.w)) as tf.Scalar,
        state,
        null,
      ],
    );
    let state = TrainState.initialState<Lin>(
      { w: tf.zeros([2, 1]) },
      sgd({ learningRate: 0.2, momentum: 0.5 }),
      random.key(1),
    );
    for (let i = 0; i < 200; i++) [state] = step(state, { x, y });
    const w = Array.from(state.model.w.dataSync());
    expect(w[0]).toBeCloseTo(3, 4);
    expect(w[1]).toBeCloseTo(-1, 4);
    state.dispose();
    x.dispose();
    y.dispose();
  });

  it("leaks no tensors per step", () => {
    const x = tf.tensor2d([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
    const y = tf.tensor2d([0, 1, 1, 0], [4, 1]);
    const step = buildTrainStepFn(xorLoss);
    let state = TrainState.initialState(initMlp(3, 4), adam({ learningRate: 0.01 }), random.key(0));
    [state] = step(state, { x, y });
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      [state] = step(state, { x, y });
      expect(tf.memory().numTensors).toBe(afterFirst);
    }
    state.dispose();
    x.dispose();
    y.dispose();
  });

  it("passes the key foldIn(rootRng, step) to each step", () => {
    const seen: RandomKey[] = [];
    const step = buildTrainStepFn<{ w: tf.Tensor }, null, null>(({ model, state, rng }) => {
      seen.push(rng);
      return [tf.sum(tf.square(model.w)) as tf.Scalar, state, null];
    });
    const root = random.key(42);
    let state = TrainState.initialState({ w: tf.ones([2]) }, sgd({ learningRate: 0.1 }), root);
    for (let i = 0; i < 3; i++) [state] = step(state, {});
    expect(seen.map((k) => k.words)).toEqual([0, 1, 2].map((i) => random.foldIn(root, i).words));
    state.dispose();
  });

  it("threads the loss function's state and returns aux tensors the caller owns", () => {
    type Counter = { calls: tf.Tensor };
    const step = buildTrainStepFn<{ w: tf.Tensor }, Counter, { prediction: tf.Tensor }>(
      ({ model, state }) => {
        const loss = tf.sum(tf.square(tf.sub(model.w, 1))) as tf.Scalar;
        return [loss, { calls: tf.add(state.calls, 1) }, { prediction: tf.mul(model.w, 2) }];
      },
    );
    let state = TrainState.initialState(
      { w: tf.zeros([1]) },
      sgd({ learningRate: 0.25 }),
      random.key(0),
      {
        calls: tf.scalar(0) as tf.Tensor,
      },
    );
    const predictions: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) {
      const [next, aux] = step(state, {});
      state = next;
      predictions.push(aux.prediction);
    }
    expect(state.lossFnState.calls.dataSync()[0]).toBe(3);
    // w: 0 → 0.5 → 0.75 → 0.875; predictions are taken before each update.
    expect(predictions.map((p) => p.dataSync()[0])).toEqual([0, 1, 1.5]);
    expect(state.model.w.dataSync()[0]).toBe(0.875);
    for (const p of predictions) p.dispose();
    state.dispose();
  });

  it("gives parameters that do not affect the loss a zero gradient", () => {
    const step = buildTrainStepFn<{ used: tf.Tensor; unused: tf.Tensor }, null, null>(
      ({ model, state }) => [tf.sum(model.used) as tf.Scalar, state, null],
    );
    let state = TrainState.initialState(
      { used: tf.ones([2]), unused: tf.tensor([5]) },
      sgd({ learningRate: 1 }),
      random.key(0),
    );
    [state] = step(state, {});
    expect(Array.from(state.model.used.dataSync())).toEqual([0, 0]);
    expect(Array.from(state.model.unused.dataSync())).toEqual([5]);
    state.dispose();
  });

  it("keeps non-float leaves in the model and out of the parameters", () => {
    const ids = tf.tensor([1, 2], [2], "int32");
    const model = { w: tf.ones([2]), ids, name: "m" };
    const state = TrainState.initialState(model, sgd({ learningRate: 1 }), random.key(0));
    expect(Object.keys(state.params)).toEqual(["['w']"]);
    expect((state.modelWithoutParams as any).w).toBeInstanceOf(NotInThisPartition);
    expect(state.model.ids).toBe(ids);
    expect(state.model.name).toBe("m");
    state.dispose();
    ids.dispose();
  });

  it("without donation leaves the old state usable", () => {
    const step = buildTrainStepFn<{ w: tf.Tensor }, null, null>(
      ({ model, state }) => [tf.sum(model.w) as tf.Scalar, state, null],
      { donateParamsAndState: false },
    );
    const s0 = TrainState.initialState(
      { w: tf.ones([1]) },
      adam({ learningRate: 0.5 }),
      random.key(0),
    );
    const [s1] = step(s0, {});
    expect(s0.model.w.dataSync()[0]).toBe(1);
    expect(s1.model.w.dataSync()[0]).toBeCloseTo(0.5, 6);
    s0.dispose();
    s1.dispose();
  });

  it("rejects a state whose parameters were donated", () => {
    const step = buildTrainStepFn<{ w: tf.Tensor }, null, null>(({ model, state }) => [
      tf.sum(model.w) as tf.Scalar,
      state,
      null,
    ]);
    const s0 = TrainState.initialState(
      { w: tf.ones([1]) },
      sgd({ learningRate: 1 }),
      random.key(0),
    );
    const [s1] = step(s0, {});
    expect(() => step(s0, {})).toThrow(TrainingError);
    expect(() => step(s0, {})).toThrow(/use the state the previous step returned/);
    s1.dispose();
  });

  it("rejects loss functions that return the wrong thing, without leaking", () => {
    const s0 = TrainState.initialState(
      { w: tf.ones([2]) },
      sgd({ learningRate: 1 }),
      random.key(0),
    );
    const bare = buildTrainStepFn<{ w: tf.Tensor }, null, null>(
      ({ model }) => tf.sum(model.w) as never,
    );
    expect(() => bare(s0, {})).toThrow(/must return \[loss, newState, aux\]/);
    const vector = buildTrainStepFn<{ w: tf.Tensor }, null, null>(({ model, state }) => [
      tf.mul(model.w, 2),
      state,
      null,
    ]);
    expect(() => vector(s0, {})).toThrow(/float32 scalar, got float32\[2\]/);
    expect(() => (bare as any)({ step: 0 }, {})).toThrow(/must be a TrainState/);
    const throwing = buildTrainStepFn<{ w: tf.Tensor }, null, null>(({ model }) => {
      tf.mul(model.w, 3);
      throw new RangeError("user bug");
    });
    expect(() => throwing(s0, {})).toThrow(RangeError);
    expect(Array.from(s0.model.w.dataSync())).toEqual([1, 1]);
    s0.dispose();
    const empty = TrainState.initialState(
      { ids: tf.tensor([1], [1], "int32") },
      sgd({ learningRate: 1 }),
      random.key(0),
    );
    expect(() => bare(empty as never, {})).toThrow(/no trainable parameters/);
    (empty.modelWithoutParams as { ids: tf.Tensor }).ids.dispose();
  });

  it("splitting a model into params and the rest and rebuilding it is the identity (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant("float"), fc.constant("int"), fc.constant("text")), {
          maxLength: 6,
        }),
        (kinds) => {
          const model = {
            layers: kinds.map((kind, i) =>
              kind === "float"
                ? tf.tensor([i])
                : kind === "int"
                  ? tf.tensor([i], [1], "int32")
                  : `layer ${i}`,
            ),
          };
          const state = TrainState.initialState(model, sgd({ learningRate: 1 }), random.key(0));
          const rebuilt = state.model;
          expect(rebuilt.layers).toHaveLength(kinds.length);
          rebuilt.layers.forEach((leaf, i) => {
            expect(leaf).toBe(model.layers[i]);
          });
          expect(Object.keys(state.params)).toEqual(
            kinds.flatMap((k, i) => (k === "float" ? [`['layers'][${i}]`] : [])),
          );
          for (const leaf of model.layers) if (leaf instanceof tf.Tensor) leaf.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("has typed signatures", () => {
    const step = buildTrainStepFn(xorLoss);
    expectTypeOf(step).toEqualTypeOf<
      TrainStepFunction<Mlp, null, { loss: number }, { x: tf.Tensor2D; y: tf.Tensor2D }>
    >();
    expectTypeOf<ReturnType<typeof step>[1]>().toEqualTypeOf<{ loss: number }>();
    expectTypeOf<TrainState<Mlp, null>["model"]>().toEqualTypeOf<Mlp>();
  });
});
