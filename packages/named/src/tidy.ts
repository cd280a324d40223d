/**
 * `tidy`: `tf.tidy` for functions that return trees (NamedArrays, arrays, structs) instead of
 * plain tensor containers.
 *
 * @module
 */

import { leaves } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Runs `fn` inside `tf.tidy`, keeping every tensor reachable from its result (through struct
 * fields, arrays, objects and maps) and disposing every other intermediate tensor.
 *
 * @param fn the computation.
 * @returns what `fn` returned.
 * @example
 * const y = tidy(() => nx.zeros({ a: 3 }).add(1)); // only y's data tensor survives
 */
export function tidy<T>(fn: () => T): T {
  let result: T | undefined;
  tf.tidy(() => {
    result = fn();
    return leaves(result).filter((leaf): leaf is tf.Tensor => leaf instanceof tf.Tensor);
  });
  return result as T;
}
