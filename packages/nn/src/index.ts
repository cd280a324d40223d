/**
 * `@saikei/nn`: penzai v1's layers and parameters on named axes (`pz.nn`).
 *
 * @example
 * import { nn } from "@saikei/nn";
 * const mlp = new nn.Sequential({ sublayers: [nn.Affine.fromConfig({ features: 8 }, { hidden: 16 })] });
 *
 * @module
 */
export * from "./attention.js";
export * from "./basicOps.js";
export * from "./combinators.js";
export * from "./dropout.js";
export * from "./embeddings.js";
export * from "./errors.js";
export * from "./grouping.js";
export * from "./initializers.js";
export * from "./linearAndAffine.js";
export * as nn from "./nnNamespace.js";
export * from "./parameters.js";
export * from "./standardization.js";
