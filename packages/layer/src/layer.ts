/**
 * The v1 `Layer`: a struct with a `call(argument)` method, optional input and output structures,
 * and the rule that a layer declaring structures has them checked.
 *
 * @module
 */

import { ANY } from "@saikei/shapecheck";
import { className, Struct } from "@saikei/struct";

/** Marks `call` methods processed by {@link checkedLayerCall} (true) or {@link uncheckedLayerCall} (false). */
export const CHECKED_LAYER_CALL: unique symbol = Symbol.for("saikei.checkedLayerCall");

/**
 * Raised by `inputStructure()` / `outputStructure()` when a layer's attributes are inconsistent
 * with each other (penzai's `MisconfiguredLayerError`), for example a weight whose axes do not
 * agree with the layer's configuration.
 *
 * @example
 * throw new MisconfiguredLayerError("Linear: weights have axis 'out' of size 3 but outputAxes says 4.");
 */
export class MisconfiguredLayerError extends Error {
  override name = "MisconfiguredLayerError";
}

/**
 * Raised when a layer class breaks a definition rule: it overrides `inputStructure()` or
 * `outputStructure()` but its `call` is decorated with neither {@link checkedLayerCall} nor
 * {@link uncheckedLayerCall} (penzai raises a `TypeError` at class definition; JavaScript has no
 * such hook, so saikei raises this when the first instance is built), or a decorator is used on
 * something other than `call`.
 */
export class LayerDefinitionError extends Error {
  override name = "LayerDefinitionError";
}

/**
 * Raised when a layer is called with a disposed tensor, or when one of the layer's own tensors
 * (a parameter, a constant) has been disposed. tfjs frees a tensor's data on `dispose()` and at
 * the end of the `tf.tidy` that made it; using it afterwards fails deep in a kernel with an
 * unexplained `TypeError`, so checked layer calls (see {@link checkedLayerCall}) look for disposed
 * tensors first and name the key path of the first one.
 *
 * @example
 * const x = nx.wrap(tf.ones([2, 3]), "batch", "features");
 * x.dataArray.dispose();
 * linear.call(x); // DisposedTensorError: Linear.call: the argument at .dataArray is a disposed tensor ...
 */
export class DisposedTensorError extends Error {
  override name = "DisposedTensorError";
}

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
