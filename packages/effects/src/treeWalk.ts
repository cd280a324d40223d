/**
 * Internal tree walks used by the effect system: visiting nodes with their key paths, replacing
 * outermost matching nodes with path copying, and the per-handler index of reference positions.
 *
 * @module
 * @internal
 */

import {
  chainError,
  childKeys,
  type KeyPath,
  MAX_TREE_DEPTH,
  nodeTypeOf,
  type PathKey,
} from "@saikei/struct";

/**
 * Raises TreeCycleError / TreeDepthError when the walk at child positions `indices` has gone past
 * MAX_TREE_DEPTH with an object: a cycle never ends and a very deep tree would overflow the stack.
 */
function checkDepth(operation: string, root: unknown, node: unknown, indices: number[]): void {
  if (indices.length > MAX_TREE_DEPTH && typeof node === "object" && node !== null) {
    throw chainError(operation, root, indices);
  }
}

/** Returned by a replacer to keep a node and keep walking into it. */
export const KEEP: unique symbol = Symbol("keep");

/**
 * Visits every node of `tree` in pre-order with its key path. `visit` returns `false` to skip the
 * node's children.
 */
export function walk(
  tree: unknown,
  visit: (node: unknown, path: KeyPath) => boolean | undefined,
): void {
  const indices: number[] = [];
  const rec = (node: unknown, path: PathKey[]): void => {
    if (visit(node, path) === false) return;
    const type = nodeTypeOf(node);
    if (type === undefined) return;
    checkDepth("effect handling", tree, node, indices);
    const [children, aux] = type.flatten(node);
    if (children.length === 0) return;
    const keys = childKeys(type, node, aux, children.length);
    for (let i = 0; i < children.length; i++) {
      indices.push(i);
      rec(children[i], [...path, keys[i]!]);
      indices.pop();
    }
  };
  rec(tree, []);
}

/**
 * Replaces the outermost nodes for which `replace` returns something other than {@link KEEP}.
 * Subtrees without replacements are returned unchanged (`===`), so only ancestors are rebuilt.
 */
export function replaceNodes(
  tree: unknown,
  replace: (node: unknown, path: KeyPath) => unknown | typeof KEEP,
): unknown {
  const indices: number[] = [];
  const rec = (node: unknown, path: PathKey[]): unknown => {
    const replaced = replace(node, path);
    if (replaced !== KEEP) return replaced;
    const type = nodeTypeOf(node);
    if (type === undefined) return node;
    checkDepth("effect handling", tree, node, indices);
    const [children, aux] = type.flatten(node);
    if (children.length === 0) return node;
    const keys = childKeys(type, node, aux, children.length);
    let changed = false;
    const out = new Array(children.length);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      indices.push(i);
      const next = rec(child, [...path, keys[i]!]);
      indices.pop();
      out[i] = next;
      if (next !== child) changed = true;
    }
    return changed ? type.unflatten(aux, out) : node;
  };
  return rec(tree, []);
}

/**
 * The positions of some nodes in a tree, as a trie of child indices: rebuilding those positions
 * touches only the nodes on the way to them.
 */
export interface PathTrie<T> {
  /** Child indices with further positions below them (parallel to `subtries`). */
  readonly indices: readonly number[];
  readonly subtries: readonly PathTrie<T>[];
  /** Set when this position is itself a target. */
  readonly target?: { readonly node: T; readonly path: KeyPath; readonly ordinal: number };
}

/**
 * Finds the outermost nodes matching `isTarget` and records their positions. Returns `undefined`
 * when there is none. `ordinal` numbers targets in pre-order.
 */
export function findPaths<T>(
  tree: unknown,
  isTarget: (node: unknown) => node is T,
): { trie: PathTrie<T> | undefined; targets: { node: T; path: KeyPath }[] } {
  const targets: { node: T; path: KeyPath }[] = [];
  const positions: number[] = [];
  const rec = (node: unknown, path: PathKey[]): PathTrie<T> | undefined => {
    if (isTarget(node)) {
      const target = { node, path, ordinal: targets.length };
      targets.push({ node, path });
      return { indices: [], subtries: [], target };
    }
    const type = nodeTypeOf(node);
    if (type === undefined) return undefined;
    checkDepth("effect handling", tree, node, positions);
    const [children, aux] = type.flatten(node);
    if (children.length === 0) return undefined;
    const keys = childKeys(type, node, aux, children.length);
    const indices: number[] = [];
    const subtries: PathTrie<T>[] = [];
    for (let i = 0; i < children.length; i++) {
      positions.push(i);
      const sub = rec(children[i], [...path, keys[i]!]);
      positions.pop();
      if (sub !== undefined) {
        indices.push(i);
        subtries.push(sub);
      }
    }
    return indices.length === 0 ? undefined : { indices, subtries };
  };
  const trie = rec(tree, []);
  return { trie, targets };
}

/**
 * Rebuilds `tree` with every target position of `trie` replaced by `replace(target)`. Only the
 * ancestors of targets are rebuilt (each reported to `onRebuild`); `tree` must be the tree the trie
 * was computed from.
 */
export function rewriteAtPaths<T>(
  tree: unknown,
  trie: PathTrie<T> | undefined,
  replace: (node: T, path: KeyPath, ordinal: number) => unknown,
  onRebuild?: (original: unknown, rebuilt: unknown) => void,
): unknown {
  if (trie === undefined) return tree;
  const rec = (node: unknown, t: PathTrie<T>): unknown => {
    const target = t.target;
    if (target !== undefined) return replace(target.node, target.path, target.ordinal);
    const type = nodeTypeOf(node)!;
    const [children, aux] = type.flatten(node);
    const out = children.slice();
    const { indices, subtries } = t;
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i]!;
      out[idx] = rec(children[idx], subtries[i]!);
    }
    const rebuilt = type.unflatten(aux, out);
    if (onRebuild !== undefined) onRebuild(node, rebuilt);
    return rebuilt;
  };
  return rec(tree, trie);
}
