/**
 * The depth limit every tree walk obeys: nodes may be nested at most {@link MAX_TREE_DEPTH} levels
 * deep. Walks count their depth as they go (one comparison per node, so the hot paths keep their
 * speed) and, only when the count passes the limit, find out (in `walkLimits.ts`) whether the chain
 * of ancestors closes a cycle or is simply too deep.
 *
 * @module
 */

/**
 * How many levels deep a tree walk may go: an object whose key path has more than this many
 * steps raises {@link TreeDepthError}. Python's default recursion limit, which bounds JAX's and
 * penzai's walks in practice, is the same.
 *
 * @example
 * MAX_TREE_DEPTH; // 1000
 */
export const MAX_TREE_DEPTH = 1000;
