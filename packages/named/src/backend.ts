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

import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { BackendUnavailableError } from "./errors.js";
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
   * Browser only: where the wasm binaries of `@tensorflow/tfjs-backend-wasm` are served, passed to
   * tfjs's `setWasmPaths`: a URL prefix ending in "/" under which all three files are served, or a
   * map from each file name to its URL (what a bundler gives for imported assets). Node loads them
   * from node_modules. See docs/browser.md for the bundler recipe.
   */
  wasmPaths?: string | WasmBinaryPaths;
}

/**
 * The URL of each wasm binary of `@tensorflow/tfjs-backend-wasm`. tfjs picks one at run time
 * (SIMD, threads), so all three are required.
 *
 * @example
 * const paths: WasmBinaryPaths = {
 *   "tfjs-backend-wasm.wasm": "/assets/tfjs-backend-wasm.wasm",
 *   "tfjs-backend-wasm-simd.wasm": "/assets/tfjs-backend-wasm-simd.wasm",
 *   "tfjs-backend-wasm-threaded-simd.wasm": "/assets/tfjs-backend-wasm-threaded-simd.wasm",
 * };
 */
export type WasmBinaryPaths = { readonly [file in (typeof WASM_BINARIES)[number]]: string };

const WASM_BINARIES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
] as const;

const BROWSER_DOCS = "https://github.com/saikei-dev/saikei/blob/main/docs/browser.md";

let pending: Promise<BackendName> | undefined;
let pendingKey = "";
/** The `wasmPaths` of the call that started `pending`, as JSON (undefined when none was given). */
let pendingPaths: string | undefined;

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
  try {
    checkOptions("ready", options, ["backends", "wasmPaths"]);
  } catch (error) {
    return Promise.reject(error);
  }
  const order = options.backends ?? defaultBackendOrder();
  const key = order.join(",");
  const paths = options.wasmPaths === undefined ? undefined : JSON.stringify(options.wasmPaths);
  const pathsProblem = checkWasmPaths(options.wasmPaths);
  if (pathsProblem !== undefined) return Promise.reject(pathsProblem);
  if (pending !== undefined && paths !== undefined && paths !== pendingPaths) {
    // tfjs reads wasm paths once, when the wasm backend first starts: later ones would be ignored.
    return Promise.reject(
      new BackendUnavailableError(
        `ready({ wasmPaths: ${paths} }) came after ready() had already set up a backend ` +
          `${pendingPaths === undefined ? "without wasmPaths" : `with wasmPaths ${pendingPaths}`}; tfjs reads ` +
          "the wasm paths only once. Pass wasmPaths to the first ready() call of the application.",
      ),
    );
  }
  if (pending !== undefined && key === pendingKey) return pending;
  pendingKey = key;
  pendingPaths = paths ?? pendingPaths;
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
        const started = await initialise(name);
        if (started) {
          if (name !== "wasm" && failures.some((f) => f.startsWith("wasm:")) && isBrowser()) {
            console.warn(wasmFallbackWarning(name, failures));
          }
          return name;
        }
        failures.push(`${name}: initialisation returned false`);
      } catch (error) {
        // Try the next backend: wasm fails to load where WebAssembly or the binary is unavailable.
        failures.push(`${name}: ${(error as { message?: string })?.message ?? String(error)}`);
      }
    }
    pending = undefined;
    pendingKey = "";
    pendingPaths = undefined;
    throw new BackendUnavailableError(
      `None of the tfjs backends [${order.join(", ")}] could be initialised (${failures.join("; ")}). ` +
        'Pass { backends: [...] } with a registered backend (webgl needs `import "@tensorflow/tfjs-backend-webgl"`), ' +
        "or in a browser pass { wasmPaths } pointing at the served tfjs-backend-wasm binaries.",
    );
  })();
  return pending;
}

function checkWasmPaths(paths: ReadyOptions["wasmPaths"]): BackendUnavailableError | undefined {
  if (paths === undefined || typeof paths === "string") return undefined;
  const missing =
    paths !== null && typeof paths === "object"
      ? WASM_BINARIES.filter((file) => typeof paths[file] !== "string")
      : WASM_BINARIES;
  if (missing.length === 0) return undefined;
  return new BackendUnavailableError(
    `ready({ wasmPaths }) got a map without a URL for ${missing.join(", ")}. Pass a URL prefix ` +
      'ending in "/" under which all three binaries are served, or map every one of ' +
      `${WASM_BINARIES.join(", ")} to its URL (see ${BROWSER_DOCS}).`,
  );
}

/** Sets a backend and waits for it; false when tfjs declines it. */
async function initialise(name: BackendName): Promise<boolean> {
  if (name === "wasm" && isBrowser()) return startWasmQuietly();
  if (!(await tf.setBackend(name))) return false;
  await tf.ready();
  return true;
}

/**
 * Starts the wasm backend in a browser, holding back what the wasm module prints while it fails
 * to load (Emscripten's "failed to asynchronously prepare wasm", "Aborted(...)"): the one warning
 * of {@link wasmFallbackWarning} says what happened and how to fix it. The messages of a start
 * that succeeds are printed as usual.
 *
 * @throws Error with the wasm module's reason when it does not start.
 */
async function startWasmQuietly(): Promise<true> {
  const held: [level: "warn" | "error", args: unknown[]][] = [];
  const original = { warn: console.warn, error: console.error };
  let holding = true;
  // Emscripten binds console.warn when the module is created, so these stay its printers after
  // the start: they hold messages only while `holding`.
  const printer =
    (level: "warn" | "error") =>
    (...args: unknown[]) => {
      if (holding) held.push([level, args]);
      else original[level].apply(console, args);
    };
  console.warn = printer("warn");
  console.error = printer("error");
  try {
    if (await tf.setBackend("wasm")) {
      await tf.ready();
      for (const [level, args] of held) original[level].apply(console, args);
      return true;
    }
  } finally {
    holding = false;
    console.warn = original.warn;
    console.error = original.error;
  }
  // tfjs reports a failed start as `false`; the reason is in what the module printed.
  const said = held.map(([, args]) => args.map(String).join(" "));
  throw new Error(
    said.find((m) => m.startsWith("failed to asynchronously prepare wasm")) ??
      said.at(-1) ??
      "initialisation returned false",
  );
}

function wasmFallbackWarning(name: BackendName, failures: readonly string[]): string {
  const wasm = failures.find((f) => f.startsWith("wasm:")) ?? "wasm: failed";
  return (
    `saikei ready(): the tfjs wasm backend did not start (${wasm}), so tensors run on the much ` +
    `slower ${name} backend. Serve the .wasm files of @tensorflow/tfjs-backend-wasm with your app ` +
    'and pass their URLs: ready({ wasmPaths: { "tfjs-backend-wasm.wasm": url, ' +
    '"tfjs-backend-wasm-simd.wasm": url, "tfjs-backend-wasm-threaded-simd.wasm": url } }) or ' +
    `ready({ wasmPaths: "/prefix/" }). With vite, import each file with ?url. See ${BROWSER_DOCS}.`
  );
}
