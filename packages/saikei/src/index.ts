/**
 * `saikei`: neural networks as legible, immutable data, on TensorFlow.js.
 *
 * @example
 * import { pz } from "saikei";
 * class Point extends pz.Struct.define({ x: pz.field<number>(), y: pz.field<number>() }) {}
 * pz.tree.leaves(new Point({ x: 1, y: 2 })); // [1, 2]
 *
 * @module
 */
export * as pz from "./pz.js";
