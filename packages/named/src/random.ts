/**
 * Splittable random keys (JAX's `threefry2x32` PRNG, computed in JavaScript so that results are
 * bitwise identical in Node and in browsers, whatever the tfjs backend) and samplers that turn a
 * key into tensors.
 *
 * Key derivation follows JAX with `jax_threefry_partitionable=False` (JAX's original scheme):
 * `key(0)` is `[0, 0]`, and `split(key(0))` is `[[4146024105, 967050713], [2718843009, 1272950319]]`.
 *
 * @module
 */

import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { RandomKeyError } from "./errors.js";

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/**
 * The Threefry-2x32 block cipher with 20 rounds (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3"), as used by JAX: hashes the counter pair `(x0, x1)` under the key `(k0, k1)`.
 *
 * @returns the two output words (uint32).
 * @example
 * threefry2x32(0, 0, 0, 0) // [0x6b200159, 0x99ba4efe]
 */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let a = (x0 + ks[0]!) >>> 0;
  let b = (x1 + ks[1]!) >>> 0;
  for (let block = 0; block < 5; block++) {
    const rot = block % 2 === 0 ? 0 : 4;
    for (let r = 0; r < 4; r++) {
      a = (a + b) >>> 0;
      b = rotl(b, ROTATIONS[rot + r]!) ^ a;
    }
    a = (a + ks[(block + 1) % 3]!) >>> 0;
    b = (b + ks[(block + 2) % 3]! + block + 1) >>> 0;
  }
  return [a, b];
}

/**
 * JAX's `threefry_2x32(key, count)` over a vector of counters: the first half of `count` is
 * hashed against the second half and the outputs are concatenated (an odd length is padded).
 */
function threefryVector(k0: number, k1: number, count: Uint32Array): Uint32Array {
  const n = count.length;
  const half = Math.ceil(n / 2);
  const out = new Uint32Array(2 * half);
  for (let i = 0; i < half; i++) {
    const x1 = half + i < n ? count[half + i]! : 0;
    const [y0, y1] = threefry2x32(k0, k1, count[i]!, x1);
    out[i] = y0;
    out[half + i] = y1;
  }
  return out.subarray(0, n);
}

/**
 * A splittable pseudo-random key: two uint32 words, as a JAX threefry key. Keys are immutable
 * leaves of trees; derive new keys with {@link split} and {@link foldIn}, never reuse one for two
 * different draws.
 *
 * @example
 * const k = random.key(42);
 * const [a, b] = random.split(k);
 */
export class RandomKey {
  /** The two key words, each in [0, 2^32). */
  readonly words: readonly [number, number];

  /**
   * Builds a key from its two uint32 words (use {@link key} to build one from a seed).
   *
   * @throws RandomKeyError unless both words are integers in [0, 2^32).
   */
  constructor(word0: number, word1: number) {
    for (const w of [word0, word1]) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new RandomKeyError(
          `RandomKey words must be integers in [0, 2^32), but got [${word0}, ${word1}].`,
        );
      }
    }
    this.words = Object.freeze([word0, word1]) as readonly [number, number];
    Object.freeze(this);
  }

  /** Whether `other` is a key with the same words. */
  equals(other: unknown): boolean {
    return (
      other instanceof RandomKey &&
      other.words[0] === this.words[0] &&
      other.words[1] === this.words[1]
    );
  }

  /** `RandomKey(w0, w1)`. */
  toString(): string {
    return `RandomKey(${this.words[0]}, ${this.words[1]})`;
  }
}

/**
 * Builds a key from a seed (JAX's `jax.random.key(seed)` / `PRNGKey`): words `[0, seed]`.
 *
 * @param seed an integer in [0, 2^32).
 * @example
 * random.key(0).words // [0, 0]
 */
export function key(seed: number): RandomKey {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RandomKeyError(
      `random.key expects an integer seed in [0, 2^32), but got ${seed}. Use foldIn(key(seed), data) to mix in more bits.`,
    );
  }
  return new RandomKey(0, seed >>> 0);
}

function checkKey(k: unknown, where: string): asserts k is RandomKey {
  if (!(k instanceof RandomKey)) {
    throw new RandomKeyError(
      `${where} expects a RandomKey (from random.key(seed)), but got ${Object.prototype.toString.call(k)}.`,
    );
  }
}

/**
 * Splits a key into `n` independent keys (JAX's `jax.random.split`).
 *
 * @example
 * random.split(random.key(0)).map((k) => k.words) // [[4146024105, 967050713], [2718843009, 1272950319]]
 */
export function split(k: RandomKey, n = 2): RandomKey[] {
  checkKey(k, "random.split");
  if (!Number.isInteger(n) || n < 0)
    throw new RandomKeyError(`random.split: n must be a non-negative integer, got ${n}.`);
  const counts = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) counts[i] = i;
  const bits = threefryVector(k.words[0], k.words[1], counts);
  return Array.from({ length: n }, (_, i) => new RandomKey(bits[2 * i]!, bits[2 * i + 1]!));
}

/**
 * Derives a new key from a key and a uint32 (JAX's `jax.random.fold_in`).
 *
 * @param data an integer in [0, 2^32), e.g. a step counter.
 * @example
 * random.foldIn(random.key(0), 1)
 */
export function foldIn(k: RandomKey, data: number): RandomKey {
  checkKey(k, "random.foldIn");
  if (!Number.isInteger(data) || data < 0 || data > 0xffffffff) {
    throw new RandomKeyError(
      `random.foldIn: data must be an integer in [0, 2^32), but got ${data}.`,
    );
  }
  const [a, b] = threefry2x32(k.words[0], k.words[1], 0, data >>> 0);
  return new RandomKey(a, b);
}

function sizeOf(shape: readonly number[], where: string): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new RandomKeyError(`${where}: invalid shape [${shape.join(", ")}].`);
    n *= s;
  }
  return n;
}

/**
 * `n` pseudo-random 32-bit words from a key (JAX's `random_bits` for 32-bit draws).
 *
 * @example
 * randomBits(random.key(0), 4) // Uint32Array of 4 words
 */
export function randomBits(k: RandomKey, n: number): Uint32Array {
  checkKey(k, "random.randomBits");
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[i] = i;
  return threefryVector(k.words[0], k.words[1], counts);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Uniform floats in [0, 1) from 23 mantissa bits, as JAX builds them. */
function unitFloats(k: RandomKey, n: number): Float64Array {
  const bits = randomBits(k, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    U32[0] = (bits[i]! >>> 9) | 0x3f800000;
    out[i] = F32[0]! - 1;
  }
  return out;
}

/** Options of {@link uniform}. */
export interface UniformOptions {
  /** Inclusive lower bound (default 0). */
  minval?: number;
  /** Exclusive upper bound (default 1). */
  maxval?: number;
}

/**
 * Uniform float32 samples in `[minval, maxval)` (JAX's `jax.random.uniform`).
 *
 * @example
 * random.uniform(random.key(0), [2, 3], { minval: -1, maxval: 1 })
 */
export function uniform(
  k: RandomKey,
  shape: readonly number[],
  options: UniformOptions = {},
): tf.Tensor {
  checkOptions("random.uniform", options, ["minval", "maxval"]);
  const { minval = 0, maxval = 1 } = options;
  const n = sizeOf(shape, "random.uniform");
  const u = unitFloats(k, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.max(minval, u[i]! * (maxval - minval) + minval);
  return tf.tensor(out, shape as number[], "float32");
}

/**
 * Inverse error function (Giles' single-precision approximation, as XLA uses), evaluated in
 * double precision.
 */
export function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  if (Math.abs(x) === 1) return x * Infinity;
  return p * x;
}

/** The error function, by its Maclaurin series (|x| < 3) or continued fraction for erfc. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/**
 * Standard normal float32 samples (JAX's `jax.random.normal`: `sqrt(2) * erfinv(u)` with `u`
 * uniform in (-1, 1)).
 *
 * @example
 * random.normal(random.key(1), [4])
 */
export function normal(k: RandomKey, shape: readonly number[]): tf.Tensor {
  const n = sizeOf(shape, "random.normal");
  const u = unitFloats(k, n);
  const lo = -1 + 2 ** -24; // nextafter(-1, 0) in float32 terms
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.SQRT2 * erfinv(Math.max(lo, u[i]! * 2 - 1));
  return tf.tensor(out, shape as number[], "float32");
}

/**
 * Normal samples truncated to `(lower, upper)` (JAX's `jax.random.truncated_normal`: inverse CDF
 * of a uniform draw between `erf(lower/√2)` and `erf(upper/√2)`).
 *
 * @example
 * random.truncatedNormal(random.key(2), [3, 3]) // values in (-2, 2)
 */
export function truncatedNormal(
  k: RandomKey,
  shape: readonly number[],
  lower = -2,
  upper = 2,
): tf.Tensor {
  if (!(lower < upper)) {
    throw new RandomKeyError(
      `random.truncatedNormal needs lower < upper, but got lower=${lower}, upper=${upper}.`,
    );
  }
  const n = sizeOf(shape, "random.truncatedNormal");
  const a = erf(lower / Math.SQRT2);
  const b = erf(upper / Math.SQRT2);
  const u = unitFloats(k, n);
  const out = new Float32Array(n);
  const eps = 1e-7;
  for (let i = 0; i < n; i++) {
    const v = Math.SQRT2 * erfinv(Math.max(a, a + u[i]! * (b - a)));
    out[i] = Math.min(
      Math.max(v, lower + eps * Math.abs(lower || 1)),
      upper - eps * Math.abs(upper || 1),
    );
  }
  return tf.tensor(out, shape as number[], "float32");
}

/**
 * Boolean samples that are `true` with probability `p` (JAX's `jax.random.bernoulli`).
 *
 * @example
 * random.bernoulli(random.key(3), 0.5, [8])
 */
export function bernoulli(k: RandomKey, p: number, shape: readonly number[]): tf.Tensor {
  const n = sizeOf(shape, "random.bernoulli");
  const u = unitFloats(k, n);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = u[i]! < p ? 1 : 0;
  return tf.tensor(out, shape as number[], "bool");
}

/**
 * Integer samples uniform in `[minval, maxval)` (int32).
 *
 * @example
 * random.randint(random.key(4), [5], 0, 10)
 */
export function randint(
  k: RandomKey,
  shape: readonly number[],
  minval: number,
  maxval: number,
): tf.Tensor {
  if (!Number.isInteger(minval) || !Number.isInteger(maxval) || maxval <= minval) {
    throw new RandomKeyError(
      `random.randint needs integers minval < maxval, but got [${minval}, ${maxval}).`,
    );
  }
  const n = sizeOf(shape, "random.randint");
  const [k1, k2] = split(k);
  const hi = randomBits(k1!, n);
  const lo = randomBits(k2!, n);
  const span = maxval - minval;
  const out = new Int32Array(n);
  if (span <= 2 ** 26) {
    // 64 random bits modulo span, computed exactly in doubles (all products stay below 2^53).
    const base = 2 ** 32 % span;
    for (let i = 0; i < n; i++)
      out[i] = minval + (((hi[i]! % span) * base + (lo[i]! % span)) % span);
  } else {
    const bigSpan = BigInt(span);
    for (let i = 0; i < n; i++) {
      const bits = (BigInt(hi[i]!) << 32n) | BigInt(lo[i]!);
      out[i] = minval + Number(bits % bigSpan);
    }
  }
  return tf.tensor(out, shape as number[], "int32");
}

/**
 * Samples category indices from unnormalised log-probabilities along `axis` (JAX's
 * `jax.random.categorical`: argmax of logits plus Gumbel noise).
 *
 * @returns an int32 tensor with `axis` removed.
 * @example
 * random.categorical(random.key(5), tf.tensor([[0, 10, 0]])) // [1] with high probability
 */
export function categorical(k: RandomKey, logits: tf.Tensor, axis = -1): tf.Tensor {
  const n = logits.size;
  const u = unitFloats(k, n);
  const tiny = 1.1754943508222875e-38;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = -Math.log(-Math.log(Math.max(tiny, u[i]!)));
  return tf.tidy(() =>
    tf.argMax(tf.add(tf.cast(logits, "float32"), tf.tensor(g, logits.shape, "float32")), axis),
  );
}
