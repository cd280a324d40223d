/**
 * `@saikei/models`: example models built from `@saikei/nn`: a simple MLP and a decoder-only
 * transformer LM with a KV-cached sampling mode and a decoding loop.
 *
 * @module
 */

export * from "./decodingLoop.js";
export * from "./errors.js";
export * from "./mlp.js";
export * from "./samplingMode.js";
export * from "./transformer.js";
