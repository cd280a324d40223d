/**
 * Ownership of the tensors effects hand back. A value given to `set` or `tell` is often made
 * inside composite layers whose `tf.tidy` would free it before its handler returns; a running
 * handler therefore keeps such tensors alive until it returns, and then hands the receiver (the
 * caller of `handled.call`) tensors that are the receiver's own:
 *
 * - every tensor in a handed-back value (a new state, a collected side output) is alive, and is
 *   distinct from the handler's input, its output, the old states, the model's parameters and
 *   every other handed-back tensor, so disposing it frees nothing else;
 * - handed-back tensors behave like any tensor the call returns: made in the caller's scope, so a
 *   `tf.tidy` around the call frees them unless they are returned from it;
 * - tensors the handler kept and nobody receives (a state overwritten later in the call) are
 *   freed when the call ends, and all of them when the body throws.
 *
 * @module
 */

import { isTaping, isTracing } from "@saikei/named";
import { flatten, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { DisposedEffectValueError } from "./errors.js";

/** How many running handlers keep each tensor (a tensor can be told to nested collectors). */
const keepers = new Map<tf.Tensor, number>();

/**
 * The id the next tensor will get. Tensor ids only grow, so a tensor whose id is at least this
 * value was made after the call. tfjs exposes the counter on its engine (not in its typings); if
 * a version lacks it, a probe tensor gives the same answer.
 */
function nextTensorId(): number {
  const engine = tf.engine() as unknown as { nextTensorId?: () => number };
  if (typeof engine.nextTensorId === "function") return engine.nextTensorId();
  const probe = tf.scalar(0);
  probe.dispose();
  return probe.id + 1;
}

function disposedError(what: string): DisposedEffectValueError {
  return new DisposedEffectValueError(
    `${what} hold a tensor that was disposed before the handler returned. A layer must not ` +
      "dispose a tensor after giving it to set() or tell(): the handler hands it to its caller, who " +
      "owns it from then on. Give set()/tell() a tensor you no longer dispose (or a clone).",
  );
}

/** The parts of the tfjs engine a zero-cost handle needs (not in its typings). */
interface EngineInternals {
  readonly backend?: { incRef?: (dataId: unknown) => void };
  readonly state?: { tensorInfo?: { get(dataId: unknown): { backend?: unknown } | undefined } };
  makeTensorFromTensorInfo?: (
    info: { dataId: unknown; shape: number[]; dtype: tf.DataType },
    backend?: unknown,
  ) => tf.Tensor;
}

/**
 * A new tensor sharing `t`'s data (a second reference to the same buffer: nothing is copied).
 *
 * Eagerly it is made directly by the engine (well under a microsecond); while a gradient tape or a
 * jit trace records, it is a same-shape reshape instead, which every backend implements by adding
 * a reference to the data, and which tapes and traces record (with an identity gradient). `clone`
 * would copy the data on the wasm backend.
 */
function newHandle(t: tf.Tensor): tf.Tensor {
  if (!isTaping() && !isTracing() && t.dtype !== "string") {
    const engine = tf.engine() as unknown as EngineInternals;
    const backend = engine.backend;
    if (
      typeof backend?.incRef === "function" &&
      typeof engine.makeTensorFromTensorInfo === "function" &&
      engine.state?.tensorInfo?.get(t.dataId)?.backend === backend
    ) {
      backend.incRef(t.dataId);
      return engine.makeTensorFromTensorInfo(
        { dataId: t.dataId, shape: t.shape, dtype: t.dtype },
        backend,
      );
    }
  }
  return tf.reshape(t, t.shape);
}

function tensorLeaves(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (value === null || typeof value !== "object") return [];
  return flatten(value)[0].filter((leaf): leaf is tf.Tensor => leaf instanceof tf.Tensor);
}

/** `value` with each tensor leaf `t` replaced by `replace(t)`; `value` itself when none changes. */
function mapTensors(value: unknown, replace: (t: tf.Tensor) => tf.Tensor): unknown {
  if (value instanceof tf.Tensor) return replace(value);
  if (value === null || typeof value !== "object") return value;
  const [leaves, def] = flatten(value);
  let changed = false;
  const out = leaves.map((leaf) => {
    if (!(leaf instanceof tf.Tensor)) return leaf;
    const next = replace(leaf);
    changed ||= next !== leaf;
    return next;
  });
  return changed ? unflatten(def, out) : value;
}

/**
 * The tensors one handler call keeps for its receiver. A handler makes one at the start of a
 * call, passes it to the effect implementations it gives the body (which call {@link hold} on
 * every value given to `set` or `tell`), and ends the call with {@link handOver} or, when the body
 * throws, {@link release}.
 */
export class HandedTensors {
  readonly #firstId = nextTensorId();
  readonly #kept: tf.Tensor[] = [];
  /** Set once the call has ended: a cell a layer kept past the call then keeps nothing. */
  #ended = false;

  /**
   * Keeps the tensors of `value` that were made during the call alive past every `tf.tidy` until
   * the call ends. Tensors made before the call are not at risk (an inner tidy frees only what it
   * made), and tensors somebody else already keeps stay that keeper's.
   *
   * @returns `value` itself.
   */
  hold<T>(value: T): T {
    if (this.#ended) return value;
    for (const t of tensorLeaves(value)) {
      if (t.id < this.#firstId || t.isDisposed) continue;
      const count = keepers.get(t);
      if (count === undefined && t.kept) continue;
      keepers.set(t, (count ?? 0) + 1);
      t.kept = true;
      this.#kept.push(t);
    }
    return value;
  }

  /**
   * Runs a handler's body and ends the call: on a throw, releases what the call kept and rethrows;
   * otherwise {@link handOver}s the output and the values `handedValues` reads once the body is done.
   *
   * @example
   * const [output, [states]] = handed.runAndHandOver(() => runBody(input), () => [cell.get()], "the states");
   */
  runAndHandOver<O>(
    body: () => O,
    handedValues: () => readonly unknown[],
    what: string,
  ): [O, unknown[]] {
    let output: O;
    try {
      output = body();
    } catch (error) {
      this.release();
      throw error;
    }
    return this.handOver(output, handedValues(), what);
  }

  /**
   * Ends the call. Returns the body's `output` and the `handed` values with every tensor the
   * receiver must own replaced by a new handle on the same data (a same-shape reshape: no data is
   * copied, gradients flow through it), then frees the tensors this call kept.
   *
   * A handed tensor stays as it is only when it was made during the call, not kept by this
   * handler, and appears nowhere else in the output or the handed values; otherwise the receiver
   * gets a new handle made in the current scope.
   *
   * @param what the handed values, for the error message (e.g. "the new states of H_1a2b3").
   * @returns `[output, handed]` as the receiver gets them.
   * @throws DisposedEffectValueError when a handed value holds a disposed tensor; the tensors the
   *   call made (its output included) are freed, and nothing the caller owns is.
   */
  handOver<O>(output: O, handed: readonly unknown[], what: string): [O, unknown[]] {
    const mine = new Set(this.#kept);
    const inOutput = new Set(tensorLeaves(output));
    const given = new Set<tf.Tensor>();
    const handles: tf.Tensor[] = [];
    const fresh = (t: tf.Tensor): tf.Tensor => {
      const copy = newHandle(t);
      handles.push(copy);
      return copy;
    };
    const owned = (t: tf.Tensor): tf.Tensor => {
      if (t.isDisposed) throw disposedError(what);
      if (t.id < this.#firstId || mine.has(t) || inOutput.has(t) || given.has(t)) return fresh(t);
      given.add(t);
      return t;
    };
    try {
      const values = handed.map((value) => mapTensors(value, owned));
      const finalOutput =
        mine.size === 0 ? output : (mapTensors(output, (t) => (mine.has(t) ? fresh(t) : t)) as O);
      this.release();
      return [finalOutput, values];
    } catch (error) {
      for (const copy of handles) copy.dispose();
      this.release();
      for (const t of inOutput) if (t.id >= this.#firstId) t.dispose();
      throw error;
    }
  }

  /**
   * Stops keeping this call's tensors: each one no other running handler keeps is freed (what the
   * tidies around it would have done). Called by {@link handOver}, and by {@link runAndHandOver} when the body throws.
   */
  release(): void {
    this.#ended = true;
    for (const t of this.#kept) {
      const count = keepers.get(t)! - 1;
      if (count > 0) {
        keepers.set(t, count);
        continue;
      }
      keepers.delete(t);
      t.kept = false;
      t.dispose();
    }
    this.#kept.length = 0;
  }
}
