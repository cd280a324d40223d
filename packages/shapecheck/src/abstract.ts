/**
 * Abstract views of values: `asArrayStructure` turns every array-like leaf of a tree into the
 * `ArraySpec` describing it and every other leaf into `ANY`.
 *
 * @module
 */

import { RandomKey } from "@saikei/named";
import { map, options } from "@saikei/struct";
import { ANY, ArraySpec, ShapeDtypeStruct, type Wildcard } from "./arraySpec.js";
import type { NamedDim, PositionalDim } from "./dims.js";
import { type ConcreteDType, type DType, isConcreteDType } from "./dtypes.js";

/** The parts of a `NamedArray` / `NamedArrayView` that shapecheck reads. */
export interface NamedArrayLike {
  /** Named axis sizes. */
  readonly namedShape: Readonly<Record<string, number>>;
  /** Positional axis sizes. */
  readonly positionalShape: readonly number[];
  /** The tfjs dtype name. */
  readonly dtype: string;
  /** Throws when the array's parts are inconsistent; called before its shape is read. */
  checkValid?(): void;
}

/**
 * Whether `value` looks like a `NamedArray` or `NamedArrayView` from `@saikei/named`: it has a
 * `namedShape` record, a `positionalShape` array and a `dtype` string.
 *
 * @example
 * isNamedArrayLike(nx.zeros({ batch: 2 })); // true
 * isNamedArrayLike(tf.zeros([2])); // false
 */
export function isNamedArrayLike(value: unknown): value is NamedArrayLike {
  if (value === null || typeof value !== "object" || value instanceof ArraySpec) return false;
  // Test for the properties without reading them: the getters of an invalid named array throw, and
  // that error (from checkValid in abstractLeaf) is the one the user should see.
  return "namedShape" in value && "positionalShape" in value && "dtype" in value;
}

const TYPED_ARRAY_DTYPES: ReadonlyArray<[new (n: number) => ArrayBufferView, ConcreteDType]> = [
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int32Array, "int32"],
  [Int16Array, "int16"],
  [Int8Array, "int8"],
  [Uint32Array, "uint32"],
  [Uint16Array, "uint16"],
  [Uint8Array, "uint8"],
  [Uint8ClampedArray, "uint8"],
];

function isShapeArray(shape: unknown): shape is readonly number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
}

/** @internal The shape, named shape and dtype of an array-like value, without building an ArraySpec. */
export interface AbstractParts {
  readonly shape: readonly PositionalDim[];
  readonly namedShape: Readonly<Record<string, NamedDim>>;
  readonly dtype: DType;
}

const NO_NAMES: Readonly<Record<string, number>> = Object.freeze({});
const SCALAR: readonly number[] = Object.freeze([]);

/** @internal The parts {@link abstractLeaf} describes, or `undefined` for a non-array-like value. */
export function abstractParts(value: unknown): AbstractParts | undefined {
  if (value instanceof ArraySpec) return value;
  if (typeof value === "number") {
    return {
      shape: SCALAR,
      namedShape: NO_NAMES,
      dtype: Number.isInteger(value) ? "int32" : "float32",
    };
  }
  if (typeof value === "boolean") return { shape: SCALAR, namedShape: NO_NAMES, dtype: "bool" };
  if (value === null || typeof value !== "object") return undefined;
  if (isNamedArrayLike(value)) {
    if (typeof value.checkValid === "function") value.checkValid();
    const { positionalShape, namedShape, dtype } = value;
    if (
      isConcreteDType(dtype) &&
      isShapeArray(positionalShape) &&
      namedShape !== null &&
      typeof namedShape === "object"
    ) {
      return { shape: positionalShape, namedShape, dtype };
    }
    return undefined;
  }
  if (value instanceof RandomKey) return { shape: SCALAR, namedShape: NO_NAMES, dtype: "key<fry>" };
  if (value instanceof ShapeDtypeStruct)
    return { shape: value.shape, namedShape: value.namedShape, dtype: value.dtype };
  if (ArrayBuffer.isView(value)) {
    for (const [ctor, dtype] of TYPED_ARRAY_DTYPES) {
      if (value instanceof ctor)
        return {
          shape: [(value as unknown as ArrayLike<number>).length],
          namedShape: NO_NAMES,
          dtype,
        };
    }
    return undefined;
  }
  const v = value as { shape?: unknown; dtype?: unknown };
  if (isShapeArray(v.shape) && isConcreteDType(v.dtype))
    return { shape: v.shape, namedShape: NO_NAMES, dtype: v.dtype };
  return undefined;
}

/**
 * The `ArraySpec` that describes one value, or `ANY` when it is not array-like (penzai's
 * `_abstract_leaf`).
 *
 * - `NamedArray` / `NamedArrayView` (after `checkValid()`): positional shape, named shape, dtype.
 * - An `ArraySpec` given as a value: itself.
 * - A tfjs tensor, a {@link ShapeDtypeStruct}, or any object with a `shape` array and a concrete
 *   `dtype` name: its positional shape and dtype.
 * - A `RandomKey` from `@saikei/named`: a scalar of dtype `key<fry>` (matches `dtypes.prngKey`).
 * - A typed array: one axis of its length, its element dtype (`Float32Array` is `float32`).
 * - A number: a scalar, `int32` if it is an integer and `float32` otherwise (JavaScript has no
 *   separate integer type, so `2.0` counts as `int32`); a boolean: a `bool` scalar.
 *
 * @example
 * abstractLeaf(tf.zeros([2, 3])); // ArraySpec(shape=(2, 3), dtype=float32, namedShape={})
 * abstractLeaf("text"); // ANY
 */
export function abstractLeaf(value: unknown): ArraySpec | Wildcard {
  if (value instanceof ArraySpec) return value;
  const parts = abstractParts(value);
  if (parts === undefined) return ANY;
  return new ArraySpec({
    shape: parts.shape,
    namedShape: { ...parts.namedShape },
    dtype: parts.dtype,
  });
}

/**
 * Replaces each array-like leaf of a tree (and each `NamedArray`, taken whole) by the `ArraySpec`
 * that describes it, and every other leaf by `ANY` (penzai's `as_array_structure`). The result is
 * a pattern that the tree always matches.
 *
 * @example
 * asArrayStructure({ w: tf.zeros([2, 3]), name: "layer" });
 * // { w: ArraySpec(shape=(2, 3), dtype=float32, namedShape={}), name: ANY }
 */
export function asArrayStructure<T = unknown>(tree: unknown): T {
  return map<T>(
    (leaf) => abstractLeaf(leaf),
    tree,
    options({ isLeaf: (x) => isNamedArrayLike(x) || x instanceof ArraySpec }),
  );
}
