/**
 * Error classes raised by `@saikei/named`. Each message says what failed, which axis names,
 * shapes, backends or kernels were involved, and how to fix the call.
 *
 * @module
 */

/**
 * Raised when a NamedArray or NamedArrayView is internally inconsistent (penzai's `check_valid`
 * errors): the data shape does not match the declared axes, or an axis is used twice.
 *
 * @example
 * new NamedArray({ namedAxes: { a: 3 }, dataArray: tf.zeros([2]) }).checkValid(); // throws
 */
export class InvalidNamedArrayError extends Error {
  override name = "InvalidNamedArrayError";
}

/**
 * Raised for a wrong axis name: an integer-like name, a repeated name, a name that is not present,
 * or a name that would clash with an existing one.
 *
 * @example
 * nx.wrap(tf.zeros([2])).tag("0"); // throws: integer-like names are not allowed
 */
export class AxisNameError extends Error {
  override name = "AxisNameError";
}

/**
 * Raised when named axes with the same name have different sizes in one operation (nmap,
 * elementwise ops, broadcasting, contraction).
 *
 * @example
 * nx.zeros({ a: 2 }).add(nx.zeros({ a: 3 })); // throws
 */
export class NamedShapeMismatchError extends Error {
  override name = "NamedShapeMismatchError";
}

/**
 * Raised when an operation needs an array with (or without) positional axes, or a number of
 * positional axes that the array does not have.
 *
 * @example
 * nx.wrap(tf.zeros([2, 3])).untag("a"); // throws: tag positional axes first
 */
export class PositionalAxesError extends Error {
  override name = "PositionalAxesError";
}

/**
 * Raised for an unsupported or malformed index passed to `index(...)`.
 *
 * @example
 * nx.zeros({ a: 2 }).index({ a: "x" as never }); // throws
 */
export class NamedIndexError extends Error {
  override name = "NamedIndexError";
}

/**
 * Raised for a malformed random key or random-helper argument.
 *
 * @example
 * random.key(-1); // throws: seeds are integers in [0, 2^32)
 */
export class RandomKeyError extends Error {
  override name = "RandomKeyError";
}

/**
 * Raised when an operation does not support the dtype of its operands: bitwise operators on
 * floats, shifts on non-integers, updates whose values cannot be cast to the array's dtype.
 *
 * @example
 * nx.ones({ a: 2 }).and(nx.ones({ a: 2 })); // throws: `and` works on bool and int32 arrays
 */
export class NamedDtypeError extends Error {
  override name = "NamedDtypeError";
}

/** Raised when none of the requested backends can be initialised. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

/** Thrown by {@link jit} for invalid options. */
export class JitError extends Error {
  override name = "JitError";
}

/** Thrown by {@link traceKernels} when the function's kernels cannot make a program. */
export class TraceError extends Error {
  override name = "TraceError";
}
