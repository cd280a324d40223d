/**
 * Internal tree plumbing for selections: entries (key path, index path, value), rebuilding a tree
 * along index paths, and converting between key paths and child indices.
 *
 * Selections remember, for each selected node, both its key path (public) and its index path (the
 * child position at every level). Rebuilding walks only the index paths, so an edit costs the depth
 * of the edited nodes, not the size of the tree, and every unselected subtree stays `===`.
 *
 * @module
 */

import {
  ARRAY_NODE,
  childKeys,
  className,
  DictKey,
  type KeyPath,
  keyEquals,
  keystr,
  type NodeType,
  nodeTypeOf,
  OBJECT_NODE,
  type ObjectAux,
  type PathKey,
  SequenceKey,
} from "@saikei/struct";

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

/** The key of child `i` of a node, without allocating every key of large arrays and objects. */
export function keyOfChild(
  type: NodeType,
  node: unknown,
  aux: unknown,
  i: number,
  n: number,
): PathKey {
  if (type === ARRAY_NODE) return new SequenceKey(i);
  if (type === OBJECT_NODE) return new DictKey((aux as ObjectAux).keys[i]);
  return childKeys(type, node, aux, n)[i]!;
}

/** The index of the child of `node` reached by `key`, or -1. */
export function findChildIndex(node: unknown, key: PathKey): number {
  const type = nodeTypeOf(node);
  if (type === undefined) return -1;
  const [children, aux] = type.flatten(node);
  const n = children.length;
  if (type === ARRAY_NODE) {
    return key instanceof SequenceKey && Number.isInteger(key.idx) && key.idx >= 0 && key.idx < n
      ? key.idx
      : -1;
  }
  if (type === OBJECT_NODE) {
    return key instanceof DictKey ? (aux as ObjectAux).keys.indexOf(key.key as string) : -1;
  }
  if (n === 0) return -1;
  const keys = childKeys(type, node, aux, n);
  for (let i = 0; i < n; i++) if (keyEquals(keys[i]!, key)) return i;
  return -1;
}

/**
 * Follows a key path from `node`; returns the index path and the value reached, or `undefined`
 * when a step does not exist.
 */
export function resolveKeyPath(
  node: unknown,
  keyPath: KeyPath,
): { indexPath: number[]; value: unknown } | undefined {
  const indexPath: number[] = [];
  let current = node;
  for (const key of keyPath) {
    const i = findChildIndex(current, key);
    if (i < 0) return undefined;
    indexPath.push(i);
    current = nodeTypeOf(current)!.flatten(current)[0][i];
  }
  return { indexPath, value: current };
}

/** Follows an index path from `node` and returns the key path it corresponds to. */
export function keyPathOfIndexPath(node: unknown, indexPath: readonly number[]): PathKey[] {
  const out: PathKey[] = [];
  let current = node;
  for (const i of indexPath) {
    const type = nodeTypeOf(current);
    if (type === undefined) {
      throw new Error(
        `saikei bug: index path [${indexPath.join(", ")}] runs into a leaf after ${keystr(out) || "the root"}. ` +
          "Please report this with the tree that was selected.",
      );
    }
    const [children, aux] = type.flatten(current);
    out.push(keyOfChild(type, current, aux, i, children.length));
    current = children[i];
  }
  return out;
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

/**
 * Replaces the nodes at the index paths of `entries` (sorted, non-overlapping) by `values` and
 * rebuilds their ancestors. Nodes whose children did not change are returned as they were, so
 * every unselected subtree (and every ancestor of a value set to itself) stays `===`.
 */
export function replaceAt(
  tree: unknown,
  entries: readonly Entry[],
  values: readonly unknown[],
): unknown {
  if (entries.length === 0) return tree;
  return rebuild(tree, entries, values, 0, entries.length, 0);
}

function rebuild(
  node: unknown,
  entries: readonly Entry[],
  values: readonly unknown[],
  lo: number,
  hi: number,
  depth: number,
): unknown {
  const first = entries[lo]!.indexPath;
  if (first.length === depth) return values[lo];
  const type = nodeTypeOf(node)!;
  const [children, aux] = type.flatten(node);
  let out: unknown[] | undefined;
  let i = lo;
  while (i < hi) {
    const c = entries[i]!.indexPath[depth]!;
    let j = i + 1;
    while (j < hi && entries[j]!.indexPath[depth] === c) j++;
    const child = children[c];
    const replaced = rebuild(child, entries, values, i, j, depth + 1);
    if (replaced !== child) {
      if (out === undefined) out = children.slice();
      out[c] = replaced;
    }
    i = j;
  }
  return out === undefined ? node : type.unflatten(aux, out);
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
