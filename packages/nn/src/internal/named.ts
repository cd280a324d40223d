/**
 * Low-level helpers on named arrays used by the layers: checking inputs, reading the data in a
 * chosen axis order, wrapping results and renaming. Contractions and `where` are not here: the
 * layers call `nx.dot` and `nx.where`, which own the lowering to the backend's fast kernels.
 *
 * @module
 */

import { DisposedTensorError } from "@saikei/layer";
import { isNamedArray, NamedArray } from "@saikei/named";
import { className } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { AxisMismatchError } from "../errors.js";

/** Any named array (a `NamedArray` or a `NamedArrayView`). */
export type AnyNamed = NamedArray | { readonly namedShape: Readonly<Record<string, number>> };

/** The named axes of `x`, in its storage order. */
export function axisNames(x: AnyNamed): string[] {
  return Object.keys(x.namedShape);
}

/**
 * Requires `x` to be a live named array with no positional axes; `where` names the caller in the
 * error. Layers that are not checked calls (and side inputs, which no checked call sees) get
 * their disposed-tensor check here: one flag read.
 *
 * @throws AxisMismatchError for anything but a named array with named axes only.
 * @throws DisposedTensorError when its data tensor has been disposed.
 */
export function requireNamed(x: unknown, where: string): NamedArray {
  if (!isNamedArray(x)) {
    throw new AxisMismatchError(
      `${where} expects a NamedArray, but got ${describe(x)}. Wrap tensors with nx.wrap(tensor, ...axisNames).`,
    );
  }
  const data = (x as { dataArray?: unknown }).dataArray;
  if (data instanceof tf.Tensor && data.isDisposed) {
    throw new DisposedTensorError(
      `${where}: the NamedArray ${JSON.stringify((x as NamedArray).namedShape)} (${data.dtype}) has ` +
        "been disposed; its data was freed by dispose() or by the end of the tf.tidy that created " +
        "it. Pass a live array: create it outside that tidy (or tf.keep its dataArray), and " +
        "dispose it only after its last use.",
    );
  }
  const positional = (x as any).positionalShape as readonly number[]; // views and arrays both have it
  if (positional.length > 0) {
    throw new AxisMismatchError(
      `${where} expects a NamedArray with only named axes, but got positional axes of shape [${positional.join(", ")}] ` +
        `(named axes ${JSON.stringify((x as any).namedShape)}). Name them with .tag(...names) first.`,
    );
  }
  return x as NamedArray;
}

/** The named axes of a plain `NamedArray` with no positional axes, or undefined for anything else. */
function directNames(x: unknown): string[] | undefined {
  if (!(x instanceof NamedArray)) return undefined;
  const names = Object.keys(x.namedAxes);
  return x.dataArray.rank === names.length ? names : undefined;
}

/** The data of `x` (no positional axes) with its axes in the order `names` (a permutation of its names). */
export function dataAs(x: AnyNamed, names: readonly string[]): tf.Tensor {
  const own = directNames(x);
  if (own !== undefined) {
    const data = (x as NamedArray).dataArray;
    if (sameOrder(own, names)) return data;
    return permuteOrReshape(data, own, names, x.namedShape);
  }
  return (x as any).orderAs(...names).dataArray as tf.Tensor;
}

/**
 * `data` (axes `from`) with its axes put in the order `to`: a transpose, or a reshape (no data
 * moved) when the permutation moves only size-1 axes.
 */
function permuteOrReshape(
  data: tf.Tensor,
  from: readonly string[],
  to: readonly string[],
  sizes: Readonly<Record<string, number>>,
): tf.Tensor {
  if (movesOnlyUnitAxes(from, to, sizes)) {
    return reshapeIfNeeded(
      data,
      to.map((n) => sizes[n]!),
    );
  }
  return tf.transpose(
    data,
    to.map((n) => from.indexOf(n)),
  );
}

/** Whether the axes of size other than 1 come in the same order in `a` and `b`. */
function movesOnlyUnitAxes(
  a: readonly string[],
  b: readonly string[],
  sizes: Readonly<Record<string, number>>,
): boolean {
  let j = 0;
  for (const n of a) {
    if (sizes[n] === 1) continue;
    while (j < b.length && sizes[b[j]!] === 1) j++;
    if (b[j] !== n) return false;
    j++;
  }
  return true;
}

/**
 * `tf.reshape(x, shape)`, or `x` itself when it already has that shape: a reshape moves no data,
 * but it is still one kernel dispatch, which dominates small ops on the wasm backend.
 */
export function reshapeIfNeeded(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return sameShape(x.shape, shape) ? x : tf.reshape(x, shape as number[]);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The data of `x` in its own storage order of named axes. */
export function dataOf(x: AnyNamed): { data: tf.Tensor; names: string[] } {
  const own = directNames(x);
  if (own !== undefined) return { data: (x as NamedArray).dataArray, names: own };
  const names = axisNames(x);
  return { data: dataAs(x, names), names };
}

/** Wraps a tensor whose axes are all named, in order (no data is moved). */
export function wrapAs(data: tf.Tensor, names: readonly string[]): NamedArray {
  const namedAxes: Record<string, number> = {};
  names.forEach((n, i) => {
    namedAxes[n] = data.shape[i]!;
  });
  return new NamedArray({ namedAxes, dataArray: data });
}

/** Renames axes of `x` by `mapping` (axes not in it keep their names); no data is moved. */
export function renameAxes(x: AnyNamed, mapping: Readonly<Record<string, string>>): NamedArray {
  const { data, names } = dataOf(x);
  return wrapAs(
    data,
    names.map((n) => (Object.hasOwn(mapping, n) ? mapping[n]! : n)),
  );
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return className((x as object).constructor) || "object";
}
