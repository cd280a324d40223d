/**
 * Weight initializers for linear operators (penzai v1 `nn/linear_and_affine.py`): variance
 * scaling (Xavier uniform / normal), constants and zeros. Each takes a random key and the axes of
 * the weight by role, and returns a `NamedArray`.
 *
 * @module
 */

import { type NamedArray, type RandomKey, random, wrap } from "@saikei/named";
import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { AxisConfigurationError } from "./errors.js";
import { optionKeys } from "./internal/options.js";

/** Axis sizes by name. */
export type AxisSizes = Readonly<Record<string, number>>;

/** The axes of a weight by role, and its dtype. */
export interface InitializerAxes {
  /** Axes contracted with the input. */
  inputAxes: AxisSizes;
  /** Axes of the output. */
  outputAxes: AxisSizes;
  /** Axes shared by input, weight and output (one independent operator per index). */
  parallelAxes?: AxisSizes;
  /** Spatial axes of a convolution kernel (count in both fans). */
  convolutionSpatialAxes?: AxisSizes;
  /** Weight dtype; default `"float32"`. */
  dtype?: tf.DataType;
}

const INITIALIZER_AXES_KEYS = optionKeys<InitializerAxes>({
  inputAxes: true,
  outputAxes: true,
  parallelAxes: true,
  convolutionSpatialAxes: true,
  dtype: true,
});

/**
 * A weight initializer (penzai's `LinearOperatorWeightInitializer`).
 *
 * @example
 * const init: LinearOperatorWeightInitializer = xavierUniformInitializer;
 * init(random.key(0), { inputAxes: { a: 3 }, outputAxes: { b: 4 } }); // NamedArray {a: 3, b: 4}
 */
export type LinearOperatorWeightInitializer = (key: RandomKey, axes: InitializerAxes) => NamedArray;

/**
 * Throws when an axis name is used in more than one role (penzai's
 * `check_unique_axis_names_for_initializer`).
 *
 * @throws AxisConfigurationError naming the duplicated axes.
 * @example
 * checkUniqueAxisNamesForInitializer({ a: 2 }, { a: 3 }, {}, {}); // throws
 */
export function checkUniqueAxisNamesForInitializer(
  inputAxes: AxisSizes,
  outputAxes: AxisSizes,
  parallelAxes: AxisSizes = {},
  convolutionSpatialAxes: AxisSizes = {},
): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const group of [inputAxes, outputAxes, parallelAxes, convolutionSpatialAxes]) {
    for (const name of Object.keys(group)) {
      if (seen.has(name)) duplicates.add(name);
      seen.add(name);
    }
  }
  if (duplicates.size > 0) {
    throw new AxisConfigurationError(
      `Duplicate axis names during initialization: ${JSON.stringify([...duplicates])}. Each axis must be ` +
        "an input, output, parallel or convolution axis, not several of these; rename one of them.",
    );
  }
}

/** Options of {@link varianceScalingInitializer}. */
export interface VarianceScalingOptions {
  /** Multiplier of the variance. */
  scale: number;
  /** Which fan divides the scale. */
  mode: "fan_in" | "fan_out" | "fan_avg";
  /** Distribution of the values. */
  distribution: "uniform" | "normal" | "truncated_normal";
}

const VARIANCE_SCALING_KEYS = optionKeys<VarianceScalingOptions>({
  scale: true,
  mode: true,
  distribution: true,
});

function product(sizes: AxisSizes): number {
  let p = 1;
  for (const s of Object.values(sizes)) p *= s;
  return p;
}

/**
 * Variance-scaling initialization (penzai's `variance_scaling_initializer`, JAX's
 * `variance_scaling`). The weight's axes are ordered `[...parallel, ...convolution, ...input,
 * ...output]`; `fanIn = Π input · Π conv`, `fanOut = Π output · Π conv`; the variance is
 * `scale / fan` (`fan_avg` uses the mean of both). Uniform draws from `±sqrt(3·variance)`, normal
 * has standard deviation `sqrt(variance)`, truncated normal is cut at ±2 and rescaled by
 * `1 / 0.87962566103423978`.
 *
 * @example
 * varianceScalingInitializer(random.key(0), { inputAxes: { a: 3 }, outputAxes: { b: 4 } },
 *   { scale: 1, mode: "fan_avg", distribution: "uniform" });
 */
export function varianceScalingInitializer(
  key: RandomKey,
  axes: InitializerAxes,
  opts: VarianceScalingOptions,
): NamedArray {
  checkOptions("varianceScalingInitializer", axes, INITIALIZER_AXES_KEYS);
  checkOptions("varianceScalingInitializer", opts, VARIANCE_SCALING_KEYS);
  const parallel = axes.parallelAxes ?? {};
  const conv = axes.convolutionSpatialAxes ?? {};
  checkUniqueAxisNamesForInitializer(axes.inputAxes, axes.outputAxes, parallel, conv);
  const names = [
    ...Object.keys(parallel),
    ...Object.keys(conv),
    ...Object.keys(axes.inputAxes),
    ...Object.keys(axes.outputAxes),
  ];
  const all = { ...parallel, ...conv, ...axes.inputAxes, ...axes.outputAxes };
  const shape = names.map((n) => all[n]!);
  const receptive = product(conv);
  const fanIn = product(axes.inputAxes) * receptive;
  const fanOut = product(axes.outputAxes) * receptive;
  const fan =
    opts.mode === "fan_in" ? fanIn : opts.mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
  const variance = opts.scale / fan;
  const dtype = axes.dtype ?? "float32";
  const data = tf.tidy(() => {
    let values: tf.Tensor;
    if (opts.distribution === "uniform") {
      const limit = Math.sqrt(3 * variance);
      values = random.uniform(key, shape, { minval: -limit, maxval: limit });
    } else if (opts.distribution === "normal") {
      values = tf.mul(random.normal(key, shape), Math.sqrt(variance));
    } else {
      values = tf.mul(
        random.truncatedNormal(key, shape, -2, 2),
        Math.sqrt(variance) / 0.87962566103423978,
      );
    }
    return values.dtype === dtype ? values : tf.cast(values, dtype);
  });
  return wrap(data, ...names);
}

/**
 * Xavier (Glorot) uniform initialization: variance scaling with scale 1, `fan_avg`, uniform.
 * The default initializer of `Linear.fromConfig`.
 *
 * @example
 * xavierUniformInitializer(random.key(0), { inputAxes: { a: 3 }, outputAxes: { b: 4 } });
 */
export function xavierUniformInitializer(key: RandomKey, axes: InitializerAxes): NamedArray {
  return varianceScalingInitializer(key, axes, {
    scale: 1,
    mode: "fan_avg",
    distribution: "uniform",
  });
}

/**
 * Xavier (Glorot) normal initialization: variance scaling with scale 1, `fan_avg`, normal.
 *
 * @example
 * xavierNormalInitializer(random.key(0), { inputAxes: { a: 3 }, outputAxes: { b: 4 } });
 */
export function xavierNormalInitializer(key: RandomKey, axes: InitializerAxes): NamedArray {
  return varianceScalingInitializer(key, axes, {
    scale: 1,
    mode: "fan_avg",
    distribution: "normal",
  });
}

/**
 * An initializer filling the weight with `value` (penzai's `constant_initializer`). Axes are
 * ordered `[...input, ...output, ...parallel, ...convolution]`, as penzai orders them.
 *
 * @example
 * constantInitializer(1)(random.key(0), { inputAxes: {}, outputAxes: {}, parallelAxes: { features: 4 } });
 */
export function constantInitializer(value: number): LinearOperatorWeightInitializer {
  return (_key, axes) => {
    checkOptions("constantInitializer", axes, INITIALIZER_AXES_KEYS);
    const parallel = axes.parallelAxes ?? {};
    const conv = axes.convolutionSpatialAxes ?? {};
    checkUniqueAxisNamesForInitializer(axes.inputAxes, axes.outputAxes, parallel, conv);
    const all = { ...axes.inputAxes, ...axes.outputAxes, ...parallel, ...conv };
    const names = Object.keys(all);
    return wrap(
      tf.fill(
        names.map((n) => all[n]!),
        value,
        axes.dtype ?? "float32",
      ),
      ...names,
    );
  };
}

/**
 * An initializer filling the weight with zeros (penzai's `zero_initializer`; LoRA's B matrix).
 *
 * @example
 * zeroInitializer(random.key(0), { inputAxes: { a: 2 }, outputAxes: { b: 2 } });
 */
export const zeroInitializer: LinearOperatorWeightInitializer = constantInitializer(0);

/**
 * A bias initializer: `(key, shape, dtype) => tf.Tensor` (penzai's `BiasInitializer`, e.g. JAX's
 * `initializers.zeros`).
 */
export type BiasInitializer = (key: RandomKey, shape: number[], dtype: tf.DataType) => tf.Tensor;

/**
 * The default bias initializer: zeros.
 *
 * @example
 * zerosBiasInitializer(random.key(0), [3], "float32"); // tf.zeros([3])
 */
export const zerosBiasInitializer: BiasInitializer = (_key, shape, dtype) => tf.zeros(shape, dtype);
