/**
 * Basic operations as layers: `Elementwise`, `Softmax`, `CastToDType` (penzai v1
 * `nn/basic_ops.py`).
 *
 * @module
 */

import { checkedLayerCall, Layer, MisconfiguredLayerError } from "@saikei/layer";
import { isNamedArray, type NamedArray, type NamedArrayBase, softmax, tidy } from "@saikei/named";
import { ArraySpec, var as dimVar, dtypes, varsForAxes } from "@saikei/shapecheck";
import { className, colorFromString, field, map, options, reprValue } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { requireNamed } from "./internal/named.js";

/** A function applied to every element of a tensor, such as `tf.relu` or {@link gelu}. */
export type ElementwiseFn = (x: tf.Tensor) => tf.Tensor;

/**
 * Applies an elementwise function to a named array or tensor (penzai's `Elementwise`). For a
 * named array the function runs on the data tensor directly, so the axes keep their names and
 * layout; the checked call requires the output shape to equal the input shape.
 *
 * @example
 * new Elementwise({ fn: tf.relu }).call(nx.wrap([-1, 2], "features")); // [0, 2] on "features"
 */
export class Elementwise extends Layer.define(
  { fn: field<ElementwiseFn>({ static: true }) },
  { name: "Elementwise" },
) {
  /**
   * Any shape, any dtype.
   *
   * @throws MisconfiguredLayerError when `fn` is not a function.
   */
  inputStructure(): unknown {
    if (typeof this.fn !== "function") {
      const layerType = className(this.constructor);
      throw new MisconfiguredLayerError(
        `${layerType}: fn must be a function from tensor to tensor, but it is ` +
          `${reprValue(this.fn)} (${this.fn === null ? "null" : typeof this.fn}). Build the ` +
          `layer with one, e.g. new ${layerType}({ fn: tf.relu }) or new ${layerType}({ fn: gelu }).`,
      );
    }
    return new ArraySpec({ shape: dimVar("pos"), namedShape: dimVar("named") });
  }

  /** The input's shape. */
  outputStructure(): unknown {
    return new ArraySpec({ shape: dimVar("pos"), namedShape: dimVar("named") });
  }

  /** Applies `fn` to the data tensor: a named array keeps its class and axes, a tensor is mapped. */
  @checkedLayerCall
  call(x: NamedArrayBase | tf.Tensor): NamedArrayBase | tf.Tensor {
    if (isNamedArray(x)) {
      return tidy(() => x.replace({ dataArray: this.fn(x.dataArray) }));
    }
    return tidy(() => this.fn(x));
  }

  /** A colour derived from the function's name, as penzai derives it from `repr(fn)`. */
  treescopeColor(): string {
    return colorFromString(this.fn.name || "anonymous");
  }
}

/**
 * GELU with the tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (JAX's default
 * `jax.nn.gelu`, used by Gemma's feed-forward block).
 *
 * @example
 * new Elementwise({ fn: gelu });
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(
      Math.sqrt(2 / Math.PI),
      tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))),
    );
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

/** Normalizes `axes` (one name or several) to an array. */
export function axesList(axes: string | readonly string[]): string[] {
  return typeof axes === "string" ? [axes] : [...axes];
}

/**
 * Softmax taken jointly over one or several named axes (penzai's `Softmax`).
 *
 * @example
 * new Softmax({ axes: "kv_seq" }).call(logits);
 */
export class Softmax extends Layer.define(
  {
    axes: field<string | readonly string[]>({ static: true }),
  },
  { name: "Softmax" },
) {
  /** Floating, with the softmax axes present. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: { ...dimVar("B").unpackNamed(), ...varsForAxes("across", axesList(this.axes)) },
      dtype: dtypes.floating,
    });
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return this.inputStructure();
  }

  /** Softmax of `x` over `axes` (`nx.softmax`). */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    return softmax(requireNamed(x, "Softmax"), axesList(this.axes)).withPositionalPrefix();
  }
}

/**
 * Casts every array in its input to `dtype` (penzai's `CastToDType`); tfjs dtypes are
 * `float32`, `int32`, `bool`, `complex64` and `string`.
 *
 * @example
 * new CastToDType({ dtype: "int32" }).call(nx.wrap([1.5], "a")); // int32
 */
export class CastToDType extends Layer.define(
  { dtype: field<tf.DataType>({ static: true }) },
  { name: "CastToDType" },
) {
  /** Casts every named array and tensor leaf; other leaves are kept. */
  call<X>(x: X): X {
    return tidy(() =>
      map(
        (leaf: unknown) => {
          if (isNamedArray(leaf)) return leaf.astype(this.dtype);
          if (leaf instanceof tf.Tensor) return tf.cast(leaf, this.dtype);
          return leaf;
        },
        x,
        options({ isLeaf: (node: unknown) => isNamedArray(node) }),
      ),
    );
  }
}
