/**
 * `@saikei/toolshed`: Training, safetensors I/O, submodel isolation, rewiring, LoRA and shape annotation.
 *
 * @module
 */

export * from "./annotateShapes.js";
export * from "./checkLayers.js";
export * from "./gradients.js";
export * from "./intercept.js";
export * from "./interleaveIntermediates.js";
export * from "./isolateSubmodel.js";
export * from "./lora.js";
export * from "./modelRewiring.js";
export * from "./optimizers.js";
export * from "./parameterAccess.js";
export * from "./safetensors.js";
export * from "./safetensorsFormat.js";
export * from "./training.js";
