import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, expectTypeOf, it, vi } from "vitest";
import {
  type BackendName,
  BackendUnavailableError,
  defaultBackendOrder,
  ready,
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
  });
});
