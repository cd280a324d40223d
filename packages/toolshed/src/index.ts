/**
 * `@saikei/toolshed`: Training, safetensors I/O, submodel isolation, rewiring, LoRA and shape annotation.
 *
 * @module
 */
export {};
