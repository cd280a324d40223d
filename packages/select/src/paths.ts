/**
 * Internal bookkeeping of selections: entries (key path, index path, value), the order of index
 * paths, and a trie for walks that need to know where the selected nodes are.
 *
 * Selections remember, for each selected node, both its key path (public) and its index path (the
 * child position at every level). Finding nodes, following key paths and rebuilding a tree along
 * index paths are `@saikei/struct`'s (`findOutermost`, `followKeyPath`, `rewriteAt`), so an edit
 * costs the depth of the edited nodes, not the size of the tree, and every unselected subtree stays
 * `===`.
 *
 * @module
 */

import { className, type KeyPath, keystr, type PathKey } from "@saikei/struct";

/** One selected node: where it is (two ways) and its current value. */
export interface Entry {
  /** Key path from the root of the selected tree. Frozen. */
  readonly keyPath: KeyPath;
  /** Child position at each level, parallel to `keyPath`. */
  readonly indexPath: readonly number[];
  /** The selected value. */
  readonly value: unknown;
}

/** Builds a frozen entry. */
export function entry(
  keyPath: readonly PathKey[],
  indexPath: readonly number[],
  value: unknown,
): Entry {
  return { keyPath: Object.freeze(keyPath.slice()), indexPath, value };
}

/** Lexicographic order of index paths; a prefix comes before its extensions (pre-order DFS). */
export function compareIndexPaths(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Whether `prefix` is a (non-strict) prefix of `path`. */
export function isIndexPrefix(prefix: readonly number[], path: readonly number[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** A prefix trie over index paths; `selected` marks the end of a selected path. */
export interface Trie {
  selected: number;
  children: Map<number, Trie> | undefined;
}

/** Builds a trie of the entries' index paths; `selected` holds the entry's position (or -1). */
export function buildTrie(entries: readonly Entry[]): Trie {
  const root: Trie = { selected: -1, children: undefined };
  entries.forEach((e, position) => {
    let t = root;
    for (const i of e.indexPath) {
      t.children ??= new Map();
      let next = t.children.get(i);
      if (next === undefined) {
        next = { selected: -1, children: undefined };
        t.children.set(i, next);
      }
      t = next;
    }
    t.selected = position;
  });
  return root;
}

/** Short description of a node for error messages: its class or kind. */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "Array";
  if (typeof value !== "object") return typeof value;
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return "Object";
  return className((value as object).constructor) || "object";
}

/** `keystr`, with "the root" for the empty path. */
export function where(path: KeyPath): string {
  return path.length === 0 ? "the root" : keystr(path);
}
