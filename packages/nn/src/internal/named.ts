/**
 * How the layers read their named-array inputs: the input check every layer shares, and the data
 * tensor of a fully named array with the names of its data axes. Everything else (contraction,
 * `where`, reordering, wrapping, renaming, softmax) is `@saikei/named`'s, called directly.
 *
 * @module
 */

import { DisposedTensorError } from "@saikei/layer";
import { isNamedArray, NamedArray, type NamedArrayBase, PositionalAxesError } from "@saikei/named";
import { bugInSaikei, className } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { UnsupportedValueError } from "../errors.js";

/**
 * Requires `x` to be a live named array with no positional axes; `where` names the caller in the
 * error. Layers that are not checked calls (and side inputs, which no checked call sees) get
 * their disposed-tensor check here: one flag read.
 *
 * @throws PositionalAxesError for a tf.Tensor or a named array with positional axes.
 * @throws UnsupportedValueError for anything that is not an array.
 * @throws DisposedTensorError when its data tensor has been disposed.
 */
export function requireNamed(x: unknown, where: string): NamedArrayBase {
  if (x instanceof tf.Tensor) {
    throw new PositionalAxesError(
      `${where} expects a NamedArray, but got a tf.Tensor of shape [${x.shape.join(", ")}] (positional axes only). ` +
        "Name its axes with nx.wrap(tensor, ...axisNames).",
    );
  }
  if (!isNamedArray(x)) {
    throw new UnsupportedValueError(
      `${where} expects a NamedArray, but got ${describe(x)}. Wrap tensors with nx.wrap(tensor, ...axisNames).`,
    );
  }
  const data = x.dataArray as unknown;
  if (data instanceof tf.Tensor && data.isDisposed) {
    throw new DisposedTensorError(
      `${where}: the NamedArray ${JSON.stringify(x.namedShape)} (${data.dtype}) has ` +
        "been disposed; its data was freed by dispose() or by the end of the tf.tidy that created " +
        "it. Pass a live array: create it outside that tidy (or tf.keep its dataArray), and " +
        "dispose it only after its last use.",
    );
  }
  x.checkValid();
  // A NamedArray has positional axes exactly when its data has more axes than it has names.
  const hasPositional =
    x instanceof NamedArray
      ? x.dataArray.rank !== Object.keys(x.namedAxes).length
      : x.positionalShape.length > 0;
  if (hasPositional) {
    const positional = x.positionalShape;
    throw new PositionalAxesError(
      `${where} expects a NamedArray with only named axes, but got positional axes of shape [${positional.join(", ")}] ` +
        `(named axes ${JSON.stringify(x.namedShape)}). Name them with .tag(...names) first.`,
    );
  }
  return x;
}

/**
 * The data of a named array with no positional axes (see {@link requireNamed}), as it is stored,
 * with the name of each data axis: no data is moved, whatever the array's layout.
 */
export function dataOf(x: NamedArrayBase): { data: tf.Tensor; names: string[] } {
  const { data, names, nameAxis } = x.layout();
  const ordered = new Array<string>(names.length);
  for (const n of names) ordered[nameAxis[n]!] = n;
  return { data, names: ordered };
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return className((x as object).constructor) || "object";
}

/**
 * `x` with its axes `from[i]` renamed to `to[i]` (penzai's `untag(...from).tag(...to)`); other axes
 * keep their names and no data is moved.
 *
 * @throws AxisNameError when a name in `from` is missing or a new name clashes with a kept one.
 */
export function renameAxes(
  x: NamedArrayBase,
  from: readonly string[],
  to: readonly string[],
): NamedArray {
  if (from.length !== to.length) {
    throw bugInSaikei("renameAxes", "the old and new name lists differ in length.", { from, to });
  }
  return x.untag(...from).tag(...to);
}
