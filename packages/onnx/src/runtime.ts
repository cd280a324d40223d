/**
 * Loading onnxruntime lazily: `onnxruntime-node` in Node, `onnxruntime-web` in browsers, on the
 * first session, so importing `@saikei/onnx` works without either installed. The parts of the
 * onnxruntime API saikei uses are described structurally here (no type import of an optional peer).
 *
 * @module
 */

import { RuntimeMissingError } from "./errors.js";

/** An onnxruntime tensor, as saikei reads and makes them. */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose?(): void;
}

/** An onnxruntime inference session, as saikei uses it. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** The onnxruntime module (`onnxruntime-node` or `onnxruntime-web`), as saikei uses it. */
export interface OrtModule {
  readonly Tensor: new (
    type: string,
    data: ArrayLike<number> | ArrayBufferView,
    dims: readonly number[],
  ) => OrtTensor;
  readonly InferenceSession: {
    create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  readonly env: { wasm?: { numThreads?: number } };
}

/** Whether this is Node (rather than a browser or a worker). */
export function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  return typeof g.process?.versions?.node === "string";
}

let loaded: Promise<OrtModule> | undefined;

/**
 * The onnxruntime of this platform, imported once. In Node: `onnxruntime-node`; elsewhere
 * `onnxruntime-web`.
 *
 * @throws RuntimeMissingError naming the package to install when the import fails.
 */
export function loadRuntime(): Promise<OrtModule> {
  loaded ??= importRuntime().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

async function importRuntime(): Promise<OrtModule> {
  const name = isNode() ? "onnxruntime-node" : "onnxruntime-web";
  try {
    const module = isNode() ? await import("onnxruntime-node") : await import("onnxruntime-web");
    return ((module as { default?: unknown }).default ?? module) as unknown as OrtModule;
  } catch (error) {
    throw new RuntimeMissingError(
      `onnx.session: could not load ${name} (${error instanceof Error ? error.message : String(error)}). ` +
        `Install it next to @saikei/onnx: npm install ${name}` +
        (name === "onnxruntime-node"
          ? ' (with the line "onnxruntime-node-install=skip" in your .npmrc, so its install script does not try to download GPU binaries).'
          : ".") +
        ' Or pass the module yourself: onnx.session(bytes, { runtime: await import("onnxruntime-web") }).',
    );
  }
}
