/**
 * Embeddings: `EmbeddingTable`, `EmbeddingLookup`, `EmbeddingDecode` and rotary position
 * embeddings `ApplyRoPE` (penzai v1 `nn/embeddings.py`).
 *
 * @module
 */

import { SideInputRequest } from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import type { NamedArray } from "@saikei/named";
import { ArraySpec, var as dimVar, dtypes } from "@saikei/shapecheck";
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { AxisConfigurationError, AxisMismatchError } from "./errors.js";
import {
  type AxisSizes,
  type LinearOperatorWeightInitializer,
  varianceScalingInitializer,
} from "./initializers.js";
import { memo } from "./internal/memo.js";
import { contractNamed, dataAs, dataOf, requireNamed, wrapAs } from "./internal/named.js";
import { keepClassName } from "./internal/names.js";
import { tidyCall } from "./internal/tidy.js";
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

/**
 * A table of embeddings shared by lookup and decode layers (penzai's `EmbeddingTable`). A struct,
 * not a layer.
 *
 * @example
 * const table = EmbeddingTable.fromConfig(11, { embedding: 16 });
 */
export class EmbeddingTable extends Struct.define({
  embeddings: field<ParameterLike<NamedArray>>(),
  vocabularyAxis: field<string>({ static: true }),
}) {
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
   * @example
   * EmbeddingTable.fromConfig(11, { embedding: 16 }, { vocabularyAxis: "vocab" });
   */
  static fromConfig(
    vocabSize: number,
    embeddingAxes: AxisSizes,
    config: EmbeddingTableConfig = {},
  ): EmbeddingTable {
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
        initializer: (key: any) =>
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

/**
 * Looks up token ids in an embedding table (penzai's `EmbeddingLookup`): an integer array of
 * named axes becomes those axes plus the embedding axes.
 *
 * @example
 * new EmbeddingLookup({ table }).call(tokens); // {batch, seq} -> {batch, seq, embedding}
 */
export class EmbeddingLookup extends Layer.define({ table: field<EmbeddingTable>() }) {
  static {
    keepClassName(EmbeddingLookup, "EmbeddingLookup");
  }

  /** Integer token ids with named axes only. */
  inputStructure(): unknown {
    return memo(this, "inputStructure", () => {
      return new ArraySpec({ namedShape: dimVar("B"), dtype: dtypes.integer });
    });
  }

  /** The input's axes plus the embedding axes. */
  outputStructure(): unknown {
    return memo(this, "outputStructure", () => {
      const spec = this.table.embeddings.valueStructure as ArraySpec;
      return new ArraySpec({
        namedShape: { ...dimVar("B").unpackNamed(), ...this.table.embeddingAxes() },
        dtype: spec.dtype,
      });
    });
  }

  /** Gathers one embedding per token. */
  @checkedLayerCall
  call(tokens: NamedArray): NamedArray {
    const table = this.table.embeddings.value;
    return tidyCall(() => {
      const ids = dataOf(requireNamed(tokens, "EmbeddingLookup"));
      const vocab = this.table.vocabularyAxis;
      const embeddingNames = Object.keys(this.table.embeddingAxes());
      const tableData = dataAs(requireNamed(table, "EmbeddingLookup table"), [
        vocab,
        ...embeddingNames,
      ]);
      const gathered = tf.gather(tableData, tf.cast(ids.data, "int32"));
      return wrapAs(gathered, [...ids.names, ...embeddingNames]);
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
export class EmbeddingDecode extends Layer.define({ table: field<EmbeddingTable>() }) {
  static {
    keepClassName(EmbeddingDecode, "EmbeddingDecode");
  }

  /** Floating with the embedding axes. */
  inputStructure(): unknown {
    return memo(this, "inputStructure", () => {
      return new ArraySpec({
        namedShape: { ...dimVar("B").unpackNamed(), ...this.table.embeddingAxes() },
        dtype: dtypes.floating,
      });
    });
  }

  /** Floating with the vocabulary axis. */
  outputStructure(): unknown {
    return memo(this, "outputStructure", () => {
      const vocab = this.table.vocabularyAxis;
      return new ArraySpec({
        namedShape: { ...dimVar("B").unpackNamed(), [vocab]: this.table.tableShape()[vocab]! },
        dtype: dtypes.floating,
      });
    });
  }

  /** Logits `x · tableᵀ`. */
  @checkedLayerCall
  call(x: NamedArray): NamedArray {
    const table = this.table.embeddings.value;
    return tidyCall(() =>
      contractNamed(
        Object.keys(this.table.embeddingAxes()),
        requireNamed(x, "EmbeddingDecode"),
        table,
        "EmbeddingDecode",
      ),
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
export class ApplyRoPE extends Layer.define({
  embeddingAxis: field<string>({ static: true }),
  maxWavelength: field<number>({ static: true }),
  positions: field<any>(),
}) {
  static {
    keepClassName(ApplyRoPE, "ApplyRoPE");
  }

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
    return memo(this, "inputStructure", () => {
      return new ArraySpec({
        namedShape: { ...dimVar("B").unpackNamed(), [this.embeddingAxis]: dimVar("F") },
        dtype: dtypes.floating,
      });
    });
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return memo(this, "outputStructure", () => {
      return this.inputStructure();
    });
  }

  /** Rotates `x` by the positions. */
  @checkedLayerCall
  call(x: NamedArray): NamedArray {
    const positions = this.positions.ask() as NamedArray;
    return tidyCall(() => {
      const named = requireNamed(x, "ApplyRoPE");
      const pos = requireNamed(positions, "ApplyRoPE positions");
      const emb = this.embeddingAxis;
      const posNames = Object.keys(pos.namedShape);
      if (posNames.includes(emb)) {
        throw new AxisMismatchError(
          `ApplyRoPE: the positions have the embedding axis "${emb}"; positions must be indexed by the other axes only.`,
        );
      }
      const missing = posNames.filter((n) => !Object.hasOwn(named.namedShape, n));
      if (missing.length > 0) {
        throw new AxisMismatchError(
          `ApplyRoPE: position axes ${JSON.stringify(missing)} are not axes of the input ${JSON.stringify(named.namedShape)}. ` +
            "Give positions a subset of the input's axes (e.g. {batch, seq}).",
        );
      }
      const { names } = dataOf(named);
      const others = names.filter((n) => n !== emb);
      const order = [...others, emb];
      const data = dataAs(named, order);
      const d = named.namedShape[emb]!;
      const half = Math.floor(d / 2);
      const timescale = Array.from({ length: half }, (_, i) => this.maxWavelength ** ((2 * i) / d));
      // Positions laid out like `others`, with size-1 axes where positions do not vary.
      const posOrder = others.filter((n) => posNames.includes(n));
      const posData = tf.cast(dataAs(pos, posOrder), "float32");
      const posShape = others.map((n) => (posNames.includes(n) ? named.namedShape[n]! : 1));
      const theta = tf.div(tf.reshape(posData, [...posShape, 1]), tf.tensor1d(timescale));
      const sin = tf.sin(theta);
      const cos = tf.cos(theta);
      const [a, b] = tf.split(data, [half, d - half], -1) as [tf.Tensor, tf.Tensor];
      const rotated = tf.concat(
        [tf.sub(tf.mul(a, cos), tf.mul(b, sin)), tf.add(tf.mul(b, cos), tf.mul(a, sin))],
        -1,
      );
      return wrapAs(tf.cast(rotated, data.dtype), order);
    });
  }
}
