/**
 * Name-aware operations on named arrays: elementwise ops with name-union broadcasting,
 * reductions, `where`, contraction (`dot`), softmax and logsumexp. Each converts its operands to
 * layouts, runs the kernel in `layoutOps.ts` (the one implementation, shared with the
 * `NamedArray` methods) and wraps the result.
 *
 * Elementwise results keep the data layout of their largest operand, so adding a small array to a
 * large one never transposes the large one. Names in the result are ordered as in the largest
 * operand, then in order of first appearance.
 *
 * @module
 */

import { checkOptions } from "@saikei/struct";
import type * as tf from "@tensorflow/tfjs-core";
import { type AxisName, nameRecord } from "./layout.js";
import {
  type BinaryOpName,
  binaryLayout,
  dataAxesOf as dataAxesOfLayout,
  dotLayouts,
  elementwiseLayout,
  normalizeLayout,
  type ReductionAxes,
  type ReductionName,
  reduceLayout,
  type UnaryOpName,
  unaryLayout,
  unionOfLayouts,
  whereLayout,
} from "./layoutOps.js";
import {
  fromLayoutValue,
  type NamedArray,
  NamedArrayBase,
  type NamedOperand,
  operandLayout,
} from "./namedArray.js";

export {
  type BinaryOpName,
  isInt32,
  type ReductionName,
  type UnaryOpName,
  weakScalar,
} from "./layoutOps.js";

/**
 * Collects the size of every axis name across named operands, in order of first appearance;
 * operands that are not named arrays are skipped.
 *
 * @throws NamedShapeMismatchError when one name has two sizes.
 * @example
 * unionNamedShape([nx.zeros({ a: 2 }), nx.zeros({ b: 3 })], "f") // { a: 2, b: 3 }
 */
export function unionNamedShape(
  operands: readonly unknown[],
  where: string,
  labels?: readonly string[],
): Record<AxisName, number> {
  return nameRecord(
    unionOfLayouts(
      operands.map((o) => (o instanceof NamedArrayBase ? o.layout() : undefined)),
      where,
      labels,
    ),
  );
}

/**
 * Applies a broadcasting tfjs function to named operands: named axes are matched by name (the
 * result has the union of names), positional axes broadcast with NumPy rules. `fn` receives
 * tensors laid out as `[...positional (padded to a common rank), ...names]` where absent names
 * have size 1, so it must broadcast (any elementwise tfjs op does).
 *
 * @param fn a tfjs function that broadcasts its tensor arguments.
 * @param operands named arrays, tensors (positional only) or scalars.
 * @param where the operation name, for error messages.
 * @param scalarDtype dtype for plain number operands; by default that of the first array operand.
 * @returns a NamedArray whose positional axes come first.
 * @example
 * elementwise(tf.add, [nx.zeros({ a: 2 }), nx.ones({ b: 3 })], "add").namedShape // { a: 2, b: 3 }
 */
export function elementwise(
  fn: (...tensors: tf.Tensor[]) => tf.Tensor,
  operands: readonly NamedOperand[],
  where: string,
  scalarDtype?: tf.DataType,
): NamedArray {
  return fromLayoutValue(
    elementwiseLayout(fn, operands.map(operandLayout), where, scalarDtype),
  ) as NamedArray;
}

/**
 * A binary elementwise op with name-union broadcasting (the engine behind `add`, `lt`, ...).
 *
 * @example
 * binaryOp("add", nx.zeros({ a: 2 }), 1)
 */
export function binaryOp(op: BinaryOpName, a: NamedOperand, b: NamedOperand): NamedArrayBase {
  return fromLayoutValue(binaryLayout(op, operandLayout(a), operandLayout(b)));
}

/**
 * A unary elementwise op; keeps the array's class and layout.
 *
 * @example
 * unaryOp("neg", nx.ones({ a: 2 }))
 */
export function unaryOp(op: UnaryOpName, x: NamedArrayBase): NamedArrayBase {
  return fromLayoutValue(unaryLayout(op, x.layout()));
}

/**
 * Elementwise logical not (inputs are cast to bool).
 *
 * @example
 * notOp(nx.zeros({ a: 2 }).eq(0))
 */
export function notOp(x: NamedArrayBase): NamedArrayBase {
  return unaryOp("not", x);
}

/**
 * Casts the data to `dtype`, keeping class and layout (the array itself when nothing changes).
 *
 * @example
 * astype(nx.ones({ a: 2 }), "int32").dtype // "int32"
 */
export function astype(x: NamedArrayBase, dtype: tf.DataType): NamedArrayBase {
  return x.astype(dtype);
}

/**
 * Resolves positional indices and names to data axes.
 *
 * @example
 * dataAxesOf(nx.zeros({ a: 2, b: 3 }), "b", "sum") // [1]
 */
export function dataAxesOf(x: NamedArrayBase, axes: ReductionAxes, where: string): number[] {
  return dataAxesOfLayout(x.layout(), axes, where);
}

/**
 * A reduction over positional axes (numbers) and/or named axes (strings). With `axes`
 * undefined, reduces every positional axis; a fully named array is returned unchanged.
 *
 * @example
 * reduceOp("sum", nx.ones({ a: 2, b: 3 }), "a") // named shape { b: 3 }, values 2
 */
export function reduceOp(
  kind: ReductionName,
  x: NamedArrayBase,
  axes?: ReductionAxes,
): NamedArrayBase {
  const layout = x.layout();
  const out = reduceLayout(kind, layout, axes);
  return out === layout ? x : fromLayoutValue(out);
}

/**
 * `cond ? a : b` elementwise, with name-union broadcasting (penzai `nmap(jnp.where)`).
 * Number operands take the dtype of the other value operand.
 *
 * @param cond a boolean (or numeric, cast to bool) named array or tensor.
 * @example
 * nx.where(nx.arange("i", 0, 3).lt(1), 1, 0) // i: [1, 0, 0]
 */
export function where(cond: NamedOperand, a: NamedOperand, b: NamedOperand): NamedArray {
  return fromLayoutValue(
    whereLayout(operandLayout(cond), operandLayout(a), operandLayout(b)),
  ) as NamedArray;
}

/** Options of {@link dot}. */
export interface DotOptions {
  /** Axis names summed over; each must be present in both operands with the same size. */
  contract: readonly AxisName[];
}

/**
 * Name-aware contraction: sums `a * b` over the `contract` axes (penzai's `contract`, and the
 * one contraction saikei has: nn's `contract`, `Linear`, `NamedEinsum` and `EmbeddingDecode` call
 * it). Names present in both operands and not contracted are batch axes (matched elementwise);
 * names in only one operand are kept.
 *
 * Lowering: without batch axes one plain 2-D `tf.matMul` of `[rows, k] x [k, cols]` on
 * explicitly transposed data (a transposed-operand matMul is about 30 times slower on wasm).
 * With batch axes one `[...batch, rows, k] x [...batch, k, cols]` product, which on wasm is split
 * into plain 2-D matMuls when the slices are large enough to pay for it. Transposes and reshapes
 * that would not change the data's layout are skipped (each is a kernel dispatch, which dominates
 * small products): moving size-1 axes is a reshape, and a `{batch: 1, seq: 1, embedding}` input
 * feeds the matMul as it is. Differentiable (`tf.grad`) and traceable (`jit`) on every path.
 *
 * The result is a NamedArray whose axes are ordered: batch names (in `a`'s order), then `a`'s
 * other names, then `b`'s other names.
 *
 * @throws PositionalAxesError if an operand has positional axes (tag them first).
 * @throws AxisNameError if a contracted name is missing from an operand.
 * @throws NamedShapeMismatchError if a shared name has two sizes.
 * @throws UnknownOptionError for an option other than `contract`.
 * @example
 * nx.dot(x, w, { contract: ["embedding"] }) // x: {batch, embedding}, w: {embedding, neurons}
 */
export function dot(a: NamedArrayBase, b: NamedArrayBase, options: DotOptions): NamedArray {
  checkOptions("nx.dot", options, ["contract"]);
  return fromLayoutValue(dotLayouts(a.layout(), b.layout(), [...options.contract])) as NamedArray;
}

/**
 * Softmax over the given axes (names or positional indices), lowered to `tf.softmax` on the last
 * data axis (the axes are moved last; the result keeps that layout, so no transpose back).
 *
 * @example
 * nx.softmax(logits, "kv_seq")
 */
export function softmax(x: NamedArrayBase, axes: ReductionAxes): NamedArrayBase {
  return fromLayoutValue(normalizeLayout(x.layout(), axes, "softmax"));
}

/**
 * Log-softmax over the given axes (see {@link softmax}).
 *
 * @example
 * nx.logSoftmax(logits, "vocabulary")
 */
export function logSoftmax(x: NamedArrayBase, axes: ReductionAxes): NamedArrayBase {
  return fromLayoutValue(normalizeLayout(x.layout(), axes, "logSoftmax"));
}

/**
 * `log(sum(exp(x)))` over the given axes, stabilised by the maximum; all `-Infinity` inputs give
 * `-Infinity`.
 *
 * @example
 * nx.logsumexp(logits, "vocabulary")
 */
export function logsumexp(x: NamedArrayBase, axes: ReductionAxes): NamedArrayBase {
  return reduceOp("logsumexp", x, axes);
}
