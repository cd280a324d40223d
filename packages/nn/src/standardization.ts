/**
 * Standardization layers: `Standardize`, `LayerNorm`, `RMSStandardize`, `RMSLayerNorm` (penzai v1
 * `nn/standardization.py`). Epsilon defaults to 1e-6.
 *
 * @module
 */

import { checkedLayerCall, Layer } from "@saikei/layer";
import { type NamedArray, type NamedArrayBase, tidy, wrap } from "@saikei/named";
import { ArraySpec, var as dimVar, dtypes, varsForAxes } from "@saikei/shapecheck";
import { checkOptions, className, field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { axesList } from "./basicOps.js";
import { Sequential } from "./grouping.js";
import { type AxisSizes, constantInitializer } from "./initializers.js";
import { dataOf, requireNamed } from "./internal/named.js";
import { optionKeys } from "./internal/options.js";
import { AddBias, Linear } from "./linearAndAffine.js";
import { addParameterPrefix } from "./parameters.js";

/** Default epsilon of every standardization layer. */
export const DEFAULT_EPSILON = 1e-6;

function acrossSpec(across: string | readonly string[]): ArraySpec {
  return new ArraySpec({
    namedShape: { ...dimVar("B").unpackNamed(), ...varsForAxes("across", axesList(across)) },
    dtype: dtypes.floating,
  });
}

function reduceAxes(
  x: NamedArrayBase,
  across: string | readonly string[],
): { data: tf.Tensor; names: string[]; axes: number[] } {
  const { data, names } = dataOf(x);
  return { data, names, axes: axesList(across).map((n) => names.indexOf(n)) };
}

/**
 * What `Standardize` and `RMSStandardize` share: the axes they normalize over, epsilon, their
 * structures (floating, with the `across` axes; the output like the input) and the call, which
 * reduces over `across` and hands the tensor to {@link normalize}.
 */
export abstract class StandardizationLayer extends Layer.define(
  {
    across: field<string | readonly string[]>({ static: true }),
    epsilon: field<number | tf.Tensor>({ default: DEFAULT_EPSILON }),
  },
  { name: "StandardizationLayer" },
) {
  /** Floating, with the `across` axes. */
  inputStructure(): unknown {
    return acrossSpec(this.across);
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return acrossSpec(this.across);
  }

  /** The normalization of `data` over its axes `axes` (kept dimensions). */
  protected abstract normalize(data: tf.Tensor, axes: number[]): tf.Tensor;

  /** Normalizes `x` over `across`. */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    return tidy(() => {
      const named = requireNamed(x, className(this.constructor));
      const { data, names, axes } = reduceAxes(named, this.across);
      return wrap(this.normalize(data, axes), ...names);
    });
  }
}

/**
 * Standardizes jointly over `across`: `(x - mean) * rsqrt(mean(x²) - mean² + epsilon)` (penzai's
 * `Standardize`, i.e. `jax.nn.standardize`).
 *
 * @example
 * new Standardize({ across: "embedding" }).call(x);
 */
export class Standardize extends StandardizationLayer.define({}, { name: "Standardize" }) {
  protected normalize(data: tf.Tensor, axes: number[]): tf.Tensor {
    const mean = tf.mean(data, axes, true);
    const meanSquare = tf.mean(tf.square(data), axes, true);
    const variance = tf.sub(meanSquare, tf.square(mean));
    return tf.mul(tf.sub(data, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
  }
}

/**
 * Divides by the root mean square over `across`: `x / sqrt(mean(x²) + epsilon)` (penzai's
 * `RMSStandardize`).
 *
 * @example
 * new RMSStandardize({ across: "embedding" }).call(x);
 */
export class RMSStandardize extends StandardizationLayer.define({}, { name: "RMSStandardize" }) {
  protected normalize(data: tf.Tensor, axes: number[]): tf.Tensor {
    const meanSquare = tf.mean(tf.square(data), axes, true);
    // One Rsqrt kernel rather than Sqrt then Reciprocal.
    return tf.mul(data, tf.rsqrt(tf.add(meanSquare, this.epsilon)));
  }
}

/** The learned scale of both layer norms: a `Linear` over `acrossAxes` in parallel, from ones. */
function unitScale(acrossAxes: AxisSizes, dtype: tf.DataType): Layer {
  return addParameterPrefix(
    "scale",
    Linear.fromConfig(
      {},
      {},
      { parallelAxes: acrossAxes, initializer: constantInitializer(1), dtype },
    ),
  );
}

/** Options of the layer-norm builders. */
export interface LayerNormConfig {
  /** Epsilon; default 1e-6. */
  epsilon?: number;
  /** Parameter dtype; default `"float32"`. */
  dtype?: tf.DataType;
}

const LAYER_NORM_CONFIG_KEYS = optionKeys<LayerNormConfig>({ epsilon: true, dtype: true });

/**
 * Layer normalization (penzai's `LayerNorm`): `[Standardize, scale (Linear, ones), shift (AddBias,
 * zeros)]`, parameters `scale.weights` and `shift.bias`.
 *
 * @example
 * LayerNorm.fromConfig({ embedding: 16 });
 */
export class LayerNorm extends Sequential.define({}, { name: "LayerNorm" }) {
  /**
   * Builds a layer norm over `acrossAxes`.
   *
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * LayerNorm.fromConfig({ embedding: 16 }, { epsilon: 1e-5 });
   */
  static fromConfig(acrossAxes: AxisSizes, config: LayerNormConfig = {}): LayerNorm {
    checkOptions("LayerNorm.fromConfig", config, LAYER_NORM_CONFIG_KEYS);
    const dtype = config.dtype ?? "float32";
    return new LayerNorm({
      sublayers: [
        new Standardize({
          across: Object.keys(acrossAxes),
          epsilon: config.epsilon ?? DEFAULT_EPSILON,
        }),
        unitScale(acrossAxes, dtype),
        addParameterPrefix("shift", AddBias.fromConfig(acrossAxes, { dtype })),
      ],
    });
  }

  /** Layer norms get no group colour of their own. */
  override treescopeColor(): string | undefined {
    return undefined;
  }
}

/**
 * RMS normalization (penzai's `RMSLayerNorm`): `[RMSStandardize, scale (Linear, ones)]`,
 * parameter `scale.weights`.
 *
 * @example
 * RMSLayerNorm.fromConfig({ embedding: 16 });
 */
export class RMSLayerNorm extends Sequential.define({}, { name: "RMSLayerNorm" }) {
  /**
   * Builds an RMS norm over `acrossAxes`.
   *
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * RMSLayerNorm.fromConfig({ embedding: 16 });
   */
  static fromConfig(acrossAxes: AxisSizes, config: LayerNormConfig = {}): RMSLayerNorm {
    checkOptions("RMSLayerNorm.fromConfig", config, LAYER_NORM_CONFIG_KEYS);
    const dtype = config.dtype ?? "float32";
    return new RMSLayerNorm({
      sublayers: [
        new RMSStandardize({
          across: Object.keys(acrossAxes),
          epsilon: config.epsilon ?? DEFAULT_EPSILON,
        }),
        unitScale(acrossAxes, dtype),
      ],
    });
  }

  /** RMS norms get no group colour of their own. */
  override treescopeColor(): string | undefined {
    return undefined;
  }
}
