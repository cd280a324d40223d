/**
 * Loading pretrained weights into a model by parameter name.
 *
 * @module
 */

import { isNamedArray, type NamedArrayBase, wrap } from "@saikei/named";
import { Parameter, UninitializedParameter } from "@saikei/nn";
import { select } from "@saikei/select";
import type { ArraySpec } from "@saikei/shapecheck";
import type { DictKey } from "@saikei/struct";
import { saveSafetensors } from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";

/** Raised when the given tensors do not fit the model's parameters. */
export class WeightLoadingError extends Error {
  override name = "WeightLoadingError";
}

/** Options of {@link loadParametersByName}. */
export interface LoadParametersOptions {
  /** Reject tensors that no parameter uses (default true). */
  strict?: boolean;
}

/**
 * Fills every `UninitializedParameter` (and replaces every `Parameter`) of `model` with the tensor
 * of the same name. Each tensor's axes are taken in the order of the parameter's named shape (its
 * `valueStructure`), as `saveSafetensors` and the PyTorch fixture scripts write them. The model keeps
 * the given tensors (they are not copied): do not dispose them while the model is in use.
 *
 * @throws WeightLoadingError listing missing names, unused names (when strict) and shape mismatches;
 *   nothing is changed then.
 * @example
 * const model = loadParametersByName(TransformerLM.fromConfig(config), parseSafetensors(bytes));
 */
export function loadParametersByName<T>(
  model: T,
  tensors: Readonly<Record<string, tf.Tensor>>,
  options: LoadParametersOptions = {},
): T {
  const selection = select(model).atSubtreesWhere(
    (node) => node instanceof UninitializedParameter || node instanceof Parameter,
  );
  const params = selection.getSequence() as (UninitializedParameter | Parameter)[];
  const problems: string[] = [];
  const used = new Set<string>();
  const replacements: Parameter[] = [];
  for (const param of params) {
    const tensor = tensors[param.name];
    if (tensor === undefined) {
      problems.push(`missing tensor for parameter "${param.name}"`);
      continue;
    }
    used.add(param.name);
    const spec = param.valueStructure as ArraySpec;
    const names = Object.keys(spec.namedShape);
    const sizes = names.map((n) => (spec.namedShape as Record<string, unknown>)[n]);
    if (tensor.shape.length !== names.length || tensor.shape.some((s, i) => s !== sizes[i])) {
      problems.push(
        `parameter "${param.name}" has named shape ${JSON.stringify(spec.namedShape)} but the tensor has shape [${tensor.shape.join(", ")}]`,
      );
      continue;
    }
    replacements.push(new Parameter({ value: wrap(tensor, ...names), name: param.name }));
  }
  if (options.strict !== false) {
    for (const name of Object.keys(tensors)) {
      if (!used.has(name)) problems.push(`tensor "${name}" matches no parameter`);
    }
  }
  if (problems.length > 0) {
    throw new WeightLoadingError(
      `Cannot load ${Object.keys(tensors).length} tensors into ${params.length} parameters:\n  ${problems.join("\n  ")}\n` +
        "Tensors are matched to parameters by name (see parameterNames(model)); pass { strict: false } to ignore extra tensors.",
    );
  }
  return selection.setSequence(replacements) as T;
}

/**
 * Serializes every `Parameter` of `model` to safetensors bytes keyed by parameter name, each
 * tensor's axes in the order of the parameter's named shape, so that {@link loadParametersByName}
 * (after `parseSafetensors`) loads it back into a freshly built model.
 *
 * @throws WeightLoadingError when a parameter is not a named array or two parameters share a name.
 * @example
 * writeFileSync("checkpoint.safetensors", saveParametersByName(model));
 */
export function saveParametersByName(model: unknown): Uint8Array {
  const params = select(model)
    .atSubtreesWhere((node) => node instanceof Parameter)
    .getSequence() as Parameter[];
  const tensors: Record<string, tf.Tensor> = {};
  const created: tf.Tensor[] = [];
  try {
    for (const param of params) {
      if (Object.hasOwn(tensors, param.name)) {
        throw new WeightLoadingError(
          `saveParametersByName: two parameters are named "${param.name}"; give them distinct names with addParameterPrefix.`,
        );
      }
      const value = param.value as NamedArrayBase;
      if (!isNamedArray(value)) {
        throw new WeightLoadingError(
          `saveParametersByName: parameter "${param.name}" does not hold a named array.`,
        );
      }
      const names = Object.keys(value.namedShape);
      const ordered = value.orderAs(...names).dataArray;
      if (ordered !== value.dataArray) created.push(ordered);
      tensors[param.name] = ordered;
    }
    return saveSafetensors(tensors, { nameOf: (path) => String((path[0] as DictKey).key) });
  } finally {
    tf.dispose(created);
  }
}
