/**
 * `@saikei/effects`: the data-effect system (penzai v1's `pz.de`): side inputs, local state,
 * randomness and side outputs, requested by layers and supplied by handler layers.
 *
 * @module
 */
export {
  allHandlerIds,
  brokenHandlerRefs,
  defineEffectProtocol,
  EFFECT_COLORS,
  EffectHandler,
  type EffectProtocol,
  EffectRequest,
  EffectRuntimeImpl,
  freeEffectTypes,
  getEffectColor,
  HandledEffectRef,
  type HandlerId,
  HandlerIdError,
  type HandlerIdOptions,
  inferOrCheckHandlerId,
  LOCAL_STATE_EFFECT_COLOR,
  RANDOM_EFFECT_COLOR,
  registerEffectColor,
  SIDE_INPUT_EFFECT_COLOR,
  SIDE_OUTPUT_EFFECT_COLOR,
  UnhandledEffectError,
} from "./effectBase.js";
export {
  HandledSideInputRef,
  type HandlingOptions,
  HoistedTag,
  type HoistOptions,
  hoistConstantSideInputs,
  SideInputEffect,
  SideInputEffectImpl,
  SideInputHandlingError,
  SideInputRequest,
  type SideInputValues,
  type Tag,
  tagEquals,
  WithConstantSideInputs,
  WithSideInputsFromInputTuple,
} from "./sideInput.js";
