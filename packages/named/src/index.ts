/**
 * `@saikei/named`: named axes on tfjs tensors (`NamedArray`, `nmap`, name-aware ops), tfjs
 * backend set-up, and splittable random keys. Functions are exported flat and as the `nx`
 * namespace; random keys also as the `random` namespace.
 *
 * @example
 * import { nx, random, ready } from "@saikei/named";
 * await ready();
 * const x = nx.wrap(tf.ones([2, 3]), "batch", "features");
 * x.sum("features").unwrap("batch"); // [3, 3]
 *
 * @module
 */
export * from "./backend.js";
export * from "./creation.js";
export { isTaping, isTracing } from "./engineState.js";
export * from "./errors.js";
export { registerGradients } from "./gradients.js";
export {
  type GatherMode,
  type GatherOptions,
  Slice,
  slice,
  type UpdateMode,
  type UpdateOptions,
} from "./indexing.js";
export * from "./jit.js";
export * from "./namedArray.js";
export * from "./nmap.js";
export * as nx from "./nxNamespace.js";
export * from "./ops.js";
export * as random from "./random.js";
export { RandomKey } from "./random.js";
export { tidy } from "./tidy.js";
