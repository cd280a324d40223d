/**
 * The Hugging Face architectures `loadPretrained` understands: how each `config.json` becomes a
 * {@link TransformerConfig} (and back), and how each checkpoint tensor maps onto the parameters of
 * a {@link TransformerLM} (names, reshapes, the `Conv1D` `[in, out]` layout of GPT-2, the fused
 * `c_attn`). docs/models.md shows the same mapping as a table.
 *
 * @module
 */

import { PretrainedConfigError, UnsupportedArchitectureError } from "./errors.js";
import { kvLayout, type MlpActivation, type TransformerConfig } from "./transformer.js";

/** The `architectures` entries of `config.json` that `loadPretrained` can build. */
export const SUPPORTED_ARCHITECTURES = [
  "LlamaForCausalLM",
  "MistralForCausalLM",
  "Qwen2ForCausalLM",
  "GemmaForCausalLM",
  "GPT2LMHeadModel",
] as const;

/** One of {@link SUPPORTED_ARCHITECTURES}. */
export type PretrainedArchitecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** A `config.json` as read: a prototype-free record of its fields. */
export type HuggingFaceConfig = Readonly<Record<string, unknown>>;

const MODEL_TYPES: Record<PretrainedArchitecture, string> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  GemmaForCausalLM: "gemma",
  GPT2LMHeadModel: "gpt2",
};

/** Hugging Face activation names (`hidden_act`, `activation_function`) and what they compute. */
const ACTIVATION_NAMES: Record<string, MlpActivation> = {
  silu: "silu",
  swish: "silu",
  gelu: "gelu",
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  gelu_fast: "gelu_tanh",
};

/** The architecture a `config.json` declares, checked against {@link SUPPORTED_ARCHITECTURES}. */
export function architectureOf(json: HuggingFaceConfig, where: string): PretrainedArchitecture {
  const declared = json.architectures;
  const names = Array.isArray(declared) ? declared : [];
  for (const name of names) {
    if ((SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(name)) {
      return name as PretrainedArchitecture;
    }
  }
  const byType = Object.entries(MODEL_TYPES).find(([, t]) => t === json.model_type);
  if (names.length === 0 && byType !== undefined) return byType[0] as PretrainedArchitecture;
  throw new UnsupportedArchitectureError(
    `${where}: the checkpoint's architecture is ${
      names.length > 0
        ? names.map((n) => JSON.stringify(n)).join(", ")
        : `unknown (model_type ${JSON.stringify(json.model_type)})`
    }, which saikei cannot build. Supported: ${SUPPORTED_ARCHITECTURES.join(", ")}. ` +
      "Convert the checkpoint to one of these, or build the model yourself and fill it with loadParameters.",
  );
}

/** Reads typed fields of a config.json, with messages that name the field. */
class Fields {
  constructor(
    private readonly json: HuggingFaceConfig,
    private readonly where: string,
  ) {}

  private fail(name: string, wanted: string): never {
    throw new PretrainedConfigError(
      `${this.where}: config.json field ${JSON.stringify(name)} must be ${wanted}, but it is ${JSON.stringify(this.json[name])}. ` +
        "Fix config.json (it should be the file transformers' save_pretrained wrote next to the weights).",
    );
  }

  has(name: string): boolean {
    return Object.hasOwn(this.json, name) && this.json[name] !== null;
  }

  int(name: string, fallback?: number): number {
    if (!this.has(name)) {
      if (fallback !== undefined) return fallback;
      this.fail(name, "a positive integer");
    }
    const v = this.json[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      this.fail(name, "a positive integer");
    return v;
  }

  number(name: string, fallback: number): number {
    if (!this.has(name)) return fallback;
    const v = this.json[name];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v))
      this.fail(name, "a positive number");
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    if (!this.has(name)) return fallback;
    const v = this.json[name];
    if (typeof v !== "boolean") this.fail(name, "true or false");
    return v;
  }

  activation(name: string, fallback: string): MlpActivation {
    const v = this.has(name) ? this.json[name] : fallback;
    const found = typeof v === "string" ? ACTIVATION_NAMES[v] : undefined;
    if (found === undefined) {
      this.fail(
        name,
        `one of ${Object.keys(ACTIVATION_NAMES)
          .map((a) => JSON.stringify(a))
          .join(", ")}`,
      );
    }
    return found;
  }

  /** Fails when a field that changes the computation is set to something saikei does not do. */
  unsupported(name: string, isDefault: (v: unknown) => boolean, what: string): void {
    if (Object.hasOwn(this.json, name) && !isDefault(this.json[name])) {
      throw new PretrainedConfigError(
        `${this.where}: config.json sets ${JSON.stringify(name)} to ${JSON.stringify(this.json[name])}; saikei's ` +
          `loader supports ${what} only. Use a checkpoint without it.`,
      );
    }
  }
}

const isNullish = (v: unknown) => v === null || v === undefined;

/**
 * The {@link TransformerConfig} of a checkpoint's `config.json`, with the config itself kept as
 * `huggingFaceConfig` (so that `savePretrained` writes the same fields back).
 *
 * @throws UnsupportedArchitectureError for an architecture saikei cannot build;
 *   PretrainedConfigError for a missing or invalid field, or a feature it does not implement.
 */
export function transformerConfigFromHuggingFace(
  json: HuggingFaceConfig,
  where: string,
): { architecture: PretrainedArchitecture; config: TransformerConfig } {
  const architecture = architectureOf(json, where);
  const f = new Fields(json, where);
  const huggingFaceConfig = json;
  if (architecture === "GPT2LMHeadModel") {
    const D = f.int("n_embd");
    const H = f.int("n_head");
    if (D % H !== 0) {
      throw new PretrainedConfigError(
        `${where}: config.json has n_embd ${D}, which n_head ${H} does not divide; GPT-2 heads are n_embd / n_head wide.`,
      );
    }
    f.unsupported("scale_attn_weights", (v) => v === true, "scale_attn_weights: true");
    f.unsupported(
      "scale_attn_by_inverse_layer_idx",
      (v) => v === false,
      "scale_attn_by_inverse_layer_idx: false",
    );
    f.unsupported("add_cross_attention", (v) => v === false, "add_cross_attention: false");
    const config: TransformerConfig = {
      numHeads: H,
      embeddingDim: D,
      projectionDim: D / H,
      mlpHiddenDim: f.has("n_inner") ? f.int("n_inner") : 4 * D,
      numDecoderBlocks: f.int("n_layer"),
      vocabSize: f.int("vocab_size"),
      normalization: "layer_norm",
      normEpsilon: f.number("layer_norm_epsilon", 1e-5),
      positionEmbedding: "learned",
      maxPositions: f.int("n_positions"),
      scaleEmbeddings: false,
      attentionBias: "all",
      mlp: "plain",
      mlpActivation: f.activation("activation_function", "gelu_new"),
      mlpBias: true,
      tiedEmbeddings: f.bool("tie_word_embeddings", true),
      huggingFaceConfig,
    };
    return { architecture, config };
  }
  const gemma = architecture === "GemmaForCausalLM";
  const D = f.int("hidden_size");
  const H = f.int("num_attention_heads");
  if (!f.has("head_dim") && D % H !== 0) {
    throw new PretrainedConfigError(
      `${where}: config.json has hidden_size ${D}, which num_attention_heads ${H} does not divide, and no head_dim. Add head_dim.`,
    );
  }
  f.unsupported("rope_scaling", isNullish, "rope_scaling: null (plain RoPE)");
  const config: TransformerConfig = {
    numHeads: H,
    numKvHeads: f.int("num_key_value_heads", H),
    embeddingDim: D,
    projectionDim: f.int("head_dim", gemma ? 256 : D / H),
    mlpHiddenDim: f.int("intermediate_size"),
    numDecoderBlocks: f.int("num_hidden_layers"),
    vocabSize: f.int("vocab_size"),
    normalization: gemma ? "rms_plus_one" : "rms",
    normEpsilon: f.number("rms_norm_eps", 1e-6),
    ropeTheta: f.number("rope_theta", 10_000),
    scaleEmbeddings: gemma,
    attentionBias:
      architecture === "Qwen2ForCausalLM"
        ? "qkv"
        : architecture === "LlamaForCausalLM" && f.bool("attention_bias", false)
          ? "all"
          : "none",
    mlp: "gated",
    // Gemma's MLP is GELU (tanh) whatever hidden_act says, unless hidden_activation is given.
    mlpActivation: gemma
      ? f.activation("hidden_activation", "gelu_pytorch_tanh")
      : f.activation("hidden_act", "silu"),
    mlpBias: architecture === "LlamaForCausalLM" && f.bool("mlp_bias", false),
    tiedEmbeddings: gemma || f.bool("tie_word_embeddings", false),
    huggingFaceConfig,
  };
  if (config.numHeads % config.numKvHeads! !== 0) {
    throw new PretrainedConfigError(
      `${where}: config.json has num_key_value_heads ${config.numKvHeads}, which does not divide num_attention_heads ${H}.`,
    );
  }
  return { architecture, config };
}

/**
 * The architecture `savePretrained` writes a model as: the one it was loaded as, else the one its
 * configuration describes (learned positions → GPT-2; `x·(1+w)` norms → Gemma; q/k/v biases
 * only → Qwen2; otherwise Llama).
 */
export function architectureForSaving(config: TransformerConfig): PretrainedArchitecture {
  const loaded = config.huggingFaceConfig;
  if (loaded !== undefined) return architectureOf(loaded, "savePretrained");
  if (config.positionEmbedding === "learned") return "GPT2LMHeadModel";
  if (config.normalization === "rms_plus_one") return "GemmaForCausalLM";
  if (config.attentionBias === "qkv") return "Qwen2ForCausalLM";
  return "LlamaForCausalLM";
}

const ACTIVATION_FOR_SAVING: Record<MlpActivation, string> = {
  silu: "silu",
  gelu: "gelu",
  gelu_tanh: "gelu_pytorch_tanh",
};

/**
 * The `config.json` fields for a model: the loaded config's fields, with every field that
 * describes the model's shape or computation rewritten from its {@link TransformerConfig}.
 *
 * @throws PretrainedConfigError when the configuration cannot be expressed by the architecture.
 */
export function huggingFaceConfigFor(
  config: TransformerConfig,
  torchDtype: string,
): Record<string, unknown> {
  const architecture = architectureForSaving(config);
  const base: Record<string, unknown> = { ...(config.huggingFaceConfig ?? {}) };
  base.architectures = [architecture];
  base.model_type = MODEL_TYPES[architecture];
  const describe = (wanted: string) =>
    new PretrainedConfigError(
      `savePretrained: a ${architecture} checkpoint needs ${wanted}, but the model's TransformerConfig differs. ` +
        'Build the model with the configuration of that architecture (see docs/models.md, "Loading a Hugging Face model").',
    );
  const ropeModel = config.positionEmbedding !== "learned";
  if (architecture === "GPT2LMHeadModel") {
    if (
      ropeModel ||
      config.normalization !== "layer_norm" ||
      config.mlp !== "plain" ||
      config.attentionBias !== "all" ||
      config.mlpBias !== true ||
      kvLayout(config) !== "multi_head" ||
      config.projectionDim * config.numHeads !== config.embeddingDim ||
      (config.scaleEmbeddings ?? true)
    ) {
      throw describe(
        "learned positions, LayerNorm, a plain MLP with biases, biased multi-head attention and no embedding scale",
      );
    }
    Object.assign(base, {
      n_embd: config.embeddingDim,
      n_head: config.numHeads,
      n_layer: config.numDecoderBlocks,
      n_positions: config.maxPositions,
      n_inner: config.mlpHiddenDim === 4 * config.embeddingDim ? null : config.mlpHiddenDim,
      vocab_size: config.vocabSize,
      layer_norm_epsilon: config.normEpsilon ?? 1e-6,
      activation_function:
        config.mlpActivation === "gelu_tanh" || config.mlpActivation === undefined
          ? "gelu_new"
          : ACTIVATION_FOR_SAVING[config.mlpActivation],
      tie_word_embeddings: config.tiedEmbeddings ?? true,
    });
  } else {
    const gemma = architecture === "GemmaForCausalLM";
    const expectedNorm = gemma ? "rms_plus_one" : "rms";
    if (
      !ropeModel ||
      (config.normalization ?? "rms") !== expectedNorm ||
      (config.mlp ?? "gated") !== "gated" ||
      (config.scaleEmbeddings ?? true) !== gemma ||
      (gemma && !(config.tiedEmbeddings ?? true)) ||
      (architecture === "Qwen2ForCausalLM" && config.attentionBias !== "qkv") ||
      (architecture === "MistralForCausalLM" && (config.attentionBias ?? "none") !== "none") ||
      (architecture === "LlamaForCausalLM" && config.attentionBias === "qkv") ||
      (architecture !== "LlamaForCausalLM" && (config.mlpBias ?? false))
    ) {
      throw describe(
        gemma
          ? "RoPE, x·(1+w) RMS norms, a gated MLP, √hidden embedding scaling and tied embeddings"
          : "RoPE, x·w RMS norms, a gated MLP and no embedding scaling (Qwen2: q/k/v biases)",
      );
    }
    Object.assign(base, {
      hidden_size: config.embeddingDim,
      num_attention_heads: config.numHeads,
      num_key_value_heads: config.numKvHeads ?? config.numHeads,
      head_dim: config.projectionDim,
      intermediate_size: config.mlpHiddenDim,
      num_hidden_layers: config.numDecoderBlocks,
      vocab_size: config.vocabSize,
      rms_norm_eps: config.normEpsilon ?? 1e-6,
      rope_theta: config.ropeTheta ?? 10_000,
      tie_word_embeddings: config.tiedEmbeddings ?? true,
    });
    const activation = ACTIVATION_FOR_SAVING[config.mlpActivation ?? "gelu_tanh"];
    if (gemma) base.hidden_activation = activation;
    else base.hidden_act = activation;
    if (architecture === "LlamaForCausalLM") {
      base.attention_bias = config.attentionBias === "all";
      base.mlp_bias = config.mlpBias ?? false;
    }
  }
  base.torch_dtype = torchDtype;
  return base;
}

/**
 * Where one checkpoint tensor goes: the parameters it holds, each a slice of it along `splitAxis`
 * (GPT-2's fused `c_attn`) or the whole tensor, viewed with named axes in the tensor's own memory
 * order (`axes`, whose sizes multiply to the slice's size).
 */
export interface TensorMapping {
  /** The tensor's name in the checkpoint. */
  readonly name: string;
  /** Its shape in the checkpoint. */
  readonly shape: readonly number[];
  /** The parameters it holds, in order along `splitAxis`. */
  readonly parts: readonly {
    readonly parameter: string;
    readonly axes: Readonly<Record<string, number>>;
  }[];
  /** The axis the parts are concatenated along (when there is more than one part). */
  readonly splitAxis?: number;
}

/** The checkpoint's tensors and where each goes, plus names to skip when reading. */
export interface WeightLayout {
  /** Every tensor the model needs. */
  readonly tensors: readonly TensorMapping[];
  /** Names in a checkpoint that are not parameters (buffers, a tied head), read past silently. */
  readonly ignored: (name: string) => boolean;
}

const single = (
  name: string,
  shape: number[],
  parameter: string,
  axes: Record<string, number>,
): TensorMapping => ({ name, shape, parts: [{ parameter, axes }] });

/** The query's head axes for `config` (`{heads}` or `{kv_heads, q_rep}`), in memory order. */
function queryHeads(config: TransformerConfig): Record<string, number> {
  const K = config.numKvHeads ?? config.numHeads;
  return kvLayout(config) === "grouped"
    ? { kv_heads: K, q_rep: config.numHeads / K }
    : { heads: config.numHeads };
}

/** The key/value head axes (`{heads}`, `{}` for one kv head, or `{kv_heads}`). */
function kvHeads(config: TransformerConfig): Record<string, number> {
  const layout = kvLayout(config);
  if (layout === "multi_head") return { heads: config.numHeads };
  if (layout === "single_kv_head") return {};
  return { kv_heads: config.numKvHeads! };
}

/**
 * The tensors of a checkpoint of `architecture` for `config`. For GPT-2, `prefix` is
 * `"transformer."` (as `save_pretrained` writes) or `""` (the original GPT-2 upload).
 */
export function weightLayout(
  architecture: PretrainedArchitecture,
  config: TransformerConfig,
  prefix = "transformer.",
): WeightLayout {
  return architecture === "GPT2LMHeadModel" ? gpt2Layout(config, prefix) : llamaLayout(config);
}

function llamaLayout(config: TransformerConfig): WeightLayout {
  const D = config.embeddingDim;
  const P = config.projectionDim;
  const F = config.mlpHiddenDim;
  const V = config.vocabSize;
  const H = config.numHeads;
  const K = config.numKvHeads ?? H;
  const q = queryHeads(config);
  const kv = kvHeads(config);
  const qBias = config.attentionBias === "qkv" || config.attentionBias === "all";
  const tensors: TensorMapping[] = [
    single("model.embed_tokens.weight", [V, D], "embedder.embeddings", {
      vocabulary: V,
      embedding: D,
    }),
  ];
  for (let i = 0; i < config.numDecoderBlocks; i++) {
    const hf = `model.layers.${i}.`;
    const ours = `block_${i}.`;
    tensors.push(
      single(`${hf}input_layernorm.weight`, [D], `${ours}pre_attention_norm.scale.weights`, {
        embedding: D,
      }),
      single(`${hf}self_attn.q_proj.weight`, [H * P, D], `${ours}attn.query.weights`, {
        ...q,
        projection: P,
        embedding: D,
      }),
      single(`${hf}self_attn.k_proj.weight`, [K * P, D], `${ours}attn.key.weights`, {
        ...kv,
        projection: P,
        embedding: D,
      }),
      single(`${hf}self_attn.v_proj.weight`, [K * P, D], `${ours}attn.value.weights`, {
        ...kv,
        projection: P,
        embedding: D,
      }),
      single(`${hf}self_attn.o_proj.weight`, [D, H * P], `${ours}attn.output.weights`, {
        embedding: D,
        ...q,
        projection: P,
      }),
    );
    if (qBias) {
      tensors.push(
        single(`${hf}self_attn.q_proj.bias`, [H * P], `${ours}attn.query.bias`, {
          ...q,
          projection: P,
        }),
        single(`${hf}self_attn.k_proj.bias`, [K * P], `${ours}attn.key.bias`, {
          ...kv,
          projection: P,
        }),
        single(`${hf}self_attn.v_proj.bias`, [K * P], `${ours}attn.value.bias`, {
          ...kv,
          projection: P,
        }),
      );
    }
    if (config.attentionBias === "all") {
      tensors.push(
        single(`${hf}self_attn.o_proj.bias`, [D], `${ours}attn.output.bias`, { embedding: D }),
      );
    }
    tensors.push(
      single(`${hf}post_attention_layernorm.weight`, [D], `${ours}pre_ffw_norm.scale.weights`, {
        embedding: D,
      }),
      single(`${hf}mlp.gate_proj.weight`, [F, D], `${ours}mlp.gating_linear.weights`, {
        neurons: F,
        embedding: D,
      }),
      single(`${hf}mlp.up_proj.weight`, [F, D], `${ours}mlp.value_linear.weights`, {
        neurons: F,
        embedding: D,
      }),
      single(`${hf}mlp.down_proj.weight`, [D, F], `${ours}mlp.out_linear.weights`, {
        embedding: D,
        neurons: F,
      }),
    );
    if (config.mlpBias) {
      tensors.push(
        single(`${hf}mlp.gate_proj.bias`, [F], `${ours}mlp.gating_linear.bias`, { neurons: F }),
        single(`${hf}mlp.up_proj.bias`, [F], `${ours}mlp.value_linear.bias`, { neurons: F }),
        single(`${hf}mlp.down_proj.bias`, [D], `${ours}mlp.out_linear.bias`, { embedding: D }),
      );
    }
  }
  tensors.push(single("model.norm.weight", [D], "final_norm.scale.weights", { embedding: D }));
  const tied = config.tiedEmbeddings ?? true;
  if (!tied) {
    tensors.push(
      single("lm_head.weight", [V, D], "lm_head.weights", { vocabulary: V, embedding: D }),
    );
  }
  return {
    tensors,
    // A tied head is stored by some exporters anyway; transformers re-ties it, and so do we.
    ignored: (name) =>
      (tied && name === "lm_head.weight") ||
      /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name),
  };
}

function gpt2Layout(config: TransformerConfig, prefix: string): WeightLayout {
  const D = config.embeddingDim;
  const H = config.numHeads;
  const P = config.projectionDim;
  const F = config.mlpHiddenDim;
  const V = config.vocabSize;
  const N = config.maxPositions!;
  const heads = { heads: H, projection: P };
  const norm = (hf: string, ours: string): TensorMapping[] => [
    single(`${hf}.weight`, [D], `${ours}.scale.weights`, { embedding: D }),
    single(`${hf}.bias`, [D], `${ours}.shift.bias`, { embedding: D }),
  ];
  const tensors: TensorMapping[] = [
    single(`${prefix}wte.weight`, [V, D], "embedder.embeddings", { vocabulary: V, embedding: D }),
    single(`${prefix}wpe.weight`, [N, D], "position_embedder.embeddings", {
      position: N,
      embedding: D,
    }),
  ];
  for (let i = 0; i < config.numDecoderBlocks; i++) {
    const hf = `${prefix}h.${i}.`;
    const ours = `block_${i}.`;
    const qkv = (suffix: string, axes: (x: Record<string, number>) => Record<string, number>) =>
      ["query", "key", "value"].map((p) => ({
        parameter: `${ours}attn.${p}.${suffix}`,
        axes: axes(heads),
      }));
    tensors.push(
      ...norm(`${hf}ln_1`, `${ours}pre_attention_norm`),
      // Conv1D stores [in, out]; c_attn's outputs are query, key and value, one after the other.
      {
        name: `${hf}attn.c_attn.weight`,
        shape: [D, 3 * D],
        splitAxis: 1,
        parts: qkv("weights", (h) => ({ embedding: D, ...h })),
      },
      { name: `${hf}attn.c_attn.bias`, shape: [3 * D], splitAxis: 0, parts: qkv("bias", (h) => h) },
      single(`${hf}attn.c_proj.weight`, [D, D], `${ours}attn.output.weights`, {
        ...heads,
        embedding: D,
      }),
      single(`${hf}attn.c_proj.bias`, [D], `${ours}attn.output.bias`, { embedding: D }),
      ...norm(`${hf}ln_2`, `${ours}pre_ffw_norm`),
      single(`${hf}mlp.c_fc.weight`, [D, F], `${ours}mlp.in_linear.weights`, {
        embedding: D,
        neurons: F,
      }),
      single(`${hf}mlp.c_fc.bias`, [F], `${ours}mlp.in_linear.bias`, { neurons: F }),
      single(`${hf}mlp.c_proj.weight`, [F, D], `${ours}mlp.out_linear.weights`, {
        neurons: F,
        embedding: D,
      }),
      single(`${hf}mlp.c_proj.bias`, [D], `${ours}mlp.out_linear.bias`, { embedding: D }),
    );
  }
  tensors.push(...norm(`${prefix}ln_f`, "final_norm"));
  const tied = config.tiedEmbeddings ?? true;
  if (!tied) {
    tensors.push(
      single("lm_head.weight", [V, D], "lm_head.weights", { vocabulary: V, embedding: D }),
    );
  }
  const escaped = prefix.replace(/\./g, "\\.");
  const buffer = new RegExp(`^${escaped}h\\.\\d+\\.attn\\.(bias|masked_bias)$`);
  return { tensors, ignored: (name) => (tied && name === "lm_head.weight") || buffer.test(name) };
}
