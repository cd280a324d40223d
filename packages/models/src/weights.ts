/**
 * Loading pretrained weights into a model by parameter name.
 *
 * @module
 */

import { isNamedArray, wrap } from "@saikei/named";
import { Parameter, UninitializedParameter } from "@saikei/nn";
import { select } from "@saikei/select";
import type { ArraySpec } from "@saikei/shapecheck";
import {
  type AxisLabel,
  encodeNamedAxes,
  NAMED_AXES_METADATA_KEY,
  serializeSafetensors,
} from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Raised when the given tensors do not fit the model's parameters, or when the model's parameter
 * names cannot key a checkpoint (an empty name, or two parameters of one name).
 */
export class WeightLoadingError extends Error {
  override name = "WeightLoadingError";
}

/**
 * The problems with a model's parameter names as checkpoint keys: empty names, and names that two
 * parameters share (loading would make them share one tensor; saving would keep only one).
 */
function parameterNameProblems(names: readonly unknown[]): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const name of names) {
    if (typeof name !== "string" || name === "") {
      problems.push(
        `a parameter has ${name === "" ? "an empty name" : `the name ${String(name)}`}; name it (or prefix its layer with addParameterPrefix)`,
      );
      continue;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, count] of counts) {
    if (count > 1) {
      problems.push(
        `${count} parameters are named ${JSON.stringify(name)}; give them distinct names with addParameterPrefix`,
      );
    }
  }
  return problems;
}

/** Options of {@link loadParametersByName}. */
export interface LoadParametersOptions {
  /** Reject tensors that no parameter uses (default true). */
  strict?: boolean;
}

/**
 * Fills every `UninitializedParameter` (and replaces every `Parameter`) of `model` with the tensor
 * of the same name. Each tensor's axes are taken in the order of the parameter's named shape (its
 * `valueStructure`), as {@link saveParametersByName} and the PyTorch fixture scripts write them. The
 * model keeps the given tensors (they are not copied): do not dispose them while the model is in use.
 * Names are ordinary strings: `"constructor"` or `"__proto__"` work like any other.
 *
 * @throws WeightLoadingError listing missing names, unused names (when strict), shape mismatches,
 *   empty parameter names and names two parameters share; nothing is changed then.
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
  const problems = parameterNameProblems(params.map((p) => p.name));
  const used = new Set<string>();
  const replacements: Parameter[] = [];
  for (const param of params) {
    const tensor = Object.hasOwn(tensors, param.name) ? tensors[param.name] : undefined;
    if (!(tensor instanceof tf.Tensor)) {
      problems.push(
        tensor === undefined
          ? `missing tensor for parameter ${JSON.stringify(param.name)}`
          : `the value for parameter ${JSON.stringify(param.name)} is not a tf.Tensor`,
      );
      continue;
    }
    used.add(param.name);
    const spec = param.valueStructure as ArraySpec;
    const names = Object.keys(spec.namedShape);
    const sizes = names.map((n) => (spec.namedShape as Record<string, unknown>)[n]);
    if (tensor.shape.length !== names.length || tensor.shape.some((s, i) => s !== sizes[i])) {
      problems.push(
        `parameter ${JSON.stringify(param.name)} has named shape ${JSON.stringify(spec.namedShape)} but the tensor has shape [${tensor.shape.join(", ")}]`,
      );
      continue;
    }
    replacements.push(new Parameter({ value: wrap(tensor, ...names), name: param.name }));
  }
  if (options.strict !== false) {
    for (const name of Object.keys(tensors)) {
      if (!used.has(name)) problems.push(`tensor ${JSON.stringify(name)} matches no parameter`);
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
 * (after `parseSafetensors`) loads it back into a freshly built model. The axis names are also
 * recorded in the file's metadata, so `loadParameters` from `@saikei/toolshed` matches them by
 * name. In Node, write the bytes with `writeFileAtomic` from `@saikei/toolshed/node`.
 *
 * @throws WeightLoadingError when a parameter is not a named array without positional axes, a
 *   name is empty, or two parameters share a name; nothing is allocated then.
 * @example
 * const bytes = saveParametersByName(model);
 * loadParametersByName(TransformerLM.fromConfig(config), parseSafetensors(bytes));
 */
export function saveParametersByName(model: unknown): Uint8Array {
  const params = select(model)
    .atSubtreesWhere((node) => node instanceof Parameter)
    .getSequence() as Parameter[];
  const problems = parameterNameProblems(params.map((p) => p.name));
  if (problems.length > 0) {
    throw new WeightLoadingError(
      `saveParametersByName: the parameter names cannot key a checkpoint:\n  ${problems.join("\n  ")}`,
    );
  }
  const tensors = new Map<string, tf.Tensor>();
  const axes = new Map<string, readonly AxisLabel[]>();
  const created: tf.Tensor[] = [];
  try {
    for (const param of params) {
      const value = param.value as unknown;
      if (!isNamedArray(value) || value.positionalShape.length > 0) {
        throw new WeightLoadingError(
          `saveParametersByName: parameter ${JSON.stringify(param.name)} does not hold a named array with ` +
            "named axes only; save such a model with saveParameters or saveSafetensors from @saikei/toolshed.",
        );
      }
      const names = Object.keys(value.namedShape);
      const ordered = value.orderAs(...names).dataArray;
      if (ordered !== value.dataArray) created.push(ordered);
      tensors.set(param.name, ordered);
      axes.set(param.name, names);
    }
    const metadata = new Map<string, string>();
    if (axes.size > 0) metadata.set(NAMED_AXES_METADATA_KEY, encodeNamedAxes(axes));
    return serializeSafetensors(tensors, metadata);
  } finally {
    tf.dispose(created);
  }
}
