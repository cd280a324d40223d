/**
 * Building named arrays: `zeros`, `ones`, `full`, `arange`, `stack`, `concatenate`, `unstack`,
 * and random draws over named shapes.
 *
 * @module
 */

import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { AxisNameError, NamedShapeMismatchError, PositionalAxesError } from "./errors.js";
import {
  type AxisName,
  checkAxisName,
  describeNamedShape,
  NamedArray,
  type NamedArrayBase,
  type NamedShape,
  nameRecord,
} from "./namedArray.js";
import { isInt32, unionNamedShape } from "./ops.js";
import * as random from "./random.js";
import { tidy } from "./tidy.js";

/** A named shape given as a record (kept in its order) or as `[name, size]` pairs. */
export type NamedShapeLike = NamedShape | readonly (readonly [AxisName, number])[];

function toRecord(shape: NamedShapeLike, where: string): Record<string, number> {
  const entries: readonly (readonly [string, number])[] = Array.isArray(shape)
    ? (shape as readonly (readonly [string, number])[])
    : Object.entries(shape as NamedShape);
  const out: Record<string, number> = nameRecord();
  for (const [n, s] of entries) {
    checkAxisName(n, where);
    if (Object.hasOwn(out, n))
      throw new AxisNameError(`${where}: axis name "${n}" is given twice.`);
    if (!Number.isInteger(s) || s < 0) {
      throw new NamedShapeMismatchError(
        `${where}: axis "${n}" must have a non-negative integer size, but got ${s}.`,
      );
    }
    out[n] = s;
  }
  return out;
}

/**
 * A NamedArray filled with `value`.
 *
 * @param namedShape sizes of the named axes, in storage order.
 * @param value the fill value.
 * @param dtype by default inferred as JAX does: int32 for integer values, float32 for
 *   fractions, bool for booleans.
 * @example
 * nx.full({ a: 2 }, 7).unwrap("a") // [7, 7]
 */
export function full(
  namedShape: NamedShapeLike,
  value: number | boolean,
  dtype?: tf.DataType,
): NamedArray {
  const namedAxes = toRecord(namedShape, "full");
  const inferred: tf.DataType =
    dtype ?? (typeof value === "boolean" ? "bool" : isInt32(value) ? "int32" : "float32");
  const data = tf.fill(Object.values(namedAxes), value as number, inferred);
  return new NamedArray({ namedAxes, dataArray: data });
}

/**
 * A NamedArray of zeros (float32 by default).
 *
 * @example
 * nx.zeros({ batch: 2, features: 3 }).dataArray.shape // [2, 3]
 */
export function zeros(namedShape: NamedShapeLike, dtype: tf.DataType = "float32"): NamedArray {
  return full(namedShape, 0, dtype);
}

/**
 * A NamedArray of ones (float32 by default).
 *
 * @example
 * nx.ones({ a: 3 }).sum("a") // 3
 */
export function ones(namedShape: NamedShapeLike, dtype: tf.DataType = "float32"): NamedArray {
  return full(namedShape, 1, dtype);
}

/**
 * `start, start + step, ...` below `stop` along one named axis (penzai's `arange`). With one
 * number, counts from 0 to it. int32 unless a bound or the step is fractional.
 *
 * @example
 * nx.arange("seq", 0, 4).unwrap("seq") // [0, 1, 2, 3]
 */
export function arange(
  name: AxisName,
  start: number,
  stop?: number,
  step = 1,
  dtype?: tf.DataType,
): NamedArray {
  checkAxisName(name, "arange");
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  const inferred: tf.DataType =
    dtype ?? ([lo, hi, step].every((v) => isInt32(v)) ? "int32" : "float32");
  const data = tf.range(lo, hi, step, inferred as "int32" | "float32");
  return new NamedArray({ namedAxes: { [name]: data.shape[0]! }, dataArray: data });
}

function commonPositionalRank(arrays: readonly NamedArrayBase[], where: string): number {
  const ranks = new Set(arrays.map((a) => a.positionalShape.length));
  if (ranks.size > 1) {
    throw new PositionalAxesError(
      `${where}: all arrays must have the same number of positional axes, but got {${[...ranks].join(", ")}}. ` +
        "Tag or untag axes so that the positional shapes agree.",
    );
  }
  return [...ranks][0] ?? 0;
}

/**
 * Stacks arrays along a new named axis, placed last in the data layout (penzai's `stack`).
 * Named axes are matched by name; an axis missing from some arrays is broadcast.
 *
 * @example
 * nx.stack([nx.zeros({ a: 2 }), nx.ones({ a: 2 })], "b").namedShape // { a: 2, b: 2 }
 */
export function stack(arrays: readonly NamedArrayBase[], axisName: AxisName): NamedArray {
  checkAxisName(axisName, "stack");
  if (arrays.length === 0) throw new NamedShapeMismatchError("stack needs at least one array.");
  commonPositionalRank(arrays, "stack");
  const sizes = unionNamedShape(arrays, "stack");
  if (Object.hasOwn(sizes, axisName)) {
    throw new AxisNameError(
      `stack: the new axis "${axisName}" already exists in the arrays (named shapes ${arrays
        .map((a) => describeNamedShape(a.namedShape))
        .join(", ")}). Choose a new name.`,
    );
  }
  const names = Object.keys(sizes);
  return tidy(() => {
    const datas = arrays.map(
      (a) => a.broadcastTo(a.positionalShape, sizes).orderAs(...names).dataArray,
    );
    const pos = datas[0]!.shape;
    if (datas.some((d) => d.shape.join(",") !== pos.join(","))) {
      throw new NamedShapeMismatchError(
        `stack: all arrays must have the same positional shape, but got ${arrays.map((a) => `[${a.positionalShape.join(", ")}]`).join(", ")}.`,
      );
    }
    const data = tf.stack(datas, pos.length);
    return new NamedArray({
      namedAxes: nameRecord(sizes, { [axisName]: arrays.length }),
      dataArray: data,
    });
  });
}

/**
 * Concatenates arrays along an existing named axis (penzai's `concatenate`). Other named axes are
 * matched by name; the result has `axisName` first among its named axes.
 *
 * @example
 * nx.concatenate([nx.arange("i", 0, 2), nx.arange("i", 5, 6)], "i").unwrap("i") // [0, 1, 5]
 */
export function concatenate(arrays: readonly NamedArrayBase[], axisName: AxisName): NamedArray {
  if (arrays.length === 0)
    throw new NamedShapeMismatchError("concatenate needs at least one array.");
  commonPositionalRank(arrays, "concatenate");
  arrays.forEach((a, i) => {
    if (!Object.hasOwn(a.namedShape, axisName)) {
      throw new AxisNameError(
        `concatenate: axis "${axisName}" is missing from arrays[${i}], whose named shape is ${describeNamedShape(a.namedShape)}.`,
      );
    }
  });
  const others = unionNamedShape(
    arrays.map((a) => a.untagPrefix(axisName)),
    "concatenate",
  );
  const names = Object.keys(others);
  return tidy(() => {
    const datas = arrays.map((a) => {
      const target = nameRecord(others, { [axisName]: a.namedShape[axisName]! });
      return a.broadcastTo(a.positionalShape, target).orderAs(axisName, ...names).dataArray;
    });
    const p = arrays[0]!.positionalShape.length;
    const data = tf.concat(datas, p);
    return new NamedArray({
      namedAxes: { [axisName]: data.shape[p]!, ...others },
      dataArray: data,
    });
  });
}

/**
 * Splits an array into the slices along a named axis (penzai's `unstack`).
 *
 * @example
 * nx.unstack(nx.arange("i", 0, 3), "i").length // 3
 */
export function unstack(array: NamedArrayBase, axisName: AxisName): NamedArrayBase[] {
  const size = array.namedShape[axisName];
  if (size === undefined) {
    throw new AxisNameError(
      `unstack: axis "${axisName}" is not present in named shape ${describeNamedShape(array.namedShape)}.`,
    );
  }
  return Array.from({ length: size }, (_, i) => array.index({ [axisName]: i }));
}

/**
 * Splits a key into a NamedArray of keys over `namedShape` (penzai's `random_split`). Each key is
 * a positional axis of size 2 holding its two words (as int32 bit patterns); read one back with
 * {@link keyFromArray}.
 *
 * @example
 * const keys = nx.randomSplit(random.key(0), { batch: 4 }); // positional [2], named { batch: 4 }
 */
export function randomSplit(k: random.RandomKey, namedShape: NamedShapeLike): NamedArray {
  const namedAxes = toRecord(namedShape, "randomSplit");
  const sizes = Object.values(namedAxes);
  const n = sizes.reduce((a, b) => a * b, 1);
  const keys = random.split(k, n);
  const words = new Int32Array(2 * n);
  keys.forEach((key, i) => {
    words[i] = key.words[0] | 0;
    words[n + i] = key.words[1] | 0;
  });
  const data = tf.tensor(words, [2, ...sizes], "int32");
  return new NamedArray({ namedAxes, dataArray: data });
}

/**
 * Reads a key from a tensor or named array of shape `[2]` (as produced by indexing the result of
 * {@link randomSplit} down to one key).
 *
 * @example
 * keyFromArray(nx.randomSplit(random.key(0), { b: 2 }).index({ b: 1 }))
 */
export function keyFromArray(array: NamedArrayBase | tf.Tensor): random.RandomKey {
  if (!(array instanceof tf.Tensor) && Object.keys(array.namedShape).length > 0) {
    throw new PositionalAxesError(
      `keyFromArray expects exactly 2 elements (one key), but the array still has named axes ` +
        `${describeNamedShape(array.namedShape)}. Index them away first, e.g. keys.index({ batch: 0 }).`,
    );
  }
  const t = array instanceof tf.Tensor ? array : array.unwrap();
  if (t.size !== 2 || t.dtype !== "int32") {
    throw new PositionalAxesError(
      `keyFromArray expects an int32 array with exactly 2 elements (one key), but got shape [${t.shape.join(", ")}] ` +
        `and dtype ${t.dtype}. Index the named axes away first, e.g. keys.index({ batch: 0 }).`,
    );
  }
  const w = t.dataSync();
  return new random.RandomKey(w[0]! >>> 0, w[1]! >>> 0);
}

/**
 * Uniform samples over a named shape (float32 in `[minval, maxval)`).
 *
 * @example
 * nx.randomUniform(random.key(0), { batch: 2, features: 3 })
 */
export function randomUniform(
  k: random.RandomKey,
  namedShape: NamedShapeLike,
  options: random.UniformOptions = {},
): NamedArray {
  checkOptions("nx.randomUniform", options, ["minval", "maxval"]);
  const namedAxes = toRecord(namedShape, "randomUniform");
  return new NamedArray({
    namedAxes,
    dataArray: random.uniform(k, Object.values(namedAxes), options),
  });
}

/**
 * Standard normal samples over a named shape.
 *
 * @example
 * nx.randomNormal(random.key(0), { features: 8 })
 */
export function randomNormal(k: random.RandomKey, namedShape: NamedShapeLike): NamedArray {
  const namedAxes = toRecord(namedShape, "randomNormal");
  return new NamedArray({ namedAxes, dataArray: random.normal(k, Object.values(namedAxes)) });
}

/**
 * Bernoulli samples over a named shape (bool, true with probability `p`).
 *
 * @example
 * nx.randomBernoulli(random.key(0), 0.1, { seq: 16 })
 */
export function randomBernoulli(
  k: random.RandomKey,
  p: number,
  namedShape: NamedShapeLike,
): NamedArray {
  const namedAxes = toRecord(namedShape, "randomBernoulli");
  return new NamedArray({ namedAxes, dataArray: random.bernoulli(k, p, Object.values(namedAxes)) });
}
