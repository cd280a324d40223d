/**
 * Named error classes of `@saikei/nn`. Faults in axis names, axis sizes and positional axes are
 * `@saikei/named`'s classes (`AxisNameError`, `NamedShapeMismatchError`, `PositionalAxesError`),
 * re-exported here so that one fault has one class wherever it is found.
 *
 * @module
 */

export { AxisNameError, NamedShapeMismatchError, PositionalAxesError } from "@saikei/named";

/** A combinator was built with an empty list of branches. */
export class EmptyBranchesError extends Error {
  override name = "EmptyBranchesError";
}

/**
 * A value is of a kind a layer cannot use: a combinator adding a string to an array, a layer given
 * a number where it needs a `NamedArray`, a cache end index that is not a scalar.
 *
 * @example
 * new Residual({ delta: () => "text" }).call(5);
 * // UnsupportedValueError: Cannot add string and number: combinators combine NamedArrays, ...
 */
export class UnsupportedValueError extends Error {
  override name = "UnsupportedValueError";
}

/** The value of an uninitialized parameter was used (penzai's `UninitializedParameterError`). */
export class UninitializedParameterError extends Error {
  override name = "UninitializedParameterError";
}

/** Two parameters in one model share a name (`checkNoDuplicateParameters`, `initializeParameters`). */
export class DuplicateParameterError extends Error {
  override name = "DuplicateParameterError";
}

/** Shared parameters with one name disagree on structure or initializer (`attachSharedParameters`). */
export class SharedParameterConflictError extends Error {
  override name = "SharedParameterConflictError";
}

/** A parameter's shape could not be inferred from its initializer. */
export class ParameterInferenceError extends Error {
  override name = "ParameterInferenceError";
}

/** Axis names given to a layer builder or an initializer are inconsistent (overlap, duplicates). */
export class AxisConfigurationError extends Error {
  override name = "AxisConfigurationError";
}

/**
 * A token id given to `EmbeddingLookup` is outside `[0, vocabulary size)`.
 *
 * @example
 * lookup.call(nx.wrap(tf.tensor([[3, 70]], [1, 2], "int32"), "batch", "seq"));
 * // TokenIdOutOfRangeError: EmbeddingLookup: token id 70 at {"batch":0,"seq":1} is outside [0, 60) ...
 */
export class TokenIdOutOfRangeError extends Error {
  override name = "TokenIdOutOfRangeError";
}

/**
 * An array has a dtype a layer cannot use: a non-boolean attention mask, non-integer RoPE
 * positions.
 */
export class DtypeMismatchError extends Error {
  override name = "DtypeMismatchError";
}

/** An axis a layer needs to be non-empty has size 0 (e.g. a `seq` axis of size 0 given to `ApplyRoPE`). */
export class EmptyAxisError extends Error {
  override name = "EmptyAxisError";
}
