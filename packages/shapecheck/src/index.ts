/**
 * `@saikei/shapecheck`: structural shape checking with dimension variables (penzai's `pz.chk`).
 *
 * @example
 * import { ArraySpec, checkStructure, var as dim } from "@saikei/shapecheck";
 * checkStructure(tf.zeros([8, 3]), new ArraySpec({ shape: [dim("batch"), 3] })).get("batch"); // 8
 *
 * @module
 */
export * from "./abstract.js";
export * from "./arraySpec.js";
export * from "./boundValue.js";
export * from "./check.js";
export * from "./dims.js";
export * from "./dtypes.js";
export * from "./errors.js";
export { pyRepr, showShape } from "./format.js";
export * from "./matchResult.js";
export * from "./substitution.js";

/**
 * The type of a structure pattern (penzai's `StructureAnnotation`): any tree, usually with
 * `ArraySpec` and `Wildcard` leaves.
 */
export type StructureAnnotation = unknown;
