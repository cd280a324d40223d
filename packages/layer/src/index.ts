/**
 * `@saikei/layer`: the v1 Layer base class and checked layer calls.
 *
 * @module
 */
export { callLayer, Layer, type LayerLike } from "./layer.js";
