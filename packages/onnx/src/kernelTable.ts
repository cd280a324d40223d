/**
 * The public face of the kernel table. `kernels.ts` declares its translations with the protobuf
 * types of `onnx-proto`, whose declarations need a global `Long` type that a consumer's compiler
 * may not have; re-exporting from here keeps the package's published declarations free of them.
 *
 * @module
 */

import { supportedKernels as kernelRows } from "./kernels.js";

/**
 * The tfjs kernels with an ONNX translation, with the ONNX operators each becomes.
 *
 * @returns one row per kernel, e.g. `{ kernel: "Relu", onnx: "Relu" }`.
 * @example
 * onnx.supportedKernels().find((row) => row.kernel === "Relu"); // { kernel: "Relu", onnx: "Relu" }
 */
export function supportedKernels(): { kernel: string; onnx: string }[] {
  return kernelRows();
}
