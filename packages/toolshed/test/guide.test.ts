/** The examples of docs/toolshed.md, run. */
import { type NamedArray, nx, random, ready, registerGradients } from "@saikei/named";
import { initializeParameters, Linear } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  adam,
  applyUpdates,
  buildTrainStepFn,
  checkLayer,
  From,
  LowRankAdapter,
  loadParameters,
  loadSafetensors,
  RewireComputationPaths,
  SafetensorsError,
  SafetensorsHeaderLengthError,
  saveParameters,
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

describe("docs/toolshed.md examples", () => {
  it("optimizers", () => {
    const params = { w: tf.tensor([1, 2]) };
    const grads = { w: tf.tensor([1, -1]) };
    const opt = adam({ learningRate: 1e-3 });
    const state = opt.init(params);
    expect(state.count).toBe(0);
    const { updates, state: next } = opt.update(grads, state, params);
    const newParams = applyUpdates(params, updates);
    expect(next.count).toBe(1);
    const values = Array.from(newParams.w.dataSync());
    expect(values[0]).toBeCloseTo(0.999, 5);
    expect(values[1]).toBeCloseTo(2.001, 5);
    tf.dispose([
      params.w,
      grads.w,
      (state as any).mu.w,
      (state as any).nu.w,
      (updates as any).w,
      (next as any).mu.w,
      (next as any).nu.w,
      newParams.w,
    ]);
  });

  it("training loop", () => {
    type Lin = { w: tf.Tensor };
    const x = tf.tensor2d([1, 2, 3, 4], [4, 1]);
    const y = tf.tensor2d([2, 4, 6, 8], [4, 1]);
    const step = buildTrainStepFn<Lin, null, { loss: number }, { x: tf.Tensor2D; y: tf.Tensor2D }>(
      ({ model, state, x, y }) => {
        const loss = tf.losses.meanSquaredError(y, tf.matMul(x, model.w)) as tf.Scalar;
        return [loss, state, { loss: loss.dataSync()[0]! }];
      },
    );
    let state = TrainState.initialState<Lin>(
      { w: tf.zeros([1, 1]) },
      adam({ learningRate: 0.1 }),
      random.key(0),
    );
    let last = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 100; i++) {
      const [next, aux] = step(state, { x: x as tf.Tensor2D, y: y as tf.Tensor2D });
      state = next;
      last = aux.loss;
    }
    expect(state.step).toBe(100);
    expect(last).toBeLessThan(0.05);
    expect(state.model.w.dataSync()[0]).toBeCloseTo(2, 1);
    state.dispose();
    tf.dispose([x, y]);
  });

  it("safetensors", () => {
    const model = {
      layer: { w: nx.wrap(tf.ones([2, 3]), "in", "out") },
      note: "kept from the template",
    };
    const bytes = saveSafetensors(model, { metadata: { step: "300" } });
    const restored = loadSafetensors(bytes, model);
    expect(restored.layer.w.namedShape).toEqual({ in: 2, out: 3 });
    expect(restored.note).toBe("kept from the template");
    expect(() => loadSafetensors(bytes.slice(0, 4), model)).toThrow(SafetensorsHeaderLengthError);
    expect(() => loadSafetensors(bytes.slice(0, 4), model)).toThrow(SafetensorsError);
    tf.dispose([model.layer.w.dataArray, restored.layer.w.dataArray]);
  });

  it("checkpoints by parameter name", () => {
    const build = () => Linear.fromConfig({ features: 2 }, { out: 2 }) as Linear;
    const trained = initializeParameters(build(), random.key(0));
    const model = loadParameters(saveParameters(trained), build());
    const [a, b] = [trained.weights.value as NamedArray, model.weights.value as NamedArray];
    expect(Array.from(b.dataArray.dataSync())).toEqual(Array.from(a.dataArray.dataSync()));
    tf.dispose([a.dataArray, b.dataArray]);
  });

  it("LoRA", () => {
    const adapter = LowRankAdapter.fromLinear(
      Linear.fromConfig({ features: 8 }, { out: 4 }) as Linear,
      {
        rank: 2,
        name: "proj",
      },
    );
    expect(adapter.pretrained).toBeInstanceOf(Linear);
  });

  it("model rewiring", () => {
    const x = nx.wrap(tf.tensor2d([1, 2, 3, 4], [2, 2]), "worlds", "features");
    const patch = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["clean", "corrupted"],
      taking: { clean: new From("clean"), corrupted: new From("clean") },
    });
    const out = patch.call(x);
    const values = out.unwrap("worlds", "features");
    expect(Array.from(values.dataSync())).toEqual([1, 2, 1, 2]);
    tf.dispose([x.dataArray, out.dataArray, values]);
  });

  it("checkLayer and gradients", async () => {
    expect(registerGradients()).toBeGreaterThanOrEqual(100);
    const spec = checkLayer(Linear.fromConfig({ features: 8 }, { out: 4 })) as {
      namedShape: Record<string, number>;
    };
    expect(spec.namedShape.out).toBe(4);
  });
});
