/**
 * `MatchResult`: the variables a successful check solved.
 *
 * @module
 */

import { type BoundValue, showBound } from "./boundValue.js";
import { MatchResultKeyError } from "./errors.js";
import { pyRepr } from "./format.js";

function describeBound(value: BoundValue): string {
  if (typeof value === "number") return "a single size";
  if (Array.isArray(value)) return "a positional run of sizes (from var(name).unpack())";
  return "a set of named sizes (from ...var(name).unpackNamed() or varsForAxes)";
}

/**
 * The variables solved by a successful `checkStructure` (penzai's `MatchResult`): `var("x")` gives
 * a number, `...var("x").unpack()` an array of sizes, `...var("x").unpackNamed()` and `varsForAxes("x", ...)` a
 * record from axis name to size.
 *
 * @example
 * const r = checkStructure(tf.zeros([8, 3]), new ArraySpec({ shape: [var("batch"), var("n")] }));
 * r.get("batch"); // 8
 * r.getMany("batch", "n"); // [8, 3]
 * r.toObject(); // { batch: 8, n: 3 }
 */
export class MatchResult implements Iterable<[string, BoundValue]> {
  readonly #bindings: Readonly<Record<string, BoundValue>>;

  /** @param bindings variable name to value. */
  constructor(bindings: Readonly<Record<string, BoundValue>>) {
    const copy: Record<string, BoundValue> = Object.create(null);
    for (const [k, v] of Object.entries(bindings)) copy[k] = v;
    this.#bindings = Object.freeze(copy);
    Object.freeze(this);
  }

  /** The number of bound variables. */
  get size(): number {
    return Object.keys(this.#bindings).length;
  }

  /** Whether `name` is bound. */
  has(name: string): boolean {
    return Object.hasOwn(this.#bindings, name);
  }

  /**
   * The value of one variable.
   *
   * @throws MatchResultKeyError when `name` is not bound.
   */
  get(name: string): BoundValue {
    if (!this.has(name)) {
      const known = Object.keys(this.#bindings);
      throw new MatchResultKeyError(
        `No variable ${JSON.stringify(name)} in this match result. Bound variables: ${
          known.length === 0 ? "(none)" : known.map((k) => JSON.stringify(k)).join(", ")
        }. Check the name used in var(...) in the pattern.`,
      );
    }
    return this.#bindings[name]!;
  }

  /** The values of several variables, in order (penzai's `result["x", "y"]`). */
  getMany(...names: string[]): BoundValue[] {
    return names.map((n) => this.get(n));
  }

  private getKind<T extends BoundValue>(
    name: string,
    ok: (v: BoundValue) => boolean,
    kind: string,
  ): T {
    const value = this.get(name);
    if (!ok(value)) {
      throw new MatchResultKeyError(
        `Variable ${JSON.stringify(name)} is bound to ${describeBound(value)}, not ${kind}.`,
      );
    }
    return value as T;
  }

  /**
   * The size bound to `var(name)`.
   *
   * @throws MatchResultKeyError when unbound or bound to a run or set of sizes.
   */
  dim(name: string): number {
    return this.getKind<number>(name, (v) => typeof v === "number", "a single size");
  }

  /**
   * The positional sizes bound to `...var(name)`.
   *
   * @throws MatchResultKeyError when unbound or not a positional run.
   */
  dims(name: string): readonly number[] {
    return this.getKind<readonly number[]>(
      name,
      (v) => Array.isArray(v),
      "a positional run of sizes",
    );
  }

  /**
   * The named sizes bound to `...var(name).unpackNamed()` or `varsForAxes(name, ...)`.
   *
   * @throws MatchResultKeyError when unbound or not a set of named sizes.
   */
  namedDims(name: string): Readonly<Record<string, number>> {
    return this.getKind<Readonly<Record<string, number>>>(
      name,
      (v) => typeof v === "object" && !Array.isArray(v),
      "a set of named sizes",
    );
  }

  /** The bound variable names, in the order they were solved. */
  keys(): string[] {
    return Object.keys(this.#bindings);
  }

  /** A plain object of all bindings (penzai's `dict(result)`). */
  toObject(): Record<string, BoundValue> {
    return { ...this.#bindings };
  }

  /** Iterates `[name, value]` pairs. */
  *[Symbol.iterator](): IterableIterator<[string, BoundValue]> {
    for (const k of Object.keys(this.#bindings)) yield [k, this.#bindings[k]!];
  }

  /** Renders as `MatchResult({'batch': 8})`. */
  toString(): string {
    const parts = Object.entries(this.#bindings).map(([k, v]) => `${pyRepr(k)}: ${showBound(v)}`);
    return `MatchResult({${parts.join(", ")}})`;
  }
}
