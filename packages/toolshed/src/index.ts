/**
 * `@saikei/toolshed`: training, safetensors I/O, submodel isolation, rewiring, LoRA and shape
 * annotation (penzai v1's `toolshed`). Training registers tfjs's gradient functions
 * (`registerGradients` from `@saikei/named`) when a step function is built.
 *
 * @example
 * import { adam, buildTrainStepFn, TrainState, saveSafetensors } from "@saikei/toolshed";
 * const step = buildTrainStepFn(lossFn);
 * let state = TrainState.initialState(model, adam({ learningRate: 1e-3 }), random.key(0));
 * [state] = step(state, { x, y });
 * const bytes = saveSafetensors(state.model); // in Node: saveSafetensorsFile from "@saikei/toolshed/node"
 *
 * @module
 */

export * from "./annotateShapes.js";
export * from "./checkLayers.js";
export * from "./errors.js";
export * from "./interleaveIntermediates.js";
export * from "./isolateSubmodel.js";
export { jvp } from "./jvp.js";
export * from "./lora.js";
export * from "./modelRewiring.js";
export * from "./namedAxes.js";
export * from "./optimizers.js";
export { findParameters, type ParameterEntry } from "./parameterAccess.js";
export * from "./parameterCheckpoints.js";
export * from "./safetensors.js";
export * from "./safetensorsFormat.js";
export * from "./training.js";
