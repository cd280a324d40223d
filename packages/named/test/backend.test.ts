import * as tf from "@tensorflow/tfjs-core";
import { afterAll, afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import {
  type BackendName,
  BackendUnavailableError,
  defaultBackendOrder,
  type ReadyOptions,
  ready,
  type WasmBinaryPaths,
} from "../src/index.js";

afterAll(async () => {
  await ready();
});

describe("ready", () => {
  it("selects wasm in Node by default and is idempotent", async () => {
    expect(defaultBackendOrder()).toEqual(["wasm", "cpu"]);
    const p = ready();
    expect(ready()).toBe(p);
    expect(await p).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.env().getBool("PROD")).toBe(true); // silences tfjs's Node banner
    expect(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")).toBe(true);
  });

  it("rejects wasmPaths given after a backend was set up without them, naming the fix", async () => {
    await ready();
    await expect(ready({ wasmPaths: "/assets/" })).rejects.toThrow(
      new BackendUnavailableError(
        'ready({ wasmPaths: "/assets/" }) came after ready() had already set up a backend without ' +
          "wasmPaths; tfjs reads the wasm paths only once. Pass wasmPaths to the first ready() call of " +
          "the application.",
      ),
    );
    expect(await ready()).toBe("wasm"); // the set-up that was made stays
  });

  it("can be overridden", async () => {
    expect(await ready({ backends: ["cpu"] })).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(await ready({ backends: ["webgl", "wasm"] })).toBe("wasm");
  });

  it("reads SAIKEI_BACKEND and rejects unknown names", () => {
    const saved = process.env.SAIKEI_BACKEND;
    try {
      process.env.SAIKEI_BACKEND = "cpu,wasm";
      expect(defaultBackendOrder()).toEqual(["cpu", "wasm"]);
      process.env.SAIKEI_BACKEND = "gpu";
      expect(() => defaultBackendOrder()).toThrow(BackendUnavailableError);
      expect(() => defaultBackendOrder()).toThrow(/unknown backends \[gpu\]/);
    } finally {
      if (saved === undefined) delete process.env.SAIKEI_BACKEND;
      else process.env.SAIKEI_BACKEND = saved;
    }
  });

  it("prefers webgl, then wasm, in a browser", () => {
    vi.stubGlobal("window", {});
    vi.stubGlobal("document", {});
    try {
      expect(defaultBackendOrder()).toEqual(["webgl", "wasm", "cpu"]);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(defaultBackendOrder()).toEqual(["wasm", "cpu"]);
  });

  it("explains when no backend can be initialised", async () => {
    await expect(ready({ backends: ["webgl"] })).rejects.toThrow(/webgl: not registered/);
  });

  it("types", () => {
    expectTypeOf(ready).returns.toEqualTypeOf<Promise<BackendName>>();
    expectTypeOf<ReadyOptions["wasmPaths"]>().toEqualTypeOf<string | WasmBinaryPaths | undefined>();
    expectTypeOf<WasmBinaryPaths>().toEqualTypeOf<{
      readonly "tfjs-backend-wasm.wasm": string;
      readonly "tfjs-backend-wasm-simd.wasm": string;
      readonly "tfjs-backend-wasm-threaded-simd.wasm": string;
    }>();
  });
});

describe("ready in a browser", () => {
  const WASM_FAILURE =
    "failed to asynchronously prepare wasm: RuntimeError: Aborted(both async and sync fetching of the wasm failed).";

  /**
   * Pretends to be a page whose wasm start prints `noise` and then fails (as tfjs reports it:
   * `setBackend` resolves to false) or succeeds.
   */
  function browserWhereWasm(outcome: "fails" | "starts", noise: readonly string[]) {
    vi.stubGlobal("window", {});
    vi.stubGlobal("document", {});
    const engine = tf.engine();
    const setBackend = engine.setBackend.bind(engine);
    vi.spyOn(engine, "setBackend").mockImplementation(async (name: string) => {
      if (name !== "wasm") return setBackend(name);
      for (const line of noise) console.warn(line);
      return outcome === "fails" ? false : setBackend(name);
    });
    return vi.spyOn(console, "warn").mockImplementation(() => {});
  }

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  it("falls back to cpu with one warning that names the fix, holding back the wasm module's noise", async () => {
    const warn = browserWhereWasm("fails", [
      "wasm streaming compile failed: TypeError: HTTP status code is not ok",
      WASM_FAILURE,
      "Aborted(RuntimeError: Aborted(both async and sync fetching of the wasm failed).)",
    ]);
    await ready({ backends: ["cpu"] });
    expect(await ready({ backends: ["wasm", "cpu"] })).toBe("cpu");
    expect(warn.mock.calls).toEqual([
      [
        `saikei ready(): the tfjs wasm backend did not start (wasm: ${WASM_FAILURE}), so tensors ` +
          "run on the much slower cpu backend. Serve the .wasm files of @tensorflow/tfjs-backend-wasm " +
          'with your app and pass their URLs: ready({ wasmPaths: { "tfjs-backend-wasm.wasm": url, ' +
          '"tfjs-backend-wasm-simd.wasm": url, "tfjs-backend-wasm-threaded-simd.wasm": url } }) or ' +
          'ready({ wasmPaths: "/prefix/" }). With vite, import each file with ?url. ' +
          "See https://github.com/saikei-dev/saikei/blob/main/docs/browser.md.",
      ],
    ]);
  });

  it("prints what the wasm module says when it starts, and no warning", async () => {
    const warn = browserWhereWasm("starts", ["a note from the wasm module"]);
    await ready({ backends: ["cpu"] });
    expect(await ready({ backends: ["wasm", "cpu"] })).toBe("wasm");
    expect(warn.mock.calls).toEqual([["a note from the wasm module"]]);
  });

  it("does not warn when cpu was asked for", async () => {
    const warn = browserWhereWasm("fails", ["unused"]);
    expect(await ready({ backends: ["cpu"] })).toBe("cpu");
    expect(warn).not.toHaveBeenCalled();
  });
});

describe("wasmPaths", () => {
  it("rejects a per-file map that misses a binary, naming it and both accepted forms", async () => {
    const partial = { "tfjs-backend-wasm-simd.wasm": "/assets/simd.wasm" } as WasmBinaryPaths;
    await expect(ready({ backends: ["cpu", "wasm"], wasmPaths: partial })).rejects.toThrow(
      new BackendUnavailableError(
        "ready({ wasmPaths }) got a map without a URL for tfjs-backend-wasm.wasm, " +
          'tfjs-backend-wasm-threaded-simd.wasm. Pass a URL prefix ending in "/" under which all ' +
          "three binaries are served, or map every one of tfjs-backend-wasm.wasm, " +
          "tfjs-backend-wasm-simd.wasm, tfjs-backend-wasm-threaded-simd.wasm to its URL " +
          "(see https://github.com/saikei-dev/saikei/blob/main/docs/browser.md).",
      ),
    );
    // the rejected call left ready() as it was
    expect(await ready({ backends: ["cpu", "wasm"] })).toBe("cpu");
  });
});
