/**
 * Finding the parameters of a model: {@link findParameters} splits out the
 * trainable ones (`Parameter` nodes, not `FrozenParameter`s, or, for a tree that has none, every
 * float32 tensor leaf).
 *
 * @module
 */

import { Parameter } from "@saikei/nn";
import { NotInThisPartition } from "@saikei/select";
import { findOutermost, type KeyPath, keystr, type Position, rewriteAt } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";

/** One trainable value found in a model. */
export interface ParameterEntry {
  /** The parameter's name (a `Parameter`'s `name`, or the `keystr` of a tensor leaf's path). */
  readonly name: string;
  /** Where it sits in the model. */
  readonly path: KeyPath;
  /** Its value (a tensor, a NamedArray or any tree of tensors). */
  readonly value: unknown;
}

const WHERE = "findParameters";

const isFloatTensor = (node: unknown): node is tf.Tensor =>
  node instanceof tf.Tensor && node.dtype === "float32";

/**
 * Splits a model into its trainable values and the model without them: `Parameter` values (or,
 * in a tree without `Parameter`s, float32 tensor leaves) are replaced by `NotInThisPartition`.
 * A `Parameter` is taken whole: parameters nested inside its value are not looked at. Subtrees
 * without a trainable value are shared with `model`.
 *
 * @param model any tree.
 * @returns `[entries, modelWithoutParams]`, entries in flatten order.
 * @throws TreeCycleError / TreeDepthError (naming `findParameters`) when the model contains itself
 *   or is nested too deeply.
 * @example
 * const [entries] = findParameters({ w: tf.zeros([2]) });
 * entries[0].name; // "['w']"
 */
export function findParameters(model: unknown): [ParameterEntry[], unknown] {
  const parameters = findOutermost<Parameter>(
    model,
    { instanceOf: Parameter },
    { operation: WHERE },
  );
  if (parameters.length > 0) {
    const entries = parameters.map(({ keyPath, value }) => ({
      name: value.name,
      path: keyPath,
      value: value.value,
    }));
    const without = rewriteAt(model, parameters, (i) =>
      parameters[i]!.value.replace({ value: new NotInThisPartition() }),
    );
    return [entries, without];
  }
  const tensors: Position<tf.Tensor>[] = findOutermost(model, isFloatTensor, { operation: WHERE });
  const entries = tensors.map(({ keyPath, value }) => ({
    name: keystr(keyPath),
    path: keyPath,
    value,
  }));
  const without = rewriteAt(model, tensors, () => new NotInThisPartition());
  return [entries, without];
}
