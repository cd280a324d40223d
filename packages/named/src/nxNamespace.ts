/**
 * The `nx` namespace (penzai's `pz.nx`): named-array classes and module functions.
 *
 * @module
 */
export * from "./creation.js";
export { Slice, slice } from "./indexing.js";
export { isNamedArray, NamedArray, NamedArrayBase, NamedArrayView, wrap } from "./namedArray.js";
export { nmap, orderLike, scan } from "./nmap.js";
export { dot, elementwise, isInt32, logSoftmax, logsumexp, softmax, where } from "./ops.js";
export { tidy } from "./tidy.js";
