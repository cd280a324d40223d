/**
 * Low-level helpers on named arrays used by the layers: reading the data in a chosen axis order,
 * wrapping results, renaming, and the contraction lowering (plain 2-D `tf.matMul`s, the pattern the
 * wasm backend runs fastest).
 *
 * @module
 */

import { isNamedArray, NamedArray } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { AxisMismatchError } from "../errors.js";

/** Any named array (a `NamedArray` or a `NamedArrayView`). */
export type AnyNamed = NamedArray | { readonly namedShape: Readonly<Record<string, number>> };

/** The named axes of `x`, in its storage order. */
export function axisNames(x: AnyNamed): string[] {
  return Object.keys(x.namedShape);
}

/**
 * Requires `x` to be a named array with no positional axes; `where` names the caller in the error.
 *
 * @throws AxisMismatchError otherwise.
 */
export function requireNamed(x: unknown, where: string): NamedArray {
  if (!isNamedArray(x)) {
    throw new AxisMismatchError(
      `${where} expects a NamedArray, but got ${describe(x)}. Wrap tensors with nx.wrap(tensor, ...axisNames).`,
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
    return tf.transpose(
      data,
      names.map((n) => own.indexOf(n)),
    );
  }
  return (x as any).orderAs(...names).dataArray as tf.Tensor;
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

function product(sizes: readonly number[]): number {
  let p = 1;
  for (const s of sizes) p *= s;
  return p;
}

/**
 * Sums `left * right` over the axes `names` (penzai's `contract`). Axes present in both operands
 * but not contracted are batch axes. Result axes: left's remaining axes, then right's, with batch
 * axes first.
 *
 * Lowering: without batch axes one 2-D `tf.matMul` of `[rows, k] x [k, cols]`; with batch axes see
 * {@link batchedMatMul}.
 */
export function contractNamed(
  names: readonly string[],
  left: AnyNamed,
  right: AnyNamed,
  where = "contract",
): NamedArray {
  const l = dataOf(left);
  const r = dataOf(right);
  const lShape = left.namedShape;
  const rShape = right.namedShape;
  for (const n of names) {
    if (!Object.hasOwn(lShape, n) || !Object.hasOwn(rShape, n)) {
      throw new AxisMismatchError(
        `${where}: cannot contract axis "${n}": it must be in both operands, but the left has axes ` +
          `${JSON.stringify(lShape)} and the right ${JSON.stringify(rShape)}.`,
      );
    }
    if (lShape[n] !== rShape[n]) {
      throw new AxisMismatchError(
        `${where}: axis "${n}" has size ${lShape[n]} on the left but ${rShape[n]} on the right; contracted axes must match.`,
      );
    }
  }
  const contracted = new Set(names);
  const batch = l.names.filter((n) => !contracted.has(n) && Object.hasOwn(rShape, n));
  for (const n of batch) {
    if (lShape[n] !== rShape[n]) {
      throw new AxisMismatchError(
        `${where}: axis "${n}" appears in both operands with sizes ${lShape[n]} and ${rShape[n]}; shared axes must match.`,
      );
    }
  }
  const batchSet = new Set(batch);
  const lFree = l.names.filter((n) => !contracted.has(n) && !batchSet.has(n));
  const rFree = r.names.filter((n) => !contracted.has(n) && !batchSet.has(n));
  const batchSizes = batch.map((n) => lShape[n]!);
  const lFreeSizes = lFree.map((n) => lShape[n]!);
  const rFreeSizes = rFree.map((n) => rShape[n]!);
  const k = product(names.map((n) => lShape[n]!));
  const rows = product(lFreeSizes);
  const cols = product(rFreeSizes);
  const outNames = [...batch, ...lFree, ...rFree];
  const outShape = [...batchSizes, ...lFreeSizes, ...rFreeSizes];
  return tf.tidy(() => {
    let result: tf.Tensor;
    if (batch.length === 0) {
      // Transposed-operand matMuls are ~30x slower than plain ones on wasm; an explicit transpose
      // (when the layout needs one) plus a plain matMul is the fast path.
      const lhs = tf.reshape(dataAs(left, [...lFree, ...names]), [rows, k]);
      const rhs = tf.reshape(dataAs(right, [...names, ...rFree]), [k, cols]);
      result = tf.matMul(lhs as tf.Tensor2D, rhs as tf.Tensor2D);
    } else {
      const nb = product(batchSizes);
      const a = tf.reshape(dataAs(left, [...batch, ...lFree, ...names]), [nb, rows, k]);
      const b = tf.reshape(dataAs(right, [...batch, ...names, ...rFree]), [nb, k, cols]);
      result = batchedMatMul(a as tf.Tensor3D, b as tf.Tensor3D);
    }
    return wrapAs(tf.reshape(result, outShape), outNames) as unknown as tf.Tensor;
  }) as unknown as NamedArray;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return (x as object).constructor?.name ?? "object";
}

/**
 * `[n, m, k] x [n, k, p] -> [n, m, p]`. On the wasm and cpu backends, whose data lives in host
 * memory, the operands are split on the host and each slice goes through a plain 2-D `tf.matMul`:
 * measured on wasm for 16 x [128, 64] x [64, 128], 10 ms against 36 ms for the batched kernel and
 * 24 ms for `tf.unstack` + 2-D matMuls (tfjs slicing is slow there). Other backends use the batched
 * kernel.
 */
export function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return batchedMatMulWithGradient(a, b) as tf.Tensor3D;
}

// The host-split forward pass builds new tensors from host copies, which the gradient tape cannot
// follow; the gradient is given explicitly, with the same fast forward pass on explicitly
// transposed operands: dA = dC x B^T, dB = A^T x dC.
const batchedMatMulWithGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: batchedMatMulForward(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        batchedMatMulForward(dy as tf.Tensor3D, tf.transpose(sb, [0, 2, 1])),
        batchedMatMulForward(tf.transpose(sa, [0, 2, 1]), dy as tf.Tensor3D),
      ];
    },
  };
});

function batchedMatMulForward(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [n, m, k] = a.shape;
  const p = b.shape[2];
  const backend = tf.getBackend();
  if (n === 1)
    return tf.reshape(tf.matMul(tf.reshape(a, [m, k]), tf.reshape(b, [k, p])), [1, m, p]);
  if ((backend !== "wasm" && backend !== "cpu") || a.dtype !== "float32" || b.dtype !== "float32") {
    return tf.matMul(a, b);
  }
  const aData = a.dataSync() as Float32Array;
  const bData = b.dataSync() as Float32Array;
  const out = new Float32Array(n * m * p);
  for (let i = 0; i < n; i++) {
    const ai = tf.tensor2d(aData.subarray(i * m * k, (i + 1) * m * k), [m, k]);
    const bi = tf.tensor2d(bData.subarray(i * k * p, (i + 1) * k * p), [k, p]);
    const ci = tf.matMul(ai, bi);
    out.set(ci.dataSync() as Float32Array, i * m * p);
    ai.dispose();
    bi.dispose();
    ci.dispose();
  }
  return tf.tensor3d(out, [n, m, p]);
}
