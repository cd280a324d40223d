/**
 * Saving the tensors of any tree as safetensors, and loading them back into a tree of the same
 * structure. Each tensor is stored under the `keystr` of its key path (`.layers[0].weights.value`);
 * a NamedArray (or NamedArrayView) is stored as its data tensor under the NamedArray's own path,
 * and the file's metadata records its axis names (see `namedAxes.ts`).
 *
 * @module
 */

import { isNamedArray, type NamedArrayBase } from "@saikei/named";
import {
  checkOptions,
  flattenOneLevel,
  flattenWithPath,
  type KeyPath,
  keystr,
  type PathKey,
  unflatten,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  SafetensorsCyclicTreeError,
  SafetensorsDuplicateNameError,
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

/** How a leaf path becomes a name in the file. */
export type TensorNamer = (path: KeyPath, leaf: tf.Tensor | NamedArrayBase) => string;

/** Options for {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** Extra `__metadata__` string pairs (values must be strings: `{ step: "300" }`). */
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
  readonly leaf: tf.Tensor | NamedArrayBase;
  readonly tensor: tf.Tensor;
}

const where = (path: KeyPath) => keystr(path) || "the root";

/**
 * Finds where a tree contains itself: the path of a child that is one of its own ancestors, and
 * the path of that ancestor. Walks one level at a time with an explicit stack, so it never
 * overflows on the cycle it is looking for.
 */
function findCycle(
  tree: unknown,
  isLeaf: (value: unknown) => boolean,
): { closes: KeyPath; ancestor: KeyPath } | undefined {
  interface Frame {
    readonly node: unknown;
    readonly key: PathKey | undefined;
    readonly children: [PathKey, unknown][];
    next: number;
  }
  const open = (node: unknown, key: PathKey | undefined): Frame | undefined => {
    if (isLeaf(node)) return undefined;
    const level = flattenOneLevel(node);
    return level === undefined ? undefined : { node, key, children: level[0], next: 0 };
  };
  const first = open(tree, undefined);
  if (first === undefined) return undefined;
  const stack: Frame[] = [first];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.children.length) {
      stack.pop();
      continue;
    }
    const [key, child] = top.children[top.next++]!;
    const keysTo = (depth: number) => stack.slice(1, depth + 1).map((f) => f.key!);
    if (child !== null && (typeof child === "object" || typeof child === "function")) {
      const at = stack.findIndex((f) => f.node === child);
      if (at >= 0) return { closes: [...keysTo(stack.length - 1), key], ancestor: keysTo(at) };
    }
    const frame = open(child, key);
    if (frame !== undefined) stack.push(frame);
  }
  return undefined;
}

/**
 * `flattenWithPath` that reports a cyclic tree as {@link SafetensorsCyclicTreeError}, naming the key
 * path where the cycle closes. The tree is searched for a cycle only when the walk fails (a stack
 * overflow, or the walk's own error), so saving an ordinary tree pays nothing for the check.
 */
function flattenChecked(tree: unknown, what: string): ReturnType<typeof flattenWithPath> {
  const isLeaf = (value: unknown) => isNamedArray(value);
  try {
    return flattenWithPath(tree, isLeaf);
  } catch (error) {
    const cycle = findCycle(tree, isLeaf);
    if (cycle === undefined) throw error;
    throw new SafetensorsCyclicTreeError(
      `${what}: the tree contains a cycle: the value at ${where(cycle.closes)} is the same object as its ` +
        `ancestor at ${where(cycle.ancestor)}, so the tree has no finite set of leaves. Break the cycle ` +
        "before saving (keep the back-reference outside the tree, or store a name or index instead).",
      { cause: error },
    );
  }
}

function tensorSlots(
  tree: unknown,
  nameOf: TensorNamer,
  what: string,
): [TensorSlot[], unknown[], ReturnType<typeof flattenWithPath>[1]] {
  const [pairs, def] = flattenChecked(tree, what);
  const slots: TensorSlot[] = [];
  const seen = new Map<string, KeyPath>();
  for (let index = 0; index < pairs.length; index++) {
    const [path, leaf] = pairs[index]!;
    let tensor: tf.Tensor | undefined;
    if (leaf instanceof tf.Tensor) tensor = leaf;
    else if (isNamedArray(leaf)) tensor = leaf.dataArray;
    if (tensor === undefined) continue;
    const name = nameOf(path, leaf as tf.Tensor | NamedArrayBase);
    if (typeof name !== "string" || name === "") {
      throw new SafetensorsInvalidNameError(
        `${what}: the tensor at ${where(path)} would be stored under ${name === "" ? "the empty name" : String(name)}. ` +
          (path.length === 0
            ? "A tensor at the root of the tree has an empty key path: wrap it, as in saveSafetensors({ w: tensor })."
            : "Pass a nameOf option that returns a non-empty string for every tensor."),
      );
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw new SafetensorsDuplicateNameError(
        `${what}: the tensors at ${where(previous)} and ${where(path)} would both be ` +
          `stored as ${JSON.stringify(name)}. Pass a nameOf option that gives every tensor a distinct name.`,
      );
    }
    seen.set(name, path);
    slots.push({ index, path, name, leaf: leaf as tf.Tensor | NamedArrayBase, tensor });
  }
  return [slots, pairs.map((p) => p[1]), def];
}

/**
 * Saves every tensor of a tree (structs, arrays, objects, Maps, NamedArrays, Parameters...) to
 * safetensors bytes. Names are the `keystr` of each tensor's key path; NamedArrays (and views) are
 * stored as their data tensor, and the label of each of its axes (the axis name, or the index of a
 * positional axis) is recorded in the metadata under {@link NAMED_AXES_METADATA_KEY}, so that
 * {@link loadSafetensors} matches axes by name. Non-tensor leaves are not stored: they come from
 * the template when loading. To write the bytes to a file safely, use `saveSafetensorsFile` from
 * `@saikei/toolshed/node`.
 *
 * @param tree any tree; its tensors are read, not disposed.
 * @param options `metadata` to add (string values), `nameOf` to choose names.
 * @returns the file's bytes.
 * @throws SafetensorsDuplicateNameError when two tensors would get the same name;
 *   SafetensorsInvalidNameError for an empty name; SafetensorsInvalidMetadataError for metadata
 *   that is not string pairs; SafetensorsCyclicTreeError for a tree that contains itself;
 *   SafetensorsUnsupportedTensorError for string or complex tensors.
 * @example
 * const bytes = saveSafetensors({ w: nx.wrap(tf.ones([2, 3]), "in", "out"), b: tf.zeros([3]) });
 * readNamedAxes(readSafetensorsHeader(bytes).metadata).get("['w']"); // ["in", "out"]
 */
export function saveSafetensors(tree: unknown, options: SaveSafetensorsOptions = {}): Uint8Array {
  checkOptions("saveSafetensors", options, ["metadata", "nameOf"]);
  const metadata = checkMetadata(options.metadata, "saveSafetensors");
  if (Object.hasOwn(metadata, NAMED_AXES_METADATA_KEY)) {
    throw new SafetensorsInvalidMetadataError(
      `saveSafetensors: the metadata key ${JSON.stringify(NAMED_AXES_METADATA_KEY)} is reserved: saikei records ` +
        "the axis names of the tree's NamedArrays there. Store your value under another key.",
    );
  }
  const [slots] = tensorSlots(tree, options.nameOf ?? defaultNamer, "saveSafetensors");
  const tensors = new Map<string, tf.Tensor>();
  const namedAxes = new Map<string, readonly AxisLabel[]>();
  for (const slot of slots) {
    tensors.set(slot.name, slot.tensor);
    if (!(slot.leaf instanceof tf.Tensor)) namedAxes.set(slot.name, axisLabelsOf(slot.leaf));
  }
  if (namedAxes.size > 0) metadata[NAMED_AXES_METADATA_KEY] = encodeNamedAxes(namedAxes);
  return serializeSafetensors(tensors, metadata);
}

function describeShape(t: tf.Tensor): string {
  return `${t.dtype}[${t.shape.join(", ")}]`;
}

/**
 * Loads safetensors bytes into a tree of the same structure as `template`: every tensor (or
 * NamedArray) leaf of the template is replaced by the file's tensor of the same name, which must
 * have the template leaf's shape and dtype (after conversion: F16/BF16/F64 load as float32,
 * integer types as int32). A NamedArray leaf is matched by axis name: when the file recorded its
 * axes in another order, the tensor is transposed into the template's order; when the names
 * differ, loading fails. (A file without saikei's axis metadata, e.g. from PyTorch, is taken in
 * the template's order.) Everything else (non-tensor leaves, static fields) comes from the
 * template. Either the whole tree loads or an error is thrown and no tensor stays allocated.
 *
 * @param bytes the file's bytes.
 * @param template a tree with the wanted structure; its tensors are not disposed.
 * @param options `strict` (default true) rejects extra tensors in the file; `nameOf` must match
 *   the namer used when saving.
 * @returns a new tree whose tensors the caller owns.
 * @throws a {@link SafetensorsError}: a malformed file, SafetensorsMissingTensorError,
 *   SafetensorsUnexpectedTensorError, SafetensorsTemplateMismatchError (shape, dtype or axis
 *   names), SafetensorsNamedAxesError (corrupt axis metadata) or SafetensorsCyclicTreeError.
 * @example
 * const bytes = saveSafetensors({ w: nx.wrap(tf.ones([2, 3]), "in", "out") });
 * const restored = loadSafetensors(bytes, { w: nx.zeros({ out: 3, in: 2 }) });
 * restored.w.namedShape; // { out: 3, in: 2 } (transposed to the template's order)
 */
export function loadSafetensors<T>(
  bytes: Uint8Array,
  template: T,
  options: LoadSafetensorsOptions = {},
): T {
  checkOptions("loadSafetensors", options, ["strict", "nameOf"]);
  const strict = options.strict ?? true;
  const [slots, leaves, def] = tensorSlots(
    template,
    options.nameOf ?? defaultNamer,
    "loadSafetensors",
  );
  const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
  const all = Object.values(tensors);
  const transposed: tf.Tensor[] = [];
  try {
    const fileAxes = readNamedAxes(metadata);
    const used = new Set<string>();
    const kept = new Set<tf.Tensor>(); // the tensors the loaded tree holds
    const newLeaves = leaves.slice();
    for (const slot of slots) {
      const at = `loadSafetensors: template leaf at ${where(slot.path)}`;
      if (!Object.hasOwn(tensors, slot.name)) {
        const names = Object.keys(tensors);
        throw new SafetensorsMissingTensorError(
          `${at} expects a tensor named ${JSON.stringify(slot.name)}, which the file does not have. ` +
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
      const stored = tensors[slot.name]!;
      const expected = slot.tensor;
      let loaded = stored;
      let axesNote = "";
      if (!(slot.leaf instanceof tf.Tensor)) {
        const storedLabels = fileAxes.get(slot.name);
        const wanted = axisLabelsOf(slot.leaf);
        loaded = arrangeAsTemplate(stored, storedLabels, wanted, `${at} (a NamedArray)`);
        if (loaded !== stored) transposed.push(loaded);
        axesNote = ` with axes ${formatLabels(wanted)}`;
        if (storedLabels !== undefined)
          axesNote += ` (the file's axes ${formatLabels(storedLabels)})`;
      }
      if (loaded.dtype !== expected.dtype || !sameShape(loaded.shape, expected.shape)) {
        throw new SafetensorsTemplateMismatchError(
          `${at} is ${describeShape(expected)}${axesNote}, but the file's tensor ${JSON.stringify(slot.name)} is ` +
            `${describeShape(stored)}. Build the template with the configuration the file was saved from.`,
        );
      }
      used.add(slot.name);
      kept.add(loaded);
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
    for (const tensor of all) if (!kept.has(tensor)) tensor.dispose();
    return unflatten<T>(def, newLeaves);
  } catch (error) {
    tf.dispose([...all, ...transposed]);
    throw error;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
