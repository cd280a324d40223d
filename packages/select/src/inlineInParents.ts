/**
 * The walk behind `applyAndInline`, `removeFromParent`, `insertBefore` and `insertAfter`: every
 * selected node is an element of an array, and is replaced in that array by any number of values.
 * Only the ancestors of the selected nodes are rebuilt.
 *
 * @module
 */

import { ARRAY_NODE, nodeTypeOf } from "@saikei/struct";
import { InlineError } from "./errors.js";
import { type Entry, kindOf, where } from "./paths.js";

/** Where the first value put in place of each selected node lands, for `insert… andSelect`. */
export interface InlineTracking {
  /** Added to the position of the first value put in place of a node. */
  readonly offset: number;
  /** Receives the index path of each tracked value, in tree order. */
  readonly out: number[][];
}

/**
 * `tree` with each selected node (an array element; `entries` in tree order) replaced by the
 * values `fn(entry)`, spliced into its parent array.
 *
 * @throws InlineError when the root is selected or a selected node's parent is not an array.
 */
export function inlineInParents(
  tree: unknown,
  entries: readonly Entry[],
  fn: (e: Entry) => unknown[],
  track: InlineTracking | undefined,
): unknown {
  for (const e of entries) {
    if (e.indexPath.length === 0) {
      throw new InlineError(
        "applyAndInline / removeFromParent / insertBefore / insertAfter need every selected node to be " +
          "an element of an array, but the root itself is selected. Select elements of an array " +
          "instead, or use .set / .apply to replace the whole tree.",
      );
    }
  }
  const visit = (
    node: unknown,
    lo: number,
    hi: number,
    depth: number,
    newPath: number[],
  ): unknown => {
    const type = nodeTypeOf(node)!;
    const [children, aux] = type.flatten(node);
    const isParent =
      entries[lo]!.indexPath.length === depth + 1 || hasParentEntry(entries, lo, hi, depth);
    if (isParent && type !== ARRAY_NODE) {
      const bad = firstChildEntry(entries, lo, hi, depth)!;
      throw new InlineError(
        `applyAndInline / removeFromParent / insertBefore / insertAfter need every selected node to be ` +
          `an element of an array, but the node at ${where(bad.keyPath)} is in a ${kindOf(node)}. ` +
          (typeof bad.value === "function" ||
          (bad.value as { call?: unknown } | null)?.call !== undefined
            ? "To put several layers in place of one, replace it with a Sequential layer using .apply instead. "
            : "Select elements of an array, or use .set / .apply to replace the node.") +
          "",
      );
    }
    const out: unknown[] = [];
    let i = lo;
    let shifted = false;
    for (let c = 0; c < children.length; c++) {
      const child = children[c];
      if (i < hi && entries[i]!.indexPath[depth] === c) {
        let j = i + 1;
        while (j < hi && entries[j]!.indexPath[depth] === c) j++;
        const e = entries[i]!;
        if (e.indexPath.length === depth + 1) {
          const items = fn(e);
          if (track !== undefined) track.out.push([...newPath, out.length + track.offset]);
          for (const item of items) out.push(item);
          shifted = true;
        } else {
          const replaced = visit(child, i, j, depth + 1, [...newPath, out.length]);
          if (replaced !== child) shifted = true;
          out.push(replaced);
        }
        i = j;
      } else {
        out.push(child);
      }
    }
    if (!shifted) return node;
    return type === ARRAY_NODE ? out : type.unflatten(aux, out);
  };
  if (entries.length === 0) return tree;
  return visit(tree, 0, entries.length, 0, []);
}

function hasParentEntry(entries: readonly Entry[], lo: number, hi: number, depth: number): boolean {
  for (let i = lo; i < hi; i++) if (entries[i]!.indexPath.length === depth + 1) return true;
  return false;
}

function firstChildEntry(
  entries: readonly Entry[],
  lo: number,
  hi: number,
  depth: number,
): Entry | undefined {
  for (let i = lo; i < hi; i++) if (entries[i]!.indexPath.length === depth + 1) return entries[i];
  return undefined;
}
