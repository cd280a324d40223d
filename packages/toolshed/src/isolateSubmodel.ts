/**
 * Extracting a sublayer together with the input it received and the output it produced during a
 * run of the whole model (penzai's `toolshed.isolate_submodel`), so it can be studied or tested in
 * isolation.
 *
 * This port isolates submodels whose effects are handled inside them (or that use none). penzai
 * also rebinds side inputs, random streams and local states handled *outside* the submodel to new
 * handlers; here such a submodel is rejected with an {@link IsolationError} that names the
 * references, and the fix is to select the enclosing handler instead.
 *
 * @module
 */

import {
  brokenHandlerRefs,
  CollectingSideOutputs,
  type SideOutputEffect,
  SideOutputRequest,
  type SideOutputValue,
} from "@saikei/effects";
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import type { Selection } from "@saikei/select";
import { className, field, leaves, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { IsolationError } from "./errors.js";

/**
 * A submodel with one recorded call (penzai's `IsolatedSubmodel`): `submodel.call(savedInput)`
 * reproduces `savedOutput`. The saved tensors belong to this struct's owner.
 *
 * @example
 * const isolated = callAndExtractSubmodel(select(model).at((m) => m.sublayers[1]), x) as IsolatedSubmodel;
 * isolated.submodel.call(isolated.savedInput); // equals isolated.savedOutput
 */
export class IsolatedSubmodel extends Struct.define(
  {
    submodel: field<unknown>(),
    savedInput: field<unknown>(),
    savedOutput: field<unknown>(),
  },
  { name: "IsolatedSubmodel" },
) {}

const CAPTURE_TAG = Symbol.for("saikei.toolshed.IsolationCapturer");

/**
 * @internal The wrapper {@link callAndExtractSubmodel} puts around the target (penzai's
 * `IsolationCapturer`): calls it and tells `{ input, output }`.
 */
export class IsolationCapturer extends Layer.define(
  {
    destination: field<SideOutputEffect>(),
    wrapped: field<LayerLike>(),
  },
  { name: "IsolationCapturer" },
) {
  /** Calls the wrapped layer and records the call. */
  call(x: unknown): unknown {
    const y = callLayer(this.wrapped, x);
    // Keep both past the tidy scopes of enclosing layers: they are returned to the caller.
    for (const t of [...leaves(x), ...leaves(y)]) if (t instanceof tf.Tensor) tf.keep(t);
    this.destination.tell({ input: x, output: y });
    return y;
  }
}

/**
 * Runs the model a selection was made from on `argument` and returns the selected sublayer with
 * the input and output of its call (penzai's `call_and_extract_submodel`); a list when it was
 * called several times. The model's own output is disposed unless it is part of a record.
 *
 * @param selection a selection of exactly one layer inside a layer.
 * @param argument the model's input (not disposed).
 * @returns an {@link IsolatedSubmodel}, or one per call.
 * @throws IsolationError when the selection does not hold exactly one layer, the root is not a
 *   layer, or the submodel refers to effect handlers outside it.
 * @example
 * const isolated = callAndExtractSubmodel(select(model).atInstancesOf(Attention).pickNthSelected(0), x);
 */
export function callAndExtractSubmodel(
  selection: Selection<unknown, unknown>,
  argument: unknown,
): IsolatedSubmodel | IsolatedSubmodel[] {
  if (selection.count() !== 1) {
    throw new IsolationError(
      `submodelSelection must contain exactly one sublayer, but it selects ${selection.count()}. ` +
        "Narrow it, e.g. with pickNthSelected(0).",
    );
  }
  const target = selection.get();
  if (!(target instanceof Layer)) {
    throw new IsolationError(
      `submodelSelection must select a layer, but it selects ${describe(target)}.`,
    );
  }
  const root = selection.deselect();
  if (!(root instanceof Layer)) {
    throw new IsolationError(
      `The tree that submodelSelection was built from must be a layer, but it is ${describe(root)}.`,
    );
  }
  const broken = brokenHandlerRefs(target);
  if (broken.length > 0) {
    throw new IsolationError(
      `The selected ${className(target.constructor)} uses ${broken.length} effect reference(s) handled outside it ` +
        `(${broken.slice(0, 3).map(String).join(", ")}). saikei isolates only submodels whose effects are ` +
        "handled inside them: select the enclosing handler layer instead.",
    );
  }
  const capturing = selection.apply(
    (layer) =>
      new IsolationCapturer({
        destination: new SideOutputRequest({ tag: CAPTURE_TAG }),
        wrapped: layer as Layer,
      }),
  );
  const handler = CollectingSideOutputs.handling(capturing as Layer, CAPTURE_TAG);
  const [output, collected] = handler.call(argument) as [unknown, SideOutputValue[]];
  const records = collected.map((told) => told.value as { input: unknown; output: unknown });
  const kept = new Set<unknown>([
    ...leaves(argument),
    ...records.flatMap((r) => [...leaves(r.input), ...leaves(r.output)]),
  ]);
  for (const t of leaves(output)) if (t instanceof tf.Tensor && !kept.has(t)) t.dispose();
  const results = records.map(
    (r) => new IsolatedSubmodel({ submodel: target, savedInput: r.input, savedOutput: r.output }),
  );
  return results.length === 1 ? results[0]! : results;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return `a ${className((value as object).constructor) || "value"}`;
}
