/**
 * Loading pretrained weights into a model by parameter name.
 *
 * @module
 */

import { wrap } from "@saikei/named";
import { Parameter, UninitializedParameter } from "@saikei/nn";
import { select } from "@saikei/select";
import type { ArraySpec } from "@saikei/shapecheck";
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
