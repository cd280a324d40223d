/**
 * The `pz` namespace: the whole toolkit in one import (`import { pz } from "saikei"`).
 *
 * Core names live at the top (`pz.Struct`, `pz.field`, `pz.select`, `pz.ready`, `pz.Layer`,
 * `pz.jit`);
 * each package adds a sub-namespace: `pz.tree` (tree utilities), `pz.nx` (named axes),
 * `pz.random` (splittable keys), `pz.chk` (shape checking), `pz.de` (data effects), `pz.nn`
 * (layers), `pz.ts` (treescope), `pz.toolshed` (training and tools), `pz.models`, `pz.onnx`
 * (ONNX export and onnxruntime sessions).
 *
 * @module
 */

export * as de from "@saikei/effects";
export {
  callLayer,
  checkedLayerCall,
  Layer,
  type LayerLike,
  MisconfiguredLayerError,
  RandomStream,
  uncheckedLayerCall,
} from "@saikei/layer";
export * as models from "@saikei/models";
export {
  type Jitted,
  jit,
  NamedArray,
  NamedArrayView,
  nx,
  random,
  ready,
} from "@saikei/named";
export { nn } from "@saikei/nn";
export * as onnx from "@saikei/onnx";
export { combine, NotInThisPartition, Selection, select } from "@saikei/select";
export * as chk from "@saikei/shapecheck";
export type { Field, KeyPath, PathKey } from "@saikei/struct";
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
export * as toolshed from "@saikei/toolshed";
export * as ts from "@saikei/treescope";
