/**
 * The v1 `Layer`: a struct with a `call(argument)` method, optional input and output structures,
 * and the rule that a layer declaring structures has them checked.
 *
 * @module
 */

import { ANY } from "@saikei/shapecheck";
import { className, Struct } from "@saikei/struct";
import { LayerDefinitionError } from "./errors.js";

/** Marks `call` methods processed by {@link checkedLayerCall} (true) or {@link uncheckedLayerCall} (false). */
export const CHECKED_LAYER_CALL: unique symbol = Symbol.for("saikei.checkedLayerCall");

const verifiedClasses = new WeakSet<Function>();

/**
 * Checks penzai's rule for one layer class: overriding `inputStructure` or `outputStructure`
 * requires a `call` decorated with `checkedLayerCall` (or, to opt out, `uncheckedLayerCall`).
 * The result is cached per class.
 *
 * @throws LayerDefinitionError naming the class and showing the decorator to add.
 */
export function assertLayerClassIsChecked(cls: Function): void {
  if (verifiedClasses.has(cls)) return;
  const proto = cls.prototype as Layer;
  const declaresStructures =
    proto.inputStructure !== Layer.prototype.inputStructure ||
    proto.outputStructure !== Layer.prototype.outputStructure;
  if (declaresStructures) {
    const call = proto.call as unknown as { [CHECKED_LAYER_CALL]?: boolean } | undefined;
    if (typeof call !== "function" || call[CHECKED_LAYER_CALL] === undefined) {
      const name = className(cls) || "(anonymous layer class)";
      throw new LayerDefinitionError(
        `${name} overrides inputStructure() or outputStructure(), so its call method must be ` +
          "decorated with @checkedLayerCall to make sure those structures are checked " +
          "(or with @uncheckedLayerCall to opt out explicitly). Write:\n" +
          `  class ${name} extends ... {\n` +
          "    @checkedLayerCall\n" +
          "    call(argument) { ... }\n" +
          "  }",
      );
    }
  }
  verifiedClasses.add(cls);
}

/**
 * The base class of every layer (penzai v1's `Layer`): a frozen struct whose `call` takes exactly
 * one argument and returns one result. Several inputs travel as an array or a struct.
 *
 * A layer may describe the structure of its argument and result with `inputStructure()` and
 * `outputStructure()` (patterns of `@saikei/shapecheck`, default `ANY`); a class that does must
 * decorate `call` with {@link checkedLayerCall} (or {@link uncheckedLayerCall}), which is verified
 * when its first instance is built.
 *
 * @example
 * class Double extends Layer {
 *   call(x: number) { return 2 * x; }
 * }
 * new Double().call(3); // 6
 */
export abstract class Layer<In = any, Out = any> extends Struct {
  /**
   * Builds a frozen instance from its fields (see `Struct`), after checking the class follows the
   * structure-checking rule.
   *
   * @throws LayerDefinitionError when the class declares structures without a checked `call`.
   */
  constructor(props?: {}) {
    super(props);
    assertLayerClassIsChecked(new.target);
  }

  /** Runs the layer on its single argument. */
  abstract call(argument: In): Out;

  /**
   * The structure the argument of `call` must have: a pattern of `@saikei/shapecheck` (`ANY` by
   * default). Checked when `call` is decorated with {@link checkedLayerCall}.
   *
   * @throws MisconfiguredLayerError when the layer's attributes are inconsistent.
   */
  inputStructure(): unknown {
    return ANY;
  }

  /**
   * The structure the result of `call` must have (`ANY` by default). Dimension variables bound
   * while checking the input are shared with this check.
   *
   * @throws MisconfiguredLayerError when the layer's attributes are inconsistent.
   */
  outputStructure(): unknown {
    return ANY;
  }
}

/** A layer, or a plain function of one argument used where a layer is expected. */
export type LayerLike<In = any, Out = any> = Layer<In, Out> | ((argument: In) => Out);

/**
 * Calls a {@link LayerLike}: a function is applied, a layer's `call` is invoked.
 *
 * @example
 * callLayer((x: number) => x + 1, 1); // 2
 */
export function callLayer<In, Out>(layer: (argument: In) => Out, argument: In): Out;
export function callLayer<In, Out>(layer: LayerLike<In, Out>, argument: In): Out;
export function callLayer<In, Out>(layer: LayerLike<In, Out>, argument: In): Out {
  return typeof layer === "function" ? layer(argument) : layer.call(argument);
}
