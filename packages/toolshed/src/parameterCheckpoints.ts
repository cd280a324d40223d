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
import {
  className,
  flattenWithPath,
  type KeyPath,
  keystr,
  map,
  options as treeOptions,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  type AxisLabel,
  arrangeAsTemplate,
  axisLabelsOf,
  encodeNamedAxes,
  formatLabels,
  NAMED_AXES_METADATA_KEY,
  readNamedAxes,
  SafetensorsTemplateMismatchError,
} from "./namedAxes.js";
import {
  SafetensorsDuplicateNameError,
  SafetensorsMissingTensorError,
  SafetensorsUnexpectedTensorError,
} from "./safetensors.js";
import {
  checkMetadata,
  parseSafetensorsWithMetadata,
  SafetensorsInvalidMetadataError,
  SafetensorsInvalidNameError,
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
 * Every parameter of a model with its path, after checking that names are non-empty strings and
 * distinct: two parameters of one name would silently share one tensor when loading, and one of
 * them would be lost when saving.
 */
function namedParameters(
  model: unknown,
  what: string,
  include: (node: AnyParameter) => boolean,
): [KeyPath, AnyParameter][] {
  const found: [KeyPath, AnyParameter][] = [];
  const seen = new Map<string, KeyPath>();
  const at = (path: KeyPath) => keystr(path) || "the root";
  for (const [path, node] of flattenWithPath(model, (x) => isAnyParameter(x))[0]) {
    if (!isAnyParameter(node) || !include(node)) continue;
    const name = node.name as unknown;
    if (typeof name !== "string" || name === "") {
      throw new SafetensorsInvalidNameError(
        `${what}: the ${className(node.constructor)} at ${at(path)} has ${name === "" ? "an empty name" : `the name ${String(name)}`}; ` +
          "checkpoints are keyed by parameter name, so every parameter needs a non-empty one. " +
          'Name it (e.g. Linear.fromConfig(..., { name: "proj" })) or prefix a sublayer with addParameterPrefix.',
      );
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw new SafetensorsDuplicateNameError(
        `${what}: the parameters at ${at(previous)} and ${at(path)} are both named ${JSON.stringify(name)}, ` +
          "so a checkpoint keyed by name cannot tell them apart. Give them distinct names, for example with " +
          'addParameterPrefix("block0", layer); to save or load by position instead, use saveSafetensors / loadSafetensors.',
      );
    }
    seen.set(name, path);
    found.push([path, node]);
  }
  return found;
}

/**
 * Saves every `Parameter` and `FrozenParameter` of a model under its name. A NamedArray value is
 * stored as its data tensor, its axis names recorded in the metadata; a plain tensor as itself.
 * To write the bytes to a file safely, use `saveParametersFile` from `@saikei/toolshed/node`.
 *
 * @param model a model with initialized parameters.
 * @param options `metadata` to add (string values).
 * @returns the safetensors bytes.
 * @throws SafetensorsTemplateMismatchError for a parameter whose value is not a tensor or NamedArray;
 *   SafetensorsDuplicateNameError when two parameters share a name; SafetensorsInvalidNameError
 *   for an empty name; SafetensorsInvalidMetadataError for metadata that is not string pairs.
 * @example
 * const bytes = saveParameters(model);
 * readSafetensorsHeader(bytes).entries.map((e) => e.name); // ["first.weights", ...]
 */
export function saveParameters(
  model: unknown,
  options: { metadata?: SafetensorsMetadata } = {},
): Uint8Array {
  const metadata = checkMetadata(options.metadata, "saveParameters");
  if (Object.hasOwn(metadata, NAMED_AXES_METADATA_KEY)) {
    throw new SafetensorsInvalidMetadataError(
      `saveParameters: the metadata key ${JSON.stringify(NAMED_AXES_METADATA_KEY)} is reserved for the ` +
        "parameters' axis names. Store your value under another key.",
    );
  }
  const tensors = new Map<string, tf.Tensor>();
  const axes = new Map<string, readonly AxisLabel[]>();
  const saved = (node: AnyParameter) => !(node instanceof UninitializedParameter);
  for (const [, node] of namedParameters(model, "saveParameters", saved)) {
    const value = node.value as unknown;
    if (value instanceof tf.Tensor) tensors.set(node.name, value);
    else if (isNamedArray(value) && value.positionalShape.length === 0) {
      tensors.set(node.name, value.dataArray);
      axes.set(node.name, axisLabelsOf(value));
    } else {
      throw new SafetensorsTemplateMismatchError(
        `saveParameters: parameter ${JSON.stringify(node.name)} holds ${describe(value)}; only tensors and ` +
          "NamedArrays without positional axes can be saved by name. Save the tree with saveSafetensors instead.",
      );
    }
  }
  if (axes.size > 0) metadata[NAMED_AXES_METADATA_KEY] = encodeNamedAxes(axes);
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
 * When the file records axis names (as {@link saveParameters} does), axes are matched by name and
 * the tensor is transposed into the order of the parameter's named shape; without them (PyTorch),
 * the file's axes are taken in that order. Sizes must match. Uninitialized parameters become
 * `Parameter`s. Names are ordinary strings (`"constructor"` or `"__proto__"` work like any other).
 * Either every parameter loads or nothing changes and nothing stays allocated.
 *
 * @param bytes the safetensors file.
 * @param model the model (its existing tensors are not disposed).
 * @param options `strict` (default true) rejects tensors no parameter is named after.
 * @returns the model with loaded parameters.
 * @throws SafetensorsMissingTensorError, SafetensorsTemplateMismatchError,
 *   SafetensorsUnexpectedTensorError, SafetensorsDuplicateNameError (two parameters of one name),
 *   SafetensorsInvalidNameError (an empty name), or a malformed-file {@link SafetensorsError}.
 * @example
 * const model = loadParameters(saveParameters(trained), buildModel()); // no initializeParameters needed
 */
export function loadParameters<T>(
  bytes: Uint8Array,
  model: T,
  options: { strict?: boolean } = {},
): T {
  namedParameters(model, "loadParameters", () => true);
  const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
  const all = Object.values(tensors);
  const transposed: tf.Tensor[] = [];
  try {
    const savedAxes = readNamedAxes(metadata);
    const used = new Map<string, tf.Tensor>(); // name → the tensor the loaded parameter holds
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
        const stored = tensors[name]!;
        const expected = expectedOf(node);
        const storedAxes = savedAxes.get(name);
        const at = `loadParameters: parameter ${JSON.stringify(name)}`;
        let tensor = stored;
        if (expected.named) {
          tensor = arrangeAsTemplate(stored, storedAxes, expected.names, at);
          if (tensor !== stored) transposed.push(tensor);
        }
        const shapeOk =
          tensor.rank === expected.sizes.length &&
          tensor.shape.every((d, i) => d === expected.sizes[i]);
        const concreteDtype = ["float32", "int32", "bool"].includes(expected.dtype);
        if (!shapeOk || (concreteDtype && expected.dtype !== tensor.dtype)) {
          throw new SafetensorsTemplateMismatchError(
            `${at} expects ${expected.dtype} ` +
              `${expected.named ? `{${expected.names.map((n, i) => `${n}: ${expected.sizes[i]}`).join(", ")}}` : `[${expected.sizes.join(", ")}]`}, ` +
              `but the file has ${stored.dtype}[${stored.shape.join(", ")}]${storedAxes ? ` with axes ${formatLabels(storedAxes)}` : ""}. ` +
              "Build the model with the configuration the checkpoint was saved from.",
          );
        }
        used.set(name, tensor);
        const value: tf.Tensor | NamedArrayBase = expected.named
          ? nx.wrap(tensor, ...expected.names)
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
    const kept = new Set(used.values());
    for (const t of all) if (!kept.has(t)) t.dispose();
    return loaded;
  } catch (error) {
    tf.dispose([...all, ...transposed]);
    throw error;
  }
}
