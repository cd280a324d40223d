/**
 * Gradient set-up. `@tensorflow/tfjs-core` defines a gradient for each kernel but registers none
 * by itself (the `@tensorflow/tfjs` union package does, and saikei does not depend on it); without
 * them every `tf.grad` fails with "gradient function not found".
 *
 * The table comes from `#tfjs-gradients` (package.json `imports`): in bundlers, tfjs-core's own ES
 * modules; in Node, a bundle of them generated at build time (`scripts/tfjs-gradients.mjs`), since
 * Node cannot load tfjs-core's ES modules. Both load synchronously, so registration needs no
 * top-level await and works from ESM, `require` and tslab alike. Gradient registries are global in
 * tfjs, so registering here serves every copy of tfjs-core.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { gradientConfigs } from "#tfjs-gradients";

let registered = false;

/**
 * Registers tfjs's gradient functions, once; later calls do nothing. `ready()` calls it, and so does
 * every saikei function that computes gradients, so user code needs it only when it calls `tf.grad`
 * itself without having called `ready()`.
 *
 * Gradients a program registered itself before this call are kept. Also installs saikei's matMul
 * gradient (see {@link installExplicitTransposeMatMulGradient}).
 *
 * @returns the number of kernels that now have a gradient.
 * @example
 * registerGradients();
 * tf.grad((x) => tf.sum(tf.tanh(x)))(tf.tensor([1, 2]));
 */
export function registerGradients(): number {
  if (!registered) {
    registered = true;
    for (const config of gradientConfigs) {
      if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
    }
    installExplicitTransposeMatMulGradient();
  }
  return gradientConfigs.filter((config) => tf.getGradient(config.kernelName) !== undefined).length;
}

/**
 * Replaces tfjs's matMul gradient by one that transposes operands explicitly and then runs plain
 * matMuls. tfjs's own gradient multiplies with `transposeA` / `transposeB` set, which the wasm
 * backend runs about ten times slower than a transpose plus a plain 2-D matMul; training a
 * transformer spends most of its time there. Broadcast batch axes keep tfjs's gradient.
 */
function installExplicitTransposeMatMulGradient(): void {
  const original = tf.getGradient("BatchMatMul");
  if (original === undefined) return;
  const swapLast = (t: tf.Tensor) =>
    tf.transpose(t, [...Array.from({ length: t.rank - 2 }, (_, i) => i), t.rank - 1, t.rank - 2]);
  const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y);
  tf.registerGradient({
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const sameBatch = a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
      if (!sameBatch) return original.gradFunc(dy, saved, attrs);
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const g = dy as tf.Tensor;
      if (!transposeA && !transposeB) {
        return { a: () => mm(g, swapLast(b)), b: () => mm(swapLast(a), g) };
      }
      if (transposeA && !transposeB) {
        return { a: () => mm(b, swapLast(g)), b: () => mm(a, g) };
      }
      if (!transposeA && transposeB) {
        return { a: () => mm(g, b), b: () => mm(swapLast(g), a) };
      }
      return { a: () => mm(swapLast(b), swapLast(g)), b: () => mm(swapLast(g), swapLast(a)) };
    },
  });
}
