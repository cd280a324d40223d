/**
 * The errors of `@saikei/models` that more than one model file raises.
 *
 * @module
 */

/**
 * Raised when a model configuration cannot describe a model: fewer than two MLP sizes, a head count
 * that does not divide, an unknown attention layout.
 *
 * @example
 * MLP.fromConfig([8]); // throws ModelConfigError: MLP.fromConfig needs at least two feature sizes
 */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}

/**
 * The base class of the errors `loadPretrained` / `savePretrained` raise about a Hugging Face
 * model folder. Each subclass names the file, the field or the tensor, and how to fix it.
 */
export class PretrainedError extends Error {
  override name = "PretrainedError";
}

/**
 * Raised when `config.json` names an architecture saikei cannot build; the message lists the
 * supported ones.
 *
 * @example
 * await loadPretrained("bert-base"); // throws UnsupportedArchitectureError: BertForMaskedLM ... Supported: LlamaForCausalLM, ...
 */
export class UnsupportedArchitectureError extends PretrainedError {
  override name = "UnsupportedArchitectureError";
}

/**
 * Raised when a field of `config.json` is missing, has the wrong type, or asks for a feature
 * saikei does not implement (such as `rope_scaling`).
 *
 * @example
 * await loadPretrained(dir); // throws PretrainedConfigError: config.json field "hidden_size" must be a positive integer
 */
export class PretrainedConfigError extends PretrainedError {
  override name = "PretrainedConfigError";
}

/**
 * Raised when the folder lacks a file it needs (`config.json`, the weights, a shard the index
 * names) or a file is not what its name says.
 *
 * @example
 * await loadPretrained("empty-folder"); // throws PretrainedFolderError: no config.json in empty-folder
 */
export class PretrainedFolderError extends PretrainedError {
  override name = "PretrainedFolderError";
}

/**
 * Raised when the weights do not fit the configuration: tensors the architecture needs are
 * missing, have another shape, or tensors are left over. The message lists every difference.
 *
 * @example
 * await loadPretrained(dir); // throws PretrainedWeightsError: 1 tensor has another shape: "model.norm.weight" is [16], config.json implies [32]
 */
export class PretrainedWeightsError extends PretrainedError {
  override name = "PretrainedWeightsError";
}

/**
 * Raised when a tokenizer cannot be built from the folder's `tokenizer.json` and
 * `tokenizer_config.json`, or when a model is asked to generate without a tokenizer.
 *
 * @example
 * await loadPretrained(dir); // throws TokenizerError: tokenizer.json is not valid JSON
 */
export class TokenizerError extends PretrainedError {
  override name = "TokenizerError";
}
