/**
 * `@saikei/struct`: the pytree registry, key paths, tree utilities and frozen structs.
 *
 * @example
 * import { Struct, field, tree } from "@saikei/struct";
 * class Point extends Struct.define({ x: field<number>(), y: field<number>() }) {}
 * tree.leaves(new Point({ x: 1, y: 2 })); // [1, 2]
 *
 * @module
 */
export { bugInSaikei } from "./bug.js";
export { className } from "./className.js";
export { colorFromString, oklchColor } from "./color.js";
export * from "./errors.js";
export * from "./keys.js";
export { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
export { checkOptions } from "./options.js";
export * from "./registry.js";
export * from "./rewrite.js";
export * from "./struct.js";
export * from "./tree.js";
export * as tree from "./treeNamespace.js";
export { chainError, cycleError, depthError } from "./walkLimits.js";
