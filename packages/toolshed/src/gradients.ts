/**
 * Registers tfjs's gradient functions. `@tensorflow/tfjs-core` defines them but registers none by
 * itself (the `@tensorflow/tfjs` union package does, and saikei does not depend on it); without
 * them every `tf.grad` fails with "gradient function not found".
 *
 * Bundlers, vite and vitest load `register_all_gradients` directly. Node's ESM loader cannot
 * (tfjs-core's ESM files use extension-less imports, and `Prod_grad` imports a path that names both
 * a file and a directory), so in Node every loadable `dist/gradients/*_grad.js` is imported one by
 * one and registered; only the gradient of `tf.prod` is then missing. Gradient registries are
 * global in tfjs, so registering from these modules serves every copy of tfjs-core.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

let pending: Promise<number> | undefined;

async function registerFromDirectory(): Promise<number> {
  const [{ readdirSync }, { createRequire }, { pathToFileURL }] = await Promise.all([
    import("node:fs"),
    import("node:module"),
    import("node:url"),
  ]);
  const require = createRequire(import.meta.url);
  const dir = require
    .resolve("@tensorflow/tfjs-core/package.json")
    .replace(/package\.json$/, "dist/gradients/");
  let count = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith("_grad.js"))) {
    let module: Record<string, unknown>;
    try {
      module = await import(pathToFileURL(dir + file).href);
    } catch {
      continue; // Prod_grad: see the module comment.
    }
    for (const [name, config] of Object.entries(module)) {
      if (!name.endsWith("GradConfig")) continue;
      const { kernelName } = config as tf.GradConfig;
      if (tf.getGradient(kernelName) === undefined) tf.registerGradient(config as tf.GradConfig);
      count++;
    }
  }
  return count;
}

/**
 * Makes sure tfjs's gradient functions are registered (idempotent; runs when `@saikei/toolshed`
 * is imported, so calling it is only needed by code that computes gradients without importing
 * the training module).
 *
 * @returns a promise of whether gradients are available.
 * @example
 * await registerGradients();
 * tf.grad((x) => tf.sum(tf.tanh(x)))(tf.tensor([1, 2]));
 */
export function registerGradients(): Promise<boolean> {
  if (tf.getGradient("BatchMatMul") !== undefined && tf.getGradient("Tanh") !== undefined)
    return Promise.resolve(true);
  pending ??= (async () => {
    try {
      await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
      if (tf.getGradient("BatchMatMul") !== undefined) return 1;
    } catch {
      // Node's ESM loader: fall through to the per-file registration.
    }
    return registerFromDirectory();
  })();
  return pending.then(() => {
    installExplicitTransposeMatMulGradient();
    return tf.getGradient("BatchMatMul") !== undefined;
  });
}

let matMulGradientInstalled = false;

/**
 * Replaces tfjs's matMul gradient by one that transposes operands explicitly and then runs plain
 * matMuls. tfjs's own gradient multiplies with `transposeA` / `transposeB` set, which the wasm
 * backend runs about ten times slower than a transpose plus a plain 2-D matMul; training a
 * transformer spends most of its time there. Broadcast batch axes keep tfjs's gradient.
 */
function installExplicitTransposeMatMulGradient(): void {
  const original = tf.getGradient("BatchMatMul");
  if (original === undefined || matMulGradientInstalled) return;
  matMulGradientInstalled = true;
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

await registerGradients();
