/**
 * `@saikei/toolshed/node`: checkpoint files on disk, written atomically (Node only; the main entry
 * `@saikei/toolshed` stays free of `node:fs` so that it bundles for browsers).
 *
 * Every writer here goes through {@link writeFileAtomic} or {@link writeFolderAtomic}: a process
 * killed mid-save leaves the previous checkpoint intact, never a truncated file.
 *
 * @example
 * import { loadSafetensorsFile, saveSafetensorsFile } from "@saikei/toolshed/node";
 * saveSafetensorsFile("model.safetensors", model);
 * const restored = loadSafetensorsFile("model.safetensors", model);
 *
 * @module
 */

import { readFileSync } from "node:fs";
import type * as tf from "@tensorflow/tfjs-core";
import { writeFileAtomic } from "./atomicFile.js";
import {
  type LoadParametersOptions,
  loadParameters,
  type SaveParametersOptions,
  saveParameters,
} from "./parameterCheckpoints.js";
import {
  type LoadSafetensorsOptions,
  loadSafetensors,
  type SaveSafetensorsOptions,
  saveSafetensors,
} from "./safetensors.js";
import { parseSafetensors } from "./safetensorsFormat.js";

export * from "./atomicFile.js";
export { AtomicWriteError, InvalidFileNameError } from "./errors.js";

const readBytes = (path: string): Uint8Array => {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
};

/**
 * Saves every tensor of a tree to a safetensors file atomically ({@link saveSafetensors} then
 * {@link writeFileAtomic}).
 *
 * @param path the file to write; its folder must exist.
 * @param tree any tree of tensors and NamedArrays.
 * @param options as for saveSafetensors (`metadata`, `nameOf`).
 * @throws a SafetensorsError for a tree that cannot be saved (nothing is written then);
 *   AtomicWriteError when the file cannot be written (the old file stays).
 * @example
 * saveSafetensorsFile("model.safetensors", { w: nx.wrap(tf.ones([2, 3]), "in", "out") });
 */
export function saveSafetensorsFile(
  path: string,
  tree: unknown,
  options?: SaveSafetensorsOptions,
): void {
  writeFileAtomic(path, saveSafetensors(tree, options));
}

/**
 * Loads a safetensors file into a tree of the template's structure ({@link loadSafetensors}).
 *
 * @param path the file to read.
 * @param template a tree with the wanted structure.
 * @param options as for loadSafetensors (`strict`, `nameOf`).
 * @returns the loaded tree; the caller owns its tensors.
 * @example
 * const restored = loadSafetensorsFile("model.safetensors", model);
 */
export function loadSafetensorsFile<T>(
  path: string,
  template: T,
  options?: LoadSafetensorsOptions,
): T {
  return loadSafetensors(readBytes(path), template, options);
}

/**
 * Reads a safetensors file into tensors by name ({@link parseSafetensors}), for files from other
 * frameworks.
 *
 * @param path the file to read.
 * @returns the tensors by name (a prototype-free record); the caller owns them.
 * @example
 * const tensors = parseSafetensorsFile("weights.safetensors");
 */
export function parseSafetensorsFile(path: string): Record<string, tf.Tensor> {
  return parseSafetensors(readBytes(path));
}

/**
 * Saves a model's parameters by name to a file atomically ({@link saveParameters} then
 * {@link writeFileAtomic}).
 *
 * @param path the file to write; its folder must exist.
 * @param model a model with initialized parameters.
 * @param options as for saveParameters (`metadata`, `frozen`).
 * @throws as saveParameters (nothing is written then); AtomicWriteError when the file cannot be
 *   written (the old file stays).
 * @example
 * saveParametersFile("ckpt.safetensors", trained);
 */
export function saveParametersFile(
  path: string,
  model: unknown,
  options?: SaveParametersOptions,
): void {
  writeFileAtomic(path, saveParameters(model, options));
}

/**
 * Fills a model's parameters by name from a file ({@link loadParameters}).
 *
 * @param path the file to read.
 * @param model the model, initialized or not.
 * @param options as for loadParameters (`strict`, `frozen`).
 * @returns the model with loaded parameters.
 * @example
 * const model = loadParametersFile("ckpt.safetensors", buildModel());
 */
export function loadParametersFile<T>(path: string, model: T, options?: LoadParametersOptions): T {
  return loadParameters(readBytes(path), model, options);
}
