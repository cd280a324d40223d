/**
 * The limits every tree walk obeys: a tree may not contain itself (a cycle), and nodes may be
 * nested at most {@link MAX_TREE_DEPTH} levels deep. Walks count their depth as they go (one
 * comparison per node, so the hot paths keep their speed) and, only when the count passes the
 * limit, find out (in `walkLimits.ts`) whether the chain of ancestors closes a cycle or is simply
 * too deep, and raise one of the errors defined here.
 *
 * @module
 */

import { type KeyPath, keystr } from "./keys.js";

/**
 * How many levels deep a tree walk may go: an object whose key path has more than this many
 * steps raises {@link TreeDepthError}. Python's default recursion limit, which bounds JAX's and
 * penzai's walks in practice, is the same.
 *
 * @example
 * MAX_TREE_DEPTH; // 1000
 */
export const MAX_TREE_DEPTH = 1000;

/**
 * Raised when a tree contains itself: walking down from the root reaches a node that is the same
 * object as one of its ancestors. `path` is where the cycle closes, `ancestorPath` the ancestor it
 * closes on.
 *
 * @example
 * const a: Record<string, unknown> = {};
 * a.self = a;
 * flatten(a); // throws TreeCycleError (path ['self'], ancestorPath [])
 */
export class TreeCycleError extends Error {
  override name = "TreeCycleError";
  constructor(
    message: string,
    /** Key path of the node that repeats an ancestor. */
    readonly path: KeyPath,
    /** Key path of that ancestor (a prefix of `path`). */
    readonly ancestorPath: KeyPath,
  ) {
    super(message);
  }
}

/**
 * Raised when a tree is nested more than {@link MAX_TREE_DEPTH} levels deep. `path` is the key
 * path of the first object found below the limit (it has `limit + 1` steps).
 *
 * @example
 * let t: unknown = 1;
 * for (let i = 0; i < 20_000; i++) t = [t];
 * flatten(t); // throws TreeDepthError (limit 1000)
 */
export class TreeDepthError extends Error {
  override name = "TreeDepthError";
  constructor(
    message: string,
    /** Key path of the first object deeper than the limit (may be empty when not known). */
    readonly path: KeyPath,
    /** The depth limit, {@link MAX_TREE_DEPTH}. */
    readonly limit: number,
  ) {
    super(message);
  }
}

function shortPath(path: KeyPath): string {
  if (path.length === 0) return "the root";
  const s = keystr(path);
  return s.length <= 200 ? s : `${s.slice(0, 90)}…${s.slice(-90)} (${path.length} steps)`;
}

/** @internal The error for a cycle closing at `path` on the ancestor at `ancestorPath`. */
export function cycleError(
  operation: string,
  path: KeyPath,
  ancestorPath: KeyPath,
): TreeCycleError {
  return new TreeCycleError(
    `${operation}: the tree contains a cycle: the node at ${shortPath(path)} is the same object as its ` +
      `ancestor at ${shortPath(ancestorPath)}, so walking it would never end. A tree must not contain ` +
      "itself: store something that identifies the ancestor (a name or an index) instead of the object, " +
      "or stop the walk there (flatten's isLeaf).",
    Object.freeze(path.slice()),
    Object.freeze(ancestorPath.slice()),
  );
}

/** @internal The error for an object found below the depth limit at `path`. */
export function depthError(operation: string, path: KeyPath): TreeDepthError {
  return new TreeDepthError(
    `${operation}: the tree is nested more than ${MAX_TREE_DEPTH} levels deep (at ${shortPath(path)}); ` +
      `saikei walks trees at most MAX_TREE_DEPTH = ${MAX_TREE_DEPTH} levels deep. Deep chains are ` +
      "usually linked lists built by accident: keep long sequences in one array, or stop the walk above " +
      "the deep part (flatten's isLeaf) and handle it yourself.",
    Object.freeze(path.slice()),
    MAX_TREE_DEPTH,
  );
}
