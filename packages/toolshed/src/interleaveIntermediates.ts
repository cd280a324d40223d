/**
 * Running a model and keeping every intermediate value inside the model tree (penzai's
 * `toolshed.interleave_intermediates`), so that treescope shows activations next to the layers
 * that produced them.
 *
 * @module
 */

import { type SideOutputEffect, SideOutputRequest } from "@saikei/effects";
import { Layer } from "@saikei/layer";
import { Identity } from "@saikei/nn";
import { field, findOutermost, leaves } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { checkTagUnused, instrument, replaceInterceptors, runCollecting } from "./intercept.js";

/**
 * An identity layer that carries the values seen at its position during a run (penzai's
 * `IdentityWithSavedActivations`).
 *
 * @example
 * new IdentityWithSavedActivations({ savedActivations: [x] }).call(y); // y
 */
export class IdentityWithSavedActivations extends Identity.define(
  {
    savedActivations: field<readonly unknown[]>(),
  },
  { name: "IdentityWithSavedActivations" },
) {}

const VALUE_TAG = Symbol.for("saikei.toolshed.InterceptValues");

/** @internal The interceptor `runAndInterleaveIntermediates` inserts: tells its input. */
export class InterceptValues extends Layer.define(
  { valueLogger: field<SideOutputEffect>() },
  { name: "InterceptValues" },
) {
  /**
   * Tells `x` and returns it. The collector keeps the told tensors past enclosing tidy scopes and
   * hands back tensors of its own (see the effects guide on ownership).
   */
  call(x: unknown): unknown {
    this.valueLogger.tell(x);
    return x;
  }
}

/**
 * Runs `root` on `argument` once and returns the model with an `IdentityWithSavedActivations`
 * holding the value seen at each point (before and after every sublayer of each group); points
 * never reached are left out. The saved tensors belong to the returned tree (each is its own
 * tensor, even where one value was seen at two points or is the argument): dispose them when done
 * (for example with `disposeSavedActivations`).
 *
 * @param root the model (parameters initialised).
 * @param argument its input (not disposed).
 * @returns the model with saved activations interleaved.
 * @throws InterceptionError when the model already uses the interceptors' reserved tag.
 * @example
 * const withActivations = runAndInterleaveIntermediates(model, x);
 */
export function runAndInterleaveIntermediates<L extends Layer>(root: L, argument: unknown): L {
  checkTagUnused(root, VALUE_TAG, "runAndInterleaveIntermediates");
  const make = () =>
    new InterceptValues({ valueLogger: new SideOutputRequest({ tag: VALUE_TAG }) });
  const instrumented = instrument(root, make, (x) => x instanceof InterceptValues);
  const [output, byPath] = runCollecting(instrumented, VALUE_TAG, argument);
  // The saved values are the collector's own tensors (never the output's or the argument's).
  const inputs = new Set(leaves(argument));
  for (const t of leaves(output)) if (t instanceof tf.Tensor && !inputs.has(t)) t.dispose();
  return replaceInterceptors(instrumented, InterceptValues, byPath, (values) =>
    values.length === 0
      ? undefined
      : new IdentityWithSavedActivations({ savedActivations: values }),
  ) as L;
}

/**
 * Disposes the tensors saved by {@link runAndInterleaveIntermediates} in a tree (and no others).
 *
 * @param tree a tree returned by `runAndInterleaveIntermediates` (or any part of it).
 * @example
 * disposeSavedActivations(withActivations);
 */
export function disposeSavedActivations(tree: unknown): void {
  const seen = new Set<tf.Tensor>();
  const found = findOutermost<IdentityWithSavedActivations>(tree, {
    instanceOf: IdentityWithSavedActivations,
  });
  for (const { value: node } of found) {
    for (const t of leaves(node.savedActivations)) {
      if (t instanceof tf.Tensor && !seen.has(t)) {
        seen.add(t);
        if (!t.isDisposed) t.dispose();
      }
    }
  }
}
