/**
 * A minimal training loop in the style of penzai's `toolshed.basic_training`: a `TrainState`
 * struct holding the step, the root random key, the parameters by name, the model without its
 * parameters, the optimizer state and the loss function's state; and `buildTrainStepFn`, which
 * turns a loss function into a step `(trainState, inputs) → [newTrainState, aux]`.
 *
 * Gradients come from tfjs's tape (`tf.valueAndGrads` semantics) over the float tensor leaves of
 * the parameters. Each step uses the key `foldIn(rootKey, step)`.
 *
 * @module
 */

import { type RandomKey, random, registerGradients } from "@saikei/named";
import { DuplicateParameterError, Parameter } from "@saikei/nn";
import { NotInThisPartition } from "@saikei/select";
import {
  checkOptions,
  field,
  findOutermost,
  flatten,
  keystr,
  type Position,
  rewriteAt,
  Struct,
  unflatten,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { TrainingError } from "./errors.js";
import { isTrainableTensor, type Optimizer } from "./optimizers.js";
import { findParameters } from "./parameterAccess.js";

/** The arguments a {@link LossFunction} receives: the model, its state, a key and the inputs. */
export type LossFunctionArgs<M, S, K> = {
  readonly model: M;
  readonly state: S;
  readonly rng: RandomKey;
} & K;

/**
 * A loss function (penzai's `LossFunction` protocol): returns `[loss, newState, aux]` where `loss`
 * is a scalar float tensor, `newState` replaces the loss function's state and `aux` is returned
 * by the step (put metrics such as the loss value there).
 *
 * @typeParam M the model type. @typeParam S the loss function's state. @typeParam A the aux output.
 * @typeParam K the extra inputs passed to each step.
 */
export type LossFunction<M, S, A, K extends object = {}> = (
  args: LossFunctionArgs<M, S, K>,
) => readonly [tf.Scalar | tf.Tensor, S, A];

/**
 * A training step (penzai's `TrainStepFunction`): `(trainState, inputs) → [newTrainState, aux]`.
 */
export type TrainStepFunction<M, S, A, K extends object = {}> = (
  trainState: TrainState<M, S>,
  inputs: K,
) => [TrainState<M, S>, A];

/**
 * Everything training needs between steps (penzai's `TrainState`), as a struct:
 *
 * - `step`: the number of steps taken (0 at first);
 * - `rootRng`: the key every step key is folded from;
 * - `params`: the trainable values by parameter name (for a plain tree of tensors, by `keystr`);
 * - `modelWithoutParams`: the model with each parameter value replaced by `NotInThisPartition`;
 * - `optState`: the optimizer's state tree; `lossFnState`: the loss function's state;
 * - `optimizerDef` (static): the optimizer.
 *
 * @typeParam M the model type; `trainState.model` rebuilds it. @typeParam S the loss state type.
 * @example
 * const state = TrainState.initialState(model, adam({ learningRate: 1e-3 }), random.key(0));
 * state.model; // the model, with its current parameters
 */
export class TrainState<M = any, S = any> extends Struct.define(
  {
    step: field<number>(),
    rootRng: field<RandomKey>(),
    params: field<Record<string, unknown>>(),
    modelWithoutParams: field<unknown>(),
    optState: field<unknown>(),
    lossFnState: field<unknown>(),
    optimizerDef: field<Optimizer<any>>({ static: true }),
  },
  { name: "TrainState" },
) {
  /** The loss function's state (typed by `S`; a type-only refinement of the field). */
  declare readonly lossFnState: S;

  /**
   * Builds the initial state: parameters are taken out of `model` (every `Parameter` of an
   * `@saikei/nn` model, `FrozenParameter`s excluded; or, for a tree without `Parameter`s, every
   * float32 tensor leaf, named by the `keystr` of its path) and the optimizer is initialised.
   *
   * @param model the model (or any tree of tensors) to train. Its tensors are not copied: with the
   *   default donation, the first step disposes them.
   * @param optimizerDef the optimizer.
   * @param rootRng the key every step key is folded from.
   * @param lossFnState the loss function's initial state (default `null`).
   * @throws TrainingError when two parameters share a name.
   * @example
   * const state = TrainState.initialState({ w: tf.zeros([3]) }, sgd({ learningRate: 0.1 }), random.key(0));
   * Object.keys(state.params); // ["['w']"]
   */
  static initialState<M, S = null>(
    model: M,
    optimizerDef: Optimizer<any>,
    rootRng: RandomKey,
    lossFnState?: S,
  ): TrainState<M, S> {
    const [entries, withoutParams] = findParameters(model);
    const params: Record<string, unknown> = Object.create(null);
    for (const entry of entries) {
      if (Object.hasOwn(params, entry.name)) {
        throw new DuplicateParameterError(
          `TrainState.initialState: two parameters are named ${JSON.stringify(entry.name)} (the second at ` +
            `${keystr(entry.path) || "the root"}). Parameter names must be unique; rename them with ` +
            "addParameterPrefix before training.",
        );
      }
      params[entry.name] = entry.value;
    }
    return new TrainState<M, S>({
      step: 0,
      rootRng,
      params,
      modelWithoutParams: withoutParams,
      optState: optimizerDef.init(params),
      lossFnState: (lossFnState ?? null) as S,
      optimizerDef,
    });
  }

  /** The full model: `modelWithoutParams` with the current parameter values put back. */
  get model(): M {
    return rebuildModel(this.modelWithoutParams, this.params) as M;
  }

  /**
   * Disposes every tensor this state owns (parameters, optimizer state, loss state). Use it on a
   * state you keep when stepping with `donateParamsAndState: false`, or at the end of training.
   */
  dispose(): void {
    disposeTensors([this.params, this.optState, this.lossFnState], new Set());
  }
}

/** Where parameter values go back into a model whose values were replaced by `NotInThisPartition`. */
interface RebuildPlan {
  /** The outermost `Parameter`s and `NotInThisPartition`s of the model, in flatten order. */
  readonly positions: readonly Position[];
  /** What fills each position: a Parameter to give a value, or the name of a plain slot. */
  readonly slots: readonly (Parameter | string)[];
}

/** Rebuild plans by model-without-params (the same object for every step of a training run). */
const rebuildPlans = new WeakMap<object, RebuildPlan>();

const isSlot = (node: unknown): boolean =>
  node instanceof Parameter || node instanceof NotInThisPartition;

function planFor(withoutParams: unknown): RebuildPlan {
  const cached =
    typeof withoutParams === "object" && withoutParams !== null
      ? rebuildPlans.get(withoutParams)
      : undefined;
  if (cached !== undefined) return cached;
  const positions = findOutermost(withoutParams, isSlot);
  const slots = positions.map(({ value, keyPath }) =>
    value instanceof Parameter ? value : keystr(keyPath),
  );
  const plan = { positions, slots };
  if (typeof withoutParams === "object" && withoutParams !== null)
    rebuildPlans.set(withoutParams, plan);
  return plan;
}

/** Puts parameter values back into a model whose values were replaced by `NotInThisPartition`. */
function rebuildModel(withoutParams: unknown, params: Record<string, unknown>): unknown {
  const { positions, slots } = planFor(withoutParams);
  return rewriteAt(withoutParams, positions, (i) => {
    const slot = slots[i]!;
    return typeof slot === "string" ? params[slot] : slot.replace({ value: params[slot.name] });
  });
}

function tensorsOf(tree: unknown): tf.Tensor[] {
  return flatten(tree)[0].filter((x): x is tf.Tensor => x instanceof tf.Tensor);
}

function disposeTensors(trees: unknown[], keep: Set<tf.Tensor>): void {
  for (const tree of trees) for (const leaf of flatten(tree)[0]) disposeUnkept(leaf, keep);
}

function disposeUnkept(leaf: unknown, keep: Set<tf.Tensor>): void {
  if (leaf instanceof tf.Tensor && !keep.has(leaf) && !leaf.isDisposed) leaf.dispose();
}

/** Options for {@link buildTrainStepFn}. */
export interface TrainStepOptions {
  /**
   * Dispose the old state's parameters, optimizer state and loss state after each step
   * (default `true`; JAX's buffer donation). The state passed to a step must not be used again.
   * With `false` nothing is disposed: dispose old states yourself (`state.dispose()`).
   */
  donateParamsAndState?: boolean;
}

/**
 * Builds a training step from a loss function (penzai's `build_train_step_fn`). The step:
 * folds the step key `foldIn(rootRng, step)`, computes the loss and the gradients of the
 * parameters' float tensors, lets the optimizer update them, and returns the new state (with
 * `step + 1`) and the loss function's aux output. Parameters that do not affect the loss get zero
 * gradients. Temporary tensors are freed: with donation, repeated steps keep `tf.memory()`
 * constant (apart from tensors the loss function returns in aux).
 *
 * @param lossFn the loss function; it receives `{ model, state, rng, ...inputs }`.
 * @param options `donateParamsAndState` (default true).
 * @returns the step function.
 * @example
 * const step = buildTrainStepFn<Model, null, { loss: number }, { x: tf.Tensor; y: tf.Tensor }>(
 *   ({ model, state, x, y }) => {
 *     const loss = tf.losses.meanSquaredError(y, model.call(x));
 *     return [loss, state, { loss: loss.dataSync()[0]! }];
 *   },
 * );
 * let state = TrainState.initialState(model, adam({ learningRate: 1e-2 }), random.key(0));
 * for (let i = 0; i < 100; i++) [state] = step(state, { x, y });
 */
export function buildTrainStepFn<M, S, A, K extends object = {}>(
  lossFn: LossFunction<M, S, A, K>,
  options: TrainStepOptions = {},
): TrainStepFunction<M, S, A, K> {
  checkOptions("buildTrainStepFn", options, ["donateParamsAndState"]);
  const donate = options.donateParamsAndState ?? true;
  registerGradients();
  return (trainState, inputs) => {
    if (!(trainState instanceof TrainState)) {
      throw new TrainingError(
        "train step: the first argument must be a TrainState; build one with TrainState.initialState(model, optimizer, key).",
      );
    }
    const [paramLeaves, paramDef] = flatten(trainState.params);
    for (const leaf of paramLeaves) {
      if (leaf instanceof tf.Tensor && leaf.isDisposed) {
        throw new TrainingError(
          `train step ${trainState.step}: the parameters of this TrainState were disposed. With donation ` +
            "(the default) each step consumes its input state: use the state the previous step returned.",
        );
      }
    }
    const trainableIndices: number[] = [];
    for (let i = 0; i < paramLeaves.length; i++)
      if (isTrainableTensor(paramLeaves[i])) trainableIndices.push(i);
    const xs = trainableIndices.map((i) => paramLeaves[i] as tf.Tensor);
    if (xs.length === 0) {
      throw new TrainingError(
        `train step ${trainState.step}: the TrainState has no trainable parameters (no Parameter, and no float32 ` +
          "tensor in a plain tree). Build it from a model with parameters, or unfreeze them (unfreezeParameters).",
      );
    }
    const rng = random.foldIn(trainState.rootRng, trainState.step);

    let newLossState: S = trainState.lossFnState as S;
    let aux: A = undefined as A;
    // A loss function that throws inside the tape would leave the tape's saved tensors behind
    // (tfjs frees them only after a backward pass), so failures are recorded and rethrown after it.
    let failure: { error: unknown } | undefined;
    const f = (): tf.Scalar => {
      try {
        return runLoss();
      } catch (error) {
        failure = { error };
        return tf.scalar(0);
      }
    };
    const runLoss = (): tf.Scalar => {
      const params = unflatten<Record<string, unknown>>(paramDef, paramLeaves);
      const model = rebuildModel(trainState.modelWithoutParams, params) as M;
      const result = lossFn({
        ...(inputs as K),
        model,
        state: trainState.lossFnState as S,
        rng,
      } as LossFunctionArgs<M, S, K>);
      if (!Array.isArray(result) || result.length !== 3 || !(result[0] instanceof tf.Tensor)) {
        throw new TrainingError(
          `train step ${trainState.step}: the loss function must return [loss, newState, aux] with a scalar tensor loss; ` +
            `got ${describe(result)}.`,
        );
      }
      const [loss, state, out] = result;
      if (loss.size !== 1 || loss.dtype !== "float32") {
        throw new TrainingError(
          `train step ${trainState.step}: the loss must be a float32 scalar, got ${loss.dtype}[${loss.shape.join(", ")}]. ` +
            "Reduce it first, e.g. tf.mean(perExampleLoss).",
        );
      }
      // The tape's tidy would free everything but the loss: keep what the loss function returns.
      for (const t of [...tensorsOf(state), ...tensorsOf(out)]) tf.keep(t);
      newLossState = state;
      aux = out;
      return (loss.rank === 0 ? loss : tf.reshape(loss, [])) as tf.Scalar;
    };
    // tf.valueAndGrads throws for a parameter the loss does not depend on; the engine's gradients
    // (what valueAndGrads calls) with allowNoGradients give undefined there instead: we use zeros.
    const { value, grads } = tf.engine().gradients(f, xs, undefined, true) as {
      value: tf.Tensor;
      grads: (tf.Tensor | undefined)[];
    };
    if (failure !== undefined) {
      value.dispose();
      for (const g of grads) g?.dispose();
      throw failure.error;
    }
    const returned = new Set<tf.Tensor>([...tensorsOf(newLossState), ...tensorsOf(aux)]);
    let newParamLeaves: unknown[] = [];
    let newOptState: unknown;
    let newOptLeaves: unknown[] = [];
    tf.tidy(() => {
      const gradLeaves = paramLeaves.map((leaf) => (isTrainableTensor(leaf) ? null : leaf));
      trainableIndices.forEach((index, k) => {
        gradLeaves[index] = grads[k] ?? tf.zerosLike(xs[k]!);
      });
      const gradTree = unflatten(paramDef, gradLeaves);
      const { updates, state } = trainState.optimizerDef.update(
        gradTree,
        trainState.optState,
        trainState.params,
      );
      const [updateLeaves] = flatten(updates);
      const next = paramLeaves.map((leaf, i) => {
        const u = updateLeaves[i];
        return isTrainableTensor(leaf) && u instanceof tf.Tensor ? tf.add(leaf, u) : leaf;
      });
      newParamLeaves = next;
      newOptState = state;
      newOptLeaves = flatten(state)[0];
      return [...next, ...newOptLeaves].filter((x): x is tf.Tensor => x instanceof tf.Tensor);
    });
    if (!returned.has(value)) value.dispose();
    for (const g of grads) if (g !== undefined && !returned.has(g)) g.dispose();
    const newParams = unflatten<Record<string, unknown>>(paramDef, newParamLeaves);
    if (donate) {
      // The leaves of the old and new parameters and of the new optimizer state are at hand: only
      // the trees not walked yet are flattened here.
      const keep = new Set<tf.Tensor>(returned);
      for (const leaves of [newParamLeaves, newOptLeaves, flatten(inputs)[0]])
        for (const leaf of leaves) if (leaf instanceof tf.Tensor) keep.add(leaf);
      for (const leaf of paramLeaves) disposeUnkept(leaf, keep);
      disposeTensors([trainState.optState, trainState.lossFnState], keep);
    }
    const next = new TrainState<M, S>({
      step: trainState.step + 1,
      rootRng: trainState.rootRng,
      params: newParams,
      modelWithoutParams: trainState.modelWithoutParams,
      optState: newOptState,
      lossFnState: newLossState,
      optimizerDef: trainState.optimizerDef,
    });
    return [next, aux];
  };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} element(s)`;
  if (value instanceof tf.Tensor)
    return `a bare tensor (${value.dtype}[${value.shape.join(", ")}])`;
  return value === null ? "null" : typeof value;
}
