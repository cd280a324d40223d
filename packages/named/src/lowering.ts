/**
 * Backend-aware building blocks that the name-aware ops lower to. They avoid the tfjs patterns
 * that are slow on the wasm backend:
 *
 * - `tf.slice` / `tf.split` / `tf.unstack` on wasm copy the *whole* input to JavaScript for every
 *   slice (`readSync`), so splitting a tensor into `n` parts costs `n` full copies.
 *   {@link splitLeading} copies each part once instead.
 * - `tf.broadcastTo` (and `tf.where`, which calls it) runs the wasm `Tile` kernel, and binary ops
 *   on bool or int32 broadcast with a generic loop; both are about a hundred times slower than a
 *   broadcasting float32 add. {@link broadcastFast} broadcasts with a float32 add instead.
 * - The wasm `Select` kernel (`tf.where`) runs about a hundred times slower than a float32 add;
 *   {@link whereFast} selects in one JavaScript pass over the wasm heap instead.
 * - Batched or transposed `tf.matMul` on wasm runs a naive loop (about 2 GFLOP/s) where a plain
 *   2-D matMul runs XNNPACK (about 30 GFLOP/s): {@link matMul2d} keeps to the fast path.
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
 * Splits `t` into `n` equal parts along axis 0, each of shape `[t.shape[0] / n, ...rest]`.
 * On wasm each part is copied once straight from the wasm heap.
 *
 * @example
 * splitLeading(tf.zeros([6, 2]), 3).map((p) => p.shape) // [[2, 2], [2, 2], [2, 2]]
 */
export function splitLeading(t: tf.Tensor, n: number): tf.Tensor[] {
  if (n === 1) return [t];
  const backend = wasmHeapBackend(t);
  if (backend === undefined) return tf.split(t, n, 0);
  const shape = [t.shape[0]! / n, ...t.shape.slice(1)];
  const per = t.size / n;
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    // A fresh heap view each time: creating the previous part may have grown (and detached) the heap.
    const view = backend.typedArrayFromHeap(
      t as unknown as { dataId: object; dtype: tf.DataType; shape: number[] },
    );
    parts.push(tf.tensor(view.slice(i * per, (i + 1) * per), shape, t.dtype));
  }
  return parts;
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
 * `B` independent products `a[i] @ b[i]` for `a: [B*M, K]`-shaped rows and `b: [B, K, N]`,
 * returned as `[B*M, N]`, using one plain 2-D matMul per batch element (the XNNPACK path on
 * wasm).
 *
 * @example
 * batchedMatMul2d(tf.ones([4, 3]), tf.ones([2, 3, 5]), 2).shape // [4, 5]
 */
export function batchedMatMul2d(a: tf.Tensor, b: tf.Tensor, batch: number): tf.Tensor {
  const as = splitLeading(a, batch);
  const bs = splitLeading(b, batch);
  const K = b.shape[1]!;
  const N = b.shape[2]!;
  const parts = as.map((x, i) =>
    tf.matMul(x as tf.Tensor2D, tf.reshape(bs[i]!, [K, N]) as tf.Tensor2D),
  );
  return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
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
