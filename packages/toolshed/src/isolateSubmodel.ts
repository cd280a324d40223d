/**
 * Extracting a sublayer together with the input it received and the output it produced during a
 * run of the whole model (penzai's `toolshed.isolate_submodel`), so it can be studied or tested in
 * isolation.
 *
 * Effects the submodel uses but that are handled outside it are captured during the run and
 * rebound around the isolated submodel: side inputs (shared parameters as constants, the others
 * as extra inputs), random streams (frozen at the position they had) and local states (threaded
 * by a new state handler, before and after the call).
 *
 * @module
 */

import {
  brokenHandlerRefs,
  CollectingSideOutputs,
  type HandledEffectRef,
  HandledLocalStateRef,
  HandledRandomRef,
  HandledSideInputRef,
  HandledSideOutputRef,
  type HandlerId,
  inferOrCheckHandlerId,
  type LocalStateEffect,
  type RandomEffect,
  RandomEffectImpl,
  type SideInputEffect,
  SideInputRequest,
  type SideOutputEffect,
  SideOutputRequest,
  type SideOutputValue,
  type Tag,
  tagEquals,
  WithConstantSideInputs,
  WithFrozenRandomState,
  WithFunctionalLocalState,
  WithSideInputsFromInputTuple,
} from "@saikei/effects";
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import type { RandomKey } from "@saikei/named";
import { SharedParamTag } from "@saikei/nn";
import { type Selection, select } from "@saikei/select";
import { className, field, leaves, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { IsolationError } from "./errors.js";

/**
 * A submodel with one recorded call (penzai's `IsolatedSubmodel`): `submodel.call(savedInput)`
 * reproduces `savedOutput`. The saved tensors (and captured side-input values) belong to this
 * struct's owner; `disposeIsolatedSubmodel` frees them.
 *
 * When the submodel used effects handled outside it, `submodel` is wrapped in handlers that
 * supply them, and `savedInput` / `savedOutput` take the shape those handlers expect:
 * `[[input, ...sideInputs], states]` in, `[output, states]` out (each part only when needed).
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

/** What one call of the selected layer recorded. */
interface CapturedCall {
  readonly input: unknown;
  readonly sideInputs: readonly unknown[];
  readonly statesBefore: readonly unknown[];
  readonly randomPositions: readonly { baseKey: RandomKey; nextOffset: number }[];
  readonly statesAfter: readonly unknown[];
  readonly output: unknown;
}

/**
 * @internal The wrapper {@link callAndExtractSubmodel} puts around the target (penzai's
 * `IsolationCapturer`). Its `sideInputs`, `states` and `randomStreams` hold one reference per
 * effect of the target handled outside it; the running handlers replace them by their
 * implementations, which the capturer reads before (and, for states, after) calling the target.
 */
export class IsolationCapturer extends Layer.define(
  {
    destination: field<SideOutputEffect>(),
    wrapped: field<LayerLike>(),
    sideInputs: field<readonly SideInputEffect[]>({ default: [] }),
    states: field<readonly LocalStateEffect[]>({ default: [] }),
    randomStreams: field<readonly RandomEffect[]>({ default: [] }),
  },
  { name: "IsolationCapturer" },
) {
  /** Calls the wrapped layer and tells what it saw. */
  call(x: unknown): unknown {
    const sideInputs = this.sideInputs.map((effect) => effect.ask());
    const statesBefore = this.states.map((effect) => effect.get());
    const randomPositions = this.randomStreams.map((effect) => {
      if (!(effect instanceof RandomEffectImpl)) {
        throw new IsolationError(
          `Cannot capture a random stream implemented by ${className((effect as object).constructor) || typeof effect}: ` +
            "only the RandomEffectImpl of saikei's random handlers can be frozen. Isolate a layer whose random " +
            "handler is one of WithRandomKeyFromArg, WithStatefulRandomKey or WithFrozenRandomState.",
        );
      }
      return effect.streamPosition();
    });
    const output = callLayer(this.wrapped, x);
    const statesAfter = this.states.map((effect) => effect.get());
    const captured: CapturedCall = {
      input: x,
      sideInputs,
      statesBefore,
      randomPositions,
      statesAfter,
      output,
    };
    this.destination.tell(captured);
    return output;
  }
}

/** The effects of a target that are handled outside it, one reference per distinct effect. */
interface OutsideEffects {
  readonly sideInputs: HandledSideInputRef[];
  readonly states: HandledLocalStateRef[];
  readonly randomStreams: HandledRandomRef[];
}

function outsideEffects(target: Layer): OutsideEffects {
  const out: OutsideEffects = { sideInputs: [], states: [], randomStreams: [] };
  for (const ref of brokenHandlerRefs(target)) {
    if (ref instanceof HandledSideInputRef) {
      if (!out.sideInputs.some((r) => sameSideInput(r, ref))) out.sideInputs.push(ref);
    } else if (ref instanceof HandledLocalStateRef) {
      if (!out.states.some((r) => r.handlerId === ref.handlerId && r.name === ref.name))
        out.states.push(ref);
    } else if (ref instanceof HandledRandomRef) {
      if (!out.randomStreams.some((r) => r.handlerId === ref.handlerId))
        out.randomStreams.push(ref);
    }
  }
  return out;
}

function sameSideInput(a: HandledSideInputRef, b: HandledSideInputRef): boolean {
  return a.handlerId === b.handlerId && tagEquals(a.tag, b.tag);
}

function isOutside(ref: HandledEffectRef, outside: ReadonlySet<HandlerId>): boolean {
  return outside.has(ref.handlerId);
}

/** The handlers {@link rebind} made to hold captured shared parameters (their values are owned). */
const capturedConstants = new WeakSet<WithConstantSideInputs>();

/** The tag a side input handled outside gets in the isolated submodel (penzai's `(handler_id, tag)`). */
function reboundTag(ref: HandledSideInputRef): Tag {
  return [ref.handlerId, ref.tag];
}

/**
 * Rebinds what one captured call used from outside the target: returns the isolated submodel and
 * its saved input and output.
 */
function rebind(target: Layer, effects: OutsideEffects, call: CapturedCall): IsolatedSubmodel {
  const outsideIds = new Set<HandlerId>(
    brokenHandlerRefs(target).map((ref) => ref.handlerId as HandlerId),
  );
  // Side outputs collected outside become unhandled requests again: `tell` then does nothing.
  let layer = select(target as LayerLike)
    .atInstancesOf(HandledSideOutputRef)
    .where((ref) => isOutside(ref, outsideIds))
    .apply((ref) => new SideOutputRequest({ tag: ref.tag })) as LayerLike;
  let input = call.input;
  let output = call.output;

  if (effects.sideInputs.length > 0) {
    layer = select(layer)
      .atInstancesOf(HandledSideInputRef)
      .where((ref) => isOutside(ref, outsideIds))
      .apply((ref) => new SideInputRequest({ tag: reboundTag(ref) })) as LayerLike;
    const shared = new Map<Tag, unknown>();
    const otherTags: Tag[] = [];
    const otherValues: unknown[] = [];
    effects.sideInputs.forEach((ref, i) => {
      if (ref.tag instanceof SharedParamTag) shared.set(reboundTag(ref), call.sideInputs[i]);
      else {
        otherTags.push(reboundTag(ref));
        otherValues.push(call.sideInputs[i]);
      }
    });
    if (shared.size > 0) {
      const constants = WithConstantSideInputs.handling(layer, shared);
      capturedConstants.add(constants);
      layer = constants;
    }
    if (otherTags.length > 0) {
      layer = WithSideInputsFromInputTuple.handling(layer, otherTags);
      input = [input, ...otherValues];
    }
  }

  effects.randomStreams.forEach((ref, i) => {
    const { baseKey, nextOffset } = call.randomPositions[i]!;
    layer = new WithFrozenRandomState({
      handlerId: ref.handlerId,
      body: layer,
      randomKey: baseKey,
      startingOffset: nextOffset,
    });
  });

  if (effects.states.length > 0) {
    const handlerId = inferOrCheckHandlerId("WithFunctionalLocalState", layer);
    const body = select(layer)
      .atInstancesOf(HandledLocalStateRef)
      .where((ref) => isOutside(ref, outsideIds))
      .apply(
        (ref) =>
          new HandledLocalStateRef({
            handlerId,
            name: stateName(ref),
            wasExplicitlyNamed: true,
            category: ref.category,
          }),
      ) as LayerLike;
    layer = new WithFunctionalLocalState({ handlerId, body });
    input = [input, statesRecord(effects.states, call.statesBefore)];
    output = [output, statesRecord(effects.states, call.statesAfter)];
  }
  return new IsolatedSubmodel({ submodel: layer, savedInput: input, savedOutput: output });
}

function stateName(ref: HandledLocalStateRef): string {
  return `${ref.handlerId}:${ref.name}`;
}

/**
 * States by their rebound name, in a plain object as `WithFunctionalLocalState` takes and returns
 * them. Entries are defined, not assigned, so a name such as `__proto__` stays an ordinary key.
 */
function statesRecord(
  refs: readonly HandledLocalStateRef[],
  values: readonly unknown[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  refs.forEach((ref, i) => {
    Object.defineProperty(out, stateName(ref), {
      value: values[i],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  });
  return out;
}

/**
 * Runs the model a selection was made from on `argument` and returns the selected sublayer with
 * the input and output of its call (penzai's `call_and_extract_submodel`); a list when it was
 * called several times. Effects of the sublayer handled outside it are rebound (see
 * {@link IsolatedSubmodel}): side inputs become a `WithConstantSideInputs` (shared parameters)
 * and a `WithSideInputsFromInputTuple` (the others, with tags `[handlerId, tag]`), random
 * streams a `WithFrozenRandomState` per handler, and local states a `WithFunctionalLocalState`
 * whose states are named `"<handlerId>:<name>"`; side outputs collected outside become unhandled
 * requests. The model's own output is disposed; everything in the results is the caller's.
 *
 * @param selection a selection of exactly one layer inside a layer.
 * @param argument the model's input (not disposed).
 * @returns an {@link IsolatedSubmodel}, or one per call.
 * @throws IsolationError when the selection does not hold exactly one layer, the root is not a
 *   layer, or a random stream the submodel uses cannot be frozen.
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
  const effects = outsideEffects(target);
  const capturing = selection.apply(
    (layer) =>
      new IsolationCapturer({
        destination: new SideOutputRequest({ tag: CAPTURE_TAG }),
        wrapped: layer as Layer,
        sideInputs: effects.sideInputs,
        states: effects.states,
        randomStreams: effects.randomStreams,
      }),
  );
  const handler = CollectingSideOutputs.handling(capturing as Layer, CAPTURE_TAG);
  const [output, collected] = handler.call(argument) as [unknown, SideOutputValue[]];
  // The collected records are the caller's own tensors (never the output's or the argument's).
  const inputs = new Set(leaves(argument));
  for (const t of leaves(output)) if (t instanceof tf.Tensor && !inputs.has(t)) t.dispose();
  const results = collected.map((told) => rebind(target, effects, told.value as CapturedCall));
  return results.length === 1 ? results[0]! : results;
}

/**
 * Disposes the tensors an {@link IsolatedSubmodel} owns: those of its saved input and output and
 * the captured shared parameters held by the `WithConstantSideInputs` isolation put around it
 * (never the submodel's own parameters, nor the values of handlers inside it).
 *
 * @example
 * disposeIsolatedSubmodel(isolated);
 */
export function disposeIsolatedSubmodel(isolated: IsolatedSubmodel): void {
  const owned = new Set<tf.Tensor>();
  const add = (tree: unknown) => {
    for (const t of leaves(tree)) if (t instanceof tf.Tensor) owned.add(t);
  };
  add(isolated.savedInput);
  add(isolated.savedOutput);
  for (const handler of select(isolated.submodel)
    .atInstancesOf(WithConstantSideInputs)
    .where((h) => capturedConstants.has(h))
    .getSequence()) {
    add(handler.sideInputs);
  }
  for (const t of owned) if (!t.isDisposed) t.dispose();
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return `a ${className((value as object).constructor) || "value"}`;
}
