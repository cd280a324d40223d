/**
 * Backend-aware building blocks that the name-aware ops lower to. They avoid the tfjs patterns
 * that are slow on the wasm backend:
 *
 * - `tf.broadcastTo` (and `tf.where`, which calls it) runs the wasm `Tile` kernel, and binary ops
 *   on bool or int32 broadcast with a generic loop; both are about a hundred times slower than a
 *   broadcasting float32 add. {@link broadcastFast} broadcasts with a float32 add instead.
 * - The wasm `Select` kernel (`tf.where`) runs about a hundred times slower than a float32 add;
 *   {@link whereFast} selects in one JavaScript pass over the wasm heap instead.
 * - Batched or transposed `tf.matMul` on wasm runs a naive loop (about 2 GFLOP/s) where a plain
 *   2-D matMul runs XNNPACK (about 30 GFLOP/s): {@link matMulFast} keeps to the fast path.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { isTaping, isTracing } from "./engineState.js";

interface WasmBackendLike {
  typedArrayFromHeap(info: { dataId: object; dtype: tf.DataType; shape: number[] }): tf.TypedArray;
  dataIdMap: { has(dataId: object): boolean };
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
  ): { dataId: object; dtype: tf.DataType; shape: number[] };
}

/**
 * The wasm backend, if it is active and already holds the data of every tensor in `ts` (a
 * tensor made under another backend is moved lazily by the next kernel, not by us).
 */
function wasmHeapBackend(...ts: tf.Tensor[]): WasmBackendLike | undefined {
  // Tensors made from host copies are cut off from the gradient tape: while gradients are being
  // recorded, use the ordinary (differentiable) tfjs ops.
  // While a jit trace records, host copies would become constants of the trace: same rule.
  if (tf.getBackend() !== "wasm" || isTaping() || isTracing()) return undefined;
  const backend = tf.backend() as unknown as Partial<WasmBackendLike>;
  if (
    typeof backend.typedArrayFromHeap !== "function" ||
    typeof backend.dataIdMap?.has !== "function"
  ) {
    return undefined;
  }
  for (const t of ts) {
    if (t.dtype === "string" || t.dtype === "complex64" || !backend.dataIdMap.has(t.dataId))
      return undefined;
  }
  return backend as WasmBackendLike;
}

/**
 * Broadcasts `t` to `shape` (NumPy rules) with a broadcasting binary op rather than `Tile`.
 *
 * @example
 * broadcastFast(tf.scalar(1), [2, 2]) // [[1, 1], [1, 1]]
 */
export function broadcastFast(t: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (t.rank === shape.length && t.shape.every((s, i) => s === shape[i])) return t;
  if (
    t.size === 1 &&
    t.dtype !== "string" &&
    t.dtype !== "complex64" &&
    !isTaping() &&
    !isTracing()
  ) {
    // One element: a fill is a single pass (reading one value back is cheap).
    return tf.fill(shape as number[], t.dataSync()[0] as number, t.dtype);
  }
  if (t.dtype === "float32") return tf.add(t, tf.zeros(shape as number[], "float32"));
  // Only the float32 binary kernels broadcast quickly on wasm (XNNPACK); bool goes through
  // float32 exactly. int32 stays int32 (float32 would round values beyond 2^24).
  if (t.dtype === "bool")
    return tf.cast(tf.add(tf.cast(t, "float32"), tf.zeros(shape as number[], "float32")), "bool");
  if (t.dtype === "int32") return tf.add(t, tf.zeros(shape as number[], "int32"));
  return tf.broadcastTo(t, shape as number[]);
}

/**
 * Multiply-adds per batch slice (`m * k * p`) from which {@link matMulFast} splits a batched
 * product on the host. Measured on wasm (Node 20, SIMD; batched kernel vs split, three runs):
 * 4 x [1, 16] x [16, 72] 25-48 µs vs 86-160 µs; 32 x [8, 16] x [16, 64] (8192 per slice)
 * 0.4-0.6 ms vs 0.7-1.2 ms; 16384 per slice ties (4 x [16, 16] x [16, 72]: 0.13-0.19 ms vs
 * 0.12-0.23 ms); 4 x [32, 16] x [16, 72] (36864) 0.22-0.33 ms vs 0.12-0.24 ms; 4 x [72, 16] x
 * [16, 72] 0.75 ms vs 0.22-0.47 ms; 16 x [128, 64] x [64, 128] 24-34 ms vs 3.5-6.2 ms. The total
 * `n * m * k * p` does not separate the cases: 32 slices of 8192 lose 2x with the split, 4 of
 * 36864 win 2x.
 */
export const HOST_SPLIT_MIN_SLICE_WORK = 32768;

/**
 * Rows per batch slice (`m`) from which {@link matMulFast} splits on the host: with fewer, the
 * per-slice cost of packing the right operand dominates (4 x [8, 64] x [64, 72], 36864 per slice,
 * runs 0.19-0.26 ms batched vs 0.25-0.38 ms split).
 */
export const HOST_SPLIT_MIN_ROWS = 16;

/**
 * `[...batch, m, k] x [...batch, k, p] -> [...batch, m, p]` (the same batch axes on both sides, or
 * none), the one matMul every name-aware contraction lowers to. Small products run as one
 * `tf.matMul`. On wasm, large batched ones are split on the host and each slice goes through a
 * plain 2-D `tf.matMul` (the XNNPACK path; the batched kernel is a naive loop): 16 x [128, 64] x
 * [64, 128] runs in 10 ms against 36 ms for the batched kernel and 24 ms for `tf.unstack` + 2-D
 * matMuls. Each slice costs a fixed ~30 µs plus packing its right operand, so the split pays off
 * only from {@link HOST_SPLIT_MIN_SLICE_WORK} multiply-adds and {@link HOST_SPLIT_MIN_ROWS} rows
 * per slice (decoding one token, `[heads, 1, k] x [heads, k, kv]`, stays one kernel). Other
 * backends run their batched kernel, as does a jit trace (host copies would become constants of
 * the trace).
 *
 * Differentiable: while gradients are recorded and the split would run, the product goes through
 * `tf.customGrad` (the tape cannot follow host copies), whose gradient is the same fast product
 * on explicitly transposed operands.
 *
 * @example
 * matMulFast(tf.ones([16, 32, 64]), tf.ones([16, 64, 128])).shape // [16, 32, 128]
 */
export function matMulFast(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!splitsOnHost(a, b)) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  if (isTaping()) return matMulSplitWithGradient(a, b) as tf.Tensor;
  return matMulSplit(a, b);
}

/** Whether {@link matMulFast} splits `a x b` on the host. */
function splitsOnHost(a: tf.Tensor, b: tf.Tensor): boolean {
  const r = a.rank;
  if (r < 3 || isTracing() || a.dtype !== "float32" || b.dtype !== "float32") return false;
  const m = a.shape[r - 2]!;
  const k = a.shape[r - 1]!;
  const p = b.shape[r - 1]!;
  if (m < HOST_SPLIT_MIN_ROWS || m * k * p < HOST_SPLIT_MIN_SLICE_WORK || a.size === m * k)
    return false;
  return tf.getBackend() === "wasm";
}

// The split builds new tensors from host copies, which the gradient tape cannot follow; the
// gradient is given explicitly: dA = dC x B^T, dB = A^T x dC.
const matMulSplitWithGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: matMulSplit(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [matMulFast(dy, swapLastTwo(sb)), matMulFast(swapLastTwo(sa), dy)];
    },
  };
});

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm[t.rank - 2] = t.rank - 1;
  perm[t.rank - 1] = t.rank - 2;
  return tf.transpose(t, perm);
}

/** One plain 2-D `tf.matMul` per batch slice, on host copies of the operands. */
function matMulSplit(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
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

/** How an operand of {@link whereFast} is read: its size when it repeats over leading axes. */
function trailingPeriod(t: tf.Tensor, shape: readonly number[]): number | undefined {
  if (t.size === 1) return 1;
  const lead = shape.length - t.rank;
  if (lead < 0) return undefined;
  let seenFull = false;
  for (let i = 0; i < t.rank; i++) {
    const d = t.shape[i]!;
    if (d === shape[lead + i]) seenFull = seenFull || d !== 1;
    else if (d === 1 && !seenFull) continue;
    else return undefined;
  }
  // Leading size-1 axes repeat the rest; any other size-1 axis would need real broadcasting.
  const firstNonOne = t.shape.findIndex((d) => d !== 1);
  const trailing = firstNonOne < 0 ? [] : t.shape.slice(firstNonOne);
  const target = shape.slice(shape.length - trailing.length);
  return trailing.every((d, i) => d === target[i]) ? t.size : undefined;
}

/**
 * `cond ? a : b` with NumPy broadcasting to `shape` (`a` and `b` of one dtype). On wasm, when every
 * operand either matches `shape` or repeats over its leading axes (a scalar, a `[seq, kv]` mask
 * under `[batch, heads, seq, kv]` logits), it selects in one JavaScript pass over the wasm heap.
 *
 * @example
 * whereFast(tf.tensor([true, false]), tf.tensor([1, 2]), tf.scalar(0), [2]) // [1, 0]
 */
export function whereFast(
  cond: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  shape: readonly number[],
): tf.Tensor {
  const backend = wasmHeapBackend(cond, a, b);
  const periods = [cond, a, b].map((t) => trailingPeriod(t, shape));
  if (
    backend === undefined ||
    cond.dtype !== "bool" ||
    (a.dtype !== "float32" && a.dtype !== "int32") ||
    periods.some((p) => p === undefined)
  ) {
    return tf.where(broadcastFast(cond, shape), broadcastFast(a, shape), broadcastFast(b, shape));
  }
  const [pc, pa, pb] = periods as number[];
  const size = shape.reduce((x, y) => x * y, 1);
  // Write straight into a new wasm buffer; allocate it before taking any heap view, since an
  // allocation may grow (and detach) the heap. No tensor is allocated during the loop.
  const info = backend.makeOutput(shape as number[], a.dtype);
  const view = (t: { dataId: object; dtype: tf.DataType; shape: number[] }) =>
    backend.typedArrayFromHeap(t);
  const out = view(info as unknown as { dataId: object; dtype: tf.DataType; shape: number[] });
  const c = view(cond as unknown as { dataId: object; dtype: tf.DataType; shape: number[] });
  const x = view(a as unknown as { dataId: object; dtype: tf.DataType; shape: number[] });
  const y = view(b as unknown as { dataId: object; dtype: tf.DataType; shape: number[] });
  if (pa === size && pb === size && pc === size) {
    for (let i = 0; i < size; i++) out[i] = c[i] ? x[i]! : y[i]!;
  } else if (pa === size && pb === 1) {
    // The masking pattern: full values, a mask repeating over leading axes, a scalar fill value.
    const fill = y[0]!;
    for (let base = 0; base < size; base += pc!) {
      for (let j = 0; j < pc!; j++) out[base + j] = c[j] ? x[base + j]! : fill;
    }
  } else {
    for (let i = 0; i < size; i++) out[i] = c[i % pc!] ? x[i % pa!]! : y[i % pb!]!;
  }
  return tf.engine().makeTensorFromTensorInfo(info as tf.TensorInfo);
}
