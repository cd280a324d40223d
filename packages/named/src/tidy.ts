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
 * fields, arrays, objects and maps, and, as `tf.tidy` does, through the properties of any other
 * object) and disposing every other intermediate tensor.
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
    return tensorsToKeep(result);
  });
  return result as T;
}

/**
 * What `tf.tidy` must keep of `result`: its tensor leaves, and the objects among its leaves that
 * are no tree nodes (instances of other classes), whose properties `tf.tidy` walks itself.
 */
function tensorsToKeep(result: unknown): tf.TensorContainer {
  if (result instanceof tf.Tensor) return result;
  const kept: tf.TensorContainer[] = [];
  for (const leaf of leaves(result)) {
    if (leaf instanceof tf.Tensor) kept.push(leaf);
    else if (typeof leaf === "object" && leaf !== null && !ArrayBuffer.isView(leaf))
      kept.push(leaf as tf.TensorContainer);
  }
  return kept;
}

/**
 * `tidy` for a kernel that returns one layout: keeps the layout's data tensor alone (its other
 * fields are axis numbers and names), without walking the result as a tree.
 *
 * @param fn the computation, returning a layout.
 * @returns what `fn` returned.
 * @example
 * tidyLayout(() => withData(x, tf.neg(x.data)));
 */
export function tidyLayout<L extends { readonly data: tf.Tensor }>(fn: () => L): L {
  let result: L | undefined;
  tf.tidy(() => {
    result = fn();
    return result.data;
  });
  return result as L;
}
