/**
 * `checkedLayerCall` / `uncheckedLayerCall`: the standard method decorators for `Layer#call`.
 *
 * @module
 */

import { isNamedArray } from "@saikei/named";
import { ArraySpec, checkStructure, MatchResult, Wildcard } from "@saikei/shapecheck";
import { className, flatten, flattenWithPath, keystr, nodeTypeOf, reprValue } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { DisposedTensorError, LayerDefinitionError } from "./errors.js";
import { CHECKED_LAYER_CALL, type Layer } from "./layer.js";
import {
  arraySignatureOf,
  isArrayLeaf,
  type Signature,
  sameSignature,
  signatureFromLeaves,
  signatureOf,
} from "./signature.js";

/**
 * Errors that want to know which layers they passed through implement a method under this symbol;
 * a checked call invokes it with the layer when such an error escapes its body, innermost layer
 * first (`@saikei/effects` uses it to say which layer asked for an unhandled effect).
 */
export const ADD_LAYER_CONTEXT: unique symbol = Symbol.for("saikei.addLayerContext");

const NO_VARIABLES = new MatchResult({});

/**
 * Whether `value` certainly matches `pattern` without binding variables: the pattern has the
 * value's node structure down to `Wildcard`s. Returns false whenever it cannot tell (an
 * `ArraySpec`, a leaf pattern, a structure difference), and the full `checkStructure` decides.
 * Handler patterns (arrays and records of wildcards) are checked on every call, so this keeps
 * the per-call cost of a checked handler to a short walk.
 */
function matchesWildcardsOnly(value: unknown, pattern: unknown): boolean {
  if (pattern instanceof Wildcard) return true;
  if (pattern instanceof ArraySpec) return false;
  const type = nodeTypeOf(pattern);
  if (type === undefined || nodeTypeOf(value) !== type) return false;
  const [patternChildren, patternAux] = type.flatten(pattern);
  const [valueChildren, valueAux] = type.flatten(value);
  if (patternChildren.length !== valueChildren.length || !type.auxEquals(patternAux, valueAux))
    return false;
  for (let i = 0; i < patternChildren.length; i++) {
    if (!matchesWildcardsOnly(valueChildren[i], patternChildren[i])) return false;
  }
  return true;
}

function check(
  value: unknown,
  pattern: unknown,
  knownVars: MatchResult | undefined,
  errorPrefix: string,
): MatchResult {
  if (matchesWildcardsOnly(value, pattern)) return knownVars ?? NO_VARIABLES;
  return checkStructure(value, pattern, { knownVars, errorPrefix });
}

/** Whether a leaf (named arrays kept whole) is, or wraps, a tensor whose data was freed. */
function isDisposedLeaf(leaf: unknown): boolean {
  if (leaf instanceof tf.Tensor) return leaf.isDisposed;
  if (isNamedArray(leaf)) {
    const data = (leaf as { dataArray?: unknown }).dataArray;
    return data instanceof tf.Tensor && data.isDisposed;
  }
  return false;
}

/**
 * The signature of a call's argument (see {@link signatureOf}), after checking that no leaf is a
 * disposed tensor: one walk of the argument serves both, so the check costs a flag read per leaf.
 *
 * @throws DisposedTensorError naming the key path of the first disposed tensor.
 */
function argumentSignatureOf(layer: Layer, argument: unknown): Signature | undefined {
  if (isArrayLeaf(argument)) {
    if (isDisposedLeaf(argument)) throwDisposedArgument(layer, argument);
    return arraySignatureOf(argument);
  }
  const [leaves, treedef] = flatten(argument, isNamedArray);
  for (const leaf of leaves) {
    if (isDisposedLeaf(leaf)) throwDisposedArgument(layer, argument);
  }
  return signatureFromLeaves(leaves, treedef);
}

/** The first disposed tensor in `tree` (named arrays opened), with its key path. */
function firstDisposed(tree: unknown): { path: string; tensor: tf.Tensor } | undefined {
  const [entries] = flattenWithPath(tree);
  for (const [path, leaf] of entries) {
    if (leaf instanceof tf.Tensor && leaf.isDisposed) return { path: keystr(path), tensor: leaf };
  }
  return undefined;
}

function describeTensor(tensor: tf.Tensor): string {
  return `${tensor.dtype} [${tensor.shape.join(", ")}]`;
}

function throwDisposedArgument(layer: Layer, argument: unknown): never {
  const layerType = className((layer as object).constructor) || "(anonymous layer)";
  const found = firstDisposed(argument);
  const where =
    found === undefined || found.path === ""
      ? "the argument is a disposed tensor"
      : `the argument at ${found.path} is a disposed tensor`;
  throw new DisposedTensorError(
    `${layerType}.call: ${where}${found === undefined ? "" : ` (${describeTensor(found.tensor)})`}. ` +
      "Its data was freed by dispose() or by the end of the tf.tidy that created it. Pass a live " +
      "tensor: create it outside that tidy (or tf.keep it), and dispose it only after its last use.",
  );
}

/** A check that passed: the signatures of its argument and of its result. */
interface PassedCheck {
  readonly input: Signature;
  readonly output: Signature;
}

const MAX_PASSED_PER_RECORD = 8;

/**
 * What checked calls remember for a group of layers that check alike: their input and output
 * structures (built on first use; a structure method that throws, as a misconfigured layer's does,
 * is asked again next time) and the signatures of calls that passed (at most
 * {@link MAX_PASSED_PER_RECORD}, oldest dropped first).
 */
interface CheckRecord {
  structures: { readonly input: unknown; readonly output: unknown } | undefined;
  readonly passed: PassedCheck[];
}

/** What a checked call knows of one layer instance: its check record and its own tensors. */
interface LayerEntry {
  readonly checks: CheckRecord;
  /** The tensors in the layer's tree (named arrays opened), read for disposal on every call. */
  readonly tensors: readonly tf.Tensor[];
}

/** Per layer instance (layers are immutable), built on its first checked call. */
const layerEntries = new WeakMap<object, LayerEntry>();

/** A check record shared by the layers of one class whose signatures are equal. */
interface SharedRecord {
  readonly signature: Signature;
  readonly checks: CheckRecord;
}

/** Bound on the leaf texts kept per class, and on the structures kept per leaf text. */
const MAX_SHARED_PER_CLASS = 64;

/**
 * Check records shared between instances, per layer class (prototype) and then per leaf text of
 * the layer's signature. A layer's structures depend only on what its signature holds: its tree
 * structure with its static fields, the shapes, named shapes and dtypes of its arrays and the
 * values of its primitives (penzai computes them while tracing under `jit`, where parameters are
 * shapes too). So a model rebuilt with new parameter values, as every training step does, reuses
 * the checks of the model it came from. Layers holding other objects keep a record of their own.
 */
const sharedRecords = new WeakMap<object, Map<string, SharedRecord[]>>();

function newCheckRecord(): CheckRecord {
  return { structures: undefined, passed: [] };
}

/** The record shared by the instances of `layer`'s class whose signature is `signature`. */
function sharedCheckRecord(layer: Layer, signature: Signature): CheckRecord {
  const proto = Object.getPrototypeOf(layer) as object;
  let byText = sharedRecords.get(proto);
  if (byText === undefined) {
    byText = new Map();
    sharedRecords.set(proto, byText);
  }
  let group = byText.get(signature.leaves);
  if (group !== undefined) {
    for (const shared of group) {
      if (shared.signature.treedef.equals(signature.treedef)) return shared.checks;
    }
  } else {
    if (byText.size >= MAX_SHARED_PER_CLASS) byText.delete(byText.keys().next().value!);
    group = [];
    byText.set(signature.leaves, group);
  }
  const checks = newCheckRecord();
  // Same leaves, other structures (an Elementwise per closure, say): keep the newest few.
  if (group.length >= MAX_SHARED_PER_CLASS) group.shift();
  group.push({ signature, checks });
  return checks;
}

function layerEntryOf(layer: Layer): LayerEntry {
  let entry = layerEntries.get(layer);
  if (entry === undefined) {
    // One walk with named arrays opened: their axes are static data in the structure, their
    // tensors are leaves, so the structure and the leaves' signature describe the layer fully.
    const [leaves, treedef] = flatten(layer);
    const tensors: tf.Tensor[] = [];
    for (const leaf of leaves) if (leaf instanceof tf.Tensor) tensors.push(leaf);
    const signature = signatureFromLeaves(leaves, treedef);
    const checks = signature === undefined ? newCheckRecord() : sharedCheckRecord(layer, signature);
    entry = { checks, tensors };
    layerEntries.set(layer, entry);
  }
  return entry;
}

/**
 * Checks that none of the layer's own tensors (parameters, constants, anything in its tree) has
 * been disposed: one flag read per tensor.
 *
 * @throws DisposedTensorError naming the key path of the first disposed tensor inside the layer.
 */
function assertOwnTensorsLive(layer: Layer, entry: LayerEntry): void {
  for (const tensor of entry.tensors) {
    if (tensor.isDisposed) throwDisposedOwnTensor(layer);
  }
}

function throwDisposedOwnTensor(layer: Layer): never {
  const layerType = className((layer as object).constructor) || "(anonymous layer)";
  const found = firstDisposed(layer);
  const where =
    found === undefined
      ? "one of its tensors"
      : `its tensor at ${found.path} (${describeTensor(found.tensor)})`;
  throw new DisposedTensorError(
    `${layerType}.call: ${where} has been disposed, so the layer cannot run. A layer's parameters ` +
      "must stay alive while the layer is used: dispose them (or the model holding them) only " +
      "after the last call, or rebuild them (initializeParameters, or load the weights again).",
  );
}

function structuresOf(
  layer: { inputStructure(): unknown; outputStructure(): unknown },
  checks: CheckRecord,
): { input: unknown; output: unknown } {
  let found = checks.structures;
  if (found === undefined) {
    found = { input: layer.inputStructure(), output: layer.outputStructure() };
    checks.structures = found;
  }
  return found;
}

type CallMethod<This, In, Out> = (this: This, argument: In) => Out;

function assertDecoratesCall(
  decorator: string,
  context: ClassMethodDecoratorContext<any, any>,
): void {
  if (context.kind !== "method" || context.name !== "call" || context.static) {
    throw new LayerDefinitionError(
      `@${decorator} decorates the instance method call(argument) of a Layer, but it was applied ` +
        `to ${context.static ? "static " : ""}${context.kind} ${String(context.name)}. ` +
        "Move the decorator onto `call`.",
    );
  }
}

/**
 * Lets an error that escaped `layer.call` record the layer (see {@link ADD_LAYER_CONTEXT}). Layers
 * that call their sublayers without `checkedLayerCall` may call it in a `catch` block.
 *
 * @example
 * try { return body.call(x); } catch (e) { addLayerContext(e, this); throw e; }
 */
export function addLayerContext(error: unknown, layer: Layer): void {
  if (error !== null && typeof error === "object") {
    const hook = (error as { [ADD_LAYER_CONTEXT]?: (layer: Layer) => void })[ADD_LAYER_CONTEXT];
    if (typeof hook === "function") {
      try {
        hook.call(error, layer);
      } catch {
        // Adding context must never replace the error being reported.
      }
    }
  }
}

/**
 * Decorates `call` so that its argument is checked against `inputStructure()` and its result
 * against `outputStructure()` (penzai's `checked_layer_call`). Dimension variables matched in the
 * input are known while checking the output, so `var("n")` in both must agree. The output
 * structure is computed before the body runs, so a {@link MisconfiguredLayerError} fires before
 * any work is done. Returns the body's result unchanged.
 *
 * Before anything else, a checked call makes sure no tensor in the argument and none of the
 * layer's own tensors (its parameters) has been disposed: one flag read per tensor (the layer's
 * tensors are collected once per instance).
 *
 * Checks are paid once per shape: a call whose argument and result have the signatures (tree
 * structure; shapes, named shapes and dtypes of arrays; values of primitives) of a call that
 * passed skips the structures and the solver. The record of passed calls is shared by the
 * instances of a class whose own signatures are equal, so a model rebuilt with new parameter
 * values (a training step) keeps the record of the model it came from.
 *
 * @throws DisposedTensorError naming the key path of a disposed tensor in the argument or the layer.
 * @throws StructureMismatchError (from `@saikei/shapecheck`) naming the layer type and the
 *   mismatching part of the input or output.
 * @example
 * class Scale extends Layer.define({ factor: field<number>() }) {
 *   inputStructure() { return new ArraySpec({ shape: [chk.var("n")] }); }
 *   outputStructure() { return new ArraySpec({ shape: [chk.var("n")] }); }
 *   @checkedLayerCall
 *   call(x: tf.Tensor) { return tf.mul(x, this.factor); }
 * }
 */
export function checkedLayerCall<This extends Layer, In, Out>(
  method: CallMethod<This, In, Out>,
  context: ClassMethodDecoratorContext<This, CallMethod<This, In, Out>>,
): CallMethod<This, In, Out> {
  assertDecoratesCall("checkedLayerCall", context);
  const checked = function (this: This, argument: In): Out {
    const inputSignature = argumentSignatureOf(this, argument);
    const layerEntry = layerEntryOf(this);
    assertOwnTensorsLive(this, layerEntry);
    const checks = layerEntry.checks;
    if (inputSignature !== undefined) {
      for (const entry of checks.passed) {
        if (!sameSignature(entry.input, inputSignature)) continue;
        let result: Out;
        try {
          result = method.call(this, argument);
        } catch (error) {
          addLayerContext(error, this);
          throw error;
        }
        const outputSignature = signatureOf(result);
        if (outputSignature !== undefined && sameSignature(entry.output, outputSignature)) {
          return result;
        }
        // A new result shape: check it in full against the structures.
        return checkCall(this, checks, argument, inputSignature, { result });
      }
    }
    return checkCall(this, checks, argument, inputSignature, undefined);
  };
  const checkCall = (
    layer: This,
    checks: CheckRecord,
    argument: In,
    input: Signature | undefined,
    precomputed: { result: Out } | undefined,
  ): Out => {
    const layerType = className((layer as object).constructor);
    const { input: inputStructure, output: outputStructure } = structuresOf(layer, checks);
    let inputVars: MatchResult;
    try {
      inputVars = check(
        argument,
        inputStructure,
        undefined,
        `Error while checking the input of a layer of type ${layerType}:\n`,
      );
    } catch (error) {
      if (error instanceof Error) {
        error.message += `\nThe input structure of ${layerType} is ${reprValue(inputStructure)}.`;
      }
      throw error;
    }
    let result: Out;
    if (precomputed !== undefined) {
      result = precomputed.result;
    } else {
      try {
        result = method.call(layer, argument);
      } catch (error) {
        addLayerContext(error, layer);
        throw error;
      }
    }
    check(
      result,
      outputStructure,
      inputVars,
      `Error while checking the output of a layer of type ${layerType}:\n`,
    );
    const output = signatureOf(result);
    if (input !== undefined && output !== undefined) {
      if (checks.passed.length >= MAX_PASSED_PER_RECORD) checks.passed.shift();
      checks.passed.push({ input, output });
    }
    return result;
  };
  Object.defineProperty(checked, "name", { value: method.name || "call" });
  Object.defineProperty(checked, CHECKED_LAYER_CALL, { value: true });
  return checked;
}

/**
 * Marks `call` as deliberately unchecked (penzai's `unchecked_layer_call`): the layer may declare
 * `inputStructure()` / `outputStructure()` for documentation or tools, but calls skip the checks.
 * Returns the method itself.
 *
 * @example
 * class Fast extends Layer {
 *   outputStructure() { return new ArraySpec({ shape: [3] }); }
 *   @uncheckedLayerCall
 *   call(x: tf.Tensor) { return x; }
 * }
 */
export function uncheckedLayerCall<This extends Layer, In, Out>(
  method: CallMethod<This, In, Out>,
  context: ClassMethodDecoratorContext<This, CallMethod<This, In, Out>>,
): CallMethod<This, In, Out> {
  assertDecoratesCall("uncheckedLayerCall", context);
  if (!Object.hasOwn(method, CHECKED_LAYER_CALL)) {
    Object.defineProperty(method, CHECKED_LAYER_CALL, { value: false });
  }
  return method;
}
