/**
 * The errors of `@saikei/onnx`: one family under {@link OnnxError}.
 *
 * @module
 */

/** The base of every error `@saikei/onnx` raises on bad input or a missing runtime. */
export class OnnxError extends Error {
  override name = "OnnxError";
}

/** The layer-context hook of `@saikei/layer` (`ADD_LAYER_CONTEXT`), shared through the symbol registry. */
const ADD_LAYER_CONTEXT: unique symbol = Symbol.for("saikei.addLayerContext") as never;

/**
 * Raised by `export` when the function runs a tfjs kernel that has no ONNX translation. The
 * message names the kernel and, when it ran inside layers, the innermost layer's type and where
 * it sits in the outermost layer called.
 *
 * @example
 * onnx.export((x: tf.Tensor) => tf.fft(x), [tf.complex([1], [0])]);
 * // UnsupportedKernelError: onnx.export: the tfjs kernel "FFT" has no ONNX translation ...
 */
export class UnsupportedKernelError extends OnnxError {
  override name = "UnsupportedKernelError";
  /** The layers the kernel ran in, innermost first (filled in as the error passes through them). */
  readonly layers: unknown[] = [];

  constructor(
    /** The tfjs kernel name. */
    readonly kernel: string,
    message: string,
  ) {
    super(message);
  }

  /** Called by checked layer calls as the error leaves each layer, innermost first. */
  [ADD_LAYER_CONTEXT](layer: unknown): void {
    this.layers.push(layer);
  }
}

/**
 * Raised by `export` when the function cannot become an ONNX graph: it reads computed values back
 * to the host, its kernels change with the size of a dynamic axis, a dynamic axis is not found
 * among the inputs, and similar.
 *
 * @example
 * onnx.export((x) => x.mul(x.sum().dataSync()[0]), [x]); // ExportError: ... reads the value ...
 */
export class ExportError extends OnnxError {
  override name = "ExportError";
}

/**
 * Raised when onnxruntime is needed but not installed (`onnxruntime-node` in Node,
 * `onnxruntime-web` in browsers), saying which package to install.
 *
 * @example
 * await onnx.session(bytes); // RuntimeMissingError: ... npm install onnxruntime-node ...
 */
export class RuntimeMissingError extends OnnxError {
  override name = "RuntimeMissingError";
}

/**
 * Raised by a session for inputs it cannot take (a missing or unknown input name, a wrong shape
 * or dtype, a NamedArray with other axis names) or when it is used after `dispose()`.
 *
 * @example
 * await s.run({ x: nx.zeros({ batch: 2 }) }); // SessionInputError: input "x" needs axes ...
 */
export class SessionInputError extends OnnxError {
  override name = "SessionInputError";
}
