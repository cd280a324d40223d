/**
 * The simple MLP of penzai's `example_models/simple_mlp.py`: affine layers on one feature axis with
 * an activation in between.
 *
 * @module
 */

import {
  Affine,
  addParameterPrefix,
  Elementwise,
  type ElementwiseFn,
  Sequential,
  StochasticDropout,
} from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { ModelConfigError } from "./errors.js";

/** Options of {@link MLP.fromConfig}. */
export interface MLPConfig {
  /** The activation between affine layers; default `tf.relu`. */
  activationFn?: ElementwiseFn;
  /** The feature axis name; default `"features"`. */
  featureAxis?: string;
}

function checkSizes(featureSizes: readonly number[], where: string): void {
  if (featureSizes.length < 2 || !featureSizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new ModelConfigError(
      `${where}: featureSizes must list at least two positive integer sizes (input, ..., output), got ${JSON.stringify(featureSizes)}.`,
    );
  }
}

/**
 * A multi-layer perceptron (penzai's `MLP`): `Affine` layers named `Affine_0`, `Affine_1`, ...
 * from each size to the next, with the activation between them, all on one feature axis.
 *
 * @example
 * const mlp = initializeParameters(MLP.fromConfig([8, 16, 32, 32]), random.key(0));
 * mlp.call(nx.wrap(x).tag("batch", "features")); // {batch, features: 32}
 */
export class MLP extends Sequential.define({}, { name: "MLP" }) {
  /**
   * Builds the uninitialized MLP.
   *
   * @param featureSizes sizes of the feature axis from input to output (at least two).
   * @throws ModelConfigError for fewer than two sizes.
   */
  static fromConfig(featureSizes: readonly number[], config: MLPConfig = {}): MLP {
    checkSizes(featureSizes, "MLP.fromConfig");
    const activation = config.activationFn ?? tf.relu;
    const axis = config.featureAxis ?? "features";
    const sublayers: unknown[] = [];
    for (let i = 0; i + 1 < featureSizes.length; i++) {
      if (i > 0) sublayers.push(new Elementwise({ fn: activation }));
      sublayers.push(affine(i, axis, featureSizes[i]!, featureSizes[i + 1]!));
    }
    return new MLP({ sublayers: sublayers as any });
  }
}

/**
 * An MLP with dropout before each activation (penzai's `DropoutMLP`). It asks for randomness, so it
 * must be wrapped in a random handler (`WithRandomKeyFromArg.handling(mlp)`, called with `[x, key]`).
 *
 * @example
 * const mlp = DropoutMLP.fromConfig([8, 16, 8], 0.1);
 */
export class DropoutMLP extends Sequential.define({}, { name: "DropoutMLP" }) {
  /**
   * Builds the uninitialized dropout MLP.
   *
   * @param dropRate probability of dropping each activation, in [0, 1).
   */
  static fromConfig(
    featureSizes: readonly number[],
    dropRate: number,
    config: MLPConfig = {},
  ): DropoutMLP {
    checkSizes(featureSizes, "DropoutMLP.fromConfig");
    if (!(dropRate >= 0 && dropRate < 1)) {
      throw new ModelConfigError(
        `DropoutMLP.fromConfig: dropRate must be in [0, 1), got ${dropRate}.`,
      );
    }
    const activation = config.activationFn ?? tf.relu;
    const axis = config.featureAxis ?? "features";
    const sublayers: unknown[] = [];
    for (let i = 0; i + 1 < featureSizes.length; i++) {
      if (i > 0) {
        sublayers.push(new StochasticDropout({ dropRate }));
        sublayers.push(new Elementwise({ fn: activation }));
      }
      sublayers.push(affine(i, axis, featureSizes[i]!, featureSizes[i + 1]!));
    }
    return new DropoutMLP({ sublayers: sublayers as any });
  }
}

function affine(i: number, axis: string, from: number, to: number): Affine {
  return addParameterPrefix(`Affine_${i}`, Affine.fromConfig({ [axis]: from }, { [axis]: to }));
}
