/**
 * Linear operators on named axes: `Linear`, `AddBias`, `Affine`, `ConstantRescale`,
 * `LinearInPlace`, `RenameAxes`, `NamedEinsum` and `contract` (penzai v1
 * `nn/linear_and_affine.py`). Every contraction is `nx.dot`, which lowers to plain 2-D
 * `tf.matMul`s.
 *
 * @module
 */

import { checkedLayerCall, Layer, MisconfiguredLayerError } from "@saikei/layer";
import {
  dot,
  isNamedArray,
  type NamedArray,
  type NamedArrayBase,
  type RandomKey,
  tidy,
  wrap,
} from "@saikei/named";
import {
  ArraySpec,
  DimVar,
  var as dimVar,
  dtypes,
  type NamedDim,
  varsForAxes,
} from "@saikei/shapecheck";
import { checkOptions, field, map, options } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { AxisConfigurationError } from "./errors.js";
import { Sequential } from "./grouping.js";
import {
  type AxisSizes,
  type BiasInitializer,
  type LinearOperatorWeightInitializer,
  xavierUniformInitializer,
  zerosBiasInitializer,
} from "./initializers.js";
import { type EinsumAxes, namedEinsum, specMap } from "./internal/einsum.js";
import { renameAxes, requireNamed } from "./internal/named.js";
import { optionKeys } from "./internal/options.js";
import { addParameterPrefix, type ParameterLike, UninitializedParameter } from "./parameters.js";

/** Treescope colour of `Linear` and `LinearInPlace`. */
export const LINEAR_COLOR = "#eba875";
/** Treescope colour of `AddBias`. */
export const ADD_BIAS_COLOR = "#65cfbc";

/**
 * Sums `left * right` over the axes `names` (penzai's `contract`): `nx.dot(left, right, {
 * contract: names })`. Axes in both operands but not contracted are kept (batch axes); the result
 * has every other axis of both operands.
 *
 * @param names one axis name or several.
 * @throws PositionalAxesError when an operand has positional axes (or is a plain tf.Tensor).
 * @throws AxisNameError when a contracted axis is missing from an operand (from `nx.dot`).
 * @throws NamedShapeMismatchError when a shared axis has two sizes (from `nx.dot`).
 * @example
 * contract("features", nx.ones({ batch: 2, features: 3 }), nx.ones({ features: 3, out: 4 })); // {batch: 2, out: 4}, all 3
 */
export function contract(
  names: string | readonly string[],
  left: NamedArrayBase,
  right: NamedArrayBase,
): NamedArray {
  const list = typeof names === "string" ? [names] : [...names];
  return dot(requireNamed(left, "contract"), requireNamed(right, "contract"), { contract: list });
}

function namedShapeOf(structure: unknown, where: string): Record<string, number> {
  const shape = (structure as ArraySpec | undefined)?.namedShape as
    | Record<string, unknown>
    | undefined;
  if (shape === undefined || typeof shape !== "object") {
    throw new MisconfiguredLayerError(
      `${where}: the parameter's valueStructure is not an ArraySpec with a named shape (got ${String(structure)}). ` +
        "Build the parameter with an initializer returning a NamedArray.",
    );
  }
  return shape as Record<string, number>;
}

function without(
  shape: Readonly<Record<string, number>>,
  names: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [n, s] of Object.entries(shape)) if (!names.includes(n)) out[n] = s;
  return out;
}

/** The result of {@link maybeRenameOutputAxes}. */
export interface RenamedOutputAxes {
  /** The output axes, overlapping ones renamed to `<name>_out`. */
  outputAxes: Record<string, number>;
  /** The temporary names given to overlapping axes, in order. */
  primed: string[];
  /** The original names of those axes, in the same order. */
  original: string[];
}

/**
 * Renames every output axis that is also an input axis to `<name>_out` (the rule
 * `Linear.fromConfig` uses to build a `LinearInPlace`). Non-overlapping axes keep their names.
 *
 * @throws AxisConfigurationError when `<name>_out` is itself an input axis.
 * @example
 * maybeRenameOutputAxes({ features: 8 }, { features: 16 });
 * // { outputAxes: { features_out: 16 }, primed: ["features_out"], original: ["features"] }
 */
export function maybeRenameOutputAxes(
  inputAxes: AxisSizes,
  outputAxes: AxisSizes,
): RenamedOutputAxes {
  const renamed: Record<string, number> = {};
  const primed: string[] = [];
  const original: string[] = [];
  for (const [n, size] of Object.entries(outputAxes)) {
    if (Object.hasOwn(inputAxes, n)) {
      const primedName = `${n}_out`;
      if (Object.hasOwn(inputAxes, primedName)) {
        throw new AxisConfigurationError(
          `Tried to rename ${n} to ${primedName} to avoid a conflict, but both names are already in inputAxes. ` +
            "Choose different axis names.",
        );
      }
      renamed[primedName] = size;
      primed.push(primedName);
      original.push(n);
    } else {
      renamed[n] = size;
    }
  }
  return { outputAxes: renamed, primed, original };
}

/** Options of {@link Linear.fromConfig}. */
export interface LinearConfig {
  /** Axes the weight has with the input and output both (one operator per index). */
  parallelAxes?: AxisSizes;
  /** Axes only the weight and output have (the input is broadcast along them). */
  parallelBroadcastAxes?: AxisSizes;
  /** Weight initializer; default {@link xavierUniformInitializer}. */
  initializer?: LinearOperatorWeightInitializer;
  /** Weight dtype; default `"float32"`. */
  dtype?: tf.DataType;
  /** Rename overlapping output axes to `<name>_out` and back (default true). */
  renameOutputsIfNecessary?: boolean;
}

const LINEAR_CONFIG_KEYS = optionKeys<LinearConfig>({
  parallelAxes: true,
  parallelBroadcastAxes: true,
  initializer: true,
  dtype: true,
  renameOutputsIfNecessary: true,
});

/**
 * A linear operator on named axes (penzai's `Linear`): contracts the input's `inAxisNames` with
 * the weight; the result has the weight's other axes plus the input's remaining axes.
 *
 * @example
 * const linear = Linear.fromConfig({ embedding: 16 }, { heads: 2, projection: 4 });
 * initializeParameters(linear, random.key(0)).call(x); // x {batch, embedding} -> {batch, heads, projection}
 */
export class Linear extends Layer.define(
  {
    weights: field<ParameterLike<NamedArray>>(),
    inAxisNames: field<readonly string[]>({ static: true }),
    outAxisNames: field<readonly string[]>({ static: true }),
  },
  { name: "Linear" },
) {
  /** The weight's named shape (from its value structure, so placeholders work). */
  weightShape(): Record<string, number> {
    return namedShapeOf(this.weights.valueStructure, "Linear");
  }

  /** Axes contracted with the input. */
  get inputAxes(): Record<string, number> {
    const shape = this.weightShape();
    return Object.fromEntries(Object.entries(shape).filter(([n]) => this.inAxisNames.includes(n)));
  }

  /** Axes produced in the output. */
  get outputAxes(): Record<string, number> {
    const shape = this.weightShape();
    return Object.fromEntries(Object.entries(shape).filter(([n]) => this.outAxisNames.includes(n)));
  }

  /** Axes shared by input, weight and output. */
  get parallelAxes(): Record<string, number> {
    const shape = this.weightShape();
    return Object.fromEntries(
      Object.entries(shape).filter(
        ([n]) => !this.inAxisNames.includes(n) && !this.outAxisNames.includes(n),
      ),
    );
  }

  /** Floating input with the weight's non-output axes. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: {
        ...dimVar("B").unpackNamed(),
        ...without(this.weightShape(), this.outAxisNames),
      },
      dtype: dtypes.floating,
    });
  }

  /** Floating output with the weight's non-input axes. */
  outputStructure(): unknown {
    return new ArraySpec({
      namedShape: {
        ...dimVar("B").unpackNamed(),
        ...without(this.weightShape(), this.inAxisNames),
      },
      dtype: dtypes.floating,
    });
  }

  /** Contracts `x` with the weights over `inAxisNames` (with none, multiplies by axis name). */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const weights = this.weights.value;
    return tidy(() => {
      const named = requireNamed(x, "Linear");
      if (this.inAxisNames.length === 0) return named.mul(weights).withPositionalPrefix();
      return dot(named, weights, { contract: this.inAxisNames });
    });
  }

  /** Treescope colour `#eba875`. */
  treescopeColor(): string {
    return LINEAR_COLOR;
  }

  /**
   * Builds a `Linear` with an uninitialized `"weights"` parameter (penzai's `Linear.from_config`).
   * The weight's axes are `[...parallel, ...parallelBroadcast, ...input, ...output]`. When an output
   * axis is also an input axis, the output is computed as `<name>_out` and renamed back, giving a
   * `LinearInPlace`.
   *
   * @throws AxisConfigurationError for overlapping parallel axes or an impossible rename.
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * Linear.fromConfig({ features: 8 }, { features: 16 }); // LinearInPlace([Linear, RenameAxes])
   */
  static fromConfig(
    inputAxes: AxisSizes,
    outputAxes: AxisSizes,
    config: LinearConfig = {},
  ): Linear | LinearInPlace {
    checkOptions("Linear.fromConfig", config, LINEAR_CONFIG_KEYS);
    const parallel = config.parallelAxes ?? {};
    const broadcast = config.parallelBroadcastAxes ?? {};
    const initializer = config.initializer ?? xavierUniformInitializer;
    const dtype = config.dtype ?? "float32";
    const rename = config.renameOutputsIfNecessary ?? true;
    const overlap = Object.keys(outputAxes).filter((n) => Object.hasOwn(inputAxes, n));
    if (overlap.length > 0) {
      if (!rename) {
        throw new AxisConfigurationError(
          `Linear.fromConfig: inputAxes and outputAxes must not overlap if renameOutputsIfNecessary is not set; got ` +
            `inputAxes=${JSON.stringify(inputAxes)}, outputAxes=${JSON.stringify(outputAxes)}. Rename an output axis.`,
        );
      }
      const {
        outputAxes: renamedOutputs,
        primed,
        original,
      } = maybeRenameOutputAxes(inputAxes, outputAxes);
      return new LinearInPlace({
        sublayers: [
          Linear.fromConfig(inputAxes, renamedOutputs, {
            ...config,
            renameOutputsIfNecessary: false,
          }),
          new RenameAxes({ old: primed, new: original }),
        ],
      });
    }
    const inOut = new Set([...Object.keys(inputAxes), ...Object.keys(outputAxes)]);
    const badParallel = Object.keys(parallel).filter((n) => inOut.has(n));
    const badBroadcast = Object.keys(broadcast).filter(
      (n) => inOut.has(n) || Object.hasOwn(parallel, n),
    );
    if (badParallel.length > 0 || badBroadcast.length > 0) {
      throw new AxisConfigurationError(
        `parallelAxes and parallelBroadcastAxes must not overlap with each other or with input/output axes; got ` +
          `inputAxes=${JSON.stringify(inputAxes)}, outputAxes=${JSON.stringify(outputAxes)}, parallelAxes=` +
          `${JSON.stringify(parallel)}, parallelBroadcastAxes=${JSON.stringify(broadcast)}.`,
      );
    }
    const allParallel = { ...parallel, ...broadcast };
    const weightShape: Record<string, number> = { ...allParallel, ...inputAxes, ...outputAxes };
    const weightInitializer = (key: RandomKey) =>
      initializer(key, {
        inputAxes,
        outputAxes,
        parallelAxes: allParallel,
        convolutionSpatialAxes: {},
        dtype,
      });
    return new Linear({
      weights: new UninitializedParameter({
        initializer: weightInitializer,
        name: "weights",
        valueStructure: new ArraySpec({ namedShape: weightShape, dtype }),
      }),
      inAxisNames: Object.keys(inputAxes),
      outAxisNames: [...Object.keys(outputAxes), ...Object.keys(broadcast)],
    });
  }
}

/**
 * Renames named axes (penzai's `RenameAxes`): `old[i]` becomes `new[i]`; no data moves.
 *
 * @throws MisconfiguredLayerError (when called) if `old` and `new` differ in length.
 * @example
 * new RenameAxes({ old: "features_out", new: "features" }).call(x);
 */
export class RenameAxes extends Layer.define(
  {
    old: field<string | readonly string[]>({ static: true }),
    new: field<string | readonly string[]>({ static: true }),
  },
  { name: "RenameAxes" },
) {
  /** The old and new names as lists of equal length. */
  private lists(): [string[], string[]] {
    const oldNames = typeof this.old === "string" ? [this.old] : [...this.old];
    const newNames = typeof this.new === "string" ? [this.new] : [...this.new];
    if (oldNames.length !== newNames.length) {
      throw new MisconfiguredLayerError(
        `RenameAxes: length of new names ${JSON.stringify(newNames)} does not match length of old names ` +
          `${JSON.stringify(oldNames)}. Give one new name per old name.`,
      );
    }
    return [oldNames, newNames];
  }

  /** The old names, with any other axes. */
  inputStructure(): unknown {
    const [oldNames] = this.lists();
    return new ArraySpec({
      namedShape: { ...varsForAxes("renaming", oldNames), ...dimVar("others").unpackNamed() },
    });
  }

  /** The new names carry the old names' sizes. */
  outputStructure(): unknown {
    const [oldNames, newNames] = this.lists();
    const named: Record<string, NamedDim> = { ...dimVar("others").unpackNamed() };
    newNames.forEach((n, i) => {
      named[n] = new DimVar(["renaming", oldNames[i]!]);
    });
    return new ArraySpec({ namedShape: named });
  }

  /** Renames the axes. */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const [oldNames, newNames] = this.lists();
    return renameAxes(requireNamed(x, "RenameAxes"), oldNames, newNames);
  }
}

/**
 * A `Linear` whose output axes replace input axes of the same names (penzai's `LinearInPlace`):
 * `[Linear(... -> name_out), RenameAxes(name_out -> name)]`.
 *
 * @example
 * Linear.fromConfig({ features: 8 }, { features: 16 }) instanceof LinearInPlace; // true
 */
export class LinearInPlace extends Sequential.define({}, { name: "LinearInPlace" }) {
  /** Treescope colour `#eba875`. */
  override treescopeColor(): string {
    return LINEAR_COLOR;
  }
}

/** Options of {@link AddBias.fromConfig}. */
export interface AddBiasConfig {
  /** Axes the bias adds that the input does not have. */
  newOutputAxes?: AxisSizes;
  /** Bias initializer `(key, shape, dtype)`; default zeros. */
  initializer?: BiasInitializer;
  /** Bias dtype; default `"float32"`. */
  dtype?: tf.DataType;
}

const ADD_BIAS_CONFIG_KEYS = optionKeys<AddBiasConfig>({
  newOutputAxes: true,
  initializer: true,
  dtype: true,
});

/**
 * Adds a learned bias, broadcasting by axis name (penzai's `AddBias`).
 *
 * @example
 * AddBias.fromConfig({ features: 4 }); // bias parameter "bias" of zeros
 */
export class AddBias extends Layer.define(
  {
    bias: field<ParameterLike<NamedArray>>(),
    newAxisNames: field<readonly string[]>({ static: true }),
  },
  { name: "AddBias" },
) {
  private biasShape(): Record<string, number> {
    return namedShapeOf(this.bias.valueStructure, "AddBias");
  }

  /** Floating input with the bias's axes except the new ones. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: {
        ...dimVar("B").unpackNamed(),
        ...without(this.biasShape(), this.newAxisNames),
      },
      dtype: dtypes.floating,
    });
  }

  /** Floating output with all the bias's axes. */
  outputStructure(): unknown {
    const shape = this.biasShape();
    for (const n of this.newAxisNames) {
      if (!Object.hasOwn(shape, n)) {
        throw new MisconfiguredLayerError(
          `AddBias: expected out axis ${n} was missing in bias parameter (bias axes ${JSON.stringify(shape)}). ` +
            "Give the bias every axis listed in newAxisNames.",
        );
      }
    }
    return new ArraySpec({
      namedShape: { ...shape, ...dimVar("B").unpackNamed() },
      dtype: dtypes.floating,
    });
  }

  /** Returns `x + bias`. */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const bias = this.bias.value;
    return tidy(() => requireNamed(x, "AddBias").add(bias).withPositionalPrefix());
  }

  /** Treescope colour `#65cfbc`. */
  treescopeColor(): string {
    return ADD_BIAS_COLOR;
  }

  /**
   * Builds an `AddBias` with an uninitialized `"bias"` parameter over `biasedAxes` and
   * `newOutputAxes` (penzai's `AddBias.from_config`).
   *
   * @throws AxisConfigurationError when an axis is listed twice.
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * AddBias.fromConfig({ heads: 2, projection: 4 });
   */
  static fromConfig(biasedAxes: AxisSizes, config: AddBiasConfig = {}): AddBias {
    checkOptions("AddBias.fromConfig", config, ADD_BIAS_CONFIG_KEYS);
    const newAxes = config.newOutputAxes ?? {};
    for (const n of Object.keys(newAxes)) {
      if (Object.hasOwn(biasedAxes, n)) {
        throw new AxisConfigurationError(
          `Duplicate axis name in bias: ${n}. List each axis in one place only.`,
        );
      }
    }
    const shape = { ...biasedAxes, ...newAxes };
    const names = Object.keys(shape);
    const sizes = names.map((n) => shape[n]!);
    const initializer = config.initializer ?? zerosBiasInitializer;
    const dtype = config.dtype ?? "float32";
    return new AddBias({
      bias: new UninitializedParameter({
        initializer: (key: RandomKey) => wrap(initializer(key, sizes, dtype), ...names),
        name: "bias",
        valueStructure: new ArraySpec({ namedShape: shape, dtype }),
      }),
      newAxisNames: Object.keys(newAxes),
    });
  }
}

/** Options of {@link Affine.fromConfig}. */
export interface AffineConfig extends Omit<LinearConfig, "initializer"> {
  /** Weight initializer; default Xavier uniform. */
  linearInitializer?: LinearOperatorWeightInitializer;
  /** Bias initializer; default zeros. */
  biasInitializer?: BiasInitializer;
}

const AFFINE_CONFIG_KEYS = optionKeys<AffineConfig>({
  parallelAxes: true,
  parallelBroadcastAxes: true,
  dtype: true,
  renameOutputsIfNecessary: true,
  linearInitializer: true,
  biasInitializer: true,
});

/**
 * A `Linear` followed by an `AddBias` (penzai's `Affine`); parameters `Linear.weights` and
 * `AddBias.bias`.
 *
 * @example
 * Affine.fromConfig({ features: 8 }, { hidden: 16 });
 */
export class Affine extends Sequential.define({}, { name: "Affine" }) {
  /**
   * Builds `[Linear, AddBias]` (or `[Linear, RenameAxes, AddBias]` for in-place outputs).
   *
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * Affine.fromConfig({ features: 8 }, { features: 16 }); // Linear, RenameAxes, AddBias
   */
  static fromConfig(
    inputAxes: AxisSizes,
    outputAxes: AxisSizes,
    config: AffineConfig = {},
  ): Affine {
    checkOptions("Affine.fromConfig", config, AFFINE_CONFIG_KEYS);
    const linear = addParameterPrefix(
      "Linear",
      Linear.fromConfig(inputAxes, outputAxes, {
        parallelAxes: config.parallelAxes,
        parallelBroadcastAxes: config.parallelBroadcastAxes,
        initializer: config.linearInitializer,
        dtype: config.dtype,
        renameOutputsIfNecessary: config.renameOutputsIfNecessary,
      }),
    );
    const bias = addParameterPrefix(
      "AddBias",
      AddBias.fromConfig(
        { ...(config.parallelAxes ?? {}), ...(config.parallelBroadcastAxes ?? {}), ...outputAxes },
        { initializer: config.biasInitializer, dtype: config.dtype },
      ),
    );
    const first = linear instanceof LinearInPlace ? [...linear.sublayers] : [linear];
    return new Affine({ sublayers: [...first, bias] });
  }

  /** Affine layers get no group colour of their own. */
  override treescopeColor(): string | undefined {
    return undefined;
  }
}

/**
 * Multiplies every array in its input by a constant (penzai's `ConstantRescale`); `by` is a number
 * or a scalar tensor.
 *
 * @example
 * new ConstantRescale({ by: 0.5 }).call(x);
 */
export class ConstantRescale extends Layer.define(
  { by: field<number | tf.Tensor>() },
  { name: "ConstantRescale" },
) {
  /** Floating arrays of any shape. */
  inputStructure(): unknown {
    return new ArraySpec({ shape: dimVar("P"), namedShape: dimVar("N"), dtype: dtypes.floating });
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return this.inputStructure();
  }

  /** Returns `x * by`. */
  @checkedLayerCall
  call(x: NamedArrayBase | tf.Tensor): NamedArrayBase | tf.Tensor {
    return tidy(() =>
      map(
        (leaf: unknown) => {
          if (isNamedArray(leaf)) return leaf.mul(this.by);
          if (leaf instanceof tf.Tensor) return tf.mul(leaf, this.by);
          if (typeof leaf === "number" && typeof this.by === "number") return leaf * this.by;
          return leaf;
        },
        x,
        options({ isLeaf: (node: unknown) => isNamedArray(node) }),
      ),
    );
  }
}

export type { EinsumAxes } from "./internal/einsum.js";

/**
 * An einsum over named axes (penzai's `NamedEinsum`). Each operand's spec maps its axis names to
 * index names; the output spec maps output axis names to indices. Axes not mentioned in a spec are
 * batch axes carried through. An index given to two axes of one operand takes their diagonal (so
 * `{ a: "i", b: "i" }` with no `i` in the output is a trace). Operands are folded left to right;
 * each step is one `nx.dot`.
 *
 * @example
 * new NamedEinsum({
 *   inputAxes: [{ seq: "tq", heads: "h", projection: "p" }, { seq: "tkv", heads: "h", projection: "p" }],
 *   outputAxes: { seq: "tq", heads: "h", kv_seq: "tkv" },
 * }).call([q, k]); // attention logits
 */
export class NamedEinsum extends Layer.define(
  {
    inputAxes: field<readonly EinsumAxes[]>({ static: true }),
    outputAxes: field<EinsumAxes>({ static: true }),
  },
  { name: "NamedEinsum" },
) {
  /** One floating array per operand, all with the same batch axes; equal indices have equal sizes. */
  inputStructure(): unknown {
    return this.inputAxes.map((spec) => {
      const named: Record<string, NamedDim> = { ...dimVar("B").unpackNamed() };
      for (const [axis, index] of Object.entries(specMap(spec)))
        named[axis] = new DimVar(["I", index]);
      return new ArraySpec({ namedShape: named, dtype: dtypes.floating });
    });
  }

  /** The batch axes and the output axes. */
  outputStructure(): unknown {
    const named: Record<string, NamedDim> = { ...dimVar("B").unpackNamed() };
    for (const [axis, index] of Object.entries(specMap(this.outputAxes)))
      named[axis] = new DimVar(["I", index]);
    return new ArraySpec({ namedShape: named, dtype: dtypes.floating });
  }

  /** Computes the einsum of the operands. */
  @checkedLayerCall
  call(operands: readonly NamedArrayBase[]): NamedArray {
    return tidy(() => namedEinsum(this.inputAxes, this.outputAxes, operands));
  }
}
