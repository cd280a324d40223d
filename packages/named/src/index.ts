/**
 * `@saikei/named`: named axes on tfjs tensors, name-aware ops, backend set-up and random keys.
 *
 * @module
 */
export { type BackendName, type ReadyOptions, ready } from "./backend.js";
