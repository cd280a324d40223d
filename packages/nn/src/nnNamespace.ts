/**
 * The `nn` namespace (`pz.nn`): every layer, parameter helper and initializer of `@saikei/nn`.
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
export * from "./parameters.js";
export * from "./standardization.js";
