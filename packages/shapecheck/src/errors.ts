/**
 * Error classes raised by `@saikei/shapecheck`. Each message says what failed, where (the key path
 * or the variable) and how to fix the pattern or the call. A {@link StructureMismatchError} also
 * carries its findings as data ({@link StructureMismatch}, {@link SolvedVariable}).
 *
 * @module
 */

import type { BoundValue } from "./boundValue.js";

/** Raised when an `ArraySpec` is built from invalid parts, or converted while it still has variables. */
export class ArraySpecError extends Error {
  override name = "ArraySpecError";
}

/** Raised when a dimension-variable helper is used wrongly (bad name, bad index, bad key). */
export class DimensionVariableError extends Error {
  override name = "DimensionVariableError";
}

/** Raised for a dtype name that is neither a concrete dtype nor an {@link AbstractDType}. */
export class UnknownDTypeError extends Error {
  override name = "UnknownDTypeError";
}

/** Raised when a {@link MatchResult} is asked for a variable it does not hold, or of the wrong kind. */
export class MatchResultKeyError extends Error {
  override name = "MatchResultKeyError";
}

/** Raised when a substitution is missing a variable or would give an axis name twice. */
export class SubstitutionError extends Error {
  override name = "SubstitutionError";
}

/** One mismatch found by `checkStructure`: where and what. */
export interface StructureMismatch {
  /** The key path of the mismatching value, like `root['a'].b`. */
  readonly keyPath: string;
  /** What did not match. */
  readonly message: string;
}

/** A variable bound while checking, and where its value came from. */
export interface SolvedVariable {
  /** The variable as written in a pattern: `var('x')` or `var('x')['b']`. */
  readonly variable: string;
  /** Its value. */
  readonly value: BoundValue;
  /** Where it was bound: `root['a']`, or the `knownVars` argument. */
  readonly source: string;
}

/**
 * Raised when a value does not match a structure pattern (penzai's `StructureMismatchError`). The
 * message lists each mismatch with its key path, then the variables solved so far; the same
 * information is available as data in {@link failures} and {@link solved}.
 */
export class StructureMismatchError extends Error {
  override name = "StructureMismatchError";

  /**
   * @param message the full explanation.
   * @param failures each mismatch with its key path (empty for solver-level failures).
   * @param solved the variables bound before the check failed.
   */
  constructor(
    message: string,
    readonly failures: readonly StructureMismatch[] = [],
    readonly solved: readonly SolvedVariable[] = [],
  ) {
    super(message);
  }
}
