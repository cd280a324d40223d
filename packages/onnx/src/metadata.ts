/**
 * What an exported model records about its inputs and outputs in the ONNX metadata
 * (`metadata_props`), so a session can take and return NamedArrays.
 *
 * @module
 */

/** One graph input or output as the exporter recorded it. */
export interface TensorDescription {
  /** The ONNX value name. */
  readonly name: string;
  /** Where the tensor sits in the arguments or the result (a key path, as `keystr` prints it). */
  readonly path: string;
  /** Per data axis: the axis name, or `null` for a positional axis. All `null`: a plain tensor. */
  readonly axes: readonly (string | null)[];
  /** Per data axis: the size, or the name of the dynamic axis (a string) when it varies. */
  readonly shape: readonly (number | string | null)[];
  readonly dtype: "float32" | "int32" | "bool";
  /** Whether the value was a NamedArray (rather than a tf.Tensor). */
  readonly named: boolean;
}

/** The metadata key holding the inputs' descriptions (JSON). */
export const INPUTS_KEY = "saikei.inputs";
/** The metadata key holding the outputs' descriptions (JSON). */
export const OUTPUTS_KEY = "saikei.outputs";
