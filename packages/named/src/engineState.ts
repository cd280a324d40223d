/**
 * What the tensor engine is doing right now, read by code with host-side fast paths (paths that
 * read tensor data back and build new tensors, which neither tfjs's gradient tape nor a `jit`
 * trace can follow). One module owns this state so that the lowering code and the jit compiler
 * both read it without importing each other.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

let tracingDepth = 0;

/**
 * Whether a `jit` trace is being recorded. Code with host-side fast paths takes its tensor-only
 * path while this is true, so the trace stays replayable.
 *
 * @example
 * isTracing(); // false outside jit; true inside a function while jit traces it
 */
export function isTracing(): boolean {
  return tracingDepth > 0;
}

/**
 * Whether tfjs is recording operations for gradients (inside `tf.grad`, `tf.valueAndGrads`, ...).
 * Host-side fast paths are invisible to the tape, so they are skipped while it records.
 *
 * @example
 * isTaping(); // false; inside tf.grad((x) => ...) it is true
 */
export function isTaping(): boolean {
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn === "function" && engine.isTapeOn();
}

/** Runs `body` with {@link isTracing} true (the jit compiler's recording pass). */
export function whileTracing<T>(body: () => T): T {
  tracingDepth++;
  try {
    return body();
  } finally {
    tracingDepth--;
  }
}
