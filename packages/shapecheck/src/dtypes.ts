/**
 * The dtype lattice used by {@link ArraySpec}: concrete dtype names (tfjs's five, plus the NumPy names
 * a spec may mention) and abstract dtypes (`dtypes.floating`, `dtypes.integer`, ...) that accept any
 * concrete sub-dtype, as NumPy's `np.floating` does in penzai.
 *
 * @module
 */

import { UnknownDTypeError } from "./errors.js";

/**
 * A concrete dtype name. tfjs stores only `float32`, `int32`, `bool`, `complex64` and `string`; the
 * other NumPy names may appear in specs and are canonicalised the way JAX does without x64
 * (`float64` to `float32`, `int64` to `int32`, `uint64` to `uint32`, `complex128` to `complex64`).
 * `key<fry>` is the dtype of a `RandomKey` from `@saikei/named` (JAX's threefry key dtype).
 */
export type ConcreteDType =
  | "bool"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float16"
  | "bfloat16"
  | "float32"
  | "float64"
  | "complex64"
  | "complex128"
  | "string"
  | "key<fry>";

/**
 * An abstract dtype: a node of NumPy's scalar-type hierarchy (`generic`, `number`, `integer`,
 * `floating`, ...). A spec with an abstract dtype accepts every concrete dtype below it.
 *
 * @example
 * dtypes.floating.contains("float32"); // true
 * dtypes.floating.contains("int32"); // false
 */
export class AbstractDType {
  /** @internal Use the instances in {@link dtypes}. */
  constructor(
    /** The NumPy name of this node, e.g. `"floating"`. */
    readonly name: string,
    /** The node above this one, `undefined` for `generic`. */
    readonly parent: AbstractDType | undefined,
  ) {
    Object.freeze(this);
  }

  /**
   * Whether `dtype` (concrete or abstract) lies at or below this node of the lattice.
   *
   * @example
   * dtypes.number.contains(dtypes.integer); // true
   */
  contains(dtype: DType): boolean {
    let node: AbstractDType | undefined = typeof dtype === "string" ? parentOf(dtype) : dtype;
    while (node !== undefined) {
      if (node === this) return true;
      node = node.parent;
    }
    return false;
  }

  /** Value equality (abstract dtypes are singletons, so this is identity). */
  equals(other: unknown): boolean {
    return other === this;
  }

  /** Renders as `dtypes.floating`, the expression that names it. */
  toString(): string {
    return `dtypes.${this.name}`;
  }
}

const generic = new AbstractDType("generic", undefined);
const number = new AbstractDType("number", generic);
const integer = new AbstractDType("integer", number);
const signedinteger = new AbstractDType("signedinteger", integer);
const unsignedinteger = new AbstractDType("unsignedinteger", integer);
const inexact = new AbstractDType("inexact", number);
const floating = new AbstractDType("floating", inexact);
const complexfloating = new AbstractDType("complexfloating", inexact);
const bool = new AbstractDType("bool", generic);
const character = new AbstractDType("character", generic);
const prngKey = new AbstractDType("prngKey", generic);

/**
 * The abstract dtypes, named as in NumPy (`np.floating` is `dtypes.floating`). `bool` and
 * `character` are the abstract parents of the concrete `"bool"` and `"string"` dtypes, and
 * `prngKey` (JAX's `jax.dtypes.prng_key`) the parent of `"key<fry>"`, the dtype of random keys.
 *
 * @example
 * new ArraySpec({ shape: [3], dtype: dtypes.floating });
 */
export const dtypes = Object.freeze({
  generic,
  number,
  integer,
  signedinteger,
  unsignedinteger,
  inexact,
  floating,
  complexfloating,
  bool,
  character,
  prngKey,
});

const PARENT: Readonly<Record<ConcreteDType, AbstractDType>> = Object.freeze({
  bool,
  int8: signedinteger,
  int16: signedinteger,
  int32: signedinteger,
  int64: signedinteger,
  uint8: unsignedinteger,
  uint16: unsignedinteger,
  uint32: unsignedinteger,
  uint64: unsignedinteger,
  float16: floating,
  bfloat16: floating,
  float32: floating,
  float64: floating,
  complex64: complexfloating,
  complex128: complexfloating,
  string: character,
  "key<fry>": prngKey,
});

const CANONICAL: Partial<Record<ConcreteDType, ConcreteDType>> = Object.freeze({
  int64: "int32",
  uint64: "uint32",
  float64: "float32",
  complex128: "complex64",
});

/** A dtype in a spec: a concrete name or an abstract node of the lattice. */
export type DType = ConcreteDType | AbstractDType;

/**
 * Whether `value` is a concrete dtype name this lattice knows.
 *
 * @example
 * isConcreteDType("float32"); // true
 * isConcreteDType("float"); // false
 */
export function isConcreteDType(value: unknown): value is ConcreteDType {
  return typeof value === "string" && Object.hasOwn(PARENT, value);
}

function parentOf(dtype: string): AbstractDType {
  if (!isConcreteDType(dtype)) {
    throw new UnknownDTypeError(
      `Unknown dtype ${JSON.stringify(dtype)}. Use one of ${Object.keys(PARENT).join(", ")}, ` +
        "or an abstract dtype such as dtypes.floating.",
    );
  }
  return PARENT[dtype];
}

/**
 * The dtype JAX would store without x64: `float64` becomes `float32`, `int64` becomes `int32`,
 * `uint64` becomes `uint32`, `complex128` becomes `complex64`; others are unchanged.
 *
 * @throws UnknownDTypeError for a name that is not a concrete dtype.
 * @example
 * canonicalizeDType("int64"); // "int32"
 */
export function canonicalizeDType(dtype: string): ConcreteDType {
  parentOf(dtype);
  return CANONICAL[dtype as ConcreteDType] ?? (dtype as ConcreteDType);
}

/**
 * Whether `dtype` is a sub-dtype of `of` (NumPy's `issubdtype`). A concrete `of` matches itself
 * after canonicalisation; an abstract `of` matches everything below it.
 *
 * @example
 * isSubDType("int32", dtypes.integer); // true
 * isSubDType("float64", "float32"); // true (both canonicalise to float32)
 */
export function isSubDType(dtype: DType, of: DType): boolean {
  if (typeof of !== "string") return of.contains(dtype);
  if (typeof dtype !== "string") return false;
  return canonicalizeDType(dtype) === canonicalizeDType(of);
}

/**
 * The concrete dtypes (canonical names only) that lie below an abstract dtype.
 *
 * @example
 * concreteDTypesOf(dtypes.floating); // ["float16", "bfloat16", "float32"]
 */
export function concreteDTypesOf(dtype: AbstractDType): ConcreteDType[] {
  return (Object.keys(PARENT) as ConcreteDType[]).filter(
    (name) => CANONICAL[name] === undefined && dtype.contains(name),
  );
}
