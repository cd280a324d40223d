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
 * - Batched or transposed `tf.matMul` on wasm runs a naive loop (about 2 GFLOP/s) where a plain
 *   2-D matMul runs XNNPACK (about 30 GFLOP/s): {@link matMul2d} keeps to the fast path.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

interface WasmBackendLike {
  typedArrayFromHeap(info: { dataId: object; dtype: tf.DataType; shape: number[] }): tf.TypedArray;
}

function wasmHeapBackend(t: tf.Tensor): WasmBackendLike | undefined {
  if (tf.getBackend() !== "wasm" || t.dtype === "string" || t.dtype === "complex64")
    return undefined;
  const backend = tf.backend() as unknown as Partial<WasmBackendLike>;
  return typeof backend.typedArrayFromHeap === "function"
    ? (backend as WasmBackendLike)
    : undefined;
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
