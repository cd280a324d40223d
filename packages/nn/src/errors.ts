/**
 * Named error classes of `@saikei/nn`.
 *
 * @module
 */

/** A combinator was built with an empty list of branches. */
export class EmptyBranchesError extends Error {
  override name = "EmptyBranchesError";
}

/** Two values a combinator must add or multiply are of kinds that cannot be combined. */
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

/** A named array has an axis layout an operation cannot use (positional axes, missing names). */
export class AxisMismatchError extends Error {
  override name = "AxisMismatchError";
}
