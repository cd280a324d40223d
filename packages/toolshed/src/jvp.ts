/**
 * Forward-mode products (`jax.jvp`) for tfjs, which only has reverse mode: the Jacobian-vector
 * product is computed as the vector-Jacobian product of a vector-Jacobian product.
 *
 * For `f` with Jacobian `J` at `x`, `g(u) = Jᵀu` (one reverse pass, linear in `u`), and
 * `⟨g(u), t⟩ = ⟨u, Jt⟩`, so the gradient of `u ↦ ⟨g(u), t⟩` is `Jt` for any `u` (zero is used).
 * It costs two reverse passes and needs the gradients of the gradient kernels, which tfjs has for
 * its differentiable ops.
 *
 * @module
 */

import { registerGradients } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { RewiringError } from "./errors.js";

/** `Σᵢ sum(aᵢ · bᵢ)`, plus `0 · sum(aᵢ)` so every `aᵢ` is on the path even when `bᵢ` is zero. */
function innerProduct(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): tf.Scalar {
  let total: tf.Tensor = tf.scalar(0);
  a.forEach((x, i) => {
    total = tf.add(total, tf.sum(tf.mul(x, b[i]!)));
  });
  return total as tf.Scalar;
}

/** Keeps every input on the gradient path (with a zero contribution). */
function touchAll(xs: readonly tf.Tensor[]): tf.Scalar {
  let total: tf.Tensor = tf.scalar(0);
  for (const x of xs) total = tf.add(total, tf.mul(tf.sum(x), 0));
  return total as tf.Scalar;
}

/**
 * Evaluates `f` at `primals` and its Jacobian-vector product with `tangents` (JAX's `jvp`): returns
 * `[f(primals), J·tangents]`, one tangent per output, each of its output's shape. Only the two
 * result lists survive; the inputs are not disposed.
 *
 * @param f a function of float tensors returning float tensors, differentiable by tfjs.
 * @param primals where to linearize.
 * @param tangents one per primal, of its shape.
 * @throws RewiringError when the tangents do not match the primals in number, shape or dtype.
 * @example
 * const [[y], [dy]] = jvp(([x]) => [tf.mul(x, x)], [tf.tensor1d([3])], [tf.tensor1d([1])]);
 * // y = [9], dy = [6]
 */
export function jvp(
  f: (xs: tf.Tensor[]) => tf.Tensor[],
  primals: readonly tf.Tensor[],
  tangents: readonly tf.Tensor[],
): [tf.Tensor[], tf.Tensor[]] {
  checkTangents(primals, tangents);
  registerGradients();
  const result = tf.tidy(() => {
    const outputs = f([...primals]);
    const cotangents = outputs.map((o) => tf.zerosLike(o));
    const pullbackDotTangents = (...us: tf.Tensor[]): tf.Scalar => {
      const pullback = tf.grads((...xs: tf.Tensor[]) =>
        tf.add(innerProduct(f(xs), us), touchAll(xs)),
      )([...primals]);
      return tf.add(innerProduct(pullback, tangents), touchAll(us)) as tf.Scalar;
    };
    const products = tf.grads(pullbackDotTangents)(cotangents);
    return [...outputs, ...products];
  });
  const n = result.length / 2;
  return [result.slice(0, n), result.slice(n)];
}

function checkTangents(primals: readonly tf.Tensor[], tangents: readonly tf.Tensor[]): void {
  if (primals.length !== tangents.length) {
    throw new RewiringError(
      `jvp: got ${primals.length} primal(s) but ${tangents.length} tangent(s); pass one tangent per primal.`,
    );
  }
  primals.forEach((p, i) => {
    const t = tangents[i]!;
    if (!tf.util.arraysEqual(p.shape, t.shape) || p.dtype !== t.dtype) {
      throw new RewiringError(
        `jvp: tangent ${i} has shape [${t.shape}] and dtype ${t.dtype}, but its primal has shape ` +
          `[${p.shape}] and dtype ${p.dtype}; a tangent must match its primal.`,
      );
    }
    if (p.dtype !== "float32") {
      throw new RewiringError(
        `jvp: primal ${i} has dtype ${p.dtype}; forward products need float32 inputs (cast with tf.cast).`,
      );
    }
  });
}
