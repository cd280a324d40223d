/**
 * `@saikei/onnx`: export saikei computations to ONNX (`export`) and run them on onnxruntime in Node
 * and browsers (`session`), including KV-cached decoding (`decodingEngine`).
 *
 * @example
 * import { onnx } from "saikei"; // or: import * as onnx from "@saikei/onnx";
 * const bytes = onnx.export((x) => model.call(x), [x], { dynamicAxes: ["batch"] });
 * const s = await onnx.session(bytes);
 * const { output } = await s.run({ input: x });
 * await s.dispose();
 *
 * @module
 */

export {
  type DecodingCall,
  type DecodingEngineOptions,
  type DecodingEngineStats,
  decodingEngine,
  OnnxDecodingEngine,
} from "./decoding.js";
export * from "./errors.js";
export { type ExportOptions, exportModel, exportModel as export, OPSET } from "./export.js";
export { supportedKernels } from "./kernelTable.js";
export type { TensorDescription } from "./metadata.js";
export type { OrtModule, OrtSession, OrtTensor } from "./runtime.js";
export {
  OnnxSession,
  type SessionFeeds,
  type SessionOptions,
  type SessionResults,
  session,
} from "./session.js";
