/**
 * Named error classes of `@saikei/effects`: an effect used without its handler, handler ids,
 * tensors disposed after being handed to an effect, and wrong arguments to the local-state,
 * side-input and side-output handlers. Every message says what failed, where, and how to fix it.
 *
 * This module imports nothing from the rest of the package, so every module can import it.
 *
 * @module
 */

import { ADD_LAYER_CONTEXT } from "@saikei/layer";
import { className, findOutermost, getAtPath, prettyKeystr } from "@saikei/struct";

/**
 * Raised when an effect method runs without a handler: on a request no handler replaced, or on a
 * reference whose handler is not running (the layer was taken out of its handler). The message
 * names the effect, the method, the request or reference, the layer (when a checked layer call saw
 * the error pass) and how to handle it.
 */
export class UnhandledEffectError extends Error {
  override name = "UnhandledEffectError";
  /** Where the request or reference was found: a pretty key path inside {@link layerType}. */
  location: string | undefined;
  /** The class name of the innermost layer that holds the request and reported it. */
  layerType: string | undefined;

  constructor(
    message: string,
    /** The request or reference whose method was called. */
    readonly effectHole: unknown,
    /** The called method. */
    readonly method: string,
  ) {
    super(message);
  }

  /**
   * Called by `checkedLayerCall` (innermost layer first) and by handlers: finds the request inside
   * `layer` and adds its position, with the type of the layer holding it, to the message.
   */
  [ADD_LAYER_CONTEXT](layer: unknown): void {
    if (this.location !== undefined) return;
    const hole = this.effectHole;
    const found = findOutermost(layer, (node) => node === hole, {
      operation: "effect handling",
    })[0]?.keyPath;
    if (found === undefined) return;
    const holder = found.length === 0 ? layer : getAtPath(layer, found.slice(0, -1));
    this.layerType = className((holder as object)?.constructor) || typeof holder;
    this.location = prettyKeystr(found, layer);
    const root = className((layer as object).constructor) || "layer";
    this.message = `${this.message}\nIt is held by a layer of type ${this.layerType}, at ${this.location || "the root"} of the ${root} being called.`;
  }
}

/** Raised when an explicit handler id is already used in the subtree, or ids cannot be made unique. */
export class HandlerIdError extends Error {
  override name = "HandlerIdError";
}

/**
 * Raised when a value given to `set` or `tell` holds a tensor that was disposed before its handler
 * returned (a layer freed what it had handed over).
 */
export class DisposedEffectValueError extends Error {
  override name = "DisposedEffectValueError";
}

/** Raised for inconsistent local-state requests or wrong arguments while handling or freezing states. */
export class LocalStateHandlingError extends Error {
  override name = "LocalStateHandlingError";
}

/** Raised for wrong arguments to a side-input handler's `handling` or for a hoisting conflict. */
export class SideInputHandlingError extends Error {
  override name = "SideInputHandlingError";
}

/** Raised for contradictory options to `CollectingSideOutputs.handling` (see `sideOutput.ts`). */
export class SideOutputHandlingError extends Error {
  override name = "SideOutputHandlingError";
}
