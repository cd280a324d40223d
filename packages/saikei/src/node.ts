/**
 * `saikei/node`: checkpoint files written atomically, for Node only (the main `saikei` entry never
 * imports `node:fs`, so it bundles for browsers). The same names as `@saikei/toolshed/node`.
 *
 * @example
 * import { pz } from "saikei";
 * import { saveSafetensorsFile } from "saikei/node";
 * saveSafetensorsFile("model.safetensors", { w: pz.nx.wrap(tf.ones([2, 3]), "in", "out") });
 *
 * @module
 */
export * from "@saikei/toolshed/node";
