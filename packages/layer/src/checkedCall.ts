/**
 * `checkedLayerCall` / `uncheckedLayerCall`: the standard method decorators for `Layer#call`.
 *
 * @module
 */

import { isNamedArray } from "@saikei/named";
import { ArraySpec, checkStructure, MatchResult, Wildcard } from "@saikei/shapecheck";
import {
  className,
  flatten,
  flattenWithPath,
  keystr,
  nodeTypeOf,
  reprValue,
  type TreeDef,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  CHECKED_LAYER_CALL,
  DisposedTensorError,
  type Layer,
  LayerDefinitionError,
} from "./layer.js";

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

/**
 * What a check depends on in a value: its tree structure and, per leaf, the shape, named shape and
 * dtype of arrays and the value of primitives. `undefined` when a leaf is something else (an
 * object whose equality a pattern might test), and then the check is not cached.
 */
interface Signature {
  readonly treedef: TreeDef;
  readonly leaves: string;
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

/**
 * The tensors held by each checked layer that has been called: a layer is immutable, so they are
 * collected once per instance, and every call then reads one flag per tensor.
 */
const ownTensors = new WeakMap<object, readonly tf.Tensor[]>();

/**
 * Checks that none of the layer's own tensors (parameters, constants, anything in its tree) has
 * been disposed.
 *
 * @throws DisposedTensorError naming the key path of the first disposed tensor inside the layer.
 */
function assertOwnTensorsLive(layer: Layer): void {
  let tensors = ownTensors.get(layer);
  if (tensors === undefined) {
    tensors = flatten(layer)[0].filter((leaf): leaf is tf.Tensor => leaf instanceof tf.Tensor);
    ownTensors.set(layer, tensors);
  }
  for (const tensor of tensors) {
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

function signatureOf(value: unknown): Signature | undefined {
  const [leaves, treedef] = flatten(value, isNamedArray);
  return signatureFromLeaves(leaves, treedef);
}

function signatureFromLeaves(leaves: readonly unknown[], treedef: TreeDef): Signature | undefined {
  let text = "";
  for (const leaf of leaves) {
    if (isNamedArray(leaf)) {
      text += `N${leaf.dtype}(${leaf.positionalShape.join(",")})`;
      for (const [name, size] of Object.entries(leaf.namedShape))
        text += `${JSON.stringify(name)}:${size},`;
    } else if (leaf instanceof tf.Tensor) {
      text += `T${leaf.dtype}(${leaf.shape.join(",")})`;
    } else if (typeof leaf === "number" || typeof leaf === "boolean" || typeof leaf === "string") {
      text += `P${typeof leaf}:${JSON.stringify(leaf)}`;
    } else if (leaf === null || leaf === undefined) {
      text += `P${String(leaf)}`;
    } else {
      return undefined;
    }
    text += ";";
  }
  return { treedef, leaves: text };
}

interface PassedCheck {
  readonly input: Signature;
  readonly output: Signature;
}

const MAX_PASSED_PER_LAYER = 8;

/**
 * Checks that passed, per layer instance. A layer's structures depend only on the layer (it is
 * immutable) and on what its checks look at in the argument and result (see {@link signatureOf}),
 * so a call whose argument and result have the signatures of a passed call passes too: penzai pays
 * for checks once per shape under `jit`, and this gives eager calls the same cost profile.
 */
const passedChecks = new WeakMap<object, PassedCheck[]>();

/**
 * A layer's input and output structures, built once per layer: layers are frozen, so their
 * structures never change, and layer classes need not cache them themselves. A structure method
 * that throws (a misconfigured layer) is asked again next time.
 */
const structures = new WeakMap<object, { input: unknown; output: unknown }>();

function structuresOf(layer: { inputStructure(): unknown; outputStructure(): unknown }): {
  input: unknown;
  output: unknown;
} {
  let found = structures.get(layer);
  if (found === undefined) {
    found = { input: layer.inputStructure(), output: layer.outputStructure() };
    structures.set(layer, found);
  }
  return found;
}

function sameSignature(a: Signature, b: Signature): boolean {
  return a.leaves === b.leaves && a.treedef.equals(b.treedef);
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
    const passed = passedChecks.get(this);
    const inputSignature = argumentSignatureOf(this, argument);
    assertOwnTensorsLive(this);
    if (passed !== undefined && inputSignature !== undefined) {
      for (const entry of passed) {
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
        return checkCall(this, argument, inputSignature, { result });
      }
    }
    return checkCall(this, argument, inputSignature, undefined);
  };
  const checkCall = (
    layer: This,
    argument: In,
    input: Signature | undefined,
    precomputed: { result: Out } | undefined,
  ): Out => {
    const layerType = className((layer as object).constructor);
    const { input: inputStructure, output: outputStructure } = structuresOf(layer);
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
      const list = passedChecks.get(layer) ?? [];
      if (list.length >= MAX_PASSED_PER_LAYER) list.shift();
      list.push({ input, output });
      passedChecks.set(layer, list);
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
