/**
 * The v1 `Layer`: a struct with a `call(argument)` method.
 *
 * @module
 */

import { Struct } from "@saikei/struct";

/**
 * The base class of every layer (penzai v1's `Layer`): a frozen struct whose `call` takes exactly
 * one argument and returns one result. Several inputs travel as an array or a struct.
 *
 * @example
 * class Double extends Layer {
 *   call(x: number) { return 2 * x; }
 * }
 * new Double().call(3); // 6
 */
export abstract class Layer<In = any, Out = any> extends Struct {
  /** Runs the layer on its single argument. */
  abstract call(argument: In): Out;
}

/** A layer, or a plain function of one argument used where a layer is expected. */
export type LayerLike<In = any, Out = any> = Layer<In, Out> | ((argument: In) => Out);

/**
 * Calls a {@link LayerLike}: a function is applied, a layer's `call` is invoked.
 *
 * @example
 * callLayer((x: number) => x + 1, 1); // 2
 */
export function callLayer<In, Out>(layer: LayerLike<In, Out>, argument: In): Out {
  return typeof layer === "function" ? layer(argument) : layer.call(argument);
}
