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
import { ArraySpecError } from "./errors.js";
import { pyRepr } from "./format.js";

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
   * A leaf describing this spec's array without data (penzai's `into_pytree`): a
   * {@link ShapeDtypeStruct} with the positional shape, the named axes (in this spec's order) and
   * the concrete dtype. penzai returns a `NamedArray` around a `ShapeDtypeStruct` whose shape is
   * the positional sizes followed by the named ones; that layout is
   * {@link ShapeDtypeStruct.dataShape}.
   *
   * @throws ArraySpecError when the spec has variables or an abstract dtype.
   * @example
   * new ArraySpec({ shape: [2], namedShape: { batch: 3 }, dtype: "float32" }).intoShapeDtypeStruct();
   * // ShapeDtypeStruct(shape=(2,), dtype=float32, namedShape={'batch': 3}); its dataShape is [2, 3]
   */
  intoShapeDtypeStruct(): ShapeDtypeStruct {
    if (this.hasVariables()) {
      throw new ArraySpecError(
        `Cannot convert ${this.toString()} to a ShapeDtypeStruct: it has variable dimensions. ` +
          "Substitute them first with fullSubstituteDimensionVariables.",
      );
    }
    if (typeof this.dtype !== "string") {
      throw new ArraySpecError(
        `Cannot convert ${this.toString()} to a ShapeDtypeStruct: its dtype ${this.dtype} is abstract. Give a concrete dtype such as "float32".`,
      );
    }
    return new ShapeDtypeStruct(
      this.shape as readonly number[],
      this.dtype,
      this.namedShape as Readonly<Record<string, number>>,
    );
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
 * An abstract array value: a shape and a concrete dtype, no data (JAX's `ShapeDtypeStruct`), with
 * optional named axes (what penzai expresses as a `NamedArray` around one). It is a tree leaf, and
 * `checkStructure` accepts it wherever an array (named or not) is expected.
 *
 * @example
 * checkStructure(new ShapeDtypeStruct([2, 3], "float32"), new ArraySpec({ shape: [2, var("n")] }));
 * checkStructure(new ShapeDtypeStruct([], "float32", { batch: 4 }), ArraySpec.floatingNamed({ batch: var("b") }));
 */
export class ShapeDtypeStruct {
  /** The positional shape. */
  readonly shape: readonly number[];
  /** Named axis sizes, in axis order (empty for a plain array). */
  readonly namedShape: Readonly<Record<string, number>>;

  /**
   * @param shape concrete positional sizes.
   * @param dtype a concrete dtype name.
   * @param namedShape concrete named axis sizes, in axis order (default none).
   * @throws ArraySpecError for a non-integer size, an unknown dtype, or a named shape that is not
   *   an object of sizes.
   */
  constructor(
    shape: readonly number[],
    /** The concrete dtype. */
    readonly dtype: ConcreteDType,
    namedShape: Readonly<Record<string, number>> = {},
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
    this.namedShape = Object.freeze(concreteNamedShape(namedShape));
    Object.freeze(this);
  }

  /** The positional shape (the same as {@link shape}; read by `checkStructure` for named values). */
  get positionalShape(): readonly number[] {
    return this.shape;
  }

  /**
   * The shape of the data array a named array of this structure has: positional sizes, then named
   * sizes in axis order (penzai's `NamedArray` layout).
   *
   * @example
   * new ShapeDtypeStruct([2], "float32", { batch: 3, seq: 5 }).dataShape; // [2, 3, 5]
   */
  get dataShape(): number[] {
    return [...this.shape, ...Object.values(this.namedShape)];
  }

  /** Equal positional shape, named axes (in the same order) and dtype. */
  equals(other: unknown): boolean {
    if (
      !(other instanceof ShapeDtypeStruct) ||
      other.dtype !== this.dtype ||
      other.shape.length !== this.shape.length ||
      !other.shape.every((s, i) => s === this.shape[i])
    ) {
      return false;
    }
    const mine = Object.entries(this.namedShape);
    const theirs = Object.entries(other.namedShape);
    return (
      mine.length === theirs.length &&
      mine.every(([name, size], i) => theirs[i]![0] === name && theirs[i]![1] === size)
    );
  }

  /**
   * Renders as `ShapeDtypeStruct(shape=(1, 2), dtype=float32)`, with
   * `namedShape={'batch': 3}` added when there are named axes.
   */
  toString(): string {
    const named =
      Object.keys(this.namedShape).length === 0
        ? ""
        : `, namedShape=${summarizeNamed(this.namedShape)}`;
    return `ShapeDtypeStruct(shape=${summarizePositional(this.shape)}, dtype=${this.dtype}${named})`;
  }
}

/**
 * Copies a named shape of concrete sizes into a fresh object. Entries are defined, not assigned, so
 * an axis named `__proto__` stays an ordinary key.
 */
function concreteNamedShape(namedShape: Readonly<Record<string, number>>): Record<string, number> {
  if (namedShape === null || typeof namedShape !== "object" || Array.isArray(namedShape)) {
    throw new ArraySpecError(
      `ShapeDtypeStruct: namedShape must be an object of sizes such as { batch: 3 }, but got ${pyRepr(namedShape)}.`,
    );
  }
  const out: Record<string, number> = {};
  for (const [name, size] of Object.entries(namedShape)) {
    if (!Number.isInteger(size) || size < 0) {
      throw new ArraySpecError(
        `ShapeDtypeStruct: namedShape[${pyRepr(name)}] is ${pyRepr(size)}, but sizes must be non-negative integers.`,
      );
    }
    Object.defineProperty(out, name, {
      value: size,
      enumerable: true,
      writable: false,
      configurable: false,
    });
  }
  return out;
}
