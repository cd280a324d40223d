/**
 * Saving the tensors of any tree as safetensors, and loading them back into a tree of the same
 * structure. Each tensor is stored under the `keystr` of its key path (`.layers[0].weights.value`);
 * a NamedArray (or NamedArrayView) is stored as its data tensor under the NamedArray's own path,
 * and the file's metadata records its named axes.
 *
 * @module
 */

import { flattenWithPath, isStruct, type KeyPath, keystr, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  parseSafetensorsWithMetadata,
  SafetensorsError,
  type SafetensorsMetadata,
  serializeSafetensors,
} from "./safetensorsFormat.js";

/** The metadata key under which {@link saveSafetensors} records the named axes of NamedArrays. */
export const NAMED_AXES_METADATA_KEY = "saikei.named_axes";

/** A tensor in the template has no entry in the file. */
export class SafetensorsMissingTensorError extends SafetensorsError {
  override name = "SafetensorsMissingTensorError";
}

/** The file holds tensors that the template has no place for (with `strict: true`). */
export class SafetensorsUnexpectedTensorError extends SafetensorsError {
  override name = "SafetensorsUnexpectedTensorError";
}

/** A tensor in the file has a different shape, dtype or named axes than its template leaf. */
export class SafetensorsTemplateMismatchError extends SafetensorsError {
  override name = "SafetensorsTemplateMismatchError";
}

/** Two leaves of a tree would be saved under the same name. */
export class SafetensorsDuplicateNameError extends SafetensorsError {
  override name = "SafetensorsDuplicateNameError";
}

/** The shape of a NamedArray as far as saving needs it: a struct holding a data tensor. */
interface NamedLike {
  readonly dataArray: tf.Tensor;
  readonly namedAxes?: readonly string[];
  replace(changes: { dataArray: tf.Tensor }): NamedLike;
}

/**
 * Whether a value is a NamedArray or NamedArrayView: a struct whose `dataArray` field is a tensor.
 * Checked structurally so that this module works with any version of `@saikei/named`.
 */
function isNamedLike(value: unknown): value is NamedLike {
  return isStruct(value) && (value as { dataArray?: unknown }).dataArray instanceof tf.Tensor;
}

/** How a leaf path becomes a name in the file. */
export type TensorNamer = (path: KeyPath, leaf: tf.Tensor | NamedLike) => string;

/** Options for {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** Extra `__metadata__` string pairs. */
  metadata?: SafetensorsMetadata;
  /** Names each tensor; by default `keystr(path)`. Loading must use the same namer. */
  nameOf?: TensorNamer;
}

/** Options for {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** Reject files holding tensors the template has no place for (default `true`). */
  strict?: boolean;
  /** Names each template tensor; must match the namer used when saving. Default `keystr(path)`. */
  nameOf?: TensorNamer;
}

const defaultNamer: TensorNamer = (path) => keystr(path);

interface TensorSlot {
  readonly index: number;
  readonly path: KeyPath;
  readonly name: string;
  readonly leaf: tf.Tensor | NamedLike;
  readonly tensor: tf.Tensor;
}

function tensorSlots(
  tree: unknown,
  nameOf: TensorNamer,
  what: string,
): [TensorSlot[], unknown[], ReturnType<typeof flattenWithPath>[1]] {
  const [pairs, def] = flattenWithPath(tree, (value) => isNamedLike(value));
  const slots: TensorSlot[] = [];
  const seen = new Map<string, KeyPath>();
  for (let index = 0; index < pairs.length; index++) {
    const [path, leaf] = pairs[index]!;
    let tensor: tf.Tensor | undefined;
    if (leaf instanceof tf.Tensor) tensor = leaf;
    else if (isNamedLike(leaf)) tensor = leaf.dataArray;
    if (tensor === undefined) continue;
    const name = nameOf(path, leaf as tf.Tensor | NamedLike);
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw new SafetensorsDuplicateNameError(
        `${what}: the tensors at ${keystr(previous) || "the root"} and ${keystr(path) || "the root"} would both be ` +
          `stored as ${JSON.stringify(name)}. Pass a nameOf option that gives every tensor a distinct name.`,
      );
    }
    seen.set(name, path);
    slots.push({ index, path, name, leaf: leaf as tf.Tensor | NamedLike, tensor });
  }
  return [slots, pairs.map((p) => p[1]), def];
}

/**
 * Saves every tensor of a tree (structs, arrays, objects, Maps, NamedArrays, Parameters...) to
 * safetensors bytes. Names are the `keystr` of each tensor's key path; NamedArrays are stored as
 * their data tensor and their axis names are recorded in the metadata under
 * {@link NAMED_AXES_METADATA_KEY}. Non-tensor leaves are not stored: they come from the template
 * when loading.
 *
 * @param tree any tree; its tensors are read, not disposed.
 * @param options `metadata` to add, `nameOf` to choose names.
 * @returns the file's bytes.
 * @throws SafetensorsDuplicateNameError when two tensors would get the same name;
 *   SafetensorsUnsupportedTensorError for string or complex tensors.
 * @example
 * const bytes = saveSafetensors({ w: tf.ones([2, 3]), b: tf.zeros([3]) });
 * writeFileSync("params.safetensors", bytes);
 */
export function saveSafetensors(tree: unknown, options: SaveSafetensorsOptions = {}): Uint8Array {
  const [slots] = tensorSlots(tree, options.nameOf ?? defaultNamer, "saveSafetensors");
  const tensors = new Map<string, tf.Tensor>();
  const namedAxes: Record<string, readonly string[]> = {};
  for (const slot of slots) {
    tensors.set(slot.name, slot.tensor);
    if (!(slot.leaf instanceof tf.Tensor)) {
      const axes = slot.leaf.namedAxes;
      if (Array.isArray(axes)) namedAxes[slot.name] = axes;
    }
  }
  const metadata: SafetensorsMetadata = { ...options.metadata };
  if (Object.keys(namedAxes).length > 0)
    metadata[NAMED_AXES_METADATA_KEY] = JSON.stringify(namedAxes);
  return serializeSafetensors(tensors, metadata);
}

function describeShape(t: tf.Tensor): string {
  return `${t.dtype}[${t.shape.join(", ")}]`;
}

/**
 * The named axes a file's metadata records under {@link NAMED_AXES_METADATA_KEY}, by tensor name
 * (`{}` when the entry is missing or is not a JSON object). Values are as stored: check them
 * before use.
 *
 * @example
 * readNamedAxes({ "saikei.named_axes": '{"w":["in","out"]}' }); // { w: ["in", "out"] }
 */
export function readNamedAxes(metadata: SafetensorsMetadata): Record<string, unknown> {
  const raw = metadata[NAMED_AXES_METADATA_KEY];
  if (raw === undefined) return {};
  try {
    const parsed = JSON.parse(raw);
    return parsed !== null && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Loads safetensors bytes into a tree of the same structure as `template`: every tensor (or
 * NamedArray) leaf of the template is replaced by the file's tensor of the same name, which must
 * have the template leaf's shape and dtype (after conversion: F16/BF16/F64 load as float32,
 * integer types as int32). Everything else (non-tensor leaves, static fields) comes from the
 * template. Either the whole tree loads or an error is thrown and no tensor stays allocated.
 *
 * @param bytes the file's bytes.
 * @param template a tree with the wanted structure; its tensors are not disposed.
 * @param options `strict` (default true) rejects extra tensors in the file; `nameOf` must match
 *   the namer used when saving.
 * @returns a new tree whose tensors the caller owns.
 * @throws a {@link SafetensorsError}: a malformed file, SafetensorsMissingTensorError,
 *   SafetensorsUnexpectedTensorError or SafetensorsTemplateMismatchError.
 * @example
 * const restored = loadSafetensors(bytes, model); // same structure, the file's weights
 */
export function loadSafetensors<T>(
  bytes: Uint8Array,
  template: T,
  options: LoadSafetensorsOptions = {},
): T {
  const strict = options.strict ?? true;
  const [slots, leaves, def] = tensorSlots(
    template,
    options.nameOf ?? defaultNamer,
    "loadSafetensors",
  );
  const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
  const all = Object.values(tensors);
  try {
    const fileAxes = readNamedAxes(metadata);
    const used = new Set<string>();
    const newLeaves = leaves.slice();
    for (const slot of slots) {
      const where = `loadSafetensors: template leaf at ${keystr(slot.path) || "the root"}`;
      if (!Object.hasOwn(tensors, slot.name)) {
        const names = Object.keys(tensors);
        throw new SafetensorsMissingTensorError(
          `${where} expects a tensor named ${JSON.stringify(slot.name)}, which the file does not have. ` +
            `The file has ${names.length} tensors${
              names.length > 0
                ? `, e.g. ${names
                    .slice(0, 5)
                    .map((n) => JSON.stringify(n))
                    .join(", ")}`
                : ""
            }. ` +
            "Save with the same tree structure, or pass a nameOf option that maps template paths to the file's names.",
        );
      }
      const loaded = tensors[slot.name]!;
      const expected = slot.tensor;
      if (loaded.dtype !== expected.dtype || !sameShape(loaded.shape, expected.shape)) {
        throw new SafetensorsTemplateMismatchError(
          `${where} is ${describeShape(expected)}, but the file's tensor ${JSON.stringify(slot.name)} is ` +
            `${describeShape(loaded)}. Build the template with the configuration the file was saved from.`,
        );
      }
      if (!(slot.leaf instanceof tf.Tensor)) {
        const savedAxes = fileAxes[slot.name];
        const axes = slot.leaf.namedAxes;
        if (
          Array.isArray(savedAxes) &&
          Array.isArray(axes) &&
          savedAxes.join("\u0000") !== axes.join("\u0000")
        ) {
          throw new SafetensorsTemplateMismatchError(
            `${where} is a NamedArray with axes (${axes.join(", ")}), but the file saved ${JSON.stringify(slot.name)} ` +
              `with axes (${savedAxes.join(", ")}). Reorder the template (orderAs) or the saved array to agree.`,
          );
        }
      }
      used.add(slot.name);
      newLeaves[slot.index] =
        slot.leaf instanceof tf.Tensor ? loaded : slot.leaf.replace({ dataArray: loaded });
    }
    if (strict && used.size !== all.length) {
      const extra = Object.keys(tensors).filter((n) => !used.has(n));
      throw new SafetensorsUnexpectedTensorError(
        `loadSafetensors: the file has ${extra.length} tensor(s) the template has no place for: ` +
          `${extra
            .slice(0, 10)
            .map((n) => JSON.stringify(n))
            .join(", ")}. ` +
          "Pass { strict: false } to ignore them, or load into a template that includes them.",
      );
    }
    for (const [name, tensor] of Object.entries(tensors)) if (!used.has(name)) tensor.dispose();
    return unflatten<T>(def, newLeaves);
  } catch (error) {
    for (const t of all) t.dispose();
    throw error;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
