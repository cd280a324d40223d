/**
 * Finding the parameters of a model: {@link findParameters} splits out the
 * trainable ones (`Parameter` nodes, not `FrozenParameter`s, or, for a tree that has none, every
 * float32 tensor leaf).
 *
 * @module
 */

import { Parameter } from "@saikei/nn";
import { NotInThisPartition } from "@saikei/select";
import { flattenWithPath, type KeyPath, keystr, mapWithPath, options } from "@saikei/struct";
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

const isTrainable = (node: unknown): node is Parameter => node instanceof Parameter;

/**
 * Splits a model into its trainable values and the model without them: `Parameter` values (or,
 * in a tree without `Parameter`s, float32 tensor leaves) are replaced by `NotInThisPartition`.
 *
 * @param model any tree.
 * @returns `[entries, modelWithoutParams]`, entries in flatten order.
 * @example
 * const [entries] = findParameters({ w: tf.zeros([2]) });
 * entries[0].name; // "['w']"
 */
export function findParameters(model: unknown): [ParameterEntry[], unknown] {
  const [nodes] = flattenWithPath(model, isTrainable);
  const parameters = nodes.filter(([, node]) => isTrainable(node));
  if (parameters.length > 0) {
    const entries = parameters.map(([path, node]) => {
      const p = node as Parameter;
      return { name: p.name, path, value: p.value };
    });
    const without = mapWithPath(
      (_path, node) =>
        isTrainable(node) ? node.replace({ value: new NotInThisPartition() }) : node,
      model,
      options({ isLeaf: isTrainable }),
    );
    return [entries, without];
  }
  const entries: ParameterEntry[] = [];
  for (const [path, leaf] of nodes) {
    if (leaf instanceof tf.Tensor && leaf.dtype === "float32") {
      entries.push({ name: keystr(path), path, value: leaf });
    }
  }
  const without = mapWithPath(
    (_path, leaf) =>
      leaf instanceof tf.Tensor && leaf.dtype === "float32" ? new NotInThisPartition() : leaf,
    model,
  );
  return [entries, without];
}
