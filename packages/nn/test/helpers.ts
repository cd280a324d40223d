/** Test helpers: fixture loading, tolerant comparison, kernel counts and leak checks. */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LayerLike } from "@saikei/layer";
import { type NamedArray, type NamedArrayBase, nx } from "@saikei/named";
import { leaves } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeEach, expect } from "vitest";
import { ApplyAttentionMask, NamedEinsum, Sequential, Softmax } from "../src/index.js";

/** One stored array: named axes in storage order, shape and flat data. */
export interface FixtureArray {
  names: string[];
  shape: number[];
  data: (number | boolean)[];
}

/** The reference outputs produced by fixtures/generate_fixtures.py. */
export const fixtures: Record<string, Record<string, any>> = JSON.parse(
  readFileSync(fileURLToPath(new URL("../fixtures/nn_reference.json", import.meta.url)), "utf8"),
);

/** Builds a NamedArray from a fixture array (float32, int32 for integers, bool for booleans). */
export function named(fixture: FixtureArray, dtype?: "float32" | "int32" | "bool"): NamedArray {
  const kind =
    dtype ??
    (typeof fixture.data[0] === "boolean"
      ? "bool"
      : Number.isInteger(fixture.data[0]) &&
          fixture.names.length > 0 &&
          !fixture.data.some((v) => !Number.isInteger(v as number))
        ? "int32"
        : "float32");
  const values = fixture.data.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  return nx.wrap(tf.tensor(values, fixture.shape, kind), ...fixture.names);
}

/**
 * Expects `actual` to equal the fixture elementwise within 1e-5 relative (plus 1e-6 absolute for
 * values near zero), after ordering its axes like the fixture.
 */
export function expectClose(
  actual: NamedArray,
  expected: FixtureArray,
  rtol = 1e-5,
  atol = 1e-6,
): void {
  expect(Object.keys(actual.namedShape).sort()).toEqual([...expected.names].sort());
  for (const [i, n] of expected.names.entries())
    expect(actual.namedShape[n]).toBe(expected.shape[i]);
  const values = tf.tidy(() => Array.from(actual.orderAs(...expected.names).dataArray.dataSync()));
  const want = expected.data as number[];
  expect(values.length).toBe(want.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(values[i]! - want[i]!) - (atol + rtol * Math.abs(want[i]!));
    if (excess > worst) {
      worst = excess;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    expect.fail(
      `element ${worstAt}: got ${values[worstAt]}, expected ${want[worstAt]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Flat values of `x` with axes in the given order. */
export function values(x: NamedArrayBase, ...order: string[]): number[] {
  return tf.tidy(() =>
    Array.from((order.length > 0 ? x.orderAs(...order) : x).dataArray.dataSync()),
  );
}

/**
 * Multi-head attention scores as penzai's Gemma builds them: `q . k` over `projection` per head
 * (`seq` of the keys becomes `kv_seq`), the `attn_mask` side input, softmax over `kv_seq`.
 */
export function multiHeadScores(): Sequential {
  return new Sequential({
    sublayers: [
      new NamedEinsum({
        inputAxes: [
          { seq: "tq", heads: "h", projection: "p" },
          { seq: "tkv", heads: "h", projection: "p" },
        ],
        outputAxes: { seq: "tq", heads: "h", kv_seq: "tkv" },
      }),
      ApplyAttentionMask.fromConfig("attn_mask"),
      new Softmax({ axes: "kv_seq" }),
    ],
  });
}

/** The attention-weighted values per head, then `output` (a projection back to `embedding`). */
export function multiHeadCombine(output: LayerLike): Sequential {
  return new Sequential({
    sublayers: [
      new NamedEinsum({
        inputAxes: [
          { seq: "tq", heads: "h", kv_seq: "tkv" },
          { seq: "tkv", heads: "h", projection: "p" },
        ],
        outputAxes: { seq: "tq", heads: "h", projection: "p" },
      }),
      output,
    ],
  });
}

/** The kernels `f` dispatches, by name; every tensor of its result is disposed. */
export function kernelsOf(f: () => unknown): Record<string, number> {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  const counts: Record<string, number> = {};
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    const name = args[0] as string;
    counts[name] = (counts[name] ?? 0) + 1;
    return original.apply(this, args);
  };
  try {
    tf.dispose(leaves(f()).filter((leaf): leaf is tf.Tensor => leaf instanceof tf.Tensor));
  } finally {
    engine.runKernel = original;
  }
  return counts;
}

/**
 * Registers hooks that check every test of the file leaves `tf.memory().numTensors` where it
 * found it; `cleanUp` runs first (e.g. restoring mocks).
 */
export function expectNoLeakedTensors(cleanUp?: () => void): void {
  let baseline = 0;
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    cleanUp?.();
    expect(tf.memory().numTensors).toBe(baseline);
  });
}
