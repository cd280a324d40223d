/**
 * Checkpoints keyed by parameter name, the one way saikei saves and loads parameters by name:
 * `saveParameters` writes each `Parameter` (and `FrozenParameter`) value under its name, and
 * `loadParameters` fills the parameters of a model (initialized or not) from such a file, from a
 * PyTorch file whose tensor names are the parameter names, or from tensors already keyed by name.
 * Unlike {@link saveSafetensors}, names do not depend on where a parameter sits in the model, so a
 * checkpoint survives refactoring the model's structure.
 *
 * @module
 */

import { isNamedArray, type NamedArrayBase, nx } from "@saikei/named";
import {
  type AnyParameter,
  DuplicateParameterError,
  FrozenParameter,
  isAnyParameter,
  Parameter,
  UninitializedParameter,
} from "@saikei/nn";
import { ArraySpec } from "@saikei/shapecheck";
import {
  checkOptions,
  className,
  findOutermost,
  type KeyPath,
  keystr,
  rewriteOutermost,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  SafetensorsError,
  SafetensorsInvalidMetadataError,
  SafetensorsInvalidNameError,
  SafetensorsMissingTensorError,
  SafetensorsTemplateMismatchError,
  SafetensorsUnexpectedTensorError,
} from "./errors.js";
import {
  type AxisLabel,
  arrangeAsTemplate,
  axisLabelsOf,
  encodeNamedAxes,
  formatLabels,
  NAMED_AXES_METADATA_KEY,
  readNamedAxes,
} from "./namedAxes.js";
import {
  checkMetadata,
  parseSafetensorsWithMetadata,
  type SafetensorsMetadata,
  serializeSafetensors,
} from "./safetensorsFormat.js";

/** Options for {@link saveParameters}. */
export interface SaveParametersOptions {
  /** Extra `__metadata__` string pairs (values must be strings: `{ step: "300" }`). */
  metadata?: SafetensorsMetadata;
  /**
   * Whether `FrozenParameter`s are saved too (default `true`). With `false` only the trainable
   * `Parameter`s are written, e.g. to keep a fine-tuned adapter apart from the frozen base model.
   */
  frozen?: boolean;
}

/** Options for {@link loadParameters}. */
export interface LoadParametersOptions {
  /**
   * Whether names must match exactly (default `true`): every loaded parameter needs a tensor of
   * its name, and every tensor a parameter. With `false`, parameters without a tensor keep their
   * value (an `UninitializedParameter` stays uninitialized) and tensors no parameter is named
   * after are ignored. Shapes, dtypes and axis names are checked either way.
   */
  strict?: boolean;
  /**
   * Whether `FrozenParameter`s are loaded too (default `true`). With `false` they keep their
   * value, and tensors named after them are neither loaded nor counted as unexpected.
   */
  frozen?: boolean;
}

/** Tensors keyed by parameter name, as {@link parseSafetensors} returns them. */
export type TensorsByName = Readonly<Record<string, tf.Tensor>>;

/**
 * The parameters of a model that `include` accepts, with their paths, after checking that their
 * names are non-empty strings and distinct: two parameters of one name would silently share one
 * tensor when loading, and one of them would be lost when saving.
 */
function namedParameters(
  model: unknown,
  what: string,
  include: (node: AnyParameter) => boolean,
): [KeyPath, AnyParameter][] {
  const found: [KeyPath, AnyParameter][] = [];
  const seen = new Map<string, KeyPath>();
  const at = (path: KeyPath) => keystr(path) || "the root";
  for (const { keyPath: path, value: node } of findOutermost<AnyParameter>(model, isAnyParameter, {
    operation: what,
  })) {
    if (!include(node)) continue;
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
      throw new DuplicateParameterError(
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

/** Which parameters an operation touches: frozen ones only when `frozen` is not false. */
const touches =
  (frozen: boolean | undefined) =>
  (node: AnyParameter): boolean =>
    frozen !== false || !(node instanceof FrozenParameter);

/**
 * Saves the parameters of a model under their names, as safetensors bytes: every `Parameter`
 * and (unless `frozen: false`) every `FrozenParameter`; `UninitializedParameter`s have no value
 * and are skipped. A NamedArray value is stored as its data tensor, its axis names recorded in
 * the metadata (so {@link loadParameters} matches axes by name); a plain tensor as itself. To
 * write the bytes to a file safely, use `saveParametersFile` from `@saikei/toolshed/node`.
 *
 * @param model a model with initialized parameters.
 * @param options `metadata` to add (string values); `frozen` (default true) whether to save
 *   `FrozenParameter`s.
 * @returns the safetensors bytes.
 * @throws SafetensorsTemplateMismatchError for a parameter whose value is not a tensor or a
 *   NamedArray without positional axes; DuplicateParameterError (from `@saikei/nn`) when two
 *   parameters share a name; SafetensorsInvalidNameError for an empty name;
 *   SafetensorsInvalidMetadataError for metadata that is not string pairs.
 * @example
 * const bytes = saveParameters(model);
 * readSafetensorsHeader(bytes).entries.map((e) => e.name); // ["first.weights", ...]
 * saveParameters(loraModel, { frozen: false }); // only the adapters' trainable parameters
 */
export function saveParameters(model: unknown, options: SaveParametersOptions = {}): Uint8Array {
  checkOptions("saveParameters", options, ["metadata", "frozen"]);
  const metadata = checkMetadata(options.metadata, "saveParameters");
  if (Object.hasOwn(metadata, NAMED_AXES_METADATA_KEY)) {
    throw new SafetensorsInvalidMetadataError(
      `saveParameters: the metadata key ${JSON.stringify(NAMED_AXES_METADATA_KEY)} is reserved for the ` +
        "parameters' axis names. Store your value under another key.",
    );
  }
  const tensors = new Map<string, tf.Tensor>();
  const axes = new Map<string, readonly AxisLabel[]>();
  const include = touches(options.frozen);
  const saved = (node: AnyParameter) => !(node instanceof UninitializedParameter) && include(node);
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

/** The tensors to load from, whether the caller owns them, and the axis names recorded with them. */
function openSource(source: Uint8Array | TensorsByName): {
  tensors: TensorsByName;
  owned: boolean;
  axes: Map<string, AxisLabel[]>;
} {
  if (source instanceof Uint8Array) {
    const { tensors, metadata } = parseSafetensorsWithMetadata(source);
    try {
      return { tensors, owned: true, axes: readNamedAxes(metadata) };
    } catch (error) {
      tf.dispose(Object.values(tensors));
      throw error;
    }
  }
  if (source === null || typeof source !== "object" || Array.isArray(source)) {
    throw new SafetensorsError(
      `loadParameters: expected safetensors bytes (a Uint8Array) or tensors by name ({ "proj.weights": tensor }), ` +
        `got ${describe(source)}. In Node, read a file with loadParametersFile from @saikei/toolshed/node.`,
    );
  }
  return { tensors: source, owned: false, axes: new Map() };
}

const quoteSome = (names: readonly string[]) =>
  `${names
    .slice(0, 10)
    .map((n) => JSON.stringify(n))
    .join(", ")}${names.length > 10 ? `, and ${names.length - 10} more` : ""}`;

/**
 * Fills the parameters of `model` by name: every `Parameter`, `UninitializedParameter` and
 * (unless `frozen: false`) `FrozenParameter` gets the tensor of its name. The tensors come from
 * safetensors bytes (written by {@link saveParameters}, or by PyTorch with matching names) or are
 * given already keyed by name (from {@link parseSafetensors}, or built by hand).
 *
 * When the file records axis names (as {@link saveParameters} does), axes are matched by name and
 * the tensor is transposed into the order of the parameter's named shape; otherwise (PyTorch,
 * tensors by name) the axes are taken in that order. Sizes and dtypes must match. Uninitialized
 * parameters become `Parameter`s, so no `initializeParameters` is needed. Names are ordinary
 * strings (`"constructor"` or `"__proto__"` work like any other). Either every parameter loads or
 * nothing changes and nothing this call allocated stays allocated.
 *
 * Ownership: tensors read from bytes belong to the returned model (those it does not use are
 * disposed). Tensors given by name are used as they are, not copied: the returned model holds
 * them, so do not dispose them while it is in use. The model's previous values are never disposed.
 *
 * @param source the safetensors bytes, or the tensors by name.
 * @param model the model, initialized or not.
 * @param options `strict` (default true) requires a tensor for every parameter and a parameter
 *   for every tensor; `frozen` (default true) whether to load `FrozenParameter`s.
 * @returns the model with loaded parameters.
 * @throws SafetensorsMissingTensorError (listing every parameter without a tensor),
 *   SafetensorsUnexpectedTensorError (tensors no parameter is named after),
 *   SafetensorsTemplateMismatchError (shape, dtype or axis names), DuplicateParameterError (two
 *   parameters of one name), SafetensorsInvalidNameError (an empty name), or a malformed-file
 *   {@link SafetensorsError}.
 * @example
 * const model = loadParameters(saveParameters(trained), buildModel()); // no initializeParameters needed
 * const lm = loadParameters(parseSafetensors(bytes), TransformerLM.fromConfig(config));
 * loadParameters(bytes, model, { strict: false }); // a partial checkpoint: the rest stays as it is
 */
export function loadParameters<T>(
  source: Uint8Array | TensorsByName,
  model: T,
  options: LoadParametersOptions = {},
): T {
  checkOptions("loadParameters", options, ["strict", "frozen"]);
  const strict = options.strict ?? true;
  const include = touches(options.frozen);
  const targets = namedParameters(model, "loadParameters", include);
  const { tensors, owned, axes: savedAxes } = openSource(source);
  const all = Object.values(tensors);
  const created: tf.Tensor[] = [];
  try {
    if (strict) {
      const missing = targets.map(([, p]) => p.name).filter((n) => !Object.hasOwn(tensors, n));
      if (missing.length > 0) {
        const names = Object.keys(tensors);
        throw new SafetensorsMissingTensorError(
          `loadParameters: no tensor is named after ${missing.length} of the model's ${targets.length} parameters: ` +
            `${quoteSome(missing)}. The checkpoint has ${names.length} tensors${names.length > 0 ? `, e.g. ${quoteSome(names.slice(0, 5))}` : ""}. ` +
            "Check the parameter names (parameterNames(model)) against the tensor names, build the model with the " +
            "configuration the checkpoint was saved from, or pass { strict: false } to load what matches.",
        );
      }
    }
    const used = new Map<string, tf.Tensor>(); // name → the tensor the loaded parameter holds
    const loaded = rewriteOutermost(
      model,
      isAnyParameter,
      (node: AnyParameter) => {
        if (!include(node)) return node;
        const name = node.name;
        if (!Object.hasOwn(tensors, name)) return node; // not strict: keeps its value
        const stored = tensors[name] as unknown;
        const at = `loadParameters: parameter ${JSON.stringify(name)}`;
        if (!(stored instanceof tf.Tensor)) {
          throw new SafetensorsTemplateMismatchError(
            `${at}: the value given under that name is ${describe(stored)}, not a tf.Tensor.`,
          );
        }
        const expected = expectedOf(node);
        const storedAxes = savedAxes.get(name);
        let tensor: tf.Tensor = stored;
        if (expected.named) {
          tensor = arrangeAsTemplate(stored, storedAxes, expected.names, at);
          if (tensor !== stored) created.push(tensor);
        }
        const shapeOk =
          tensor.rank === expected.sizes.length &&
          tensor.shape.every((d, i) => d === expected.sizes[i]);
        const concreteDtype = ["float32", "int32", "bool"].includes(expected.dtype);
        if (!shapeOk || (concreteDtype && expected.dtype !== tensor.dtype)) {
          throw new SafetensorsTemplateMismatchError(
            `${at} expects ${expected.dtype} ` +
              `${expected.named ? `{${expected.names.map((n, i) => `${n}: ${expected.sizes[i]}`).join(", ")}}` : `[${expected.sizes.join(", ")}]`}, ` +
              `but the checkpoint has ${stored.dtype}[${stored.shape.join(", ")}]${storedAxes ? ` with axes ${formatLabels(storedAxes)}` : ""}. ` +
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
      { operation: "loadParameters" },
    );
    if (strict) {
      // A tensor named after a parameter this call skips (a frozen one) is expected, not extra.
      const known = new Set<string>(used.keys());
      for (const { value } of findOutermost<AnyParameter>(model, isAnyParameter, {
        operation: "loadParameters",
      })) {
        known.add(value.name);
      }
      const extra = Object.keys(tensors).filter((n) => !known.has(n));
      if (extra.length > 0) {
        throw new SafetensorsUnexpectedTensorError(
          `loadParameters: the checkpoint has ${extra.length} tensor(s) no parameter is named after: ` +
            `${quoteSome(extra)}. Pass { strict: false } to ignore them.`,
        );
      }
    }
    if (owned) {
      const kept = new Set(used.values());
      for (const t of all) if (!kept.has(t)) t.dispose();
    }
    return loaded;
  } catch (error) {
    tf.dispose(owned ? [...all, ...created] : created);
    throw error;
  }
}
