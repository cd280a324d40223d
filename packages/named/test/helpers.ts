import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";

/** Reads a tensor as nested arrays (test helper). */
export function values(t: tf.Tensor): unknown {
  return t.arraySync();
}

/** Asserts two nested number arrays are elementwise close. */
export function expectClose(actual: unknown, expected: unknown, tol = 1e-5): void {
  const a = [actual].flat(Infinity as 1) as number[];
  const e = [expected].flat(Infinity as 1) as number[];
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(e[i]!)) expect(a[i]).toBe(e[i]);
    else expect(Math.abs(a[i]! - e[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e[i]!)));
  }
}

/** The kernels `f` dispatches, by name; the tensor it returns is disposed. */
export function kernelsOf(f: () => tf.Tensor): Record<string, number> {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  const counts: Record<string, number> = {};
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    const name = args[0] as string;
    counts[name] = (counts[name] ?? 0) + 1;
    return original.apply(this, args);
  };
  try {
    f().dispose();
  } finally {
    engine.runKernel = original;
  }
  return counts;
}
