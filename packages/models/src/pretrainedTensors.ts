/**
 * Converting between checkpoint tensors (Hugging Face names, shapes and memory layouts) and the
 * parameter values of a {@link TransformerLM} (named axes), one tensor at a time, following a
 * {@link TensorMapping}. Both directions only reshape, slice, concatenate and transpose, so a
 * value survives the round trip bit for bit.
 *
 * @module
 */

import { type NamedArrayBase, nx } from "@saikei/named";
import { type AnyParameter, isAnyParameter, UninitializedParameter } from "@saikei/nn";
import type { ArraySpec } from "@saikei/shapecheck";
import { bugInSaikei, findOutermost } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { PretrainedError } from "./errors.js";
import type { TensorMapping } from "./pretrainedArchitectures.js";

/** The axis names of every parameter of a model, in the order of its named shape, by parameter name. */
export function parameterAxisOrders(model: unknown): Map<string, string[]> {
  const orders = new Map<string, string[]>();
  for (const { value: node } of findOutermost<AnyParameter>(model, isAnyParameter)) {
    const shape =
      node instanceof UninitializedParameter
        ? (node.valueStructure as ArraySpec).namedShape
        : (node.value as NamedArrayBase).namedShape;
    orders.set(node.name, Object.keys(shape as Record<string, number>));
  }
  return orders;
}

/** The parameter values of an initialized model, by parameter name. */
export function parameterValues(model: unknown, where: string): Map<string, NamedArrayBase> {
  const values = new Map<string, NamedArrayBase>();
  for (const { value: node } of findOutermost<AnyParameter>(model, isAnyParameter, {
    operation: where,
  })) {
    if (node instanceof UninitializedParameter) {
      throw new PretrainedError(
        `${where}: parameter ${JSON.stringify(node.name)} is uninitialized, so there is nothing to save. ` +
          "Initialize the model (initializeParameters) or load it before saving.",
      );
    }
    values.set(node.name, node.value as NamedArrayBase);
  }
  return values;
}

const product = (sizes: readonly number[]) => sizes.reduce((a, b) => a * b, 1);

/**
 * The parameter tensors a checkpoint tensor holds, each laid out in its parameter's axis order
 * (`orders`). The stored tensor is not disposed; the returned tensors are new.
 */
export function parametersFromCheckpoint(
  mapping: TensorMapping,
  stored: tf.Tensor,
  orders: ReadonlyMap<string, readonly string[]>,
): [string, tf.Tensor][] {
  return tf.tidy(() => {
    const pieces = splitParts(mapping, stored);
    const out: [string, tf.Tensor][] = [];
    mapping.parts.forEach((part, i) => {
      const names = Object.keys(part.axes);
      const order = orders.get(part.parameter);
      if (
        order === undefined ||
        order.length !== names.length ||
        !names.every((n) => order.includes(n))
      ) {
        throw bugInSaikei(
          "parametersFromCheckpoint",
          `the mapping of ${mapping.name} gives parameter ${part.parameter} axes that the model does not have`,
          { axes: names, model: order },
        );
      }
      const viewed = nx.wrap(tf.reshape(pieces[i]!, Object.values(part.axes)), ...names);
      out.push([part.parameter, viewed.unwrap(...order)]);
    });
    return out;
  }) as [string, tf.Tensor][];
}

function splitParts(mapping: TensorMapping, stored: tf.Tensor): tf.Tensor[] {
  if (mapping.parts.length === 1) return [stored];
  const axis = mapping.splitAxis;
  if (axis === undefined) {
    throw bugInSaikei(
      "splitParts",
      `the mapping of ${mapping.name} has several parts but no splitAxis`,
      mapping,
    );
  }
  const sizes = mapping.parts.map(
    (p) => product(Object.values(p.axes)) / product(mapping.shape.filter((_, a) => a !== axis)),
  );
  return tf.split(stored, sizes, axis);
}

/**
 * The checkpoint tensor for `mapping`, assembled from the model's parameter values: each part
 * transposed into the checkpoint's memory order, reshaped, and concatenated along `splitAxis`.
 * The returned tensor is new; the values are not disposed.
 */
export function checkpointFromParameters(
  mapping: TensorMapping,
  values: ReadonlyMap<string, NamedArrayBase>,
): tf.Tensor {
  return tf.tidy(() => {
    const axis = mapping.splitAxis ?? 0;
    const pieces = mapping.parts.map((part) => {
      const value = values.get(part.parameter);
      if (value === undefined) {
        throw bugInSaikei(
          "checkpointFromParameters",
          `the model has no parameter ${part.parameter}`,
          mapping.name,
        );
      }
      const data = value.unwrap(...Object.keys(part.axes));
      const shape = mapping.shape.slice();
      if (mapping.parts.length > 1)
        shape[axis] =
          product(Object.values(part.axes)) / product(mapping.shape.filter((_, a) => a !== axis));
      return tf.reshape(data, shape);
    });
    return pieces.length === 1 ? tf.clone(pieces[0]!) : tf.concat(pieces, axis);
  });
}
