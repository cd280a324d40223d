/**
 * `checkedLayerCall` / `uncheckedLayerCall`: the standard method decorators for `Layer#call`.
 *
 * @module
 */

import { isNamedArray } from "@saikei/named";
import { ArraySpec, checkStructure, MatchResult, Wildcard } from "@saikei/shapecheck";
import { className, flatten, nodeTypeOf, reprValue, type TreeDef } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { CHECKED_LAYER_CALL, type Layer, LayerDefinitionError } from "./layer.js";

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

function signatureOf(value: unknown): Signature | undefined {
  const [leaves, treedef] = flatten(value, isNamedArray);
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
    const inputSignature = signatureOf(argument);
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
    const inputStructure = layer.inputStructure();
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
    const outputStructure = layer.outputStructure();
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
