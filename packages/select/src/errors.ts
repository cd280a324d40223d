/**
 * Named errors raised by selections. Every message says what failed, at which key path, and how
 * to fix it.
 *
 * @module
 */

/**
 * The base class of every selection error: a selection could not be built or edited.
 *
 * @example
 * try { select([1, 2]).atInstancesOf(Number).get(); } catch (e) { e instanceof SelectionError; } // true
 */
export class SelectionError extends Error {
  override name = "SelectionError";
}

/**
 * Raised by `Selection.at` when the accessor returns something that is not a node or leaf of the
 * selected subtree, returns the same node twice, or returns nested nodes.
 *
 * @example
 * select({ a: 1 }).at(() => 5); // throws SelectionAccessorError
 */
export class SelectionAccessorError extends SelectionError {
  override name = "SelectionAccessorError";
}

/**
 * Raised when a selection has the wrong number of selected nodes for the operation: `get` with
 * zero or several, `setSequence` with too few or too many values, `assertCountIs` with another
 * count, `setByPath` without a value for a selected key path.
 *
 * @example
 * select([1, 2]).atInstancesOf(Number).get(); // throws SelectionCountError (2 selected)
 */
export class SelectionCountError extends SelectionError {
  override name = "SelectionCountError";
}

/**
 * Raised by `applyAndInline`, `removeFromParent`, `insertBefore` and `insertAfter` when a selected
 * node is the root or is not an element of an array.
 *
 * @example
 * select({ a: 1 }).at((r) => r.a).removeFromParent(); // throws InlineError
 */
export class InlineError extends SelectionError {
  override name = "InlineError";
}

/**
 * Raised by `combine` when two partitions disagree at a key path where neither is
 * `NotInThisPartition`.
 *
 * @example
 * combine({ a: 1 }, { a: 2 }); // throws PartitionCombineError at ['a']
 */
export class PartitionCombineError extends SelectionError {
  override name = "PartitionCombineError";
}
