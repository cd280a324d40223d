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
  assertLayerClassIsChecked,
  CHECKED_LAYER_CALL,
  callLayer,
  DisposedTensorError,
  Layer,
  LayerDefinitionError,
  type LayerLike,
  MisconfiguredLayerError,
} from "./layer.js";
export { RandomStream, type RandomStreamState, RandomStreamStateError } from "./randomStream.js";
