/**
 * Functional optimizers in the style of optax: an optimizer is a pair of pure functions, `init`
 * (parameters → state) and `update` (gradients, state, parameters → updates, new state), over
 * trees of tensors. The state is itself a tree (tensors and numbers), so it can be saved with
 * {@link saveSafetensors}, mapped, and held in a `TrainState`.
 *
 * Inputs are never disposed; the caller owns everything an optimizer returns.
 *
 * @module
 */

import { checkOptions, flatten, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { OptimizerConfigError } from "./errors.js";

/** A learning rate: a constant, or a schedule from the update count (0 for the first update). */
export type LearningRate = number | ((count: number) => number);

/** The result of {@link Optimizer.update}. */
export interface OptimizerUpdate<S> {
  /** Additive updates, a tree of the parameters' structure (`params + updates` is the new value). */
  readonly updates: unknown;
  /** The optimizer's new state. */
  readonly state: S;
}

/**
 * A functional optimizer (optax's `GradientTransformation`).
 *
 * @typeParam S the type of the optimizer's state tree.
 */
export interface Optimizer<S = unknown> {
  /** A name for error messages and rendering, e.g. `"adam"`. */
  readonly name: string;
  /** Builds the initial state for a parameter tree. */
  init(params: unknown): S;
  /**
   * Turns gradients into updates. `grads` and `params` have the same structure; float tensors are
   * updated, other leaves pass through unchanged.
   */
  update(grads: unknown, state: S, params: unknown): OptimizerUpdate<S>;
}

/** Whether a leaf is a tensor an optimizer updates: float32 tensors (gradients exist for them). */
export function isTrainableTensor(leaf: unknown): leaf is tf.Tensor {
  return leaf instanceof tf.Tensor && leaf.dtype === "float32";
}

function learningRateAt(lr: LearningRate, count: number, where: string): number {
  const value = typeof lr === "function" ? lr(count) : lr;
  if (!Number.isFinite(value)) {
    throw new OptimizerConfigError(
      `${where}: the learning rate at update ${count} is ${value}; it must be a finite number. ` +
        "Check the schedule passed as learningRate.",
    );
  }
  return value;
}

function checkRange(where: string, name: string, value: number, low: number, high: number): void {
  if (!(value >= low && value < high)) {
    throw new OptimizerConfigError(
      `${where}: ${name} is ${value}; it must be in [${low}, ${high}).`,
    );
  }
}

/** Flattens grads and params together and checks that they line up. */
function alignedLeaves(
  where: string,
  grads: unknown,
  params: unknown,
): [unknown[], unknown[], ReturnType<typeof flatten>[1]] {
  const [gradLeaves, gradDef] = flatten(grads);
  const [paramLeaves, paramDef] = flatten(params);
  if (!gradDef.equals(paramDef)) {
    throw new OptimizerConfigError(
      `${where}: the gradient tree does not have the structure of the parameter tree.\n` +
        `  params: ${truncate(paramDef.toString())}\n  grads:  ${truncate(gradDef.toString())}\n` +
        "Pass gradients computed for exactly these parameters.",
    );
  }
  return [gradLeaves, paramLeaves, paramDef];
}

function truncate(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/** Maps over the trainable leaves of parallel trees; other leaves of the first tree are kept. */
function mapTrainable(
  def: ReturnType<typeof flatten>[1],
  leaves: unknown[][],
  fn: (...xs: tf.Tensor[]) => tf.Tensor,
): unknown {
  const out = leaves[0]!.map((leaf, i) =>
    isTrainableTensor(leaf) ? fn(...leaves.map((l) => l[i] as tf.Tensor)) : leaf,
  );
  return unflatten(def, out);
}

/** Moment trees hold this number where the parameter tree has a leaf that is not trained. */
const UNTRAINED_SLOT = 0;

function zerosLikeTrainable(params: unknown): unknown {
  const [leaves, def] = flatten(params);
  return unflatten(
    def,
    leaves.map((leaf) => (isTrainableTensor(leaf) ? tf.zerosLike(leaf) : UNTRAINED_SLOT)),
  );
}

/**
 * Runs an update body inside `tf.tidy`, so intermediates are freed and only the tensors of the
 * returned updates and state survive.
 */
function tidyUpdate<S>(body: () => OptimizerUpdate<S>): OptimizerUpdate<S> {
  let result: OptimizerUpdate<S> | undefined;
  tf.tidy(() => {
    result = body();
    return [...flatten(result.updates)[0], ...flatten(result.state)[0]].filter(
      (x): x is tf.Tensor => x instanceof tf.Tensor,
    );
  });
  return result!;
}

/**
 * Applies additive updates to parameters: `params + updates` leaf by leaf (penzai / optax's
 * `apply_updates`). Leaves that are not float tensors are kept from `params`.
 *
 * @param params the current parameters (not disposed).
 * @param updates updates of the same structure, as returned by {@link Optimizer.update}.
 * @returns new parameters; the caller owns their tensors.
 * @throws OptimizerConfigError when the trees do not have the same structure.
 * @example
 * const { updates, state } = opt.update(grads, optState, params);
 * const newParams = applyUpdates(params, updates);
 */
export function applyUpdates<P>(params: P, updates: unknown): P {
  const [paramLeaves, def] = flatten(params);
  const [updateLeaves] = flatten(updates);
  if (updateLeaves.length !== paramLeaves.length) {
    throw new OptimizerConfigError(
      `applyUpdates: the update tree has ${updateLeaves.length} leaves but the parameter tree has ${paramLeaves.length}. ` +
        "Pass the updates an optimizer returned for these parameters.",
    );
  }
  return unflatten<P>(
    def,
    paramLeaves.map((leaf, i) => {
      const u = updateLeaves[i];
      return isTrainableTensor(leaf) && u instanceof tf.Tensor ? tf.add(leaf, u) : leaf;
    }),
  );
}

/** Options for {@link sgd}. */
export interface SgdOptions {
  /** Step size (or a schedule). */
  learningRate: LearningRate;
  /** Momentum decay; `0` (the default) disables momentum. */
  momentum?: number;
  /** Use Nesterov momentum. */
  nesterov?: boolean;
}

/** The state of {@link sgd}: the update count and the momentum trace (`null` without momentum). */
export interface SgdState {
  readonly count: number;
  readonly trace: unknown;
}

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum, as optax's `sgd`:
 * `trace = g + momentum * trace`, `update = -lr * (nesterov ? g + momentum * trace : trace)`.
 *
 * @param options learning rate, momentum and nesterov.
 * @returns an optimizer whose state is `{ count, trace }`.
 * @throws OptimizerConfigError for a momentum outside [0, 1).
 * @example
 * const opt = sgd({ learningRate: 0.1, momentum: 0.9 });
 * let state = opt.init(params);
 */
export function sgd(options: SgdOptions): Optimizer<SgdState> {
  checkOptions("sgd", options, ["learningRate", "momentum", "nesterov"]);
  const momentum = options.momentum ?? 0;
  const nesterov = options.nesterov ?? false;
  checkRange("sgd", "momentum", momentum, 0, 1);
  return Object.freeze({
    name: "sgd",
    init(params: unknown): SgdState {
      return { count: 0, trace: momentum === 0 ? null : zerosLikeTrainable(params) };
    },
    update(grads: unknown, state: SgdState, params: unknown): OptimizerUpdate<SgdState> {
      return tidyUpdate(() => sgdUpdate(grads, state, params));
    },
  });

  function sgdUpdate(grads: unknown, state: SgdState, params: unknown): OptimizerUpdate<SgdState> {
    const lr = learningRateAt(options.learningRate, state.count, "sgd");
    const [g, p, def] = alignedLeaves("sgd", grads, params);
    if (momentum === 0) {
      const updates = mapTrainable(def, [p, g], (_p, gi) => tf.mul(gi, -lr));
      return { updates, state: { count: state.count + 1, trace: null } };
    }
    const [t] = flatten(state.trace);
    const newTrace = p.map((leaf, i) =>
      isTrainableTensor(leaf)
        ? tf.add(g[i] as tf.Tensor, tf.mul(t[i] as tf.Tensor, momentum))
        : UNTRAINED_SLOT,
    );
    const updates = unflatten(
      def,
      p.map((leaf, i) => {
        if (!isTrainableTensor(leaf)) return leaf;
        const direction = nesterov
          ? tf.add(g[i] as tf.Tensor, tf.mul(newTrace[i] as tf.Tensor, momentum))
          : (newTrace[i] as tf.Tensor);
        return tf.mul(direction, -lr);
      }),
    );
    return { updates, state: { count: state.count + 1, trace: unflatten(def, newTrace) } };
  }
}

/** Options for {@link adam} and {@link adamw}. */
export interface AdamOptions {
  /** Step size (or a schedule). */
  learningRate: LearningRate;
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
}

/** Options for {@link adamw}: Adam's plus the decoupled weight decay. */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay rate (default 1e-4, as optax). */
  weightDecay?: number;
  /** Which parameters decay: a predicate on each float leaf (default: all). */
  mask?: (leaf: tf.Tensor) => boolean;
}

/** The state of {@link adam} / {@link adamw}: the update count and both moment trees. */
export interface AdamState {
  readonly count: number;
  readonly mu: unknown;
  readonly nu: unknown;
}

const ADAM_KEYS = ["learningRate", "b1", "b2", "eps"] as const;

function adamLike(name: string, options: AdamWOptions, decoupled: boolean): Optimizer<AdamState> {
  const b1 = options.b1 ?? 0.9;
  const b2 = options.b2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const weightDecay = decoupled ? (options.weightDecay ?? 1e-4) : 0;
  checkRange(name, "b1", b1, 0, 1);
  checkRange(name, "b2", b2, 0, 1);
  if (!(eps >= 0)) throw new OptimizerConfigError(`${name}: eps is ${eps}; it must be >= 0.`);
  if (!(weightDecay >= 0))
    throw new OptimizerConfigError(`${name}: weightDecay is ${weightDecay}; it must be >= 0.`);
  return Object.freeze({
    name,
    init(params: unknown): AdamState {
      return { count: 0, mu: zerosLikeTrainable(params), nu: zerosLikeTrainable(params) };
    },
    update(grads: unknown, state: AdamState, params: unknown): OptimizerUpdate<AdamState> {
      return tidyUpdate(() => adamUpdate(grads, state, params));
    },
  });

  function adamUpdate(
    grads: unknown,
    state: AdamState,
    params: unknown,
  ): OptimizerUpdate<AdamState> {
    const lr = learningRateAt(options.learningRate, state.count, name);
    const [g, p, def] = alignedLeaves(name, grads, params);
    const [mu] = flatten(state.mu);
    const [nu] = flatten(state.nu);
    const count = state.count + 1;
    const c1 = 1 - b1 ** count;
    const c2 = 1 - b2 ** count;
    const newMu: unknown[] = [];
    const newNu: unknown[] = [];
    const updates: unknown[] = [];
    for (let i = 0; i < p.length; i++) {
      const leaf = p[i];
      if (!isTrainableTensor(leaf)) {
        newMu.push(UNTRAINED_SLOT);
        newNu.push(UNTRAINED_SLOT);
        updates.push(leaf);
        continue;
      }
      const gi = g[i] as tf.Tensor;
      const m = tf.add(tf.mul(mu[i] as tf.Tensor, b1), tf.mul(gi, 1 - b1));
      const v = tf.add(tf.mul(nu[i] as tf.Tensor, b2), tf.mul(tf.square(gi), 1 - b2));
      // -lr * (m / c1) / (sqrt(v / c2) + eps), with 1 / c1 folded into the final scale.
      let update = tf.mul(tf.div(m, tf.add(tf.sqrt(tf.mul(v, 1 / c2)), eps)), -lr / c1);
      if (weightDecay > 0 && (options.mask === undefined || options.mask(leaf))) {
        update = tf.add(update, tf.mul(leaf, -lr * weightDecay));
      }
      newMu.push(m);
      newNu.push(v);
      updates.push(update);
    }
    return {
      updates: unflatten(def, updates),
      state: { count, mu: unflatten(def, newMu), nu: unflatten(def, newNu) },
    };
  }
}

/**
 * Adam (Kingma & Ba) as optax's `adam`: bias-corrected first and second moments,
 * `update = -lr * m̂ / (sqrt(v̂) + eps)`.
 *
 * @param options learning rate, b1, b2, eps.
 * @returns an optimizer whose state is `{ count, mu, nu }`.
 * @throws OptimizerConfigError for b1 or b2 outside [0, 1) or a negative eps.
 * @example
 * const opt = adam({ learningRate: 1e-3 });
 */
export function adam(options: AdamOptions): Optimizer<AdamState> {
  checkOptions("adam", options, ADAM_KEYS);
  return adamLike("adam", options, false);
}

/**
 * AdamW (Loshchilov & Hutter) as optax's `adamw`: Adam with decoupled weight decay,
 * `update = -lr * (m̂ / (sqrt(v̂) + eps) + weightDecay * param)`.
 *
 * @param options Adam's options plus `weightDecay` (default 1e-4) and an optional `mask`.
 * @returns an optimizer whose state is `{ count, mu, nu }`.
 * @throws OptimizerConfigError for invalid hyper-parameters.
 * @example
 * const opt = adamw({ learningRate: 1e-3, weightDecay: 0.01 });
 */
export function adamw(options: AdamWOptions): Optimizer<AdamState> {
  checkOptions("adamw", options, [...ADAM_KEYS, "weightDecay", "mask"]);
  return adamLike("adamw", options, true);
}
