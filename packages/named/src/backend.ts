/**
 * TensorFlow.js backend set-up: `ready()` picks the fastest backend available, once.
 *
 * Node: wasm (with SIMD when the runtime supports it), falling back to cpu. Browser: webgl when
 * `@tensorflow/tfjs-backend-webgl` has been imported by the application, then wasm, then cpu.
 * The choice can be overridden per call (`ready({ backends: ["cpu"] })`) or, in Node, with the
 * `SAIKEI_BACKEND` environment variable (`SAIKEI_BACKEND=cpu`, or a comma-separated order).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerGradients } from "./gradients.js";
import { registerMissingWasmKernels } from "./wasmKernels.js";

/** The backends saikei knows how to set up. */
export type BackendName = "wasm" | "cpu" | "webgl";

/** Options for {@link ready}. */
export interface ReadyOptions {
  /**
   * Backends to try, in order. Defaults to `["webgl", "wasm", "cpu"]` in a browser; in Node to the
   * `SAIKEI_BACKEND` environment variable if set, else `["wasm", "cpu"]`.
   */
  backends?: BackendName[];
  /**
   * Browser only: where the wasm binaries (`tfjs-backend-wasm*.wasm`) are served, as a URL
   * prefix ending in "/" (passed to tfjs's `setWasmPaths`). Node loads them from node_modules.
   */
  wasmPaths?: string;
}

/** Raised when none of the requested backends can be initialised. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

let pending: Promise<BackendName> | undefined;
let pendingKey = "";

const isBrowser = () => typeof window !== "undefined" && typeof document !== "undefined";
const KNOWN: readonly BackendName[] = ["wasm", "cpu", "webgl"];

function envOrder(): BackendName[] | undefined {
  const raw = typeof process !== "undefined" ? process.env?.SAIKEI_BACKEND : undefined;
  if (raw === undefined || raw.trim() === "") return undefined;
  const names = raw.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !KNOWN.includes(n as BackendName));
  if (unknown.length > 0) {
    throw new BackendUnavailableError(
      `SAIKEI_BACKEND=${raw} names unknown backends [${unknown.join(", ")}]; use a comma-separated list of ${KNOWN.join(", ")}.`,
    );
  }
  return names as BackendName[];
}

/**
 * The default backend order for this environment (before any override by options).
 *
 * @example
 * defaultBackendOrder(); // ["wasm", "cpu"] in Node, ["webgl", "wasm", "cpu"] in a browser
 */
export function defaultBackendOrder(): BackendName[] {
  if (isBrowser()) return ["webgl", "wasm", "cpu"];
  return envOrder() ?? ["wasm", "cpu"];
}

/**
 * Initialises a tfjs backend once and returns its name. Idempotent: later calls with the same
 * backend order return the same promise; a different order switches backend. tfjs's
 * "running in Node without tfjs-node" banner is silenced (production mode).
 *
 * @param options backend order override and, in browsers, where the wasm binaries are served.
 * @returns the name of the backend now active.
 * @throws BackendUnavailableError when none of the backends can be initialised.
 * @example
 * await ready(); // "wasm" in Node
 * await ready({ backends: ["cpu"] }); // "cpu"
 */
export function ready(options: ReadyOptions = {}): Promise<BackendName> {
  const order = options.backends ?? defaultBackendOrder();
  const key = order.join(",");
  if (pending !== undefined && key === pendingKey) return pending;
  pendingKey = key;
  pending = (async () => {
    tf.env().set("PROD", true);
    registerMissingWasmKernels();
    registerGradients();
    if (options.wasmPaths !== undefined) setWasmPaths(options.wasmPaths);
    const failures: string[] = [];
    for (const name of order) {
      if (tf.findBackendFactory(name) === null) {
        failures.push(`${name}: not registered`);
        continue;
      }
      try {
        if (await tf.setBackend(name)) {
          await tf.ready();
          return name;
        }
        failures.push(`${name}: initialisation returned false`);
      } catch (error) {
        // Try the next backend: wasm fails to load where WebAssembly or the binary is unavailable.
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    pending = undefined;
    pendingKey = "";
    throw new BackendUnavailableError(
      `None of the tfjs backends [${order.join(", ")}] could be initialised (${failures.join("; ")}). ` +
        'Pass { backends: [...] } with a registered backend (webgl needs `import "@tensorflow/tfjs-backend-webgl"`), ' +
        "or in a browser pass { wasmPaths } pointing at the served tfjs-backend-wasm binaries.",
    );
  })();
  return pending;
}
