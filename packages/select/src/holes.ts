/**
 * A selection as penzai stores it (selected values by key path, and a remainder with a
 * `SelectionHole` at each selected position) and the two walks between that form and a tree
 * with entries: punching the holes, and filling them back in.
 *
 * @module
 */

import {
  findOutermost,
  type KeyPath,
  keyPathEquals,
  keystr,
  rewriteAt,
  rewriteOutermost,
} from "@saikei/struct";
import { SelectionError } from "./errors.js";
import { isHoleOrQuote, SelectionHole, SelectionQuote } from "./markers.js";
import { compareIndexPaths, type Entry, where } from "./paths.js";

/** A selection as penzai stores it: selected values by key path, and the remainder. */
export interface Parts {
  readonly keyPaths: readonly KeyPath[];
  readonly values: readonly unknown[];
  readonly remainder: unknown;
}

/**
 * The remainder (penzai's `_build_selection_from_boundary`): a `SelectionHole` at each selected
 * position, and every hole or quote that was already in the tree wrapped in one more quote.
 */
export function remainderOf(tree: unknown, entries: readonly Entry[]): unknown {
  const holes = entries.map((e) => new SelectionHole({ path: e.keyPath }));
  const punched = rewriteAt(tree, entries, holes);
  const fresh = new Set<unknown>(holes);
  return rewriteOutermost(
    punched,
    (x) => isHoleOrQuote(x) && !fresh.has(x),
    (x: SelectionHole | SelectionQuote) => new SelectionQuote({ quoted: x }),
    { operation: "Selection.remainder" },
  );
}

/**
 * The tree and entries of a selection built from parts (penzai's `deselect`): every unquoted
 * `SelectionHole` of the remainder is replaced by the value of its key path, one level of quoting
 * is removed elsewhere, and the positions where the holes were found become the entries' index
 * paths.
 *
 * @throws SelectionError when a selected key path has no hole in the remainder.
 */
export function fillHoles(parts: Parts): { tree: unknown; entries: readonly Entry[] } {
  const byString = new Map<string, number[]>();
  parts.keyPaths.forEach((k, i) => {
    const key = keystr(k);
    byString.set(key, [...(byString.get(key) ?? []), i]);
  });
  const found: (readonly number[] | undefined)[] = parts.keyPaths.map(() => undefined);
  const markers = findOutermost<SelectionHole | SelectionQuote>(parts.remainder, isHoleOrQuote, {
    operation: "Selection (rebuilt from its parts)",
  });
  const tree = rewriteAt(parts.remainder, markers, (m) => {
    const { value: node, indexPath } = markers[m]!;
    if (node instanceof SelectionQuote) return node.quoted;
    const i = byString
      .get(keystr(node.path))
      ?.find((j) => found[j] === undefined && keyPathEquals(parts.keyPaths[j]!, node.path));
    if (i === undefined) return node;
    found[i] = indexPath;
    return parts.values[i];
  });
  const missing = parts.keyPaths.filter((_, i) => found[i] === undefined);
  if (missing.length > 0) {
    throw new SelectionError(
      `A selection rebuilt from its parts (selectedByPath and remainder) has no SelectionHole for the ` +
        `selected key path(s) ${missing.map((k) => where(k)).join(", ")} in its remainder. Keep a hole ` +
        "for every selected node when editing a selection's remainder.",
    );
  }
  const entries = parts.keyPaths
    .map((k, i) => ({ keyPath: k, indexPath: found[i]!, value: parts.values[i] }))
    .sort((a, b) => compareIndexPaths(a.indexPath, b.indexPath));
  return { tree, entries };
}
