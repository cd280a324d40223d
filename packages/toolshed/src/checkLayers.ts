/**
 * Checking a layer's declared input and output structures by running it on a synthesized input
 * (penzai's `toolshed.check_layers_by_tracing`). Penzai traces abstractly with `jax.eval_shape`;
 * tfjs has no abstract evaluation, so the layer runs for real on zeros whose unknown dimensions
 * are small distinct primes (7, 11, 13, ...), which makes a dimension mix-up show up as a shape
 * mismatch. Every tensor the check creates is disposed before it returns.
 *
 * @module
 */

import { nx, random } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import {
  ArraySpec,
  type ArraySpec as ArraySpecType,
  asArrayStructure,
  checkStructure,
  DimensionVariableSubstitution,
  type DType,
  fullSubstituteDimensionVariables,
  getDimensionVariables,
  isConcreteDType,
  isSubDType,
  type MatchResult,
  Wildcard,
} from "@saikei/shapecheck";
import { checkOptions, className, findOutermost, flatten, rewriteOutermost } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { CheckLayerError } from "./errors.js";

/** A layer whose input and output structures may be declared. */
interface CheckableLayer {
  call(argument: unknown): unknown;
  inputStructure?: () => unknown;
  outputStructure?: () => unknown;
}

/** Options for {@link checkLayer}. */
export interface CheckLayerOptions {
  /** The input to run the layer on; synthesized from `inputStructure()` when omitted. */
  argument?: unknown;
  /** Initialise uninitialized parameters with `random.key(0)` first (default true). */
  initialize?: boolean;
}

/** Primes from 7 on: 2, 3 and 5 are skipped because they are common real sizes. */
function* primes(): Generator<number> {
  for (let n = 7; ; n += 2) {
    let prime = true;
    for (let d = 3; d * d <= n; d += 2) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) yield n;
  }
}

const PREFERRED_DTYPES = ["float32", "int32", "bool"] as const;

function concreteDtype(dtype: DType): tf.DataType {
  if (isConcreteDType(dtype) && (PREFERRED_DTYPES as readonly string[]).includes(dtype))
    return dtype as tf.DataType;
  for (const candidate of PREFERRED_DTYPES) if (isSubDType(candidate, dtype)) return candidate;
  throw new CheckLayerError(
    `checkLayer cannot synthesize an array of dtype ${String(dtype)}: tfjs has float32, int32 and bool. ` +
      "Pass an explicit { argument }.",
  );
}

function zerosFor(spec: ArraySpecType): unknown {
  const dtype = concreteDtype(spec.dtype);
  const shape = spec.shape as readonly number[];
  const named = spec.namedShape as Readonly<Record<string, number>>;
  const names = Object.keys(named);
  if (names.length === 0) return tf.zeros(shape as number[], dtype);
  if (shape.length === 0) return nx.zeros(named, dtype);
  return nx.wrap(tf.zeros([...names.map((n) => named[n]!), ...shape], dtype)).tagPrefix(...names);
}

/**
 * Synthesizes an input for a declared input structure: every dimension variable gets a distinct
 * prime (size variables one, positional unpack variables two, named unpack variables two axes
 * `__trace_check_<p>__`), and every `ArraySpec` becomes zeros of the first of float32, int32, bool
 * its dtype allows.
 *
 * @param structure an input structure (a tree with `ArraySpec` leaves, no `ANY`).
 * @returns the input (the caller owns its tensors) and the substitution used.
 * @throws CheckLayerError when the structure contains a `Wildcard`.
 * @example
 * const [input] = synthesizeInput(layer.inputStructure());
 */
export function synthesizeInput(structure: unknown): [unknown, DimensionVariableSubstitution] {
  if (
    findOutermost(structure, { instanceOf: Wildcard }, { operation: "synthesizeInput" }).length > 0
  ) {
    throw new CheckLayerError(
      "Cannot synthesize an input for a layer whose input structure contains ANY. Please provide an explicit dummy argument: checkLayer(layer, { argument }).",
    );
  }
  const vars = getDimensionVariables(structure);
  const next = primes();
  const take = () => next.next().value as number;
  const sizeVariables: Record<string, number> = {};
  for (const key of Object.keys(vars.sizeVariables)) sizeVariables[key] = take();
  const sequenceVariables: Record<string, number[]> = {};
  for (const key of Object.keys(vars.sequenceVariables)) sequenceVariables[key] = [take(), take()];
  const mappingVariables: Record<string, Record<string, number>> = {};
  for (const key of Object.keys(vars.mappingVariables)) {
    const [a, b] = [take(), take()];
    mappingVariables[key] = { [`__trace_check_${a}__`]: a, [`__trace_check_${b}__`]: b };
  }
  const substitution = new DimensionVariableSubstitution({
    sizeVariables,
    sequenceVariables,
    mappingVariables,
  });
  const concrete = fullSubstituteDimensionVariables(structure, substitution);
  const input = rewriteOutermost(concrete, { instanceOf: ArraySpec }, zerosFor, {
    operation: "synthesizeInput",
  });
  return [input, substitution];
}

function tensorsIn(tree: unknown): tf.Tensor[] {
  return flatten(tree)[0].filter((x): x is tf.Tensor => x instanceof tf.Tensor);
}

/**
 * Checks a layer against its declared structures (penzai's `check_layer`): optionally initialises
 * its parameters, builds an input from `inputStructure()` (or uses `argument`), checks it, calls
 * the layer, and checks the output against `outputStructure()` with the input's dimension
 * variables known. Nothing stays allocated.
 *
 * @param layer the layer (uninitialized parameters are fine with `initialize: true`).
 * @param options `argument` and `initialize` (default true).
 * @returns the output's structure as a tree of `ArraySpec`s (non-array leaves become `ANY`).
 * @throws CheckLayerError when no input can be synthesized; StructureMismatchError (from
 *   `@saikei/shapecheck`) when the input or output does not match the declared structure.
 * @example
 * checkLayer(Linear.fromConfig({ features: 8 }, { out: 4 })); // ArraySpec with namedShape { out: 4, ... }
 */
export function checkLayer(layer: CheckableLayer, options: CheckLayerOptions = {}): unknown {
  checkOptions("checkLayer", options, ["argument", "initialize"]);
  const before = new Set(tensorsIn(layer));
  const model = (
    (options.initialize ?? true) ? initializeParameters(layer, random.key(0)) : layer
  ) as CheckableLayer;
  const owned = tensorsIn(model).filter((t) => !before.has(t));
  try {
    let argument = options.argument;
    if (argument === undefined) {
      if (typeof model.inputStructure !== "function") {
        throw new CheckLayerError(
          `checkLayer: ${className(model.constructor)} declares no inputStructure(), so no input can be synthesized. ` +
            "Pass an explicit dummy argument: checkLayer(layer, { argument }).",
        );
      }
      [argument] = synthesizeInput(model.inputStructure());
      owned.push(...tensorsIn(argument));
    }
    const name = className(model.constructor);
    let match: MatchResult | undefined;
    if (typeof model.inputStructure === "function") {
      match = checkStructure(argument, model.inputStructure(), {
        errorPrefix: `checkLayer(${name}) input: `,
      });
    }
    const result = model.call(argument);
    owned.push(...tensorsIn(result).filter((t) => !before.has(t)));
    if (typeof model.outputStructure === "function") {
      checkStructure(result, model.outputStructure(), {
        knownVars: match,
        errorPrefix: `checkLayer(${name}) output: `,
      });
    }
    return asArrayStructure(result);
  } finally {
    for (const t of new Set(owned)) if (!t.isDisposed && !before.has(t)) t.dispose();
  }
}
