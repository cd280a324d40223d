/**
 * Memory discipline shared by every layer: a composite call runs inside `tf.tidy`, so tensors made
 * between sublayers are released and only the result survives.
 *
 * @module
 */

import { tidy } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Runs `fn` inside `tf.tidy` and returns its result, keeping every tensor reachable from it: named's
 * `tidy` (the one owner of "a tidy whose result is a tree"), under the name the layers use.
 */
export const tidyCall: <T>(fn: () => T) => T = tidy;

/** Marks every tensor reachable from `value` to survive the enclosing `tf.tidy`, and returns it. */
export function keepAll<T>(value: T): T {
  walk(value, new Set());
  return value;
}

function walk(value: unknown, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    tf.keep(value);
    return;
  }
  for (const key of Object.keys(value)) walk((value as Record<string, unknown>)[key], seen);
}
