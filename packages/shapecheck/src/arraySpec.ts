/**
 * `ArraySpec` (the expected positional shape, named shape and dtype of one array), `Wildcard` / `ANY`
 * (matches any subtree) and `ShapeDtypeStruct` (an abstract array value).
 *
 * @module
 */

import { field, Struct } from "@saikei/struct";
import {
  DimVar,
  KnownDim,
  MultiDimVar,
  type NamedDim,
  type PositionalDim,
  parseNamedUnpackKey,
  RemainingAxisPlaceholder,
  summarizeNamed,
  summarizePositional,
} from "./dims.js";
import {
  AbstractDType,
  type ConcreteDType,
  type DType,
  dtypes,
  isConcreteDType,
} from "./dtypes.js";
import { pyRepr } from "./format.js";

/** Raised when an `ArraySpec` is built from invalid parts, or converted while it still has variables. */
export class ArraySpecError extends Error {
  override name = "ArraySpecError";
}

/** The constructor props of {@link ArraySpec}; every prop is optional. */
export interface ArraySpecProps {
  /**
   * Positional shape: sizes, `var(...)`, `...var(...)`, `KnownDim`s. A bare `var("x")` means
   * `[...var("x").unpack()]` (any positional shape, bound to `x`). Default `[]`.
   */
  shape?: readonly PositionalDim[] | DimVar;
  /** Expected dtype, concrete (`"float32"`) or abstract (`dtypes.floating`). Default `dtypes.generic`. */
  dtype?: DType;
  /**
   * Named shape: axis name to size, `var(...)` or `KnownDim`; spread `var("x").unpackNamed()` for
   * "any other named axes". A bare `var("x")` means `{ ...var("x").unpackNamed() }`. Default `{}`.
   */
  namedShape?: Readonly<Record<string, NamedDim>> | DimVar;
}

function checkSize(size: unknown, where: string): void {
  if (typeof size === "number") {
    if (!Number.isInteger(size) || size < 0) {
      throw new ArraySpecError(
        `ArraySpec: ${where} is ${size}, but axis sizes must be non-negative integers.`,
      );
    }
    return;
  }
  if (size instanceof DimVar || size instanceof KnownDim) return;
  throw new ArraySpecError(
    `ArraySpec: ${where} is ${pyRepr(size)}; expected an integer size, var(name) or a KnownDim.`,
  );
}

function normalizeShape(shape: ArraySpecProps["shape"]): readonly PositionalDim[] {
  if (shape === undefined) return Object.freeze([]);
  if (shape instanceof DimVar) return Object.freeze([...shape.unpack()]);
  if (!Array.isArray(shape)) {
    throw new ArraySpecError(
      `ArraySpec: shape must be an array such as [var("batch"), 3], but got ${pyRepr(shape)}.`,
    );
  }
  shape.forEach((dim, i) => {
    if (!(dim instanceof MultiDimVar)) checkSize(dim, `shape[${i}]`);
  });
  return Object.freeze([...shape]);
}

function normalizeNamedShape(
  namedShape: ArraySpecProps["namedShape"],
): Readonly<Record<string, NamedDim>> {
  if (namedShape === undefined) return Object.freeze({});
  if (namedShape instanceof DimVar) return Object.freeze({ ...namedShape.unpackNamed() });
  if (namedShape === null || typeof namedShape !== "object" || Array.isArray(namedShape)) {
    throw new ArraySpecError(
      `ArraySpec: namedShape must be an object such as { batch: var("b"), features: 8 }, but got ${pyRepr(namedShape)}.`,
    );
  }
  const out: Record<string, NamedDim> = {};
  for (const [key, val] of Object.entries(namedShape)) {
    if (parseNamedUnpackKey(key) !== undefined) {
      if (!(val instanceof RemainingAxisPlaceholder)) {
        throw new ArraySpecError(
          `ArraySpec: the unpack key ${key} must map to REMAINING, but maps to ${pyRepr(val)}. ` +
            "Spread var(name).unpackNamed() instead of writing the key by hand.",
        );
      }
    } else {
      checkSize(val, `namedShape[${pyRepr(key)}]`);
    }
    out[key] = val;
  }
  return Object.freeze(out);
}

function checkDType(dtype: unknown): void {
  if (dtype instanceof AbstractDType || isConcreteDType(dtype)) return;
  throw new ArraySpecError(
    `ArraySpec: unknown dtype ${pyRepr(dtype)}. Use a concrete dtype name such as "float32" or "int32", ` +
      "or an abstract dtype such as dtypes.floating.",
  );
}

/**
 * The expected structure of one array (penzai's `ArraySpec`): positional shape, named shape and
 * dtype, any of which may contain dimension variables. It is a struct with static fields only, so
 * it flattens to no leaves; `checkStructure` treats it as a pattern leaf.
 *
 * @example
 * const spec = new ArraySpec({ shape: [var("batch"), 3], dtype: dtypes.floating });
 * checkStructure(tf.zeros([8, 3]), spec).get("batch"); // 8
 */
export class ArraySpec extends Struct.define(
  {
    shape: field<readonly PositionalDim[]>({
      static: true,
      default: Object.freeze([]) as readonly PositionalDim[],
    }),
    dtype: field<DType>({ static: true, default: dtypes.generic as DType }),
    namedShape: field<Readonly<Record<string, NamedDim>>>({
      static: true,
      default: Object.freeze({}) as Readonly<Record<string, NamedDim>>,
    }),
  },
  { name: "ArraySpec" },
) {
  /**
   * Builds a spec; all props are optional (`new ArraySpec()` is any scalar of any dtype).
   *
   * @throws ArraySpecError for a non-integer size, an unknown dtype or a malformed unpack entry.
   */
  constructor(props: ArraySpecProps = {}) {
    const dtype = props.dtype ?? dtypes.generic;
    checkDType(dtype);
    super({
      shape: normalizeShape(props.shape),
      dtype,
      namedShape: normalizeNamedShape(props.namedShape),
    });
  }

  /** The positional shape (penzai's `positional_shape`, the same as `shape`). */
  get positionalShape(): readonly PositionalDim[] {
    return this.shape;
  }

  /**
   * A spec with this named shape and dtype `dtypes.floating` (penzai's `floating_named`).
   *
   * @example
   * ArraySpec.floatingNamed({ batch: var("b"), features: 8 });
   */
  static floatingNamed(namedShape: Readonly<Record<string, NamedDim>> | DimVar): ArraySpec {
    return new ArraySpec({ namedShape, dtype: dtypes.floating });
  }

  /** Whether any dimension is a variable (`KnownDim`s count as variables). */
  hasVariables(): boolean {
    return (
      this.shape.some((d) => typeof d !== "number") ||
      Object.entries(this.namedShape).some(
        ([k, v]) => typeof v !== "number" || parseNamedUnpackKey(k) !== undefined,
      )
    );
  }

  /**
   * A leaf describing this spec's array without data (penzai's `into_pytree` for specs without named
   * axes): a {@link ShapeDtypeStruct} with the concrete dtype.
   *
   * @throws ArraySpecError when the spec has variables, named axes or an abstract dtype.
   */
  intoShapeDtypeStruct(): ShapeDtypeStruct {
    if (this.hasVariables()) {
      throw new ArraySpecError(
        `Cannot convert ${this.toString()} to a ShapeDtypeStruct: it has variable dimensions. ` +
          "Substitute them first with fullSubstituteDimensionVariables.",
      );
    }
    if (Object.keys(this.namedShape).length > 0) {
      throw new ArraySpecError(
        `Cannot convert ${this.toString()} to a ShapeDtypeStruct: it has named axes, which a ShapeDtypeStruct cannot carry. ` +
          "Build a NamedArray from @saikei/named instead.",
      );
    }
    if (typeof this.dtype !== "string") {
      throw new ArraySpecError(
        `Cannot convert ${this.toString()} to a ShapeDtypeStruct: its dtype ${this.dtype} is abstract. Give a concrete dtype such as "float32".`,
      );
    }
    return new ShapeDtypeStruct(this.shape as readonly number[], this.dtype);
  }

  /** One-line rendering: `ArraySpec(shape=(var('b'), 3), dtype=dtypes.floating, namedShape={})`. */
  override toString(): string {
    return `ArraySpec(shape=${summarizePositional(this.shape)}, dtype=${String(this.dtype)}, namedShape=${summarizeNamed(this.namedShape)})`;
  }
}

/**
 * A wildcard pattern that matches any value or subtree (penzai's `Wildcard`). Use {@link ANY}
 * unless you want a description shown when the pattern is printed.
 *
 * @example
 * checkStructure({ a: 1, b: [2, 3] }, { a: 1, b: ANY }); // matches
 */
export class Wildcard extends Struct.define(
  {
    description: field<string | undefined>({ static: true, default: undefined }),
  },
  { name: "Wildcard" },
) {
  /** Renders as `ANY` or `Wildcard('description')`. */
  override toString(): string {
    return this.description === undefined ? "ANY" : `Wildcard(${pyRepr(this.description)})`;
  }
}

/** The wildcard that matches anything: `{ params: ANY, input: new ArraySpec(...) }`. */
export const ANY: Wildcard = new Wildcard();

/**
 * An abstract array value: a shape and a concrete dtype, no data (JAX's `ShapeDtypeStruct`). It is a
 * tree leaf, and `checkStructure` accepts it wherever an array is expected.
 *
 * @example
 * checkStructure(new ShapeDtypeStruct([2, 3], "float32"), new ArraySpec({ shape: [2, var("n")] }));
 */
export class ShapeDtypeStruct {
  /** The positional shape. */
  readonly shape: readonly number[];

  /**
   * @param shape concrete sizes.
   * @param dtype a concrete dtype name.
   * @throws ArraySpecError for a non-integer size or an unknown dtype.
   */
  constructor(
    shape: readonly number[],
    /** The concrete dtype. */
    readonly dtype: ConcreteDType,
  ) {
    shape.forEach((s, i) => {
      if (!Number.isInteger(s) || s < 0) {
        throw new ArraySpecError(
          `ShapeDtypeStruct: shape[${i}] is ${pyRepr(s)}, but sizes must be non-negative integers.`,
        );
      }
    });
    if (!isConcreteDType(dtype)) {
      throw new ArraySpecError(
        `ShapeDtypeStruct: unknown dtype ${pyRepr(dtype)}; use a concrete dtype such as "float32".`,
      );
    }
    this.shape = Object.freeze([...shape]);
    Object.freeze(this);
  }

  /** Equal shape and dtype. */
  equals(other: unknown): boolean {
    return (
      other instanceof ShapeDtypeStruct &&
      other.dtype === this.dtype &&
      other.shape.length === this.shape.length &&
      other.shape.every((s, i) => s === this.shape[i])
    );
  }

  /** Renders as `ShapeDtypeStruct(shape=(1, 2), dtype=float32)`. */
  toString(): string {
    return `ShapeDtypeStruct(shape=${summarizePositional(this.shape)}, dtype=${this.dtype})`;
  }
}
