/**
 * Embeddings: `EmbeddingTable`, `EmbeddingLookup`, `EmbeddingDecode` and rotary position
 * embeddings `ApplyRoPE` (penzai v1 `nn/embeddings.py`).
 *
 * @module
 */

import { type SideInputEffect, SideInputRequest } from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import {
  AxisNameError,
  dot,
  isTracing,
  type NamedArray,
  type NamedArrayBase,
  NamedShapeMismatchError,
  type RandomKey,
  tidy,
  wrap,
} from "@saikei/named";
import { ArraySpec, var as dimVar, dtypes } from "@saikei/shapecheck";
import { checkOptions, className, field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  AxisConfigurationError,
  DtypeMismatchError,
  EmptyAxisError,
  TokenIdOutOfRangeError,
} from "./errors.js";
import {
  type AxisSizes,
  type LinearOperatorWeightInitializer,
  varianceScalingInitializer,
} from "./initializers.js";
import { dataOf, requireNamed } from "./internal/named.js";
import { optionKeys } from "./internal/options.js";
import { type ParameterLike, UninitializedParameter } from "./parameters.js";

/** Options of {@link EmbeddingTable.fromConfig}. */
export interface EmbeddingTableConfig {
  /** Name of the vocabulary axis; default `"vocabulary"`. */
  vocabularyAxis?: string;
  /** Initializer; default variance scaling with scale 1, `fan_out`, normal (std 1/sqrt(Π embedding sizes)). */
  initializer?: LinearOperatorWeightInitializer;
  /** Dtype; default `"float32"`. */
  dtype?: tf.DataType;
}

const EMBEDDING_TABLE_CONFIG_KEYS = optionKeys<EmbeddingTableConfig>({
  vocabularyAxis: true,
  initializer: true,
  dtype: true,
});

/**
 * A table of embeddings shared by lookup and decode layers (penzai's `EmbeddingTable`). A struct,
 * not a layer.
 *
 * @example
 * const table = EmbeddingTable.fromConfig(11, { embedding: 16 });
 */
export class EmbeddingTable extends Struct.define(
  {
    embeddings: field<ParameterLike<NamedArray>>(),
    vocabularyAxis: field<string>({ static: true }),
  },
  { name: "EmbeddingTable" },
) {
  /** The table's named shape (from its value structure). */
  tableShape(): Record<string, number> {
    const spec = this.embeddings.valueStructure as ArraySpec;
    return { ...(spec.namedShape as Record<string, number>) };
  }

  /** The embedding axes: every axis but the vocabulary axis. */
  embeddingAxes(): Record<string, number> {
    const shape = this.tableShape();
    delete shape[this.vocabularyAxis];
    return shape;
  }

  /**
   * Builds a table with an uninitialized `"embeddings"` parameter of axes
   * `{vocabulary, ...embeddingAxes}`.
   *
   * @throws AxisConfigurationError when the vocabulary axis is also an embedding axis.
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * EmbeddingTable.fromConfig(11, { embedding: 16 }, { vocabularyAxis: "vocab" });
   */
  static fromConfig(
    vocabSize: number,
    embeddingAxes: AxisSizes,
    config: EmbeddingTableConfig = {},
  ): EmbeddingTable {
    checkOptions("EmbeddingTable.fromConfig", config, EMBEDDING_TABLE_CONFIG_KEYS);
    const vocabularyAxis = config.vocabularyAxis ?? "vocabulary";
    if (Object.hasOwn(embeddingAxes, vocabularyAxis)) {
      throw new AxisConfigurationError(
        `vocabularyAxis ${vocabularyAxis} should not appear in embeddingAxes ${JSON.stringify(embeddingAxes)}. ` +
          "Use a different name for the vocabulary axis.",
      );
    }
    const dtype = config.dtype ?? "float32";
    const initializer =
      config.initializer ??
      ((key, axes) =>
        varianceScalingInitializer(key, axes, {
          scale: 1,
          mode: "fan_out",
          distribution: "normal",
        }));
    const parallelAxes = { [vocabularyAxis]: vocabSize };
    return new EmbeddingTable({
      embeddings: new UninitializedParameter({
        initializer: (key: RandomKey) =>
          initializer(key, {
            inputAxes: {},
            outputAxes: embeddingAxes,
            parallelAxes,
            convolutionSpatialAxes: {},
            dtype,
          }),
        name: "embeddings",
        valueStructure: new ArraySpec({ namedShape: { ...parallelAxes, ...embeddingAxes }, dtype }),
      }),
      vocabularyAxis,
    });
  }
}

let tokenIdChecks = true;

/**
 * Turns `EmbeddingLookup`'s token-id range check on or off for every lookup (it is on by default)
 * and returns the previous setting.
 *
 * The check reads the ids back to the host (`dataSync`) on each call with a new ids tensor: a copy
 * of the ids on the wasm and cpu backends (microseconds for a batch of prompts), but a wait for
 * the device on webgl. A `jit` trace never runs it (a trace must not read its inputs), so a
 * traced decoding step costs nothing extra; turn it off around an eager hot loop whose ids are
 * known to be valid.
 *
 * @example
 * const previous = setTokenIdChecks(false);
 * try { runHotLoop(); } finally { setTokenIdChecks(previous); }
 */
export function setTokenIdChecks(enabled: boolean): boolean {
  const previous = tokenIdChecks;
  tokenIdChecks = enabled;
  return previous;
}

/** The smallest and largest id of id tensors already checked (tensors are immutable). */
const idRanges = new WeakMap<tf.Tensor, readonly [number, number]>();

/**
 * Requires every id in `ids` (axes `names`) to be in `[0, vocabSize)`.
 *
 * @throws TokenIdOutOfRangeError naming the first offending id and where it is.
 */
function checkTokenIds(
  layerType: string,
  ids: tf.Tensor,
  names: readonly string[],
  vocabularyAxis: string,
  vocabSize: number,
): void {
  let range = idRanges.get(ids);
  if (range === undefined) {
    const values = ids.dataSync();
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    range = [min, max];
    idRanges.set(ids, range);
  }
  if (range[0] >= 0 && range[1] < vocabSize) return;
  const values = ids.dataSync();
  let first = -1;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= vocabSize) {
      if (first < 0) first = i;
      count++;
    }
  }
  const at: Record<string, number> = {};
  let rest = first;
  for (let axis = names.length - 1; axis >= 0; axis--) {
    const size = ids.shape[axis]!;
    at[names[axis]!] = rest % size;
    rest = Math.floor(rest / size);
  }
  const where = Object.fromEntries(names.map((n) => [n, at[n]]));
  throw new TokenIdOutOfRangeError(
    `${layerType}: token id ${values[first]} at ${JSON.stringify(where)} is outside [0, ${vocabSize}), ` +
      `the vocabulary of the embedding table (axis "${vocabularyAxis}" of size ${vocabSize})` +
      `${count > 1 ? `; ${count} ids are out of range (smallest ${range[0]}, largest ${range[1]})` : ""}. ` +
      "Use a tokenizer that matches the model's vocabulary, or map unknown tokens to a valid id " +
      "(such as an <unk> token).",
  );
}

/**
 * Looks up token ids in an embedding table (penzai's `EmbeddingLookup`): an integer array of
 * named axes becomes those axes plus the embedding axes.
 *
 * Ids outside `[0, vocabulary size)` raise a {@link TokenIdOutOfRangeError} (tfjs would fail with
 * a bare kernel error on wasm and cpu, and silently read zeros on webgl). The check reads the ids
 * back to the host; see {@link setTokenIdChecks} for its cost and how to skip it.
 *
 * @example
 * new EmbeddingLookup({ table }).call(tokens); // {batch, seq} -> {batch, seq, embedding}
 */
export class EmbeddingLookup extends Layer.define(
  { table: field<EmbeddingTable>() },
  { name: "EmbeddingLookup" },
) {
  /** Integer token ids with named axes only. */
  inputStructure(): unknown {
    return new ArraySpec({ namedShape: dimVar("B"), dtype: dtypes.integer });
  }

  /** The input's axes plus the embedding axes. */
  outputStructure(): unknown {
    const spec = this.table.embeddings.valueStructure as ArraySpec;
    return new ArraySpec({
      namedShape: { ...dimVar("B").unpackNamed(), ...this.table.embeddingAxes() },
      dtype: spec.dtype,
    });
  }

  /**
   * Gathers one embedding per token.
   *
   * @throws TokenIdOutOfRangeError for an id outside `[0, vocabulary size)` (unless checks are off).
   */
  @checkedLayerCall
  call(tokens: NamedArrayBase): NamedArray {
    const table = this.table.embeddings.value;
    return tidy(() => {
      const layerType = className(this.constructor);
      const named = requireNamed(tokens, layerType);
      const namedTable = requireNamed(table, `${layerType} table`);
      const vocab = this.table.vocabularyAxis;
      if (tokenIdChecks && !isTracing()) {
        const ids = dataOf(named);
        checkTokenIds(layerType, ids.data, ids.names, vocab, namedTable.namedShape[vocab]!);
      }
      const ids = named.dtype === "int32" ? named : named.astype("int32");
      // Ids are checked above (or promised valid by the caller who turned the checks off), so the
      // gather skips named's bounds handling: one tf.gather, as a hand-written lookup.
      return namedTable
        .at({ [vocab]: ids })
        .get({ mode: "promise_in_bounds" })
        .withPositionalPrefix();
    });
  }
}

/**
 * Decodes embeddings into logits over the vocabulary with the (tied) table (penzai's
 * `EmbeddingDecode`): contracts the embedding axes with the table.
 *
 * @example
 * new EmbeddingDecode({ table }).call(x); // {batch, seq, embedding} -> {batch, seq, vocabulary}
 */
export class EmbeddingDecode extends Layer.define(
  { table: field<EmbeddingTable>() },
  { name: "EmbeddingDecode" },
) {
  /** Floating with the embedding axes. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: { ...dimVar("B").unpackNamed(), ...this.table.embeddingAxes() },
      dtype: dtypes.floating,
    });
  }

  /** Floating with the vocabulary axis. */
  outputStructure(): unknown {
    const vocab = this.table.vocabularyAxis;
    return new ArraySpec({
      namedShape: { ...dimVar("B").unpackNamed(), [vocab]: this.table.tableShape()[vocab]! },
      dtype: dtypes.floating,
    });
  }

  /** Logits `x · tableᵀ`. */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const table = this.table.embeddings.value;
    return tidy(() =>
      dot(requireNamed(x, "EmbeddingDecode"), table, {
        contract: Object.keys(this.table.embeddingAxes()),
      }),
    );
  }
}

/**
 * Rotary position embeddings (penzai's `ApplyRoPE`, half-split rotation): along `embeddingAxis`
 * of size d, the halves `a`, `b` become `a·cos θ − b·sin θ` and `b·cos θ + a·sin θ` with
 * `θ = position / maxWavelength^(2i/d)`. Positions are a side input: an integer named array whose
 * axes are a subset of the input's.
 *
 * @example
 * const rope = ApplyRoPE.fromConfig("token_positions", "projection");
 */
export class ApplyRoPE extends Layer.define(
  {
    embeddingAxis: field<string>({ static: true }),
    maxWavelength: field<number>({ static: true }),
    positions: field<SideInputEffect<NamedArrayBase>>(),
  },
  { name: "ApplyRoPE" },
) {
  /**
   * Builds an `ApplyRoPE` asking for positions under `positionsTag`.
   *
   * @example
   * ApplyRoPE.fromConfig("token_positions", "projection", 10_000);
   */
  static fromConfig(
    positionsTag: unknown,
    embeddingAxis: string,
    maxWavelength = 10_000,
  ): ApplyRoPE {
    return new ApplyRoPE({
      embeddingAxis,
      maxWavelength,
      positions: new SideInputRequest({ tag: positionsTag }),
    });
  }

  /** Floating with the embedding axis. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: { ...dimVar("B").unpackNamed(), [this.embeddingAxis]: dimVar("F") },
      dtype: dtypes.floating,
    });
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return this.inputStructure();
  }

  /**
   * Rotates `x` by the positions.
   *
   * @throws DtypeMismatchError when the positions are not integers (int32).
   * @throws EmptyAxisError when an axis of the input has size 0.
   * @throws AxisNameError when the positions' axes do not fit the input.
   * @throws NamedShapeMismatchError when the embedding axis has an odd size.
   */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const positions = this.positions.ask();
    const layerType = className(this.constructor);
    return tidy(() => {
      const named = requireNamed(x, layerType);
      const pos = requireNamed(positions, `${layerType} positions`);
      const emb = this.embeddingAxis;
      if (pos.dtype !== "int32") {
        throw new DtypeMismatchError(
          `${layerType}: the positions side input must hold integer token positions (int32), but ` +
            `it has dtype ${pos.dtype} (axes ${JSON.stringify(pos.namedShape)}). Build positions ` +
            'with integers, e.g. nx.arange("seq", n), or convert them with positions.astype("int32").',
        );
      }
      for (const [name, size] of Object.entries(named.namedShape)) {
        if (size === 0) {
          throw new EmptyAxisError(
            `${layerType}: the input ${JSON.stringify(named.namedShape)} has axis "${name}" of size ` +
              "0, so there is nothing to rotate. Call the model with at least one token per " +
              "sequence (an empty prompt has no position to start from).",
          );
        }
      }
      const posNames = Object.keys(pos.namedShape);
      if (posNames.includes(emb)) {
        throw new AxisNameError(
          `${layerType}: the positions have the embedding axis "${emb}"; positions must be indexed by the other axes only.`,
        );
      }
      const missing = posNames.filter((n) => !Object.hasOwn(named.namedShape, n));
      if (missing.length > 0) {
        throw new AxisNameError(
          `${layerType}: position axes ${JSON.stringify(missing)} are not axes of the input ${JSON.stringify(named.namedShape)}. ` +
            "Give positions a subset of the input's axes (e.g. {batch, seq}).",
        );
      }
      // Kernels per call: Cast, Reshape (when the positions lack axes of
      // the input), Mul, Sin, Cos, Gather, Mul, Mul, Add. The input keeps its layout: the
      // rotation works along the embedding axis wherever it is.
      const { data, names } = dataOf(named);
      const axis = names.indexOf(emb);
      const d = named.namedShape[emb]!;
      if (d % 2 !== 0) {
        throw new NamedShapeMismatchError(
          `${layerType}: the embedding axis "${emb}" has size ${d}; it must be even (its two halves are rotated as pairs).`,
        );
      }
      const { inverseTimescale, swapHalves } = ropeConstants(d, this.maxWavelength);
      // Positions laid out like the input, with size-1 axes where positions do not vary.
      const posOrder = names.filter((n) => posNames.includes(n));
      const posData = pos.orderAs(...posOrder).dataArray;
      const posShape = names.map((n) => (posNames.includes(n) ? named.namedShape[n]! : 1));
      const posFloat = tf.cast(posData, "float32");
      // θ with the sign of the rotation folded in, over the whole axis: [-θ, θ]. Multiplying by a
      // host-computed 1 / timescale rounds twice like dividing by a rounded timescale did.
      const theta = tf.mul(
        tf.reshape(posFloat, posShape),
        tf.tensor(inverseTimescale, [d, ...names.slice(axis + 1).map(() => 1)], "float32"),
      );
      const cos = tf.cos(theta); // [cos θ, cos θ]
      const sin = tf.sin(theta); // [-sin θ, sin θ]
      // [a, b] -> [b, a] along the axis; then a·cos θ − b·sin θ and b·cos θ + a·sin θ in one go.
      const swapped = tf.gather(data, tf.tensor1d(swapHalves, "int32"), axis);
      const rotated = tf.add(tf.mul(data, cos), tf.mul(swapped, sin));
      return wrap(rotated.dtype === data.dtype ? rotated : tf.cast(rotated, data.dtype), ...names);
    });
  }
}

/** Host constants of a rotation over `d` (even) features; plain arrays, no tensors. */
interface RopeConstants {
  /** `[-1 / timescale, 1 / timescale]`, `timescale_i = maxWavelength^(2i/d)`. */
  readonly inverseTimescale: Float32Array;
  /** Indices that swap the two halves. */
  readonly swapHalves: Int32Array;
}

const ropeConstantsCache = new Map<string, RopeConstants>();

function ropeConstants(d: number, maxWavelength: number): RopeConstants {
  const key = `${d}/${maxWavelength}`;
  let found = ropeConstantsCache.get(key);
  if (found === undefined) {
    const half = d / 2;
    const inverseTimescale = new Float32Array(d);
    const swapHalves = new Int32Array(d);
    for (let i = 0; i < half; i++) {
      const inverse = 1 / maxWavelength ** ((2 * i) / d);
      inverseTimescale[i] = -inverse;
      inverseTimescale[half + i] = inverse;
      swapHalves[i] = half + i;
      swapHalves[half + i] = i;
    }
    found = { inverseTimescale, swapHalves };
    if (ropeConstantsCache.size > 64) ropeConstantsCache.clear();
    ropeConstantsCache.set(key, found);
  }
  return found;
}
