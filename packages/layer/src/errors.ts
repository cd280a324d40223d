/**
 * Error classes raised by `@saikei/layer`. Each message names the layer (or stream), what is wrong
 * and how to fix the class or the call.
 *
 * @module
 */

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

/**
 * Raised when a {@link RandomStream} is used outside its active period: before it was activated,
 * after it expired, or activated twice.
 */
export class RandomStreamStateError extends Error {
  override name = "RandomStreamStateError";
}
