import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { nx, RandomKey, RandomKeyError, random, ready } from "../src/index.js";
import { erf, erfinv, threefry2x32 } from "../src/random.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("threefry2x32 known-answer vectors (Random123, as in JAX's random_test)", () => {
  it("zero key and counter", () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
  });
  it("all-ones key and counter", () => {
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([
      0x1cb996fc, 0xbb002be7,
    ]);
  });
  it("pi digits", () => {
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([
      0xc4923a9c, 0x483df7a0,
    ]);
  });
});

describe("keys follow JAX's derivation", () => {
  it("key(seed) is [0, seed]", () => {
    expect(random.key(0).words).toEqual([0, 0]);
    expect(random.key(42).words).toEqual([0, 42]);
  });

  it("split(key(0)) equals jax.random.split(PRNGKey(0))", () => {
    expect(random.split(random.key(0)).map((k) => k.words)).toEqual([
      [4146024105, 967050713],
      [2718843009, 1272950319],
    ]);
  });

  it("uniform(key(0)) equals jax.random.uniform(PRNGKey(0)) = 0.41845703", () => {
    expect(values(random.uniform(random.key(0), []))).toBeCloseTo(0.41845703125, 10);
  });

  it("foldIn hashes [0, data] under the key", () => {
    const k = random.foldIn(random.key(3), 7);
    expect(k.words).toEqual(threefry2x32(0, 3, 0, 7));
    expect(random.foldIn(random.key(3), 8).equals(k)).toBe(false);
  });

  it("keys are deterministic and distinct (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 2, max: 6 }),
        (seed, n) => {
          const a = random.split(random.key(seed), n);
          const b = random.split(random.key(seed), n);
          expect(a.map((k) => k.words)).toEqual(b.map((k) => k.words));
          expect(new Set(a.map(String)).size).toBe(n);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("invalid seeds and keys are rejected", () => {
    expect(() => random.key(-1)).toThrow(RandomKeyError);
    expect(() => random.key(1.5)).toThrow(/integer seed in \[0, 2\^32\)/);
    expect(() => random.split([0, 0] as never)).toThrow(/expects a RandomKey/);
    expect(() => new RandomKey(0, 2 ** 32)).toThrow(RandomKeyError);
    expect(() => random.foldIn(random.key(0), -3)).toThrow(RandomKeyError);
    expect(String(random.key(5))).toBe("RandomKey(0, 5)");
  });
});

describe("samplers", () => {
  const k = random.key(123);

  it("uniform respects bounds and is deterministic", () => {
    const u = random.uniform(k, [2000], { minval: -2, maxval: 3 });
    const v = Array.from(u.dataSync());
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...v)).toBeLessThan(3);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.1);
    expect(values(random.uniform(k, [5]))).toEqual(values(random.uniform(k, [5])));
    expect(values(random.uniform(k, [5]))).not.toEqual(
      values(random.uniform(random.key(124), [5])),
    );
  });

  it("normal has mean 0 and variance 1", () => {
    const v = Array.from(random.normal(k, [4000]).dataSync());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.06);
    expect(Math.abs(variance - 1)).toBeLessThan(0.08);
  });

  it("truncatedNormal stays inside its bounds", () => {
    const v = Array.from(random.truncatedNormal(k, [2000], -1, 0.5).dataSync());
    expect(Math.min(...v)).toBeGreaterThan(-1);
    expect(Math.max(...v)).toBeLessThan(0.5);
    expect(() => random.truncatedNormal(k, [1], 1, 1)).toThrow(/lower < upper/);
  });

  it("bernoulli, randint and categorical", () => {
    const b = random.bernoulli(k, 0.25, [4000]);
    expect(b.dtype).toBe("bool");
    const ones = Array.from(b.dataSync()).reduce((a, x) => a + x, 0);
    expect(Math.abs(ones / 4000 - 0.25)).toBeLessThan(0.03);
    const r = Array.from(random.randint(k, [1000], -3, 4).dataSync());
    expect(Math.min(...r)).toBe(-3);
    expect(Math.max(...r)).toBe(3);
    const logits = tf.tensor([
      [0, 20, 0],
      [30, 0, 0],
    ]);
    expect(values(random.categorical(k, logits))).toEqual([1, 0]);
    expect(random.categorical(k, logits, 0).shape).toEqual([3]);
  });

  it("erf and erfinv are inverse and match known values", () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 12);
    expect(erf(-3.5)).toBeCloseTo(-0.9999992569016276, 12);
    for (const x of [-0.9, -0.3, 0.1, 0.7, 0.999]) expect(erf(erfinv(x))).toBeCloseTo(x, 6);
  });
});

describe("random helpers on named shapes", () => {
  it("randomSplit gives one key per element, as random.split", () => {
    const keys = nx.randomSplit(random.key(0), { a: 2, b: 3 });
    expect(keys.namedShape).toEqual({ a: 2, b: 3 });
    expect(keys.positionalShape).toEqual([2]);
    const flat = random.split(random.key(0), 6);
    expect(nx.keyFromArray(keys.index({ a: 1, b: 2 })).equals(flat[5])).toBe(true);
    expect(nx.keyFromArray(keys.index({ a: 0, b: 1 })).equals(flat[1])).toBe(true);
    expect(() => nx.keyFromArray(keys)).toThrow(/exactly 2 elements/);
  });

  it("named draws use the same bits as positional ones", () => {
    const k = random.key(9);
    expect(values(nx.randomUniform(k, { a: 2, b: 2 }).unwrap("a", "b"))).toEqual(
      values(random.uniform(k, [2, 2])),
    );
    expect(values(nx.randomNormal(k, [["x", 3]]).unwrap("x"))).toEqual(
      values(random.normal(k, [3])),
    );
    expect(nx.randomBernoulli(k, 0.5, { z: 4 }).dtype).toBe("bool");
  });

  it("types", () => {
    expectTypeOf(random.split).returns.toEqualTypeOf<RandomKey[]>();
    expectTypeOf(random.uniform).returns.toEqualTypeOf<tf.Tensor>();
  });
});
