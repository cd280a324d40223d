/**
 * Kernels that tfjs-backend-wasm 4.22 lacks but saikei needs, written in JavaScript on the wasm
 * backend's heap. `UnsortedSegmentSum` is the gradient of `gather` (so of every embedding lookup):
 * without it no model with an embedding table can be trained on wasm.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

interface WasmBackendLike {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

const unsortedSegmentSum: tf.KernelConfig = {
  kernelName: "UnsortedSegmentSum",
  backendName: "wasm",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const numSegments = (attrs as { numSegments: number }).numSegments;
    const wasm = backend as unknown as WasmBackendLike;
    const values = wasm.readSync(x.dataId);
    const ids = wasm.readSync(segmentIds.dataId);
    const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
    const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
    const outValues = wasm.typedArrayFromHeap(out);
    outValues.fill(0);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      // Out-of-range segment ids are dropped, as TensorFlow's kernel does.
      if (id < 0 || id >= numSegments) continue;
      const from = i * inner;
      const to = id * inner;
      for (let j = 0; j < inner; j++) outValues[to + j]! += values[from + j]!;
    }
    return out;
  },
};

/** Registers the kernels above on the wasm backend where it has none of its own (idempotent). */
export function registerMissingWasmKernels(): void {
  if (tf.getKernel(unsortedSegmentSum.kernelName, "wasm") === undefined) {
    tf.registerKernel(unsortedSegmentSum);
  }
}
