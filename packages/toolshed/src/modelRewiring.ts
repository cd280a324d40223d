/**
 * Layers for interpretability experiments that rewire a model's computation (penzai's
 * `toolshed.model_rewiring`): knocking out attention heads, and mixing activations between
 * "worlds" (parallel copies of an input batch, such as clean and corrupted prompts) along a named
 * axis, for path patching; and replacing a computation by its linearization between two inputs.
 *
 * @module
 */

import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { isNamedArray, type NamedArrayBase, nmap, nx, tidy } from "@saikei/named";
import { field, flatten, type TreeDef, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { RewiringError } from "./errors.js";
import { jvp } from "./jvp.js";

/**
 * Knocks out attention heads (penzai's `KnockOutAttentionHeads`): insert it right after the
 * attention softmax. Where `headMask` is 1 the attention weights are kept; where it is 0 the head
 * attends only to the first `kv_seq` position (typically a beginning-of-sequence token, which
 * acts as a no-op); fractional values interpolate: `ko + headMask * (attn - ko)` with
 * `ko = one-hot(0)` along `kv_seq`. Axes of `headMask` the input lacks are added to the output.
 *
 * @example
 * const knockOut = new KnockOutAttentionHeads({ headMask: nx.wrap([1, 0, 1, 1], "heads") });
 * knockOut.call(attentionWeights); // head 1 now attends to position 0 only
 */
export class KnockOutAttentionHeads extends Layer.define(
  { headMask: field<NamedArrayBase>() },
  { name: "KnockOutAttentionHeads" },
) {
  /**
   * Applies the knock-out.
   *
   * @throws RewiringError when the input is not a NamedArray with a `kv_seq` axis.
   */
  call(attn: NamedArrayBase): NamedArrayBase {
    if (!isNamedArray(attn) || !Object.hasOwn(attn.namedShape, "kv_seq")) {
      throw new RewiringError(
        `KnockOutAttentionHeads expects attention weights as a NamedArray with a "kv_seq" axis, got ` +
          `${isNamedArray(attn) ? `named axes {${Object.keys(attn.namedShape).join(", ")}}` : String(attn)}. ` +
          "Insert it right after the attention softmax, where the weights are indexed by kv_seq.",
      );
    }
    const kvSeq = attn.namedShape.kv_seq!;
    return tidy(() => {
      const oneHot = tf.cast(
        tf.reshape(tf.oneHot(tf.tensor1d([0], "int32"), kvSeq), [kvSeq]),
        attn.dtype,
      );
      const firstOnly = nx.wrap(oneHot, "kv_seq");
      return firstOnly.add(this.headMask.mul(attn.sub(firstOnly)));
    });
  }
}

/**
 * One incoming connection of {@link RewireComputationPaths} (penzai's `From`): take the
 * activations of world `source`, scaled by `weight` (a number, or a NamedArray that adds its axes
 * to the output).
 *
 * @example
 * new From("corrupted", 0.5);
 */
export class From {
  constructor(
    /** The world to read from. */
    readonly source: string,
    /** The connection's weight (default 1). */
    readonly weight: number | NamedArrayBase = 1,
  ) {
    Object.freeze(this);
  }

  /** `From('source', weight)`. */
  toString(): string {
    return `From(${JSON.stringify(this.source)}, ${typeof this.weight === "number" ? this.weight : "NamedArray"})`;
  }
}

/**
 * Mixes activations between worlds along `worldsAxis` (penzai's `RewireComputationPaths`): the
 * output for world `to` is the weighted sum of the inputs of the worlds listed in `taking[to]`
 * (an empty list gives zeros). Use it to patch activations from one run into another.
 *
 * @example
 * const patch = new RewireComputationPaths({
 *   worldsAxis: "worlds",
 *   worldOrdering: ["clean", "corrupted"],
 *   taking: { clean: new From("clean"), corrupted: new From("clean") },
 * });
 * patch.call(x); // both worlds now carry the clean activations
 */
export class RewireComputationPaths extends Layer.define(
  {
    worldsAxis: field<string>({ static: true }),
    worldOrdering: field<readonly string[]>({ static: true }),
    taking: field<Readonly<Record<string, From | readonly From[]>>>({ static: true }),
  },
  { name: "RewireComputationPaths" },
) {
  /**
   * The mixing matrix `M[to][from]` as a NamedArray with two positional axes `[to, from]` (and
   * the named axes of any NamedArray weight).
   *
   * @throws RewiringError when `taking` does not name exactly the worlds of `worldOrdering`, or a
   *   connection reads from an unknown world.
   */
  pathMatrix(): NamedArrayBase {
    const worlds = this.worldOrdering;
    const keys = Object.keys(this.taking);
    const missing = worlds.filter((w) => !keys.includes(w));
    const extra = keys.filter((k) => !worlds.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new RewiringError(
        `RewireComputationPaths: taking must have exactly one entry per world of worldOrdering ` +
          `[${worlds.join(", ")}]; missing [${missing.join(", ")}], unknown [${extra.join(", ")}]. ` +
          "Give every world a From (or an empty list for zeros).",
      );
    }
    const n = worlds.length;
    return tidy(() => {
      let matrix: NamedArrayBase = nx.wrap(tf.zeros([n, n]));
      for (const [to, incoming] of Object.entries(this.taking)) {
        const toIndex = worlds.indexOf(to);
        const connections: readonly From[] = incoming instanceof From ? [incoming] : incoming;
        for (const connection of connections) {
          const fromIndex = worlds.indexOf(connection.source);
          if (fromIndex < 0) {
            throw new RewiringError(
              `RewireComputationPaths: world ${JSON.stringify(to)} takes from ${JSON.stringify(connection.source)}, ` +
                `which is not in worldOrdering [${worlds.join(", ")}].`,
            );
          }
          const basis = tf.buffer([n, n]);
          basis.set(1, toIndex, fromIndex);
          const unit = nx.wrap(basis.toTensor());
          matrix = matrix.add(unit.mul(connection.weight));
        }
      }
      return matrix;
    });
  }

  /**
   * Mixes the worlds of `x`.
   *
   * @throws RewiringError when `x` is not a NamedArray whose `worldsAxis` has one entry per world.
   */
  call(x: NamedArrayBase): NamedArrayBase {
    const size = isNamedArray(x) ? x.namedShape[this.worldsAxis] : undefined;
    if (size !== this.worldOrdering.length) {
      throw new RewiringError(
        `RewireComputationPaths expects a NamedArray with axis ${JSON.stringify(this.worldsAxis)} of size ` +
          `${this.worldOrdering.length} (worlds ${this.worldOrdering.join(", ")}), got ` +
          `${isNamedArray(x) ? `named shape ${JSON.stringify(x.namedShape)}` : String(x)}.`,
      );
    }
    return tidy(() => {
      const matrix = this.pathMatrix().astype(x.dtype);
      const mixed = nmap((m: tf.Tensor, v: tf.Tensor) => tf.dot(m, v))(
        matrix,
        x.untag(this.worldsAxis),
      );
      return (mixed as NamedArrayBase).tag(this.worldsAxis);
    });
  }
}

/**
 * Replaces a computation by its first-order Taylor expansion (penzai's `LinearizeAndAdjust`):
 * `target` is linearized around `linearizeAround(x)` and the linearization is evaluated at
 * `evaluateAt(x)`, that is `target(p) + J(p)·(e − p)`. Used to study how far a (sub)model is from
 * linear between two inputs, such as clean and corrupted prompts.
 *
 * Each leaf of the two trees becomes a named array; `p` is broadcast like `e` (so axes only one of
 * them has are combined, as in penzai) and the work is done in float32. tfjs has no forward-mode
 * differentiation: `J·t` is computed by {@link jvp} as the gradient of a gradient, which costs two
 * reverse passes through `target`.
 *
 * @example
 * const adjust = new LinearizeAndAdjust({
 *   linearizeAround: (x: NamedArrayBase) => x,
 *   evaluateAt: (x: NamedArrayBase) => x.add(1),
 *   target: (x: NamedArrayBase) => x.mul(x),
 * });
 * adjust.call(nx.wrap(10)); // 10² + 2·10·1 = 120
 */
export class LinearizeAndAdjust extends Layer.define(
  {
    linearizeAround: field<LayerLike>(),
    evaluateAt: field<LayerLike>(),
    target: field<LayerLike>(),
  },
  { name: "LinearizeAndAdjust" },
) {
  /**
   * Returns `target(p) + J(p)·(e − p)` with `p = linearizeAround(x)` and `e = evaluateAt(x)`,
   * a tree of `target`'s output structure.
   *
   * @throws RewiringError when `linearizeAround` and `evaluateAt` give trees of different
   *   structures, or a leaf that is not an array or a number.
   */
  call(x: unknown): unknown {
    return tidy(() => {
      const [around, aroundDef] = flatten(callLayer(this.linearizeAround, x), isNamedLeaf);
      const [at, atDef] = flatten(callLayer(this.evaluateAt, x), isNamedLeaf);
      if (!aroundDef.equals(atDef)) {
        throw new RewiringError(
          `LinearizeAndAdjust: linearizeAround and evaluateAt must give trees of the same structure, but gave ` +
            `${aroundDef} and ${atDef}.`,
        );
      }
      const primals: NamedArrayBase[] = [];
      const tangents: NamedArrayBase[] = [];
      around.forEach((leaf, i) => {
        const p = asNamed(leaf, "linearizeAround");
        const e = asNamed(at[i], "evaluateAt");
        const broadcast = p.broadcastLike(e).astype("float32");
        primals.push(broadcast);
        tangents.push(e.sub(p).orderLike(broadcast).astype("float32"));
      });
      let outputDef: TreeDef | undefined;
      let outputTemplates: unknown[] = [];
      const targetOnData = (data: tf.Tensor[]): tf.Tensor[] => {
        const input = unflatten(
          aroundDef,
          primals.map((p, i) => p.replace({ dataArray: data[i]! } as never)),
        );
        const [outputs, def] = flatten(callLayer(this.target, input), isNamedLeaf);
        outputDef ??= def;
        if (outputTemplates.length === 0) outputTemplates = outputs;
        return outputs.map((o, i) => dataOf(o, i));
      };
      const [values, products] = jvp(
        targetOnData,
        primals.map((p) => p.dataArray),
        tangents.map((t) => t.dataArray),
      );
      const adjusted = outputTemplates.map((template, i) => {
        const sum = tf.add(values[i]!, products[i]!);
        return isNamedArray(template) ? template.replace({ dataArray: sum } as never) : sum;
      });
      return unflatten(outputDef!, adjusted);
    });
  }
}

const isNamedLeaf = (value: unknown): boolean => isNamedArray(value);

function asNamed(leaf: unknown, where: string): NamedArrayBase {
  if (isNamedArray(leaf)) return leaf;
  if (leaf instanceof tf.Tensor || typeof leaf === "number") return nx.wrap(leaf);
  throw new RewiringError(
    `LinearizeAndAdjust: ${where} gave a leaf ${String(leaf)}; leaves must be named arrays, tensors or numbers.`,
  );
}

function dataOf(output: unknown, index: number): tf.Tensor {
  if (isNamedArray(output)) return output.dataArray;
  if (output instanceof tf.Tensor) return output;
  throw new RewiringError(
    `LinearizeAndAdjust: output leaf ${index} of target is ${String(output)}; target must return named arrays or tensors.`,
  );
}
