/**
 * The `pz` namespace: the whole toolkit in one import (`import { pz } from "saikei"`).
 *
 * Core names live at the top (`pz.Struct`, `pz.field`, `pz.select`, `pz.ready`); each package adds
 * a sub-namespace (`pz.tree`, `pz.nx`, `pz.chk`, `pz.de`, `pz.nn`, `pz.ts`).
 *
 * @module
 */
export {
  DictKey,
  FlattenedIndexKey,
  field,
  GetAttrKey,
  isStruct,
  registerPytreeNode,
  SequenceKey,
  Struct,
  tree,
} from "@saikei/struct";
export type { Field, KeyPath, PathKey } from "@saikei/struct";
export { ready } from "@saikei/named";
export { callLayer, Layer, type LayerLike } from "@saikei/layer";
