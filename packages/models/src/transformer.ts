/**
 * A decoder-only transformer language model with the structure of penzai's Gemma v1 model
 * (`example_models/gemma/model_core.py`): token embedding, RoPE, RMS layer norms, multi-head,
 * multi-query or grouped key-value attention with a causal mask side input, a gated GELU MLP, and
 * tied embedding decoding.
 *
 * @module
 */

import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import { arange, type NamedArrayBase } from "@saikei/named";
import {
  AddBias,
  ApplyAttentionMask,
  ApplyRoPE,
  Attention,
  addParameterPrefix,
  attachSharedParameters,
  BranchAndMultiplyTogether,
  CastToDType,
  ConstantRescale,
  constantInitializer,
  DEFAULT_EPSILON,
  type EinsumAxes,
  Elementwise,
  EmbeddingDecode,
  EmbeddingLookup,
  EmbeddingTable,
  gelu,
  LayerNorm,
  Linear,
  markShareable,
  NamedEinsum,
  NamedGroup,
  Residual,
  RMSLayerNorm,
  RMSStandardize,
  Sequential,
  Softmax,
} from "@saikei/nn";
import { Wildcard } from "@saikei/shapecheck";
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { ModelConfigError } from "./errors.js";
import { AddLearnedPositions } from "./learnedPositions.js";

/** The configuration of a {@link TransformerLM} (penzai's `GemmaTransformerConfig`). */
export interface TransformerConfig {
  /** Number of query heads. */
  readonly numHeads: number;
  /**
   * Number of key/value heads: equal to `numHeads` for multi-head attention (the default), 1 for
   * multi-query attention (penzai's `single_kv_head`), or a divisor of `numHeads` for grouped
   * key-value attention.
   */
  readonly numKvHeads?: number;
  /** Size of the residual stream (`embedding` axis). */
  readonly embeddingDim: number;
  /** Size of each head (`projection` axis). */
  readonly projectionDim: number;
  /** Hidden size of the gated MLP (`neurons` axis). */
  readonly mlpHiddenDim: number;
  /** Number of decoder blocks. */
  readonly numDecoderBlocks: number;
  /** Vocabulary size (`vocabulary` axis). */
  readonly vocabSize: number;
  /** Parameter dtype; default float32. */
  readonly parameterDtype?: tf.DataType;
  /** Activation dtype; default float32 (a `CastToDType` is inserted when it differs). */
  readonly activationDtype?: tf.DataType;
  /**
   * How the blocks and the final norm normalize: `"rms"` (`x̂·w`, Llama; the default),
   * `"rms_plus_one"` (`x̂·(1 + w)`, Gemma's checkpoints) or `"layer_norm"` (mean and variance,
   * with a bias: GPT-2).
   */
  readonly normalization?: NormalizationKind;
  /** Epsilon of every norm; default 1e-6. */
  readonly normEpsilon?: number;
  /** `"rope"` (rotary, the default) or `"learned"` (absolute positions added to the embeddings). */
  readonly positionEmbedding?: "rope" | "learned";
  /** RoPE's base wavelength (`rope_theta`); default 10000. */
  readonly ropeTheta?: number;
  /** Size of the learned position table (`n_positions`); required with learned positions. */
  readonly maxPositions?: number;
  /** Whether the embeddings are scaled by √embeddingDim (Gemma); default true. */
  readonly scaleEmbeddings?: boolean;
  /** Biases of the attention projections: none (default), query/key/value (Qwen2), or all four (GPT-2). */
  readonly attentionBias?: "none" | "qkv" | "all";
  /** `"gated"` (`out(act(gate(x)) · value(x))`, the default) or `"plain"` (`out(act(in(x)))`, GPT-2). */
  readonly mlp?: "gated" | "plain";
  /** The MLP's activation: `"gelu_tanh"` (default), `"gelu"` (exact) or `"silu"`. */
  readonly mlpActivation?: MlpActivation;
  /** Whether the MLP's linear maps have biases; default false. */
  readonly mlpBias?: boolean;
  /** Whether the output projection is the embedding table (default true) or its own `lm_head`. */
  readonly tiedEmbeddings?: boolean;
  /**
   * The `config.json` of the Hugging Face checkpoint this model was loaded from (see
   * `loadPretrained`); `savePretrained` writes its fields back. Not used to build the model.
   */
  readonly huggingFaceConfig?: Readonly<Record<string, unknown>>;
}

/** How a {@link TransformerLM} normalizes (see {@link TransformerConfig.normalization}). */
export type NormalizationKind = "rms" | "rms_plus_one" | "layer_norm";

/** The activations a {@link TransformerLM}'s MLP can use. */
export type MlpActivation = "gelu_tanh" | "gelu" | "silu";

/** SiLU (swish), `x·sigmoid(x)`: Llama's MLP activation. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** GELU with the exact error function, `x·Φ(x)` (PyTorch's default `gelu`). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

const ACTIVATIONS: Record<MlpActivation, (x: tf.Tensor) => tf.Tensor> = {
  gelu_tanh: gelu,
  gelu: geluExact,
  silu,
};

/** A linear map named `name`, followed by a bias over its outputs when `bias` is set. */
function projection(
  name: string,
  inputs: Record<string, number>,
  outputs: Record<string, number>,
  bias: boolean,
  dtype: tf.DataType,
): unknown {
  const linear = Linear.fromConfig(inputs, outputs, { dtype });
  if (!bias) return addParameterPrefix(name, linear);
  return addParameterPrefix(
    name,
    new Sequential({ sublayers: [linear, AddBias.fromConfig(outputs, { dtype })] }),
  );
}

/** The norm `config.normalization` asks for, over the embedding axis, named `name`. */
function norm(config: TransformerConfig, name: string): unknown {
  const across = { embedding: config.embeddingDim };
  const dtype = config.parameterDtype ?? "float32";
  const epsilon = config.normEpsilon ?? DEFAULT_EPSILON;
  const kind = config.normalization ?? "rms";
  if (kind === "layer_norm") {
    return addParameterPrefix(name, LayerNorm.fromConfig(across, { epsilon, dtype }));
  }
  if (kind === "rms") {
    return addParameterPrefix(name, RMSLayerNorm.fromConfig(across, { epsilon, dtype }));
  }
  // x̂·(1 + w) as x̂ + x̂·w: the stored w is the checkpoint's, so saving gives it back bit for bit.
  const scale = addParameterPrefix(
    "scale",
    Linear.fromConfig({}, {}, { parallelAxes: across, initializer: constantInitializer(0), dtype }),
  );
  return addParameterPrefix(
    name,
    new RMSLayerNorm({
      sublayers: [
        new RMSStandardize({ across: ["embedding"], epsilon }),
        new Residual({ delta: scale }),
      ],
    }),
  );
}

/** How keys and values are laid out for a configuration. */
export type KvLayout = "multi_head" | "single_kv_head" | "grouped";

/** The key/value layout a configuration implies. */
export function kvLayout(config: TransformerConfig): KvLayout {
  const kv = config.numKvHeads ?? config.numHeads;
  if (kv === config.numHeads) return "multi_head";
  if (kv === 1) return "single_kv_head";
  return "grouped";
}

/**
 * The named axes of cached keys and values (besides batch and `seq`): `{heads, projection}`,
 * `{projection}` for a single kv head, or `{kv_heads, projection}` when grouped.
 */
export function kvAxes(config: TransformerConfig): Record<string, number> {
  const layout = kvLayout(config);
  if (layout === "multi_head") return { heads: config.numHeads, projection: config.projectionDim };
  if (layout === "single_kv_head") return { projection: config.projectionDim };
  return { kv_heads: config.numKvHeads!, projection: config.projectionDim };
}

function queryAxes(config: TransformerConfig): Record<string, number> {
  if (kvLayout(config) !== "grouped") {
    return { heads: config.numHeads, projection: config.projectionDim };
  }
  const kv = config.numKvHeads!;
  return { kv_heads: kv, q_rep: config.numHeads / kv, projection: config.projectionDim };
}

function validate(config: TransformerConfig): void {
  const positive = [
    "numHeads",
    "embeddingDim",
    "projectionDim",
    "mlpHiddenDim",
    "numDecoderBlocks",
    "vocabSize",
  ] as const;
  for (const name of positive) {
    const v = config[name];
    if (!Number.isInteger(v) || v <= 0) {
      throw new ModelConfigError(`TransformerConfig.${name} must be a positive integer, got ${v}.`);
    }
  }
  const kv = config.numKvHeads ?? config.numHeads;
  if (!Number.isInteger(kv) || kv <= 0 || config.numHeads % kv !== 0) {
    throw new ModelConfigError(
      `TransformerConfig.numKvHeads must be a positive divisor of numHeads (${config.numHeads}), got ${kv}.`,
    );
  }
  checkChoice(config, "normalization", ["rms", "rms_plus_one", "layer_norm"]);
  checkChoice(config, "positionEmbedding", ["rope", "learned"]);
  checkChoice(config, "attentionBias", ["none", "qkv", "all"]);
  checkChoice(config, "mlp", ["gated", "plain"]);
  checkChoice(config, "mlpActivation", Object.keys(ACTIVATIONS));
  for (const name of ["normEpsilon", "ropeTheta"] as const) {
    const v = config[name];
    if (v !== undefined && !(typeof v === "number" && v > 0 && Number.isFinite(v))) {
      throw new ModelConfigError(`TransformerConfig.${name} must be a positive number, got ${v}.`);
    }
  }
  if (config.positionEmbedding === "learned") {
    const n = config.maxPositions;
    if (n === undefined || !Number.isInteger(n) || n <= 0) {
      throw new ModelConfigError(
        `TransformerConfig.maxPositions must be a positive integer with learned positions, got ${n}.`,
      );
    }
  } else if (config.projectionDim % 2 !== 0) {
    throw new ModelConfigError(
      `TransformerConfig.projectionDim must be even with rotary positions (its halves rotate as pairs), got ${config.projectionDim}.`,
    );
  }
}

function checkChoice(config: TransformerConfig, name: keyof TransformerConfig, allowed: string[]) {
  const v = config[name];
  if (v !== undefined && !allowed.includes(v as string)) {
    throw new ModelConfigError(
      `TransformerConfig.${name} is ${JSON.stringify(v)}; it must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}.`,
    );
  }
}

/**
 * The attention block of a {@link TransformerLM} (penzai's `GemmaAttention`): an `Attention`
 * whose sublayers are named Sequentials, so that selections can find it by type.
 */
export class TransformerAttention extends Attention.define({}, { name: "TransformerAttention" }) {
  /**
   * Builds the attention sublayers for `config`, with parameters named `query`, `key`, `value`
   * and `output` (prefix with `addParameterPrefix`).
   */
  static fromConfig(config: TransformerConfig): TransformerAttention {
    const D = config.embeddingDim;
    const P = config.projectionDim;
    const layout = kvLayout(config);
    const qAxes = queryAxes(config);
    const kAxes = kvAxes(config);
    const dtype = config.parameterDtype ?? "float32";
    const bias = config.attentionBias ?? "none";
    const linear = (
      name: string,
      inputs: Record<string, number>,
      outputs: Record<string, number>,
    ) =>
      projection(
        name,
        inputs,
        outputs,
        bias === "all" || (bias === "qkv" && name !== "output"),
        dtype,
      ) as any;
    const rope = config.positionEmbedding !== "learned";
    const rotate = () =>
      rope
        ? [ApplyRoPE.fromConfig("token_positions", "projection", config.ropeTheta ?? 10_000)]
        : [];
    const headIndex: Record<string, string> =
      layout === "multi_head"
        ? { heads: "h" }
        : layout === "grouped"
          ? { kv_heads: "k", q_rep: "g" }
          : { heads: "h" };
    const kvHeadIndex: Record<string, string> =
      layout === "multi_head" ? { heads: "h" } : layout === "grouped" ? { kv_heads: "k" } : {};
    const qSpec: EinsumAxes = { seq: "tq", ...headIndex, projection: "p" };
    const kSpec: EinsumAxes = { seq: "tkv", ...kvHeadIndex, projection: "p" };
    const logitsSpec: EinsumAxes = { seq: "tq", ...headIndex, kv_seq: "tkv" };
    const outHeads: Record<string, number> =
      layout === "grouped"
        ? { kv_heads: qAxes.kv_heads!, q_rep: qAxes.q_rep! }
        : { heads: config.numHeads };
    return new TransformerAttention({
      inputToQuery: new Sequential({
        sublayers: [
          linear("query", { embedding: D }, qAxes),
          ...rotate(),
          new ConstantRescale({ by: P ** -0.5 }),
        ],
      }),
      inputToKey: new Sequential({
        sublayers: [linear("key", { embedding: D }, kAxes), ...rotate()],
      }),
      inputToValue: new Sequential({ sublayers: [linear("value", { embedding: D }, kAxes)] }),
      queryKeyToAttn: new Sequential({
        sublayers: [
          new NamedEinsum({ inputAxes: [qSpec, kSpec], outputAxes: logitsSpec }),
          ApplyAttentionMask.fromConfig("attn_mask"),
          new Softmax({ axes: "kv_seq" }),
        ],
      }),
      attnValueToOutput: new Sequential({
        sublayers: [
          new NamedEinsum({ inputAxes: [logitsSpec, kSpec], outputAxes: qSpec }),
          linear("output", { ...outHeads, projection: P }, { embedding: D }),
        ],
      }),
    });
  }
}

/** The gated GELU MLP of a {@link TransformerLM} (penzai's `GemmaFeedForward`). */
export class TransformerFeedForward extends Sequential.define(
  {},
  { name: "TransformerFeedForward" },
) {
  /**
   * Builds `out_linear(act(gating_linear(x)) * value_linear(x))`, or for a plain MLP
   * `out_linear(act(in_linear(x)))`; `act` is GELU (tanh) unless `config.mlpActivation` says otherwise.
   */
  static fromConfig(config: TransformerConfig): TransformerFeedForward {
    const D = config.embeddingDim;
    const F = config.mlpHiddenDim;
    const dtype = config.parameterDtype ?? "float32";
    const bias = config.mlpBias ?? false;
    const fn = ACTIVATIONS[config.mlpActivation ?? "gelu_tanh"];
    const linear = (
      name: string,
      inputs: Record<string, number>,
      outputs: Record<string, number>,
    ) => projection(name, inputs, outputs, bias, dtype) as any;
    const out = linear("out_linear", { neurons: F }, { embedding: D });
    if (config.mlp === "plain") {
      return new TransformerFeedForward({
        sublayers: [
          linear("in_linear", { embedding: D }, { neurons: F }),
          new Elementwise({ fn }),
          out,
        ],
      });
    }
    return new TransformerFeedForward({
      sublayers: [
        new BranchAndMultiplyTogether({
          branches: [
            new NamedGroup({
              name: "gate",
              sublayers: [
                linear("gating_linear", { embedding: D }, { neurons: F }),
                new Elementwise({ fn }),
              ],
            }),
            linear("value_linear", { embedding: D }, { neurons: F }),
          ],
        }),
        out,
      ],
    });
  }
}

/** One decoder block (penzai's `GemmaTransformerBlock`): attention and MLP, each pre-normed and residual. */
export class TransformerBlock extends Sequential.define({}, { name: "TransformerBlock" }) {
  /** Builds a block whose parameters are named `pre_attention_norm.*`, `attn.*`, `pre_ffw_norm.*`, `mlp.*`. */
  static fromConfig(config: TransformerConfig): TransformerBlock {
    return new TransformerBlock({
      sublayers: [
        new Residual({
          delta: new Sequential({
            sublayers: [
              norm(config, "pre_attention_norm") as any,
              addParameterPrefix("attn", TransformerAttention.fromConfig(config)),
            ],
          }),
        }),
        new Residual({
          delta: new Sequential({
            sublayers: [
              norm(config, "pre_ffw_norm") as any,
              addParameterPrefix("mlp", TransformerFeedForward.fromConfig(config)),
            ],
          }),
        }),
      ],
    });
  }
}

/**
 * The inputs of a {@link TransformerLM} (penzai's `GemmaInputs`): integer tokens with a `seq`
 * axis (and any batch axes), their positions, and a boolean attention mask `{seq, kv_seq}`.
 */
export class TransformerInputs extends Struct.define(
  {
    tokens: field<NamedArrayBase>(),
    positions: field<NamedArrayBase>(),
    attentionMask: field<NamedArrayBase>(),
  },
  { name: "TransformerInputs" },
) {
  /**
   * Inputs for one unpadded segment per batch element: positions `0..S-1` and a causal mask.
   * The caller owns the returned tensors.
   *
   * @example
   * const inputs = TransformerInputs.fromBasicSegments(nx.wrap(ids, "int32").tag("batch", "seq"));
   */
  static fromBasicSegments(tokens: NamedArrayBase): TransformerInputs {
    const S = tokens.namedShape.seq;
    if (S === undefined) {
      throw new ModelConfigError(
        `TransformerInputs.fromBasicSegments: tokens need a "seq" axis, but have ${JSON.stringify(tokens.namedShape)}.`,
      );
    }
    const positions = arange("seq", S);
    const keyPositions = arange("kv_seq", S);
    const attentionMask = positions.ge(keyPositions);
    keyPositions.dataArray.dispose();
    return new TransformerInputs({ tokens, positions, attentionMask });
  }
}

/**
 * A decoder-only transformer LM (penzai's `GemmaTransformer`). `body` takes
 * `[tokens, positions, attentionMask]` and returns logits `{...batch, seq, vocabulary}`.
 *
 * @example
 * const model = initializeParameters(TransformerLM.fromConfig(config), random.key(0));
 * const logits = model.call(TransformerInputs.fromBasicSegments(tokens));
 */
export class TransformerLM extends Layer.define(
  {
    config: field<TransformerConfig>({ static: true }),
    body: field<WithSideInputsFromInputTuple>(),
  },
  { name: "TransformerLM" },
) {
  /**
   * Builds the uninitialized model. Parameters are named `embedder.embeddings`,
   * `block_{i}.attn.query.weights`, `block_{i}.mlp.gating_linear.weights`, `final_norm.scale.weights`, ...
   *
   * @throws ModelConfigError for an inconsistent configuration.
   */
  static fromConfig(config: TransformerConfig): TransformerLM {
    validate(config);
    const frozenConfig = Object.freeze({ ...config });
    const paramDtype = config.parameterDtype ?? "float32";
    const activationDtype = config.activationDtype ?? "float32";
    const table = markShareable(
      addParameterPrefix(
        "embedder",
        EmbeddingTable.fromConfig(
          config.vocabSize,
          { embedding: config.embeddingDim },
          { dtype: paramDtype },
        ),
      ),
    );
    const sublayers: unknown[] = [new EmbeddingLookup({ table })];
    if (activationDtype !== paramDtype) sublayers.push(new CastToDType({ dtype: activationDtype }));
    if (config.scaleEmbeddings ?? true) {
      sublayers.push(new ConstantRescale({ by: Math.sqrt(config.embeddingDim) }));
    }
    if (config.positionEmbedding === "learned") {
      sublayers.push(
        addParameterPrefix(
          "position_embedder",
          AddLearnedPositions.fromConfig(
            "token_positions",
            config.maxPositions!,
            { embedding: config.embeddingDim },
            { dtype: paramDtype },
          ),
        ),
      );
    }
    for (let i = 0; i < config.numDecoderBlocks; i++) {
      sublayers.push(addParameterPrefix(`block_${i}`, TransformerBlock.fromConfig(config)));
    }
    sublayers.push(norm(config, "final_norm"));
    if (config.tiedEmbeddings ?? true) sublayers.push(new EmbeddingDecode({ table }));
    else {
      sublayers.push(
        projection(
          "lm_head",
          { embedding: config.embeddingDim },
          { vocabulary: config.vocabSize },
          false,
          paramDtype,
        ),
      );
    }
    const shared = attachSharedParameters(new Sequential({ sublayers: sublayers as any }));
    const body = WithSideInputsFromInputTuple.handling(shared, ["token_positions", "attn_mask"]);
    return new TransformerLM({ config: frozenConfig, body });
  }

  /** Inputs must be {@link TransformerInputs}. */
  inputStructure(): unknown {
    return new TransformerInputs({
      tokens: new Wildcard({ description: "tokens" }) as any,
      positions: new Wildcard({ description: "positions" }) as any,
      attentionMask: new Wildcard({ description: "attention mask" }) as any,
    });
  }

  /** Unnormalized logits. */
  outputStructure(): unknown {
    return new Wildcard({ description: "unnormalized logits" });
  }

  /** Returns the logits `{...batch, seq, vocabulary}` for `inputs`. */
  @checkedLayerCall
  call(inputs: TransformerInputs): NamedArrayBase {
    return this.body.call([inputs.tokens, inputs.positions, inputs.attentionMask]);
  }
}
