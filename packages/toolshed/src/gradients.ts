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
  return pending.then(() => tf.getGradient("BatchMatMul") !== undefined);
}

await registerGradients();
