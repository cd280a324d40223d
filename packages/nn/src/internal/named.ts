/**
 * Low-level helpers on named arrays used by the layers: reading the data in a chosen axis order,
 * wrapping results, renaming, and the contraction lowering (plain 2-D `tf.matMul`s, the pattern the
 * wasm backend runs fastest).
 *
 * @module
 */

import { DisposedTensorError } from "@saikei/layer";
import { isNamedArray, isTaping, isTracing, NamedArray } from "@saikei/named";
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
 * The data of `x` with its axes in the order `names`, reshaped to `shape` (of the same size):
 * {@link dataAs} then {@link reshapeIfNeeded}, with a permutation that moves only size-1 axes
 * folded into the one reshape.
 */
function dataAsShaped(x: AnyNamed, names: readonly string[], shape: readonly number[]): tf.Tensor {
  const own = directNames(x);
  if (own !== undefined) {
    const data = (x as NamedArray).dataArray;
    if (sameOrder(own, names) || movesOnlyUnitAxes(own, names, x.namedShape))
      return reshapeIfNeeded(data, shape);
  }
  return reshapeIfNeeded(dataAs(x, names), shape);
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
 * Lowering: without batch axes one 2-D `tf.matMul` of `[rows, k] x [k, cols]`; with batch axes
 * one `[...batch, rows, k] x [...batch, k, cols]` product, see {@link batchedMatMul}. Reshapes
 * and transposes that would not change the data's shape or layout are skipped (each is a kernel
 * dispatch): e.g. a `{batch: 1, seq: 1, embedding}` input feeds the matMul as it is.
 */
export function contractNamed(
  names: readonly string[],
  left: AnyNamed,
  right: AnyNamed,
  where = "contract",
): NamedArray {
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
  const lNames = axisNames(left);
  const rNames = axisNames(right);
  const contracted = new Set(names);
  const batch = lNames.filter((n) => !contracted.has(n) && Object.hasOwn(rShape, n));
  for (const n of batch) {
    if (lShape[n] !== rShape[n]) {
      throw new AxisMismatchError(
        `${where}: axis "${n}" appears in both operands with sizes ${lShape[n]} and ${rShape[n]}; shared axes must match.`,
      );
    }
  }
  const batchSet = new Set(batch);
  const lFree = lNames.filter((n) => !contracted.has(n) && !batchSet.has(n));
  const rFree = rNames.filter((n) => !contracted.has(n) && !batchSet.has(n));
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
      // (when the layout needs one) plus a plain matMul is the fast path. The left operand may
      // keep leading size-1 axes (`[1, ..., rows, k]`): the kernel runs that as the same plain
      // product, and the result then often needs no reshape. Not while taping: tfjs's matMul
      // gradient does not sum over broadcast batch axes.
      const keepLeading = lFree.length > 1 && product(lFreeSizes.slice(0, -1)) === 1 && !isTaping();
      const lhs = dataAsShaped(
        left,
        [...lFree, ...names],
        keepLeading ? [...lFreeSizes, k] : [rows, k],
      );
      const rhs = dataAsShaped(right, [...names, ...rFree], [k, cols]);
      result = tf.matMul(lhs as tf.Tensor2D, rhs as tf.Tensor2D);
    } else {
      const a = dataAsShaped(left, [...batch, ...lFree, ...names], [...batchSizes, rows, k]);
      const b = dataAsShaped(right, [...batch, ...names, ...rFree], [...batchSizes, k, cols]);
      result = batchedMatMul(a as tf.Tensor3D, b as tf.Tensor3D);
    }
    return wrapAs(reshapeIfNeeded(result, outShape), outNames) as unknown as tf.Tensor;
  }) as unknown as NamedArray;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return className((x as object).constructor) || "object";
}

/**
 * `[...batch, m, k] x [...batch, k, p] -> [...batch, m, p]` (the same batch axes on both sides;
 * typed for the common rank 3). Small products run as one `tf.matMul`. On the wasm and cpu
 * backends, whose data lives in host memory, large ones are split on the host and each slice goes
 * through a plain 2-D `tf.matMul` (the XNNPACK path on wasm; the batched kernel is a naive
 * loop): measured on wasm for 16 x [128, 64] x [64, 128], 10 ms against 36 ms for the batched
 * kernel and 24 ms for `tf.unstack` + 2-D matMuls (tfjs slicing is slow there). Each slice costs
 * a fixed ~30 µs plus packing its right operand, so the split pays off only from
 * {@link HOST_SPLIT_MIN_SLICE_WORK} multiply-adds and {@link HOST_SPLIT_MIN_ROWS} rows per slice
 * (decoding one token, `[heads, 1, k] x [heads, k, kv]`, stays one kernel). Other backends always
 * use the batched kernel; so does a jit trace (`isTracing()`), and {@link setHostSplitAllowed}
 * turns the split off.
 *
 * Differentiable: while gradients are recorded and the host split would run, the product goes
 * through `tf.customGrad` (the tape cannot follow host copies); otherwise through `tf.matMul`.
 */
export function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (isTaping() && splitsOnHost(a, b)) return batchedMatMulWithGradient(a, b) as tf.Tensor3D;
  return batchedMatMulForward(a, b) as tf.Tensor3D;
}

/**
 * Multiply-adds per batch slice (`m * k * p`) from which {@link batchedMatMul} splits on the
 * host. Measured on wasm (Node 20, SIMD; batched kernel vs split, three runs): 4 x [1, 16] x
 * [16, 72] 25-48 µs vs 86-160 µs; 32 x [8, 16] x [16, 64] (8192 per slice) 0.4-0.6 ms vs
 * 0.7-1.2 ms; 16384 per slice ties (4 x [16, 16] x [16, 72]: 0.13-0.19 ms vs 0.12-0.23 ms);
 * 4 x [32, 16] x [16, 72] (36864) 0.22-0.33 ms vs 0.12-0.24 ms; 4 x [72, 16] x [16, 72] 0.75 ms vs
 * 0.22-0.47 ms; 16 x [128, 64] x [64, 128] 24-34 ms vs 3.5-6.2 ms. The total `n * m * k * p`
 * does not separate the cases: 32 slices of 8192 lose 2x with the split, 4 of 36864 win 2x.
 */
export const HOST_SPLIT_MIN_SLICE_WORK = 32768;

/**
 * Rows per batch slice (`m`) from which {@link batchedMatMul} splits on the host: with fewer, the
 * per-slice cost of packing the right operand dominates (4 x [8, 64] x [64, 72], 36864 per slice,
 * runs 0.19-0.26 ms batched vs 0.25-0.38 ms split).
 */
export const HOST_SPLIT_MIN_ROWS = 16;

let hostSplitAllowed = true;

/**
 * Allows or forbids {@link batchedMatMul}'s host split (which reads the operands' data back with
 * `dataSync`); when forbidden, every product is one `tf.matMul`, with no data read to the host
 * (e.g. while tracing). Returns the previous setting.
 *
 * @example
 * const previous = setHostSplitAllowed(false);
 * try { trace(); } finally { setHostSplitAllowed(previous); }
 */
export function setHostSplitAllowed(allowed: boolean): boolean {
  const previous = hostSplitAllowed;
  hostSplitAllowed = allowed;
  return previous;
}

/** Whether {@link batchedMatMulForward} splits `a x b` on the host. */
function splitsOnHost(a: tf.Tensor, b: tf.Tensor): boolean {
  // While a jit trace records, host copies would become constants of the trace.
  if (!hostSplitAllowed || isTracing() || a.dtype !== "float32" || b.dtype !== "float32")
    return false;
  const r = a.rank;
  const m = a.shape[r - 2]!;
  const k = a.shape[r - 1]!;
  const p = b.shape[r - 1]!;
  const slice = m * k * p;
  if (m < HOST_SPLIT_MIN_ROWS || slice < HOST_SPLIT_MIN_SLICE_WORK || a.size === m * k)
    return false;
  const backend = tf.getBackend();
  return backend === "wasm" || backend === "cpu";
}

// The host-split forward pass builds new tensors from host copies, which the gradient tape cannot
// follow; the gradient is given explicitly, with the same fast forward pass on explicitly
// transposed operands: dA = dC x B^T, dB = A^T x dC.
const batchedMatMulWithGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: batchedMatMulForward(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [batchedMatMulForward(dy, swapLastTwo(sb)), batchedMatMulForward(swapLastTwo(sa), dy)];
    },
  };
});

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm[t.rank - 2] = t.rank - 1;
  perm[t.rank - 1] = t.rank - 2;
  return tf.transpose(t, perm);
}

function batchedMatMulForward(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!splitsOnHost(a, b)) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  const r = a.rank;
  const m = a.shape[r - 2]!;
  const k = a.shape[r - 1]!;
  const p = b.shape[r - 1]!;
  const n = a.size / (m * k);
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
  return tf.tensor(out, [...a.shape.slice(0, -2), m, p]);
}
