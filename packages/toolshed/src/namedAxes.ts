/**
 * How the axis names of a NamedArray travel through a safetensors file. The file stores the
 * NamedArray's data tensor as it is; the metadata entry {@link NAMED_AXES_METADATA_KEY} maps each
 * tensor name to one label per data axis: the axis name, or, for a positional axis, its index
 * among the positional axes. `nx.wrap(t, "in", "out")` is stored as `["in", "out"]`; a view with
 * its positional axis in the middle as, for example, `["batch", 0, "features"]`.
 *
 * Loading compares labels, not positions: when the file's order differs from the template's, the
 * tensor is transposed into the template's order; when the labels differ, loading fails.
 *
 * @module
 */

import type { NamedArrayBase } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { SafetensorsNamedAxesError, SafetensorsTemplateMismatchError } from "./errors.js";
import type { SafetensorsMetadata } from "./safetensorsFormat.js";

/** The metadata key under which saikei records the axis names of saved NamedArrays. */
export const NAMED_AXES_METADATA_KEY = "saikei.named_axes";

/** What one data axis of a saved NamedArray is: its name, or its index among the positional axes. */
export type AxisLabel = string | number;

/**
 * The label of every data axis of a NamedArray or NamedArrayView, in data order.
 *
 * @param array a NamedArray or NamedArrayView.
 * @returns one label per axis of `array.dataArray`.
 * @example
 * axisLabelsOf(nx.wrap(tf.zeros([2, 3]), "in", "out")); // ["in", "out"]
 * axisLabelsOf(nx.wrap(tf.zeros([4, 2]), "b").untag("b")); // [0, 1]
 */
export function axisLabelsOf(array: NamedArrayBase): AxisLabel[] {
  const { data, logical, nameAxis } = array.layout();
  const labels: AxisLabel[] = new Array(data.rank);
  logical.forEach((axis, i) => {
    labels[axis] = i;
  });
  for (const name of Object.keys(nameAxis)) labels[nameAxis[name]!] = name;
  return labels;
}

/** Renders labels for messages: `(batch, #0, features)`. */
export function formatLabels(labels: readonly AxisLabel[]): string {
  return `(${labels.map((l) => (typeof l === "number" ? `#${l}` : l)).join(", ")})`;
}

/**
 * Encodes axis labels by tensor name as the metadata value of {@link NAMED_AXES_METADATA_KEY}.
 *
 * @example
 * encodeNamedAxes(new Map([["w", ["in", "out"]]])); // '{"w":["in","out"]}'
 */
export function encodeNamedAxes(axes: ReadonlyMap<string, readonly AxisLabel[]>): string {
  // Object.fromEntries defines own properties, so a tensor named "__proto__" is an ordinary key.
  return JSON.stringify(Object.fromEntries(axes));
}

function isLabel(x: unknown): x is AxisLabel {
  return (typeof x === "string" && x !== "") || (Number.isSafeInteger(x) && (x as number) >= 0);
}

/**
 * Reads the axis labels a file's metadata records under {@link NAMED_AXES_METADATA_KEY}, by
 * tensor name. A file without the entry (from PyTorch, say) gives an empty map.
 *
 * @param metadata the file's metadata.
 * @returns the labels by tensor name.
 * @throws SafetensorsNamedAxesError when the entry is not a JSON object of label lists, or a list
 *   repeats a label or skips a positional index.
 * @example
 * readNamedAxes({ "saikei.named_axes": '{"w":["in","out"]}' }).get("w"); // ["in", "out"]
 */
export function readNamedAxes(metadata: SafetensorsMetadata): Map<string, AxisLabel[]> {
  const out = new Map<string, AxisLabel[]>();
  if (!Object.hasOwn(metadata, NAMED_AXES_METADATA_KEY)) return out;
  const raw = metadata[NAMED_AXES_METADATA_KEY]!;
  const bad = (why: string) =>
    new SafetensorsNamedAxesError(
      `The file's metadata entry ${JSON.stringify(NAMED_AXES_METADATA_KEY)} ${why}. saikei writes it as a JSON ` +
        'object mapping tensor names to axis labels, like {"w": ["in", "out"]}; re-save the file with ' +
        "saveSafetensors, or remove the entry to load the tensors in the template's axis order.",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad("is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw bad("is not a JSON object");
  }
  for (const [name, labels] of Object.entries(parsed)) {
    if (!Array.isArray(labels) || !labels.every(isLabel)) {
      throw bad(
        `gives ${JSON.stringify(name)} the labels ${JSON.stringify(labels)}, not a list of axis names and positional indices`,
      );
    }
    const names = labels.filter((l) => typeof l === "string");
    const positions = labels.filter((l) => typeof l === "number").sort((a, b) => a - b);
    if (new Set(names).size !== names.length || positions.some((p, i) => p !== i)) {
      throw bad(
        `gives ${JSON.stringify(name)} the labels ${JSON.stringify(labels)}, which repeat a name or skip a positional index`,
      );
    }
    out.set(name, labels);
  }
  return out;
}

/**
 * Puts a loaded tensor into the axis order of its template: when the file recorded labels, each
 * template axis takes the file axis of the same label (a transpose when the orders differ); without
 * labels the file's order is taken as the template's.
 *
 * @param tensor the tensor read from the file (never disposed here).
 * @param stored the file's labels for it, if any.
 * @param wanted the template's labels.
 * @param where the start of an error message (which function, which leaf).
 * @returns the tensor in the template's axis order (shape not yet checked): `tensor` itself, or a
 *   transposed copy that the caller owns.
 * @throws SafetensorsNamedAxesError when the labels do not fit the tensor's rank;
 *   SafetensorsTemplateMismatchError when the file's labels are not the template's.
 * @example
 * arrangeAsTemplate(t, ["out", "in"], ["in", "out"], "load"); // tf.transpose(t, [1, 0])
 */
export function arrangeAsTemplate(
  tensor: tf.Tensor,
  stored: readonly AxisLabel[] | undefined,
  wanted: readonly AxisLabel[],
  where: string,
): tf.Tensor {
  if (stored === undefined) return tensor;
  if (stored.length !== tensor.rank) {
    throw new SafetensorsNamedAxesError(
      `${where}: the file records ${stored.length} axis labels ${formatLabels(stored)} for a tensor of rank ` +
        `${tensor.rank} (shape [${tensor.shape.join(", ")}]). The file's metadata is corrupt; re-save it.`,
    );
  }
  const perm = wanted.map((label) => stored.indexOf(label));
  if (wanted.length !== stored.length || perm.some((p) => p < 0)) {
    throw new SafetensorsTemplateMismatchError(
      `${where} has axes ${formatLabels(wanted)}, but the file saved it with axes ${formatLabels(stored)}. ` +
        "Axes are matched by name, so the names must agree: rename the template's axes (or the saved " +
        "array's, with nx.wrap / untag / tag) before saving.",
    );
  }
  if (perm.every((p, i) => p === i)) return tensor;
  return tf.transpose(tensor, perm);
}
