import { ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  type AdamState,
  adam,
  adamw,
  applyUpdates,
  type Optimizer,
  OptimizerConfigError,
  type SgdState,
  sgd,
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

const values = (t: unknown) => Array.from((t as tf.Tensor).dataSync());
const disposeAll = (...trees: unknown[]) => {
  const visit = (x: unknown): void => {
    if (x instanceof tf.Tensor) x.dispose();
    else if (Array.isArray(x)) x.forEach(visit);
    else if (x !== null && typeof x === "object") Object.values(x).forEach(visit);
  };
  trees.forEach(visit);
};

describe("sgd", () => {
  it("steps against the gradient", () => {
    const params = { w: tf.tensor([1, 2]) };
    const grads = { w: tf.tensor([0.5, -1]) };
    const opt = sgd({ learningRate: 0.1 });
    const state = opt.init(params);
    const { updates, state: next } = opt.update(grads, state, params);
    expect(values((updates as { w: tf.Tensor }).w)).toEqual([
      -0.05000000074505806, 0.10000000149011612,
    ]);
    expect(next.count).toBe(1);
    const moved = applyUpdates(params, updates);
    expect(values(moved.w)).toEqual([0.949999988079071, 2.0999999046325684]);
    disposeAll(params, grads, updates, moved);
  });

  it("accumulates momentum (trace = g + m * trace) and supports Nesterov", () => {
    const params = { w: tf.tensor([0]) };
    const g = { w: tf.tensor([1]) };
    for (const [nesterov, expected] of [
      [false, [-1, -1.5]],
      [true, [-1.5, -1.75]],
    ] as const) {
      const opt = sgd({ learningRate: 1, momentum: 0.5, nesterov });
      const s0 = opt.init(params);
      const r1 = opt.update(g, s0, params);
      const r2 = opt.update(g, r1.state, params);
      expect([values((r1.updates as any).w)[0], values((r2.updates as any).w)[0]]).toEqual(
        expected,
      );
      disposeAll(s0.trace, r1.updates, r1.state.trace, r2.updates, r2.state.trace);
    }
    disposeAll(params, g);
  });

  it("uses a learning-rate schedule from the update count", () => {
    const params = [tf.tensor([0])];
    const grads = [tf.tensor([1])];
    const opt = sgd({ learningRate: (count) => 1 / (count + 1) });
    const r1 = opt.update(grads, opt.init(params), params);
    const r2 = opt.update(grads, r1.state, params);
    expect([
      values((r1.updates as tf.Tensor[])[0])[0],
      values((r2.updates as tf.Tensor[])[0])[0],
    ]).toEqual([-1, -0.5]);
    disposeAll(params, grads, r1.updates, r2.updates);
  });
});

describe("adam / adamw", () => {
  it("first step moves each weight by about lr against the sign of its gradient", () => {
    const params = { a: tf.tensor([1, 1]), b: [tf.tensor([[0]])] };
    const grads = { a: tf.tensor([3, -0.001]), b: [tf.tensor([[0]])] };
    const opt = adam({ learningRate: 0.01 });
    const s0 = opt.init(params);
    const { updates, state } = opt.update(grads, s0, params);
    const u = updates as { a: tf.Tensor; b: tf.Tensor[] };
    const ua = values(u.a);
    expect(ua[0]).toBeCloseTo(-0.01, 7);
    expect(ua[1]).toBeCloseTo(0.01 * (0.001 / (0.001 + 1e-8)), 7);
    expect(values(u.b[0]).map((x) => x + 0)).toEqual([0]);
    expect(state.count).toBe(1);
    const mu = values((state.mu as any).a);
    expect(mu[0]).toBeCloseTo(0.3, 6);
    expect(mu[1]).toBeCloseTo(-0.0001, 9);
    disposeAll(params, grads, s0.mu, s0.nu, updates, state.mu, state.nu);
  });

  it("matches a hand computation over two steps", () => {
    const params = { w: tf.tensor([2]) };
    const opt = adam({ learningRate: 0.1, b1: 0.5, b2: 0.75, eps: 0 });
    const g1 = { w: tf.tensor([1]) };
    const g2 = { w: tf.tensor([-2]) };
    const s0 = opt.init(params);
    const r1 = opt.update(g1, s0, params);
    const r2 = opt.update(g2, r1.state, params);
    // m2 = 0.5*0.5 + 0.5*(-2) = -0.75, v2 = 0.75*0.25 + 0.25*4 = 1.1875
    // m̂ = -0.75/0.75 = -1, v̂ = 1.1875/0.4375 = 2.714..., update = -0.1 * -1/sqrt(v̂)
    expect(values((r2.updates as any).w)[0]).toBeCloseTo(0.1 / Math.sqrt(1.1875 / 0.4375), 6);
    disposeAll(
      params,
      g1,
      g2,
      s0.mu,
      s0.nu,
      r1.updates,
      r1.state.mu,
      r1.state.nu,
      r2.updates,
      r2.state.mu,
      r2.state.nu,
    );
  });

  it("adamw adds decoupled weight decay, respecting the mask", () => {
    const params = { decays: tf.tensor([10]), fixed: tf.tensor([10, 0]) };
    const grads = { decays: tf.tensor([0]), fixed: tf.tensor([0, 0]) };
    const opt = adamw({
      learningRate: 0.1,
      weightDecay: 0.01,
      mask: (leaf) => leaf.rank === 1 && leaf.size === 1,
    });
    const s0 = opt.init(params);
    const { updates, state } = opt.update(grads, s0, params);
    expect(values((updates as any).decays)[0]).toBeCloseTo(-0.01, 7);
    expect(values((updates as any).fixed).map((x) => x + 0)).toEqual([0, 0]);
    disposeAll(params, grads, s0.mu, s0.nu, updates, state.mu, state.nu);
  });

  it("zero gradients give zero updates (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (xs) => {
          const params = [tf.tensor(xs)];
          const grads = [tf.zerosLike(params[0]!)];
          const opt = adam({ learningRate: 0.5 });
          const s0 = opt.init(params);
          const { updates, state } = opt.update(grads, s0, params);
          expect(values((updates as tf.Tensor[])[0]).every((u) => u === 0)).toBe(true);
          disposeAll(params, grads, s0.mu, s0.nu, updates, state.mu, state.nu);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("passes non-float leaves through untouched", () => {
    const ids = tf.tensor([1, 2], [2], "int32");
    const params = { ids, label: "x", w: tf.tensor([1]) };
    const grads = { ids, label: "x", w: tf.tensor([1]) };
    const opt = adam({ learningRate: 0.1 });
    const s0 = opt.init(params);
    const { updates, state } = opt.update(grads, s0, params);
    const moved = applyUpdates(params, updates);
    expect(moved.ids).toBe(ids);
    expect(moved.label).toBe("x");
    expect((s0.mu as any).ids).toBe(0);
    disposeAll(params, grads.w, s0.mu, s0.nu, (updates as any).w, state.mu, state.nu, moved.w);
  });
});

describe("errors", () => {
  it("rejects bad hyper-parameters", () => {
    expect(() => adam({ learningRate: 1, b1: 1 })).toThrow(OptimizerConfigError);
    expect(() => adam({ learningRate: 1, b2: -0.1 })).toThrow(/b2 is -0.1/);
    expect(() => sgd({ learningRate: 1, momentum: 2 })).toThrow(/momentum is 2/);
    expect(() => adamw({ learningRate: 1, weightDecay: -1 })).toThrow(/weightDecay/);
  });

  it("rejects a non-finite scheduled learning rate", () => {
    const params = [tf.tensor([1])];
    const opt = sgd({ learningRate: () => Number.NaN });
    expect(() => opt.update(params, opt.init(params), params)).toThrow(
      /learning rate at update 0 is NaN/,
    );
    disposeAll(params);
  });

  it("rejects gradients of another structure", () => {
    const params = { w: tf.tensor([1]) };
    const grads = { v: tf.tensor([1]) };
    const opt = sgd({ learningRate: 1 });
    expect(() => opt.update(grads, opt.init(params), params)).toThrow(OptimizerConfigError);
    expect(() => applyUpdates(params, [])).toThrow(/0 leaves/);
    disposeAll(params, grads);
  });
});

describe("types", () => {
  it("optimizers are typed by their state", () => {
    expectTypeOf(adam({ learningRate: 1 })).toEqualTypeOf<Optimizer<AdamState>>();
    expectTypeOf(sgd({ learningRate: 1 })).toEqualTypeOf<Optimizer<SgdState>>();
    expectTypeOf(applyUpdates<{ w: tf.Tensor }>).returns.toEqualTypeOf<{ w: tf.Tensor }>();
  });
});
