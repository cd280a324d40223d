/**
 * Checkpoints keyed by parameter name: `saveParameters` writes each `Parameter` /
 * `FrozenParameter` value under its name, and `loadParameters` fills the parameters of a model
 * (initialized or not) from such a file, or from a PyTorch file whose tensor names are the
 * parameter names. Unlike {@link saveSafetensors}, names do not depend on where a parameter sits
 * in the model, so a checkpoint survives refactoring the model's structure.
 *
 * @module
 */

import { isNamedArray, type NamedArrayBase, nx } from "@saikei/named";
import { FrozenParameter, Parameter, UninitializedParameter } from "@saikei/nn";
import { ArraySpec } from "@saikei/shapecheck";
import { className, flatten, map, options as treeOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  NAMED_AXES_METADATA_KEY,
  readNamedAxes,
  SafetensorsMissingTensorError,
  SafetensorsTemplateMismatchError,
  SafetensorsUnexpectedTensorError,
} from "./safetensors.js";
import {
  parseSafetensorsWithMetadata,
  type SafetensorsMetadata,
  serializeSafetensors,
} from "./safetensorsFormat.js";

type AnyParameter = Parameter | FrozenParameter | UninitializedParameter;

function isAnyParameter(node: unknown): node is AnyParameter {
  return (
    node instanceof Parameter ||
    node instanceof FrozenParameter ||
    node instanceof UninitializedParameter
  );
}

/**
 * Saves every `Parameter` and `FrozenParameter` of a model under its name. A NamedArray value is
 * stored as its data tensor, its axis names recorded in the metadata; a plain tensor as itself.
 *
 * @param model a model with initialized parameters.
 * @param options `metadata` to add.
 * @returns the safetensors bytes.
 * @throws SafetensorsTemplateMismatchError for a parameter whose value is not a tensor or NamedArray.
 * @example
 * writeFileSync("ckpt.safetensors", saveParameters(model));
 */
export function saveParameters(
  model: unknown,
  options: { metadata?: SafetensorsMetadata } = {},
): Uint8Array {
  const tensors = new Map<string, tf.Tensor>();
  const axes: Record<string, readonly string[]> = {};
  for (const node of flatten(model, (x) => isAnyParameter(x))[0]) {
    if (!(node instanceof Parameter || node instanceof FrozenParameter)) continue;
    const value = node.value as unknown;
    if (value instanceof tf.Tensor) tensors.set(node.name, value);
    else if (isNamedArray(value) && value.positionalShape.length === 0) {
      const ordered = value.dataArray;
      tensors.set(node.name, ordered);
      axes[node.name] = Object.keys(value.namedShape);
    } else {
      throw new SafetensorsTemplateMismatchError(
        `saveParameters: parameter ${JSON.stringify(node.name)} holds ${describe(value)}; only tensors and ` +
          "NamedArrays without positional axes can be saved by name. Save the tree with saveSafetensors instead.",
      );
    }
  }
  const metadata: SafetensorsMetadata = { ...options.metadata };
  if (Object.keys(axes).length > 0) metadata[NAMED_AXES_METADATA_KEY] = JSON.stringify(axes);
  return serializeSafetensors(tensors, metadata);
}

function describe(value: unknown): string {
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor`;
  if (value === null || typeof value !== "object") return String(value);
  return `a ${className((value as object).constructor) || "value"}`;
}

/** The named shape and dtype a parameter's value must have. */
function expectedOf(node: AnyParameter): {
  names: string[];
  sizes: number[];
  dtype: string;
  named: boolean;
} {
  if (node instanceof UninitializedParameter) {
    const spec = node.valueStructure;
    if (spec instanceof ArraySpec && spec.shape.length === 0) {
      const named = spec.namedShape as Record<string, number>;
      return {
        names: Object.keys(named),
        sizes: Object.values(named),
        dtype: String(spec.dtype),
        named: true,
      };
    }
    throw new SafetensorsTemplateMismatchError(
      `loadParameters: parameter ${JSON.stringify(node.name)} declares a value structure that is not a single ` +
        "ArraySpec with named axes only; load it with loadSafetensors into an initialized model instead.",
    );
  }
  const value = node.value as unknown;
  if (value instanceof tf.Tensor)
    return { names: [], sizes: value.shape, dtype: value.dtype, named: false };
  if (isNamedArray(value) && value.positionalShape.length === 0) {
    return {
      names: Object.keys(value.namedShape),
      sizes: Object.values(value.namedShape),
      dtype: value.dtype,
      named: true,
    };
  }
  throw new SafetensorsTemplateMismatchError(
    `loadParameters: parameter ${JSON.stringify(node.name)} holds ${describe(value)}; only tensors and NamedArrays ` +
      "without positional axes can be loaded by name.",
  );
}

/**
 * Fills every `Parameter`, `FrozenParameter` and `UninitializedParameter` of `model` from a file
 * keyed by parameter name (written by {@link saveParameters}, or by PyTorch with matching names).
 * Axis names come from the file's metadata when it has them, else from the parameter's own named
 * shape in order; sizes must match. Uninitialized parameters become `Parameter`s. Either every
 * parameter loads or nothing stays allocated.
 *
 * @param bytes the safetensors file.
 * @param model the model (its existing tensors are not disposed).
 * @param options `strict` (default true) rejects tensors no parameter is named after.
 * @returns the model with loaded parameters.
 * @throws SafetensorsMissingTensorError, SafetensorsTemplateMismatchError,
 *   SafetensorsUnexpectedTensorError, or a malformed-file {@link SafetensorsError}.
 * @example
 * const model = loadParameters(readFileSync("ckpt.safetensors"), buildModel()); // no initializeParameters needed
 */
export function loadParameters<T>(
  bytes: Uint8Array,
  model: T,
  options: { strict?: boolean } = {},
): T {
  const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
  const all = Object.values(tensors);
  try {
    const savedAxes = readNamedAxes(metadata) as Record<string, string[]>;
    const used = new Set<string>();
    const loaded = map<T>(
      (node: unknown) => {
        if (!isAnyParameter(node)) return node;
        const name = node.name;
        if (!Object.hasOwn(tensors, name)) {
          throw new SafetensorsMissingTensorError(
            `loadParameters: the file has no tensor named ${JSON.stringify(name)} for the ${className(node.constructor)} of ` +
              "that name. Check the parameter names (parameterNames(model)) against the file's tensor names.",
          );
        }
        const tensor = tensors[name]!;
        const expected = expectedOf(node);
        const axes = savedAxes[name] ?? expected.names;
        const sizeOf = (axis: string) => tensor.shape[axes.indexOf(axis)];
        const ok = expected.named
          ? axes.length === tensor.rank &&
            expected.names.length === axes.length &&
            expected.names.every((axis, i) => sizeOf(axis) === expected.sizes[i])
          : tensor.rank === expected.sizes.length &&
            tensor.shape.every((d, i) => d === expected.sizes[i]);
        const concreteDtype = ["float32", "int32", "bool"].includes(expected.dtype);
        if (!ok || (concreteDtype && expected.dtype !== tensor.dtype)) {
          throw new SafetensorsTemplateMismatchError(
            `loadParameters: parameter ${JSON.stringify(name)} expects ${expected.dtype} ` +
              `${expected.named ? `{${expected.names.map((n, i) => `${n}: ${expected.sizes[i]}`).join(", ")}}` : `[${expected.sizes.join(", ")}]`}, ` +
              `but the file has ${tensor.dtype}[${tensor.shape.join(", ")}]${savedAxes[name] ? ` with axes (${axes.join(", ")})` : ""}.`,
          );
        }
        used.add(name);
        const value: tf.Tensor | NamedArrayBase = expected.named
          ? nx.wrap(tensor, ...axes)
          : tensor;
        if (node instanceof FrozenParameter) return new FrozenParameter({ value, name });
        return new Parameter({ value, name });
      },
      model,
      treeOptions({ isLeaf: (x) => isAnyParameter(x) }),
    );
    if ((options.strict ?? true) && used.size !== all.length) {
      const extra = Object.keys(tensors).filter((n) => !used.has(n));
      throw new SafetensorsUnexpectedTensorError(
        `loadParameters: the file has ${extra.length} tensor(s) no parameter is named after: ` +
          `${extra
            .slice(0, 10)
            .map((n) => JSON.stringify(n))
            .join(", ")}. Pass { strict: false } to ignore them.`,
      );
    }
    for (const [name, t] of Object.entries(tensors)) if (!used.has(name)) t.dispose();
    return loaded;
  } catch (error) {
    for (const t of all) t.dispose();
    throw error;
  }
}
