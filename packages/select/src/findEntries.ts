/**
 * The walks behind a selection's narrowing queries: from the selected entries, find the entries
 * of the nodes a query selects (children, outermost or innermost matches, nodes at key paths, the
 * complement). Each returns entries of the whole tree, in tree order; `Selection` wraps them.
 *
 * @module
 */

import {
  chainError,
  childKeys,
  findOutermost,
  followKeyPath,
  type KeyPath,
  keyOfChild,
  MAX_TREE_DEPTH,
  nodeTypeOf,
  type OutermostMatch,
  type OutermostPredicate,
  type PathKey,
  type Position,
  reprValue,
} from "@saikei/struct";
import { SelectionError } from "./errors.js";
import { compareIndexPaths, type Entry, entry, isIndexPrefix, type Trie, where } from "./paths.js";

/** The direct children of every entry; leaves and childless nodes have none. */
export function childEntries(entries: readonly Entry[]): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) {
    const type = nodeTypeOf(e.value);
    if (type === undefined) continue;
    const [children, aux] = type.flatten(e.value);
    if (children.length === 0) continue;
    const keys = childKeys(type, e.value, aux, children.length);
    for (let i = 0; i < children.length; i++) {
      out.push(entry([...e.keyPath, keys[i]!], [...e.indexPath, i], children[i]));
    }
  }
  return out;
}

/** The outermost matches of `predicate` in every entry's subtree. */
export function outermostEntries(
  entries: readonly Entry[],
  predicate: OutermostMatch,
  operation: string,
): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) pushFound(out, e, predicate, operation);
  return out;
}

/** How `atSubtreesWhere` calls its filter and which matches it keeps. */
export interface SubtreesWhereWalk {
  /** Keep the innermost matches (the filter runs bottom-up and never on leaves). */
  readonly innermost: boolean;
  /** Pass the key path to the filter as its first argument. */
  readonly withKeypath: boolean;
  /** Key paths from the root instead of from the selected node. */
  readonly absoluteKeypath: boolean;
}

/**
 * The subtrees of every entry for which `filter` returns `true`: the outermost matches, or the
 * innermost with `walk.innermost`.
 *
 * @throws SelectionError when the filter returns something other than a boolean.
 */
export function subtreesWhereEntries(
  entries: readonly Entry[],
  filter: (...args: any[]) => unknown,
  walk: SubtreesWhereWalk,
): Entry[] {
  const out: Entry[] = [];
  if (!walk.innermost) {
    for (const e of entries) {
      // The predicate's key paths start at the root (`basePath`); cut them when relative.
      const cut = walk.absoluteKeypath ? 0 : e.keyPath.length;
      const test: OutermostPredicate = walk.withKeypath
        ? (v, path) => {
            const full = path();
            const kp = cut === 0 ? full : full.slice(cut);
            return checkBoolean(filter(kp, v), full, "atSubtreesWhere");
          }
        : (v, path) => checkBoolean(filter(v), path, "atSubtreesWhere");
      pushFound(out, e, test, "atSubtreesWhere");
    }
    return out;
  }
  for (const e of entries) {
    const base = walk.absoluteKeypath ? e.keyPath : [];
    const test = (kp: PathKey[], v: unknown): boolean => {
      const full = [...base, ...kp];
      return checkBoolean(
        walk.withKeypath ? filter(full, v) : filter(v),
        [...e.keyPath, ...kp],
        "atSubtreesWhere",
      );
    };
    walkInnermost(
      e.value,
      [],
      [],
      test,
      (kp, ip, v) => out.push(entry([...e.keyPath, ...kp], [...e.indexPath, ...ip], v)),
      e,
    );
  }
  return out;
}

/**
 * The nodes at `paths` relative to every entry; a path that is a prefix of another wins, paths
 * that do not exist are skipped.
 */
export function keyPathEntries(entries: readonly Entry[], paths: readonly KeyPath[]): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) {
    const found: Entry[] = [];
    for (const p of paths) {
      const r = followKeyPath(e.value, p);
      if (r !== undefined)
        found.push(entry([...e.keyPath, ...p], [...e.indexPath, ...r.indexPath], r.value));
    }
    found.sort((a, b) => compareIndexPaths(a.indexPath, b.indexPath));
    for (const f of found) {
      const last = out[out.length - 1];
      if (last !== undefined && isIndexPrefix(last.indexPath, f.indexPath)) continue;
      out.push(f);
    }
  }
  return out;
}

/** The largest subtrees of `tree` holding no selected node (`trie` marks the selected ones). */
export function complementEntries(tree: unknown, trie: Trie): Entry[] {
  const out: Entry[] = [];
  const kp: PathKey[] = [];
  const ip: number[] = [];
  const visit = (node: unknown, at: Trie | undefined): void => {
    if (at === undefined || (at.selected < 0 && at.children === undefined)) {
      out.push(entry(kp, ip.slice(), node));
      return;
    }
    if (at.selected >= 0) return;
    const type = nodeTypeOf(node)!;
    const [children, aux] = type.flatten(node);
    for (let i = 0; i < children.length; i++) {
      kp.push(keyOfChild(type, node, aux, i, children.length));
      ip.push(i);
      visit(children[i], at.children?.get(i));
      kp.pop();
      ip.pop();
    }
  };
  visit(tree, trie);
  return out;
}

function checkBoolean(result: unknown, path: KeyPath | (() => KeyPath), method: string): boolean {
  if (typeof result !== "boolean") {
    if (typeof path === "function") path = path();
    throw new SelectionError(
      `The filter function of ${method} returned ${reprValue(result)} (a ${typeof result}) for the node at ` +
        `${where(path)}; it must return true or false. Convert the result, e.g. with Boolean(...).`,
    );
  }
  return result;
}

/**
 * The outermost matches of `predicate` inside the selected node `base`, as entries of the whole
 * tree (struct's `findOutermost`; key paths are computed when first read).
 */
function pushFound(out: Entry[], base: Entry, predicate: OutermostMatch, operation: string): void {
  const found = findOutermost(base.value, predicate, { operation, basePath: base.keyPath });
  if (base.indexPath.length === 0) {
    for (const p of found) out.push(p);
    return;
  }
  for (const p of found) out.push(nestedEntry(base, p));
}

function nestedEntry(base: Entry, p: Position): Entry {
  return {
    get keyPath(): KeyPath {
      return p.keyPath;
    },
    indexPath: base.indexPath.concat(p.indexPath),
    value: p.value,
  };
}

/**
 * The innermost matches of `test` (penzai's `innermost=True`): the filter runs bottom-up, only
 * where no descendant matched, and never on leaves.
 */
function walkInnermost(
  node: unknown,
  kp: PathKey[],
  ip: number[],
  test: (kp: PathKey[], v: unknown) => boolean,
  emit: (kp: PathKey[], ip: number[], v: unknown) => void,
  base: Entry,
): boolean {
  const type = nodeTypeOf(node);
  if (type === undefined) return false;
  if (ip.length > MAX_TREE_DEPTH && typeof node === "object" && node !== null) {
    throw chainError("atSubtreesWhere", base.value, ip, base.keyPath);
  }
  const [children, aux] = type.flatten(node);
  const keys = children.length > 0 ? childKeys(type, node, aux, children.length) : [];
  let found = false;
  for (let i = 0; i < children.length; i++) {
    kp.push(keys[i]!);
    ip.push(i);
    if (walkInnermost(children[i], kp, ip, test, emit, base)) found = true;
    kp.pop();
    ip.pop();
  }
  if (!found && test(kp, node)) {
    emit(kp, ip, node);
    return true;
  }
  return found;
}
