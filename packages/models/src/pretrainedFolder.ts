/**
 * Hugging Face model folders in and out: {@link loadPretrained} reads `config.json`, the
 * safetensors weights (one file or an index with shards) tensor by tensor, and the tokenizer;
 * {@link savePretrained} writes a folder transformers' `from_pretrained` loads.
 *
 * Node only: the file system is imported when these functions run, so the package's entry point
 * still bundles for browsers (where `PretrainedTokenizer.fromJSON` and `TransformerLM` work on
 * data fetched some other way).
 *
 * @module
 */

import type { NamedArrayBase } from "@saikei/named";
import { checkOptions } from "@saikei/struct";
import {
  decodeSafetensorsTensor,
  loadParameters,
  MAX_HEADER_BYTES,
  readSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsFloatFormat,
  serializeSafetensors,
} from "@saikei/toolshed";
import * as tf from "@tensorflow/tfjs-core";
import {
  PretrainedConfigError,
  PretrainedError,
  PretrainedFolderError,
  PretrainedWeightsError,
  TokenizerError,
} from "./errors.js";
import {
  architectureForSaving,
  type HuggingFaceConfig,
  huggingFaceConfigFor,
  type PretrainedArchitecture,
  type TensorMapping,
  transformerConfigFromHuggingFace,
  type WeightLayout,
  weightLayout,
} from "./pretrainedArchitectures.js";
import {
  checkpointFromParameters,
  parameterAxisOrders,
  parametersFromCheckpoint,
  parameterValues,
} from "./pretrainedTensors.js";
import { PretrainedTokenizer } from "./tokenizer.js";
import { type TransformerConfig, TransformerLM } from "./transformer.js";

/** How far a {@link loadPretrained} call has got (passed to `onProgress` after each tensor). */
export interface LoadProgress {
  /** Bytes of tensor data read so far. */
  readonly bytesRead: number;
  /** Bytes of tensor data the model needs in all. */
  readonly totalBytes: number;
  /** Tensors read so far. */
  readonly tensorsRead: number;
  /** Tensors the model needs in all. */
  readonly totalTensors: number;
}

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /** Called after each tensor is read, e.g. to draw a progress bar. */
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Whether tensors the architecture has no place for are an error (default true). Known
   * non-parameters (GPT-2's attention-mask buffers, a tied `lm_head.weight`) are skipped either way.
   */
  strict?: boolean;
}

/** What {@link loadPretrained} read about the checkpoint. */
export interface PretrainedConfig {
  /** The architecture, from `config.json`'s `architectures`. */
  readonly architecture: PretrainedArchitecture;
  /** `config.json` as read. */
  readonly huggingFace: HuggingFaceConfig;
  /** The model's configuration (also `model.config`). */
  readonly transformer: TransformerConfig;
  /** The stored weight formats, by count of tensors (`{ BF16: 291 }`). */
  readonly storedDtypes: Readonly<Record<string, number>>;
}

/** The result of {@link loadPretrained}. */
export interface Pretrained {
  /** The model, its parameters filled from the checkpoint (float32). */
  readonly model: TransformerLM;
  /** The folder's tokenizer, or undefined when it has no `tokenizer.json`. */
  readonly tokenizer: PretrainedTokenizer | undefined;
  /** What was read about the checkpoint. */
  readonly config: PretrainedConfig;
}

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");

type NodeFileHelpers = typeof import("@saikei/toolshed/node");

/**
 * Node-only modules (the file system and toolshed's atomic file writer), imported through a
 * specifier passed as a value: browser bundlers (vite, rollup, esbuild) follow a literal
 * `import("@saikei/toolshed/node")` into `node:path` and `node:crypto` and fail the build of any
 * page that imports `@saikei/models`, though a page never calls `loadPretrained`/`savePretrained`.
 * Node resolves the specifier the same way from this package.
 */
const TOOLSHED_NODE = "@saikei/toolshed/node";

function importNodeOnly<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

async function nodeModules(): Promise<{ fs: Fs; path: Path }> {
  const [fs, path] = await Promise.all([
    importNodeOnly<Fs>("node:fs"),
    importNodeOnly<Path>("node:path"),
  ]);
  return { fs, path };
}

function readJson(
  fs: Fs,
  file: string,
  what: string,
  ErrorClass: new (m: string, o?: ErrorOptions) => Error,
): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new PretrainedFolderError(`Cannot read ${file} (${(error as Error).message}).`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ErrorClass(`${file} is not valid JSON (${(error as Error).message}); ${what}.`, {
      cause: error,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ErrorClass(`${file} must hold a JSON object; ${what}.`);
  }
  return Object.assign(Object.create(null), value) as Record<string, unknown>;
}

/** One tensor of the checkpoint: which file, where, and its header entry. */
interface StoredTensor {
  readonly file: string;
  readonly fd: number;
  readonly bufferStart: number;
  readonly entry: SafetensorsEntry;
}

const FLOAT_FORMATS = new Set(["F32", "F16", "BF16", "F64"]);

/** The weight files of a folder: the index's shards, or `model.safetensors`. */
function weightFiles(fs: Fs, path: Path, dir: string): string[] {
  const index = path.join(dir, "model.safetensors.index.json");
  if (fs.existsSync(index)) {
    const json = readJson(
      fs,
      index,
      "it should map tensor names to shard files",
      PretrainedFolderError,
    );
    const map = json.weight_map;
    if (map === null || typeof map !== "object" || Array.isArray(map)) {
      throw new PretrainedFolderError(
        `${index} has no "weight_map" object (tensor name → shard file).`,
      );
    }
    const files = [...new Set(Object.values(map as Record<string, unknown>))];
    for (const file of files) {
      if (
        typeof file !== "string" ||
        file.includes("/") ||
        file.includes("\\") ||
        !fs.existsSync(path.join(dir, file))
      ) {
        throw new PretrainedFolderError(
          `${index} maps tensors to ${JSON.stringify(file)}, which is not a file in ${dir}. Download every shard the index names.`,
        );
      }
    }
    return files.map((f) => path.join(dir, f as string));
  }
  const single = path.join(dir, "model.safetensors");
  if (fs.existsSync(single)) return [single];
  const present = fs.readdirSync(dir);
  const pickle = present.find((f) => f.endsWith(".bin") || f.endsWith(".pt") || f.endsWith(".pth"));
  throw new PretrainedFolderError(
    `${dir} has neither model.safetensors nor model.safetensors.index.json` +
      (pickle !== undefined
        ? `; it has ${pickle}, a PyTorch pickle saikei does not read. Convert it: load the model in transformers and save_pretrained(dir, safe_serialization=True).`
        : `. It holds: ${present.slice(0, 10).join(", ") || "nothing"}.`),
  );
}

function readFully(fs: Fs, fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = fs.readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0)
      throw new PretrainedFolderError(`${file} ended early (truncated download?): re-download it.`);
    done += n;
  }
}

/** Opens every weight file and reads its header (no tensor data). */
function readHeaders(fs: Fs, files: string[], fds: number[]): Map<string, StoredTensor> {
  const stored = new Map<string, StoredTensor>();
  for (const file of files) {
    const fd = fs.openSync(file, "r");
    fds.push(fd);
    const size = fs.fstatSync(fd).size;
    const lengthBytes = new Uint8Array(8);
    if (size < 8)
      throw new PretrainedFolderError(
        `${file} is ${size} bytes long; it is not a safetensors file.`,
      );
    readFully(fs, fd, lengthBytes, 0, file);
    const length = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    const prefix = new Uint8Array(
      8 + Math.min(length, MAX_HEADER_BYTES + 1, Math.max(0, size - 8)),
    );
    readFully(fs, fd, prefix, 0, file);
    let header: ReturnType<typeof readSafetensorsHeader>;
    try {
      header = readSafetensorsHeader(prefix, size);
    } catch (error) {
      (error as Error).message = `${file}: ${(error as Error).message}`;
      throw error;
    }
    for (const entry of header.entries) {
      const previous = stored.get(entry.name);
      if (previous !== undefined) {
        throw new PretrainedFolderError(
          `The tensor ${JSON.stringify(entry.name)} is in both ${previous.file} and ${file}; a checkpoint stores each tensor once.`,
        );
      }
      stored.set(entry.name, { file, fd, bufferStart: header.bufferStart, entry });
    }
  }
  return stored;
}

const quoteSome = (names: readonly string[], max = 10) =>
  names
    .slice(0, max)
    .map((n) => JSON.stringify(n))
    .join(", ") + (names.length > max ? `, and ${names.length - max} more` : "");

/** Checks the checkpoint against the layout before any data is read; lists every difference. */
function checkWeights(
  dir: string,
  architecture: string,
  layout: WeightLayout,
  stored: ReadonlyMap<string, StoredTensor>,
  strict: boolean,
): void {
  const wanted = new Set(layout.tensors.map((m) => m.name));
  const missing = layout.tensors.filter((m) => !stored.has(m.name)).map((m) => m.name);
  const misShaped: string[] = [];
  const badType: string[] = [];
  for (const m of layout.tensors) {
    const s = stored.get(m.name);
    if (s === undefined) continue;
    const shape = s.entry.shape;
    if (shape.length !== m.shape.length || shape.some((d, i) => d !== m.shape[i])) {
      misShaped.push(
        `${JSON.stringify(m.name)} is [${shape.join(", ")}] where config.json implies [${m.shape.join(", ")}]`,
      );
    }
    if (!FLOAT_FORMATS.has(s.entry.dtype))
      badType.push(`${JSON.stringify(m.name)} is ${s.entry.dtype}`);
  }
  const extra = [...stored.keys()].filter((n) => !wanted.has(n) && !layout.ignored(n));
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(
      `${missing.length} tensor(s) the ${architecture} architecture needs are missing: ${quoteSome(missing)}`,
    );
  }
  if (misShaped.length > 0)
    problems.push(
      `${misShaped.length} tensor(s) have another shape: ${misShaped.slice(0, 10).join("; ")}`,
    );
  if (badType.length > 0)
    problems.push(
      `${badType.length} tensor(s) are not floats (F32, F16, BF16): ${badType.slice(0, 10).join("; ")}`,
    );
  if (strict && extra.length > 0) {
    problems.push(
      `${extra.length} tensor(s) have no place in the model: ${quoteSome(extra)} (pass { strict: false } to skip them)`,
    );
  }
  if (problems.length > 0) {
    throw new PretrainedWeightsError(
      `The weights in ${dir} do not fit its config.json: ${problems.join(". ")}. ` +
        "Check that config.json belongs to these weights (same model and revision) and that every shard is complete.",
    );
  }
}

/**
 * Loads a Hugging Face model folder (`config.json`, `model.safetensors` or
 * `model.safetensors.index.json` with its shards, `tokenizer.json`, `tokenizer_config.json`) as a
 * {@link TransformerLM}, its tokenizer and its configuration. Supported architectures:
 * `LlamaForCausalLM`, `MistralForCausalLM`, `Qwen2ForCausalLM`, `GemmaForCausalLM`,
 * `GPT2LMHeadModel` (see docs/models.md for the name mapping).
 *
 * Weights stored as F32, F16, BF16 (or F64) become float32 parameters. Tensors are read one at a
 * time, so memory stays near the float32 size of the model. Every tensor's name and shape is
 * checked against `config.json` before any is read; on any error nothing stays allocated.
 *
 * @param dir the folder.
 * @param options `onProgress` (called after each tensor), `strict` (default true: leftover tensors are an error).
 * @returns `{ model, tokenizer, config }`; the caller owns the model's tensors.
 * @throws UnsupportedArchitectureError (listing the supported ones), PretrainedConfigError,
 *   PretrainedFolderError (missing files), PretrainedWeightsError (missing, mis-shaped or leftover
 *   tensors, all listed), TokenizerError, or a SafetensorsError for a corrupt file.
 * @example
 * const { model, tokenizer } = await loadPretrained("TinyLlama-1.1B");
 * console.log(await generate(model, tokenizer!, "Once upon a time", { maxNewTokens: 20 }));
 */
export async function loadPretrained(
  dir: string,
  options: LoadPretrainedOptions = {},
): Promise<Pretrained> {
  checkOptions("loadPretrained", options, ["onProgress", "strict"]);
  const { fs, path } = await nodeModules();
  if (typeof dir !== "string" || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new PretrainedFolderError(
      `loadPretrained: ${JSON.stringify(dir)} is not a folder. Pass the folder that holds config.json and the weights.`,
    );
  }
  const configFile = path.join(dir, "config.json");
  if (!fs.existsSync(configFile)) {
    throw new PretrainedFolderError(
      `loadPretrained: no config.json in ${dir}; a Hugging Face model folder starts with one.`,
    );
  }
  const json = Object.freeze(
    readJson(fs, configFile, "it should be the model's configuration", PretrainedConfigError),
  );
  const { architecture, config } = transformerConfigFromHuggingFace(json, configFile);
  const tokenizer = readTokenizer(fs, path, dir);
  const files = weightFiles(fs, path, dir);
  const fds: number[] = [];
  try {
    const stored = readHeaders(fs, files, fds);
    const prefix =
      architecture === "GPT2LMHeadModel" &&
      !stored.has("transformer.wte.weight") &&
      stored.has("wte.weight")
        ? ""
        : "transformer.";
    const layout = weightLayout(architecture, config, prefix);
    checkWeights(dir, architecture, layout, stored, options.strict ?? true);
    const storedDtypes: Record<string, number> = Object.create(null);
    for (const m of layout.tensors) {
      const dtype = stored.get(m.name)!.entry.dtype;
      storedDtypes[dtype] = (storedDtypes[dtype] ?? 0) + 1;
    }
    const model = readParameters(
      fs,
      TransformerLM.fromConfig(config),
      layout,
      stored,
      options.onProgress,
    );
    return {
      model,
      tokenizer,
      config: Object.freeze({
        architecture,
        huggingFace: json,
        transformer: model.config,
        storedDtypes: Object.freeze(storedDtypes),
      }),
    };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

function readTokenizer(fs: Fs, path: Path, dir: string): PretrainedTokenizer | undefined {
  const file = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(file)) return undefined;
  const json = readJson(fs, file, "it should be a fast tokenizer's tokenizer.json", TokenizerError);
  const configFile = path.join(dir, "tokenizer_config.json");
  const config = fs.existsSync(configFile)
    ? readJson(fs, configFile, "it should be the tokenizer's configuration", TokenizerError)
    : Object.create(null);
  return PretrainedTokenizer.fromJSON(json, config);
}

/** Reads every tensor in file order, converts it, and fills the model's parameters. */
function readParameters(
  fs: Fs,
  model: TransformerLM,
  layout: WeightLayout,
  stored: ReadonlyMap<string, StoredTensor>,
  onProgress: ((progress: LoadProgress) => void) | undefined,
): TransformerLM {
  const orders = parameterAxisOrders(model);
  const bytesOf = (m: TensorMapping) => {
    const [begin, end] = stored.get(m.name)!.entry.dataOffsets;
    return end - begin;
  };
  const order = layout.tensors.slice().sort((a, b) => {
    const sa = stored.get(a.name)!;
    const sb = stored.get(b.name)!;
    return sa.file < sb.file
      ? -1
      : sa.file > sb.file
        ? 1
        : sa.entry.dataOffsets[0] - sb.entry.dataOffsets[0];
  });
  const totalBytes = order.reduce((sum, m) => sum + bytesOf(m), 0);
  const scratch = new Uint8Array(order.reduce((most, m) => Math.max(most, bytesOf(m)), 0));
  const tensors: Record<string, tf.Tensor> = Object.create(null);
  let bytesRead = 0;
  let tensorsRead = 0;
  try {
    for (const mapping of order) {
      const s = stored.get(mapping.name)!;
      const [begin, end] = s.entry.dataOffsets;
      const data = scratch.subarray(0, end - begin);
      readFully(fs, s.fd, data, s.bufferStart + begin, s.file);
      const raw = decodeSafetensorsTensor(s.entry, data);
      try {
        for (const [name, tensor] of parametersFromCheckpoint(mapping, raw, orders))
          tensors[name] = tensor;
      } finally {
        raw.dispose();
      }
      bytesRead += end - begin;
      tensorsRead++;
      onProgress?.({ bytesRead, totalBytes, tensorsRead, totalTensors: order.length });
    }
    return loadParameters(tensors, model);
  } catch (error) {
    tf.dispose(Object.values(tensors));
    throw error;
  }
}

/** Options of {@link savePretrained}. */
export interface SavePretrainedOptions {
  /** The tokenizer to save with the model (its `tokenizer.json` and `tokenizer_config.json`). */
  tokenizer?: PretrainedTokenizer;
  /**
   * How the weights are stored: `"float32"`, `"float16"` or `"bfloat16"`. Default: the
   * `torch_dtype` of the checkpoint the model was loaded from, else float32.
   */
  dtype?: "float32" | "float16" | "bfloat16";
  /** Shards larger folders into files of at most this many bytes of tensor data (default 5 GB, as transformers). */
  maxShardBytes?: number;
}

const FORMAT_OF: Record<string, SafetensorsFloatFormat> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
};

/**
 * Writes a model as a Hugging Face model folder that transformers' `from_pretrained` loads:
 * `config.json` (the loaded config's fields, with the model's sizes), the weights under the
 * architecture's own tensor names, shapes and layouts (`[out, in]` for Linear, `[in, out]` for
 * GPT-2's Conv1D, fused `c_attn`) in `model.safetensors` (or shards with an index), and the
 * tokenizer's files. The folder is written atomically: a crash leaves the old folder or the new one.
 *
 * @param model a `TransformerLM` with initialized parameters (loaded, trained or edited).
 * @param dir the folder to write (replaced if it exists; its parent must exist).
 * @param options `tokenizer`, `dtype`, `maxShardBytes`.
 * @throws PretrainedConfigError when the model's configuration is not one of the supported
 *   architectures; PretrainedError for an uninitialized model; AtomicWriteError when writing fails.
 * @example
 * const { model, tokenizer } = await loadPretrained("gpt2");
 * await savePretrained(edited, "gpt2-edited", { tokenizer });
 */
export async function savePretrained(
  model: TransformerLM,
  dir: string,
  options: SavePretrainedOptions = {},
): Promise<void> {
  checkOptions("savePretrained", options, ["tokenizer", "dtype", "maxShardBytes"]);
  if (!(model instanceof TransformerLM)) {
    throw new PretrainedError(
      `savePretrained: expected a TransformerLM, got ${model === null ? "null" : typeof model === "object" ? (model as object).constructor?.name : typeof model}.`,
    );
  }
  const loadedDtype = model.config.huggingFaceConfig?.torch_dtype;
  const dtype =
    options.dtype ??
    (typeof loadedDtype === "string" && loadedDtype in FORMAT_OF ? loadedDtype : "float32");
  const floatFormat = FORMAT_OF[dtype];
  if (floatFormat === undefined) {
    throw new PretrainedError(
      `savePretrained: dtype must be "float32", "float16" or "bfloat16", got ${JSON.stringify(dtype)}.`,
    );
  }
  const maxShardBytes = options.maxShardBytes ?? 5_000_000_000;
  if (!Number.isInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new PretrainedError(
      `savePretrained: maxShardBytes must be a positive integer, got ${maxShardBytes}.`,
    );
  }
  if (options.tokenizer !== undefined && !(options.tokenizer instanceof PretrainedTokenizer)) {
    throw new TokenizerError(
      "savePretrained: tokenizer must be a PretrainedTokenizer (from loadPretrained or PretrainedTokenizer.fromJSON).",
    );
  }
  const architecture = architectureForSaving(model.config);
  const configJson = huggingFaceConfigFor(model.config, dtype);
  const values = parameterValues(model, "savePretrained");
  const layout = weightLayout(architecture, model.config);
  const placed = new Set(layout.tensors.flatMap((m) => m.parts.map((p) => p.parameter)));
  const unplaced = [...values.keys()].filter((n) => !placed.has(n));
  if (unplaced.length > 0) {
    throw new PretrainedError(
      `savePretrained: the model has ${unplaced.length} parameter(s) a ${architecture} checkpoint has no tensor for: ` +
        `${quoteSome(unplaced)}. Fold them into the model's own parameters first (for LoRA adapters, merge them ` +
        "into the weights they adapt), or save them separately with saveParameters.",
    );
  }
  const files = new Map<string, Uint8Array | string>();
  files.set("config.json", `${JSON.stringify(configJson, null, 2)}\n`);
  writeShards(layout.tensors, values, floatFormat, maxShardBytes, files);
  if (options.tokenizer !== undefined) {
    files.set("tokenizer.json", JSON.stringify(options.tokenizer.tokenizerJson));
    files.set(
      "tokenizer_config.json",
      `${JSON.stringify(options.tokenizer.tokenizerConfig, null, 2)}\n`,
    );
  }
  const { writeFolderAtomic } = await importNodeOnly<NodeFileHelpers>(TOOLSHED_NODE);
  writeFolderAtomic(dir, files);
}

function writeShards(
  mappings: readonly TensorMapping[],
  values: ReadonlyMap<string, NamedArrayBase>,
  floatFormat: SafetensorsFloatFormat,
  maxShardBytes: number,
  files: Map<string, Uint8Array | string>,
): void {
  const itemBytes = floatFormat === "F32" ? 4 : 2;
  const groups: TensorMapping[][] = [[]];
  let size = 0;
  for (const m of mappings) {
    const bytes = m.shape.reduce((a, b) => a * b, 1) * itemBytes;
    if (size > 0 && size + bytes > maxShardBytes) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1]!.push(m);
    size += bytes;
  }
  const weightMap: Record<string, string> = {};
  let total = 0;
  groups.forEach((group, i) => {
    const name =
      groups.length === 1
        ? "model.safetensors"
        : `model-${String(i + 1).padStart(5, "0")}-of-${String(groups.length).padStart(5, "0")}.safetensors`;
    const tensors = new Map<string, tf.Tensor>();
    try {
      for (const m of group) tensors.set(m.name, checkpointFromParameters(m, values));
      files.set(name, serializeSafetensors(tensors, { format: "pt" }, { floatFormat }));
    } finally {
      tf.dispose([...tensors.values()]);
    }
    for (const m of group) {
      weightMap[m.name] = name;
      total += m.shape.reduce((a, b) => a * b, 1) * itemBytes;
    }
  });
  if (groups.length > 1) {
    files.set(
      "model.safetensors.index.json",
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
}
