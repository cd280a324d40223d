/**
 * Named errors raised by `@saikei/toolshed`. Every message says what failed, where (key path,
 * parameter name, tensor name, layer type) and how to fix it.
 *
 * Checkpoint faults form one family under {@link SafetensorsError}, whichever function meets them
 * (`saveSafetensors` / `loadSafetensors` by key path, `saveParameters` / `loadParameters` by
 * parameter name, the file helpers of `@saikei/toolshed/node`), so one `catch` covers every way a
 * checkpoint can fail to save or load. Two parameters of one name are `DuplicateParameterError`
 * from `@saikei/nn`, the package that owns parameters.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Checkpoints: the safetensors format and loading by key path or by parameter name.

/**
 * Base class of every checkpoint error, so callers can catch them all at once.
 *
 * @example
 * try { loadParameters(bytes, model); } catch (e) { e instanceof SafetensorsError; } // any checkpoint fault
 */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/**
 * The file is shorter than 8 bytes, or its header length points past the end of the file.
 *
 * @example
 * parseSafetensors(new Uint8Array(4)); // throws SafetensorsHeaderLengthError
 */
export class SafetensorsHeaderLengthError extends SafetensorsError {
  override name = "SafetensorsHeaderLengthError";
}

/**
 * The header length is larger than `MAX_HEADER_BYTES`.
 *
 * @example
 * readSafetensorsHeader(bytesWhoseHeaderClaims200MB); // throws SafetensorsHeaderTooLargeError
 */
export class SafetensorsHeaderTooLargeError extends SafetensorsError {
  override name = "SafetensorsHeaderTooLargeError";
}

/**
 * The header is not UTF-8, not JSON, not a JSON object, or an entry lacks a valid field.
 *
 * @example
 * readSafetensorsHeader(bytesWithHeader("[1, 2]")); // throws SafetensorsHeaderJsonError
 */
export class SafetensorsHeaderJsonError extends SafetensorsError {
  override name = "SafetensorsHeaderJsonError";
}

/**
 * An entry's `dtype` is not one this reader can convert to a tfjs dtype.
 *
 * @example
 * parseSafetensors(fileWithDtype("F8_E4M3")); // throws SafetensorsDtypeError
 */
export class SafetensorsDtypeError extends SafetensorsError {
  override name = "SafetensorsDtypeError";
}

/**
 * An entry's `data_offsets` lie outside the byte buffer (or `begin > end`).
 *
 * @example
 * parseSafetensors(truncatedFile); // throws SafetensorsOffsetOutOfRangeError
 */
export class SafetensorsOffsetOutOfRangeError extends SafetensorsError {
  override name = "SafetensorsOffsetOutOfRangeError";
}

/**
 * Two entries' byte ranges overlap.
 *
 * @example
 * parseSafetensors(fileWithTwoEntriesAt([0, 8])); // throws SafetensorsOverlappingOffsetsError
 */
export class SafetensorsOverlappingOffsetsError extends SafetensorsError {
  override name = "SafetensorsOverlappingOffsetsError";
}

/**
 * The byte buffer has bytes no entry covers (the format forbids holes, to prevent polyglot files).
 *
 * @example
 * parseSafetensors(fileWithTrailingBytes); // throws SafetensorsBufferGapError
 */
export class SafetensorsBufferGapError extends SafetensorsError {
  override name = "SafetensorsBufferGapError";
}

/**
 * An entry's shape and dtype need a different number of bytes than its offsets cover.
 *
 * @example
 * parseSafetensors(fileWhereF32Shape2Covers4Bytes); // throws SafetensorsShapeSizeError
 */
export class SafetensorsShapeSizeError extends SafetensorsError {
  override name = "SafetensorsShapeSizeError";
}

/**
 * A 64-bit integer does not fit in tfjs's int32.
 *
 * @example
 * parseSafetensors(fileWithI64Value(2 ** 40)); // throws SafetensorsIntegerRangeError
 */
export class SafetensorsIntegerRangeError extends SafetensorsError {
  override name = "SafetensorsIntegerRangeError";
}

/**
 * A tensor cannot be written: its dtype has no safetensors equivalent (`string`, `complex64`).
 *
 * @example
 * serializeSafetensors({ s: tf.tensor(["a"]) }); // throws SafetensorsUnsupportedTensorError
 */
export class SafetensorsUnsupportedTensorError extends SafetensorsError {
  override name = "SafetensorsUnsupportedTensorError";
}

/**
 * The header names the same key twice (two tensors of one name, or one field twice in an entry).
 * JSON parsers disagree on which copy wins, so such a file means different things to different
 * readers; it is rejected rather than guessed at.
 *
 * @example
 * readSafetensorsHeader(bytesWithHeader('{"w": {...}, "w": {...}}')); // throws SafetensorsDuplicateKeyError
 */
export class SafetensorsDuplicateKeyError extends SafetensorsError {
  override name = "SafetensorsDuplicateKeyError";
}

/**
 * Metadata to write is not a record of string values (or uses a key saikei reserves).
 *
 * @example
 * saveParameters(model, { metadata: { step: 300 } }); // throws: write { step: "300" }
 */
export class SafetensorsInvalidMetadataError extends SafetensorsError {
  override name = "SafetensorsInvalidMetadataError";
}

/**
 * A tensor or parameter name cannot key a checkpoint: it is empty, or not a string.
 *
 * @example
 * saveParameters([new Parameter({ value, name: "" })]); // throws SafetensorsInvalidNameError
 */
export class SafetensorsInvalidNameError extends SafetensorsError {
  override name = "SafetensorsInvalidNameError";
}

/**
 * A tensor has a different shape, dtype or named axes than the template leaf or parameter it
 * should fill, or the template holds a value that cannot be saved or loaded as a tensor.
 *
 * @example
 * loadParameters(saveParameters(model), TransformerLM.fromConfig(otherConfig)); // throws
 */
export class SafetensorsTemplateMismatchError extends SafetensorsError {
  override name = "SafetensorsTemplateMismatchError";
}

/**
 * The file's `NAMED_AXES_METADATA_KEY` entry is malformed or does not fit its tensor.
 *
 * @example
 * loadSafetensors(fileWhoseAxisMetadataIsNotJson, template); // throws SafetensorsNamedAxesError
 */
export class SafetensorsNamedAxesError extends SafetensorsError {
  override name = "SafetensorsNamedAxesError";
}

/**
 * A template leaf or parameter has no tensor of its name in the file (or the tensors given).
 *
 * @example
 * loadParameters(serializeSafetensors({}), model); // throws, naming the missing parameters
 */
export class SafetensorsMissingTensorError extends SafetensorsError {
  override name = "SafetensorsMissingTensorError";
}

/**
 * The file holds tensors that no template leaf or parameter is named after (with `strict: true`).
 *
 * @example
 * loadParameters(bytesOfABiggerModel, model); // throws; { strict: false } ignores the extras
 */
export class SafetensorsUnexpectedTensorError extends SafetensorsError {
  override name = "SafetensorsUnexpectedTensorError";
}

/**
 * Two leaves of a tree would be saved under the same name (a `nameOf` that is not one-to-one).
 *
 * @example
 * saveSafetensors({ a: x, b: y }, { nameOf: () => "w" }); // throws SafetensorsDuplicateNameError
 */
export class SafetensorsDuplicateNameError extends SafetensorsError {
  override name = "SafetensorsDuplicateNameError";
}

/**
 * The tree to save (or the template to load into) contains itself, so it has no finite set of leaves.
 *
 * @example
 * const tree: any[] = []; tree.push(tree);
 * saveSafetensors(tree); // throws SafetensorsCyclicTreeError
 */
export class SafetensorsCyclicTreeError extends SafetensorsError {
  override name = "SafetensorsCyclicTreeError";
}

// ---------------------------------------------------------------------------------------------
// Files on disk (raised by `@saikei/toolshed/node`).

/**
 * Writing a file or folder failed; the previous contents at the path are unchanged.
 *
 * @example
 * writeFileAtomic("/no/such/folder/ckpt.safetensors", bytes); // throws AtomicWriteError
 */
export class AtomicWriteError extends Error {
  override name = "AtomicWriteError";
}

/**
 * A file name given to `writeFolderAtomic` is empty or would leave the folder.
 *
 * @example
 * writeFolderAtomic("out", { "../escape.txt": "x" }); // throws InvalidFileNameError
 */
export class InvalidFileNameError extends Error {
  override name = "InvalidFileNameError";
}

// ---------------------------------------------------------------------------------------------
// Training and model tools.

/**
 * Invalid optimizer hyper-parameters, or parameter and gradient trees that do not match.
 *
 * @example
 * adam({ learningRate: 1e-3, b1: 1.5 }); // throws OptimizerConfigError: b1 must be in [0, 1)
 */
export class OptimizerConfigError extends Error {
  override name = "OptimizerConfigError";
}

/**
 * A misused training API: bad loss outputs, reused states, a model with nothing to train.
 *
 * @example
 * step(notATrainState, batch); // throws TrainingError: build one with TrainState.initialState
 */
export class TrainingError extends Error {
  override name = "TrainingError";
}

/**
 * A rewiring layer is misconfigured or gets an input it cannot rewire.
 *
 * @example
 * new KnockOutAttentionHeads({ headMask }).call(arrayWithoutAKvSeqAxis); // throws RewiringError
 */
export class RewiringError extends Error {
  override name = "RewiringError";
}

/**
 * A layer cannot be checked: it declares no input structure, or one containing `ANY`.
 *
 * @example
 * checkLayer(layerWithoutInputStructure); // throws CheckLayerError: pass { argument }
 */
export class CheckLayerError extends Error {
  override name = "CheckLayerError";
}

/**
 * An invalid LoRA configuration: a bad rank, or a lowrank axis the Linear already has.
 *
 * @example
 * LowRankAdapter.fromLinear(linear, { rank: 0, name: "proj" }); // throws LoraConfigError
 */
export class LoraConfigError extends Error {
  override name = "LoraConfigError";
}

/**
 * A model cannot be instrumented: it already uses an interceptor's reserved tag.
 *
 * @example
 * annotateShapes(modelThatAlreadyCollectsTheReservedTag, input); // throws InterceptionError
 */
export class InterceptionError extends Error {
  override name = "InterceptionError";
}

/**
 * A submodel cannot be isolated: the selection does not pick exactly one layer, or the layer uses
 * effects handled outside it.
 *
 * @example
 * callAndExtractSubmodel(select(model).atInstancesOf(Linear), input); // throws when it selects 2 layers
 */
export class IsolationError extends Error {
  override name = "IsolationError";
}
