/**
 * `@saikei/models`: example models built from `@saikei/nn`: a simple MLP and a decoder-only
 * transformer LM with a KV-cached sampling mode and a decoding loop; Hugging Face model folders
 * (Llama, Mistral, Qwen2, Gemma, GPT-2) loaded into it and saved back, with their tokenizers.
 *
 * @module
 */

export * from "./decodingLoop.js";
export * from "./errors.js";
export * from "./generate.js";
export * from "./learnedPositions.js";
export * from "./mlp.js";
export {
  type HuggingFaceConfig,
  type PretrainedArchitecture,
  SUPPORTED_ARCHITECTURES,
} from "./pretrainedArchitectures.js";
export * from "./pretrainedFolder.js";
export * from "./samplingMode.js";
export * from "./tokenizer.js";
export * from "./transformer.js";
