/**
 * `@saikei/layer`: the v1 Layer base class, checked layer calls and random streams.
 *
 * @module
 */
export {
  ADD_LAYER_CONTEXT,
  addLayerContext,
  checkedLayerCall,
  uncheckedLayerCall,
} from "./checkedCall.js";
export {
  DisposedTensorError,
  LayerDefinitionError,
  MisconfiguredLayerError,
  RandomStreamStateError,
} from "./errors.js";
export {
  assertLayerClassIsChecked,
  CHECKED_LAYER_CALL,
  callLayer,
  Layer,
  type LayerLike,
} from "./layer.js";
export { RandomStream, type RandomStreamState } from "./randomStream.js";
