/**
 * Dimension variables: `var("x")` stands for one axis size, `...var("x").unpack()` for a run of
 * positional axes, and `...var("x").unpackNamed()` for a set of
 * named axes. `KnownDim` binds a variable to a size it must have.
 *
 * TypeScript has no `**` unpacking into object literals, so a named unpack pattern is a string key
 * made by {@link namedUnpackKey} (`'**var("x")'`) whose value is {@link REMAINING}; `unpackNamed()`
 * returns that one-entry object so it can be spread into a named shape.
 *
 * @module
 */

import { DimensionVariableError } from "./errors.js";
import { pyRepr } from "./format.js";

/** The name of a dimension variable: a string, or `[outer, axis]` for a sub-variable. */
export type DimVarName = string | readonly [string, string | number];

function nameEquals(a: DimVarName, b: DimVarName): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a[0] === b[0] && a[1] === b[1];
}

/** Renders a variable name as the expression that builds it: `var('x')` or `var('y')['b']`. */
export function showVarName(name: DimVarName): string {
  if (typeof name === "string") return `var(${pyRepr(name)})`;
  return `var(${pyRepr(name[0])})[${pyRepr(name[1])}]`;
}

/**
 * A variable standing for a run of positional axes, or (as a named-shape key) for a set of named
 * axes. Built by spreading a {@link DimVar}: `[1, ...var("batch").unpack(), 5]`.
 */
export class MultiDimVar {
  /** @internal Build it with `...var(name).unpack()`. */
  constructor(
    /** The variable's name; variables with the same name must bind the same value. */
    readonly name: string,
  ) {
    Object.freeze(this);
  }

  /** Value equality by name. */
  equals(other: unknown): boolean {
    return other instanceof MultiDimVar && other.name === this.name;
  }

  /** Renders as `*var('x')`, as it appears in a positional pattern. */
  toString(): string {
    return `*var(${pyRepr(this.name)})`;
  }
}

/**
 * The value paired with a named unpack key (penzai's `RemainingAxisPlaceholder`): "the remaining
 * named axes go to this variable". Use the singleton {@link REMAINING}.
 */
export class RemainingAxisPlaceholder {
  /** @internal Use {@link REMAINING}. */
  constructor() {
    Object.freeze(this);
  }

  /** All placeholders are equal. */
  equals(other: unknown): boolean {
    return other instanceof RemainingAxisPlaceholder;
  }

  /** Renders as `REMAINING`. */
  toString(): string {
    return "REMAINING";
  }
}

/** The placeholder value of a named unpack entry: `{ [namedUnpackKey("x")]: REMAINING }`. */
export const REMAINING: RemainingAxisPlaceholder = new RemainingAxisPlaceholder();

const UNPACK_PREFIX = "**var(";

/**
 * The named-shape key that stands for "all remaining named axes", bound to the variable `name`.
 * Spread `var(name).unpackNamed()` instead of writing it by hand.
 *
 * @example
 * namedUnpackKey("batch"); // '**var("batch")'
 * new ArraySpec({ namedShape: { [namedUnpackKey("batch")]: REMAINING, features: 8 } });
 */
export function namedUnpackKey(name: string): string {
  return `${UNPACK_PREFIX}${JSON.stringify(name)})`;
}

/**
 * The variable a named-shape key unpacks into, or `undefined` for an ordinary axis name.
 *
 * @example
 * parseNamedUnpackKey(namedUnpackKey("x")); // MultiDimVar("x")
 * parseNamedUnpackKey("features"); // undefined
 */
export function parseNamedUnpackKey(key: string): MultiDimVar | undefined {
  if (!key.startsWith(UNPACK_PREFIX) || !key.endsWith(")")) return undefined;
  try {
    const name: unknown = JSON.parse(key.slice(UNPACK_PREFIX.length, -1));
    return typeof name === "string" ? new MultiDimVar(name) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A dimension variable, matched against axis sizes by {@link checkStructure}; every use of the same
 * name must bind the same size. Build it with {@link var}.
 *
 * It unpacks like penzai's `DimVar` (TypeScript has no `*` / `**`, so unpacking is a method):
 * spreading `var("x").unpack()` into a shape gives a {@link MultiDimVar} matching any run of
 * positional axes, and spreading `var("x").unpackNamed()` into a named shape matches any set of
 * named axes.
 * `var("x").at("b")` is the sub-variable for axis `b` (what {@link varsForAxes} creates).
 *
 * @example
 * new ArraySpec({ shape: [var("batch"), 4] });
 * new ArraySpec({ shape: [...var("batch").unpack(), 4] });
 * new ArraySpec({ namedShape: { ...var("batch").unpackNamed(), features: 4 } });
 */
export class DimVar {
  /** @internal Build it with {@link var}. */
  constructor(
    /** The variable's name, or `[outer, axis]` for a sub-variable. */
    readonly name: DimVarName,
  ) {
    Object.freeze(this);
  }

  private outerName(action: string): string {
    if (typeof this.name !== "string") {
      throw new DimensionVariableError(
        `Cannot ${action} the sub-variable ${showVarName(this.name)}: only a variable made by var(name) ` +
          "can be unpacked or indexed. Use var(outerName) instead.",
      );
    }
    return this.name;
  }

  /**
   * The positional unpack pattern, to spread into a shape: `[1, ...var("x").unpack(), 2]`.
   *
   * @throws DimensionVariableError for a sub-variable (`var("x").at("b")`).
   */
  unpack(): readonly [MultiDimVar] {
    return [new MultiDimVar(this.outerName("unpack"))];
  }

  /**
   * The named unpack pattern, to spread into a named shape: `{ a: 1, ...var("x").unpackNamed() }`.
   *
   * @throws DimensionVariableError for a sub-variable.
   */
  unpackNamed(): Readonly<Record<string, RemainingAxisPlaceholder>> {
    return { [namedUnpackKey(this.outerName("unpack"))]: REMAINING };
  }

  /**
   * The sub-variable for one axis of this variable (penzai's `var("x")["b"]`); its solution is
   * reported inside the solution of `x`: `{ x: { b: 2 } }` or `{ x: [2, ...] }`.
   *
   * @throws DimensionVariableError for a sub-variable.
   */
  at(key: string | number): DimVar {
    return new DimVar([this.outerName("index"), key]);
  }

  /** Value equality by name. */
  equals(other: unknown): boolean {
    return other instanceof DimVar && nameEquals(other.name, this.name);
  }

  /** Renders as `var('x')` or `var('x')['b']`. */
  toString(): string {
    return showVarName(this.name);
  }
}

/**
 * A dimension with a known size that also binds a variable (penzai's `KnownDim`), as produced by
 * {@link varsForAxes} for axes of known size.
 */
export class KnownDim {
  /**
   * @param name the variable bound to this dimension.
   * @param size the size the dimension must have.
   * @param fromKeypath where that size was found, for error messages.
   */
  constructor(
    readonly name: DimVarName,
    readonly size: number,
    readonly fromKeypath?: string,
  ) {
    Object.freeze(this);
  }

  /** Value equality of name, size and source. */
  equals(other: unknown): boolean {
    return (
      other instanceof KnownDim &&
      nameEquals(other.name, this.name) &&
      other.size === this.size &&
      other.fromKeypath === this.fromKeypath
    );
  }

  /** Renders as `var('x')['b']:=4`. */
  toString(): string {
    return `${showVarName(this.name)}:=${this.size}`;
  }
}

/**
 * Creates a dimension variable. Repeated uses of a name must bind the same value.
 *
 * @param name the variable's name; the match result reports its value under this name.
 * @returns a {@link DimVar} for one axis; spread `var(name).unpack()` for a run of positional axes, or
 *   spread `var(name).unpackNamed()` for a set of named axes.
 * @throws DimensionVariableError when `name` is not a string.
 * @example
 * checkStructure(tensor, new ArraySpec({ shape: [var("batch"), 3] })).get("batch");
 */
function var_(name: string): DimVar {
  if (typeof name !== "string") {
    throw new DimensionVariableError(
      `Variable names must be strings. Got ${pyRepr(name)}; write var("name").`,
    );
  }
  return new DimVar(name);
}

export { var_ as var };

/**
 * Creates one sub-variable per named axis, all reported under `varName` (penzai's
 * `vars_for_axes`). Axes given with a size become {@link KnownDim}s that must have that size.
 *
 * @param varName the variable that collects the sizes: the result reports `{ [varName]: { axis: size } }`.
 * @param axes axis names, or a record from axis name to a known size or `null` for unknown.
 * @returns a named shape fragment to spread into an `ArraySpec`'s `namedShape`.
 * @example
 * new ArraySpec({ namedShape: { batch: 1, ...varsForAxes("x", { heads: 4, seq: null }) } });
 */
export function varsForAxes(
  varName: string,
  axes: readonly string[] | Readonly<Record<string, number | null | undefined>>,
): Record<string, DimVar | KnownDim> {
  const entries: [string, number | null | undefined][] = Array.isArray(axes)
    ? (axes as readonly string[]).map((a) => [a, null])
    : Object.entries(axes as Record<string, number | null | undefined>);
  const out: Record<string, DimVar | KnownDim> = {};
  for (const [axis, size] of entries) {
    out[axis] =
      size === null || size === undefined
        ? new DimVar([varName, axis])
        : new KnownDim([varName, axis], size);
  }
  return out;
}

/** One entry of a positional shape pattern. */
export type PositionalDim = number | DimVar | MultiDimVar | KnownDim;

/** One value of a named shape pattern (keys made by {@link namedUnpackKey} take {@link REMAINING}). */
export type NamedDim = number | DimVar | KnownDim | RemainingAxisPlaceholder;

/**
 * Renders one dimension of a pattern: `3`, `var('x')`, `var('y')[0]`, `var('y')['b']:=2`.
 *
 * @example
 * showDim(new KnownDim(["y", "b"], 2)); // "var('y')['b']:=2"
 */
export function showDim(dim: PositionalDim | NamedDim): string {
  if (dim instanceof DimVar || dim instanceof KnownDim) return dim.toString();
  if (dim instanceof MultiDimVar) return showVarName(dim.name);
  if (dim instanceof RemainingAxisPlaceholder) return "REMAINING";
  return pyRepr(dim);
}

/**
 * Renders a positional pattern as a tuple: `(1, 2, *var('z'))`, `(4,)`, `()`.
 *
 * @example
 * summarizePositional([1, ...var("z").unpack()]); // "(1, *var('z'))"
 */
export function summarizePositional(pattern: readonly PositionalDim[]): string {
  const parts = pattern.map((d) => (d instanceof MultiDimVar ? d.toString() : showDim(d)));
  if (parts.length === 1) return `(${parts[0]},)`;
  return `(${parts.join(", ")})`;
}

/**
 * Renders a named pattern as a dict: `{'a': 1, **var('x')}`.
 *
 * @example
 * summarizeNamed({ a: 1, ...var("x").unpackNamed() }); // "{'a': 1, **var('x')}"
 */
export function summarizeNamed(pattern: Readonly<Record<string, NamedDim>>): string {
  const parts = Object.entries(pattern).map(([key, val]) => {
    const multi = parseNamedUnpackKey(key);
    if (multi !== undefined && val instanceof RemainingAxisPlaceholder)
      return `**var(${pyRepr(multi.name)})`;
    return `${pyRepr(key)}: ${showDim(val)}`;
  });
  return `{${parts.join(", ")}}`;
}
