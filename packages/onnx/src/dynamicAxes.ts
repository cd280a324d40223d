/**
 * Dynamic axes: where their sizes are read at run time, the arguments of the extra traces that
 * scale them, and the sizes (attributes and shapes) written as functions of them.
 *
 * @module
 */

import { isNamedArray, NamedArray } from "@saikei/named";
import { flatten, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { ExportError } from "./errors.js";
import type { DynamicAxisSource, Size, SymbolicSize } from "./graph.js";

/** What {@link dynamicSources} reads of an input. */
export interface AxisLeaf {
  readonly tensor: tf.Tensor;
  readonly path: string;
  readonly axes: readonly (string | null)[];
}

/**
 * Factors by which the second trace scales each dynamic axis: distinct primes, so a size's ratio
 * between traces says which axes it multiplies (see `solveSize`).
 */
export const SCALE_PRIMES = [2, 3, 5, 7, 11, 13];

/** Where each dynamic axis is read at run time, and its example size. */
export function dynamicSources(
  groups: readonly (readonly string[])[],
  leaves: readonly AxisLeaf[],
  inputName: (i: number) => string,
): (DynamicAxisSource & { size: number })[] {
  return groups.map((group) => {
    const name = group[0]!;
    let found: (DynamicAxisSource & { size: number }) | undefined;
    leaves.forEach((leaf, i) => {
      const axis = leaf.axes.findIndex((a) => a !== null && group.includes(a));
      if (axis < 0) return;
      const size = leaf.tensor.shape[axis]!;
      if (found === undefined) found = { name, input: inputName(i), axis, size };
      else if (found.size !== size) {
        throw new ExportError(
          `onnx.export: dynamic axis "${name}" has size ${found.size} in one input and ${size} at ${leaf.path}; give the examples equal sizes.`,
        );
      }
    });
    if (found === undefined) {
      throw new ExportError(
        `onnx.export: dynamic axis "${name}" is not an axis of any NamedArray input. Name the axes of the inputs that vary, or drop "${name}" from dynamicAxes.`,
      );
    }
    if (found.size < 2) {
      throw new ExportError(
        `onnx.export: dynamic axis "${name}" has example size ${found.size}; export with an example size of at least 2 (size 1 broadcasts, and the trace would not show how sizes depend on it).`,
      );
    }
    return found;
  });
}

/** The arguments with every dynamic axis scaled by its prime, as zeros (a trace ignores values). */
export function scaledArguments(
  args: unknown,
  dynamic: readonly (readonly string[])[],
  scale: (size: number, axis: number) => number,
): { args: unknown; made: tf.Tensor[] } {
  const [leaves, def] = flatten(args, isNamedArray);
  const made: tf.Tensor[] = [];
  const scaled = leaves.map((leaf) => {
    if (!isNamedArray(leaf)) return leaf;
    const named = leaf as NamedArray;
    const names = Object.keys(named.namedAxes);
    const positional = named.dataArray.rank - names.length;
    const shape = named.dataArray.shape.map((s, d) => {
      const k = d < positional ? -1 : dynamic.findIndex((g) => g.includes(names[d - positional]!));
      return k < 0 ? s : scale(s, k);
    });
    const data = tf.zeros(shape, named.dataArray.dtype);
    made.push(data);
    const namedAxes: Record<string, number> = Object.create(null);
    names.forEach((n, i) => {
      namedAxes[n] = shape[positional + i]!;
    });
    return new NamedArray({ namedAxes, dataArray: data });
  });
  return { args: unflatten(def, scaled), made };
}

/**
 * The size `a` (first trace) as a function of the dynamic axes, from its values `b` and `c` in the
 * traces with every axis scaled by its prime `p` and one larger: a product `coefficient × ∏ axis^e`
 * (the ratio `b / a` is a product of primes whose exponents say which axes it multiplies), or an
 * affine function of one axis (`seq - 1`). The third trace confirms the candidate.
 */
function solveSize(
  a: number,
  [b, c]: readonly [number, number],
  examples: readonly number[],
  where: () => string,
): Size {
  if (a === b && a === c) return a;
  const axes = examples.length;
  const sizeIn = (k: number, trace: 0 | 1 | 2) =>
    trace === 0 ? examples[k]! : trace === 1 ? examples[k]! * SCALE_PRIMES[k]! : examples[k]! + 1;
  const monomial = monomialOf(a, b, examples);
  if (monomial !== undefined) {
    const atC = monomial.exponents.reduce(
      (acc, e, k) => acc * sizeIn(k, 2) ** e,
      monomial.coefficient,
    );
    if (atC === c) return monomial;
  }
  for (let k = 0; k < axes; k++) {
    const slope = (b - a) / (sizeIn(k, 1) - sizeIn(k, 0));
    const offset = a - slope * sizeIn(k, 0);
    if (
      Number.isInteger(slope) &&
      Number.isInteger(offset) &&
      offset + slope * sizeIn(k, 2) === c
    ) {
      const exponents = examples.map((_, i) => (i === k ? 1 : 0));
      return { coefficient: slope, exponents, offset };
    }
  }
  throw new ExportError(
    `onnx.export: ${where()} changes with the dynamic axes in a way the exporter cannot express ` +
      `(${a} in the example; sizes may be products of dynamic sizes, or one dynamic size plus a constant). Export with those axes static.`,
  );
}

/** `a` as `coefficient × ∏ axis^e` when `b / a` is a product of the axes' primes. */
function monomialOf(a: number, b: number, examples: readonly number[]): SymbolicSize | undefined {
  if (a <= 0 || b <= 0) return undefined;
  let ratio = b / a;
  const exponents = SCALE_PRIMES.slice(0, examples.length).map((p) => {
    let e = 0;
    while (ratio > 1 && Number.isInteger(ratio / p) && e < 4) {
      ratio /= p;
      e++;
    }
    return e;
  });
  const coefficient = a / exponents.reduce((acc, e, k) => acc * examples[k]! ** e, 1);
  return ratio === 1 && Number.isInteger(coefficient) ? { coefficient, exponents } : undefined;
}

/** `a` (from the first trace) with every number that differs in the others replaced by a symbolic size. */
export function symbolize(
  a: unknown,
  others: readonly [unknown, unknown],
  examples: readonly number[],
  where: () => string,
): unknown {
  const [b, c] = others;
  if (typeof a === "number" && typeof b === "number" && typeof c === "number") {
    return solveSize(a, [b, c], examples, where);
  }
  if (
    Array.isArray(a) &&
    Array.isArray(b) &&
    Array.isArray(c) &&
    a.length === b.length &&
    a.length === c.length
  ) {
    return a.map((x, i) => symbolize(x, [b[i], c[i]], examples, where));
  }
  if (
    a !== null &&
    b !== null &&
    c !== null &&
    typeof a === "object" &&
    typeof b === "object" &&
    typeof c === "object" &&
    !ArrayBuffer.isView(a)
  ) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(a)) {
      out[key] = symbolize(
        (a as Record<string, unknown>)[key],
        [(b as Record<string, unknown>)[key], (c as Record<string, unknown>)[key]],
        examples,
        where,
      );
    }
    return out;
  }
  return a;
}
