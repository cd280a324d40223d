/**
 * The former model-side names for checkpoints by parameter name, kept as thin aliases of
 * `@saikei/toolshed`'s `saveParameters` / `loadParameters` (the one implementation). New code
 * should call those directly.
 *
 * @module
 */

import { type LoadParametersOptions, loadParameters, saveParameters } from "@saikei/toolshed";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * `loadParameters(tensors, model, options)` from `@saikei/toolshed`, with the model first.
 *
 * @deprecated Use `loadParameters(source, model, { strict, frozen })` from `@saikei/toolshed`.
 * @param model the model, initialized or not.
 * @param tensors the tensors by name (kept by the model, not copied).
 * @param options `strict` (default true), `frozen` (default true), as for loadParameters.
 * @returns the model with loaded parameters.
 * @throws the SafetensorsError family or DuplicateParameterError, as loadParameters.
 * @example
 * const model = loadParametersByName(TransformerLM.fromConfig(config), parseSafetensors(bytes));
 */
export function loadParametersByName<T>(
  model: T,
  tensors: Readonly<Record<string, tf.Tensor>>,
  options?: LoadParametersOptions,
): T {
  return loadParameters(tensors, model, options);
}

/**
 * `saveParameters(model)` from `@saikei/toolshed`.
 *
 * @deprecated Use `saveParameters(model, { metadata, frozen })` from `@saikei/toolshed`.
 * @param model a model with initialized parameters.
 * @returns the safetensors bytes, keyed by parameter name, axis names in the metadata.
 * @example
 * const bytes = saveParametersByName(model);
 */
export function saveParametersByName(model: unknown): Uint8Array {
  return saveParameters(model);
}
