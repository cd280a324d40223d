/**
 * Partitioning trees with `NotInThisPartition` and putting partitions back together with
 * `combine` (penzai's `core.partitioning`).
 *
 * @module
 */

import {
  keyOfChild,
  keystr,
  MAX_TREE_DEPTH,
  nodeTypeOf,
  type PathKey,
  reprValue,
  Struct,
  TreeDepthError,
} from "@saikei/struct";
import { PartitionCombineError } from "./errors.js";

/**
 * A childless struct that marks a part of a tree that belongs to another partition. Any two
 * instances are equal. Made by `Selection.partition`, consumed by {@link combine}.
 *
 * @example
 * const [selected, rest] = select({ a: 1, b: 2 }).at((r) => r.a).partition();
 * selected; // { a: 1, b: NotInThisPartition() }
 */
export class NotInThisPartition extends Struct.define({}, { name: "NotInThisPartition" }) {
  /** Penzai renders partition markers in orange. */
  treescopeColor(): string {
    return "orange";
  }
}

/**
 * Combines partitions made by `Selection.partition` (or by hand) into one tree: wherever one tree
 * has `NotInThisPartition`, the other tree's subtree is used. Parts missing from every partition
 * stay `NotInThisPartition`. With no arguments, returns `new NotInThisPartition()`.
 *
 * @param partitions trees of compatible structure.
 * @returns the combined tree.
 * @throws PartitionCombineError naming the key path where two partitions both have a value, or
 *   have nodes of different structure.
 * @example
 * combine({ a: 1, b: new NotInThisPartition() }, { a: new NotInThisPartition(), b: 2 }); // { a: 1, b: 2 }
 */
export function combine(...partitions: unknown[]): unknown {
  if (partitions.length === 0) return new NotInThisPartition();
  let out = partitions[0];
  for (let i = 1; i < partitions.length; i++) out = combineTwo(out, partitions[i], []);
  return out;
}

function combineTwo(a: unknown, b: unknown, path: PathKey[]): unknown {
  if (a instanceof NotInThisPartition) return b;
  if (b instanceof NotInThisPartition) return a;
  const ta = nodeTypeOf(a);
  const tb = nodeTypeOf(b);
  if (path.length > MAX_TREE_DEPTH && ta !== undefined && a !== null && a !== undefined) {
    throw new TreeDepthError(
      `combine: the partitions are nested more than ${MAX_TREE_DEPTH} levels deep (or contain ` +
        "themselves); partitions made by Selection.partition never are. Combine partitions of " +
        `trees at most MAX_TREE_DEPTH = ${MAX_TREE_DEPTH} levels deep.`,
      Object.freeze(path.slice()),
      MAX_TREE_DEPTH,
    );
  }
  if (ta !== undefined && ta === tb) {
    const [ca, auxA] = ta.flatten(a);
    const [cb, auxB] = ta.flatten(b);
    if (ca.length === cb.length && ta.auxEquals(auxA, auxB)) {
      const out = new Array(ca.length);
      for (let i = 0; i < ca.length; i++) {
        path.push(keyOfChild(ta, a, auxA, i, ca.length));
        out[i] = combineTwo(ca[i], cb[i], path);
        path.pop();
      }
      return ta.unflatten(auxA, out);
    }
  }
  throw new PartitionCombineError(
    `combine: the partitions disagree at ${keystr(path) || "the root"}: one has ${reprValue(a)} and ` +
      `another has ${reprValue(b)}. At every key path, all partitions but one must have ` +
      "NotInThisPartition (or nodes of the same structure); pass partitions made from one tree by " +
      "Selection.partition.",
  );
}
