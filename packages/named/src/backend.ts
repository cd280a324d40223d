/**
 * TensorFlow.js backend set-up: `ready()` picks the fastest backend available once.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

/** The backends saikei knows how to set up. */
export type BackendName = "wasm" | "cpu" | "webgl";

/** Options for {@link ready}. */
export interface ReadyOptions {
  /** Backends to try, in order. Defaults to `["wasm", "cpu"]` in Node, `["webgl", "wasm", "cpu"]` in a browser. */
  backends?: BackendName[];
}

let pending: Promise<BackendName> | undefined;
let pendingKey = "";

const isBrowser = typeof window !== "undefined" && typeof document !== "undefined";

/**
 * Initialises a tfjs backend once and returns its name. Idempotent: later calls with the same
 * options return the same promise. In Node the wasm backend (SIMD) is used, falling back to cpu;
 * tfjs's "running in Node without tfjs-node" banner is silenced.
 *
 * @example
 * await ready(); // "wasm"
 * await ready({ backends: ["cpu"] }); // "cpu"
 */
export function ready(options: ReadyOptions = {}): Promise<BackendName> {
  const order = options.backends ?? (isBrowser ? ["webgl", "wasm", "cpu"] : ["wasm", "cpu"]);
  const key = order.join(",");
  if (pending !== undefined && key === pendingKey) return pending;
  pendingKey = key;
  pending = (async () => {
    tf.env().set("PROD", true);
    for (const name of order) {
      if (tf.findBackendFactory(name) === null) continue;
      try {
        if (await tf.setBackend(name)) {
          await tf.ready();
          return name as BackendName;
        }
      } catch {
        // Try the next backend: wasm can fail to load where WebAssembly is disabled.
      }
    }
    throw new Error(
      `None of the tfjs backends ${order.join(", ")} could be initialised. ` +
        "Install @tensorflow/tfjs-backend-cpu or pass { backends: [...] } with a registered backend.",
    );
  })();
  return pending;
}
