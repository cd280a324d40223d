/**
 * The `pz.tree` namespace: JAX-style tree utilities and key path entries.
 *
 * @module
 */

export {
  KeyPathError,
  LeafCountError,
  TreeCycleError,
  TreeDepthError,
  TreeStructureMismatchError,
} from "./errors.js";
export type { KeyPath, PathKey } from "./keys.js";
export {
  DictKey,
  FlattenedIndexKey,
  GetAttrKey,
  keyEquals,
  keyPathEquals,
  keystr,
  SequenceKey,
} from "./keys.js";
export { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
export { registerPytreeNode } from "./registry.js";
export type { OutermostMatch, OutermostPredicate, Position } from "./rewrite.js";
export {
  childIndex,
  findOutermost,
  followKeyPath,
  rewriteAt,
  rewriteOutermost,
} from "./rewrite.js";
export type { IsLeaf } from "./tree.js";
export {
  flatten,
  flattenOneLevel,
  flattenUpTo,
  flattenWithPath,
  getAtPath,
  leaves,
  map,
  mapWithPath,
  options,
  prettyKeystr,
  structure,
  TreeDef,
  treeEquals as equals,
  unflatten,
} from "./tree.js";
