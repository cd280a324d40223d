/**
 * Name-aware operations lowered to plain tfjs kernels: elementwise ops with name-union
 * broadcasting, reductions, `where`, contraction (`dot`), softmax and logsumexp.
 *
 * Elementwise results keep the data layout of their largest operand, so adding a small array to a
 * large one never transposes the large one. Names in the result are ordered as in the largest
 * operand, then in order of first appearance.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { isTaping } from "./engineState.js";
import { AxisNameError, NamedShapeMismatchError, PositionalAxesError } from "./errors.js";
import { broadcastFast, matMulFast, whereFast } from "./lowering.js";
import {
  type AxisName,
  describeNamedShape,
  fromLayout,
  type Layout,
  NamedArray,
  NamedArrayBase,
  NamedArrayView,
  nameRecord,
  transposeIfNeeded,
} from "./namedArray.js";
import { tidy } from "./tidy.js";

/** Anything an elementwise op accepts: named arrays, plain tensors (positional only) and scalars. */
export type NamedOperand = NamedArrayBase | tf.Tensor | number | boolean;

/** Axes for reductions: positional indices (numbers) and/or axis names (strings). */
export type ReductionAxes = number | AxisName | readonly (number | AxisName)[];

function positionalLayout(t: tf.Tensor): Layout {
  return { data: t, logical: Array.from({ length: t.rank }, (_, i) => i), names: [], nameAxis: {} };
}

function layoutOfOperand(o: NamedOperand): Layout | undefined {
  if (o instanceof NamedArrayBase) return o.layout();
  if (o instanceof tf.Tensor) return positionalLayout(o);
  return undefined;
}

/**
 * Whether a JavaScript number is an int32 value: JavaScript has one number type, so integers
 * outside the int32 range (like the attention mask value -2.3819763e38) count as floats.
 *
 * @example
 * isInt32(3) // true; isInt32(1e10) // false; isInt32(0.5) // false
 */
export function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
}

/**
 * Converts a JavaScript scalar to a tensor with JAX's "weak type" rule: it takes the dtype of
 * the array it meets unless its value needs a wider one (a fraction meeting an int32 array).
 *
 * @example
 * weakScalar(2, "int32").dtype // "int32"
 */
export function weakScalar(value: number | boolean, reference: tf.DataType | undefined): tf.Tensor {
  if (typeof value === "boolean") return tf.scalar(value, "bool");
  if (reference === "float32" || reference === "complex64") return tf.scalar(value, "float32");
  return tf.scalar(value, isInt32(value) ? "int32" : "float32");
}

function broadcastShapes(shapes: readonly (readonly number[])[], where: string): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new NamedShapeMismatchError(
          `${where}: positional shapes ${shapes.map((x) => `[${x.join(", ")}]`).join(", ")} cannot be broadcast together ` +
            "(NumPy rules: right-aligned, sizes equal or 1). Named axes are matched by name; tag positional axes to " +
            "match them by name instead.",
        );
      }
    }
  }
  return out;
}

/**
 * Collects the size of every axis name across named operands, in order of first appearance.
 *
 * @throws NamedShapeMismatchError when one name has two sizes.
 */
export function unionNamedShape(
  operands: readonly unknown[],
  where: string,
  labels?: readonly string[],
): Record<AxisName, number> {
  const sizes: Record<string, number> = nameRecord();
  const bad = new Set<string>();
  for (const o of operands) {
    if (!(o instanceof NamedArrayBase)) continue;
    for (const [n, s] of Object.entries(o.namedShape)) {
      if (Object.hasOwn(sizes, n) && sizes[n] !== s) bad.add(n);
      else if (!Object.hasOwn(sizes, n)) sizes[n] = s;
    }
  }
  if (bad.size > 0) {
    const lines = operands
      .map((o, i) =>
        o instanceof NamedArrayBase
          ? `  ${labels?.[i] ?? `args[${i}]`}.namedShape == ${describeNamedShape(o.namedShape)}`
          : "",
      )
      .filter((l) => l !== "");
    throw new NamedShapeMismatchError(
      `Inconsistent named axes in a call to ${where} for axes [${[...bad].join(", ")}]:\n${lines.join("\n")}\n` +
        "Axes with the same name must have the same size; rename one of them with untag(...)/tag(...) if they differ.",
    );
  }
  return sizes;
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
  const layouts = operands.map(layoutOfOperand);
  const sizes = unionNamedShape(operands, where);
  let largest = -1;
  let best = -1;
  layouts.forEach((l, i) => {
    if (l !== undefined && l.data.size > best) {
      best = l.data.size;
      largest = i;
    }
  });
  const outNames: string[] = [];
  if (largest >= 0) {
    const l = layouts[largest]!;
    outNames.push(...[...l.names].sort((a, b) => l.nameAxis[a]! - l.nameAxis[b]!));
  }
  for (const l of layouts)
    if (l !== undefined) for (const n of l.names) if (!outNames.includes(n)) outNames.push(n);
  const positional = layouts
    .filter((l) => l !== undefined)
    .map((l) => l.logical.map((d) => l.data.shape[d]!));
  const outPositional = broadcastShapes(positional, where);
  const P = outPositional.length;
  const reference =
    scalarDtype ??
    operands.find((o): o is NamedArrayBase | tf.Tensor => typeof o === "object")?.dtype;
  return tidy(() => {
    const inputs = operands.map((o, i) => {
      const l = layouts[i];
      if (l === undefined) return weakScalar(o as number | boolean, reference);
      const present = outNames.filter((n) => Object.hasOwn(l.nameAxis, n));
      const perm = [...l.logical, ...present.map((n) => l.nameAxis[n]!)];
      let t = transposeIfNeeded(l.data, perm);
      const shape = [
        ...new Array<number>(P - l.logical.length).fill(1),
        ...l.logical.map((d) => l.data.shape[d]!),
        ...outNames.map((n) => (n in l.nameAxis ? sizes[n]! : 1)),
      ];
      // Leading size-1 axes need no reshape: tfjs broadcasts from the trailing axes (a bias
      // `{hidden}` meets `{batch, hidden}` as it is, one dispatch fewer, and one fewer again in
      // the gradient).
      let lead = 0;
      while (lead < shape.length - t.rank && shape[lead] === 1) lead++;
      if (!sameShape(t.shape, shape.slice(lead))) t = tf.reshape(t, shape);
      return t;
    });
    let out = fn(...inputs);
    const target = [...outPositional, ...outNames.map((n) => sizes[n]!)];
    out = out.size === prod(target) ? reshapeIfNeeded(out, target) : broadcastFast(out, target);
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of outNames) namedAxes[n] = sizes[n]!;
    return new NamedArray({ namedAxes, dataArray: out });
  });
}

/** Replaces the data of `x`, keeping its class and static fields (same shape required). */
function withData(x: NamedArrayBase, data: tf.Tensor): NamedArrayBase {
  if (x instanceof NamedArrayView) {
    return new NamedArrayView({
      dataShape: x.dataShape,
      dataAxisForLogicalAxis: x.dataAxisForLogicalAxis,
      dataAxisForName: x.dataAxisForName,
      dataArray: data,
    });
  }
  return new NamedArray({ namedAxes: (x as NamedArray).namedAxes, dataArray: data });
}

const isIntegral = (t: tf.Tensor) => t.dtype === "int32" || t.dtype === "bool";
const toNumeric = (t: tf.Tensor) => (t.dtype === "bool" ? tf.cast(t, "int32") : t);
const toFloat = (t: tf.Tensor) => (isIntegral(t) ? tf.cast(t, "float32") : t);
const toBool = (t: tf.Tensor) => (t.dtype === "bool" ? t : tf.cast(t, "bool"));

function sameDtype(a: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (a.dtype === b.dtype) return [a, b];
  const target: tf.DataType = a.dtype === "float32" || b.dtype === "float32" ? "float32" : "int32";
  return [a.dtype === target ? a : tf.cast(a, target), b.dtype === target ? b : tf.cast(b, target)];
}

/** The binary elementwise operations available as NamedArray methods. */
export type BinaryOpName =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "equal"
  | "notEqual"
  | "less"
  | "lessEqual"
  | "greater"
  | "greaterEqual"
  | "logicalAnd"
  | "logicalOr";

const BINARY: Record<BinaryOpName, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: (a, b) => tf.add(...sameDtype(toNumeric(a), toNumeric(b))),
  sub: (a, b) => tf.sub(...sameDtype(toNumeric(a), toNumeric(b))),
  mul: (a, b) => tf.mul(...sameDtype(toNumeric(a), toNumeric(b))),
  div: (a, b) => tf.div(toFloat(a), toFloat(b)),
  pow: (a, b) => tf.pow(...sameDtype(toNumeric(a), toNumeric(b))),
  maximum: (a, b) => tf.maximum(...sameDtype(toNumeric(a), toNumeric(b))),
  minimum: (a, b) => tf.minimum(...sameDtype(toNumeric(a), toNumeric(b))),
  equal: (a, b) => tf.equal(...sameDtype(a, b)),
  notEqual: (a, b) => tf.notEqual(...sameDtype(a, b)),
  less: (a, b) => tf.less(...sameDtype(a, b)),
  lessEqual: (a, b) => tf.lessEqual(...sameDtype(a, b)),
  greater: (a, b) => tf.greater(...sameDtype(a, b)),
  greaterEqual: (a, b) => tf.greaterEqual(...sameDtype(a, b)),
  logicalAnd: (a, b) => tf.logicalAnd(toBool(a), toBool(b)),
  logicalOr: (a, b) => tf.logicalOr(toBool(a), toBool(b)),
};

/**
 * A binary elementwise op with name-union broadcasting (the engine behind `add`, `lt`, ...).
 *
 * @example
 * binaryOp("add", nx.zeros({ a: 2 }), 1)
 */
export function binaryOp(op: BinaryOpName, a: NamedOperand, b: NamedOperand): NamedArrayBase {
  return elementwise(BINARY[op], [a, b], op);
}

/** The unary elementwise operations available as NamedArray methods. */
export type UnaryOpName = "neg" | "abs" | "exp" | "log" | "sqrt";

const UNARY: Record<UnaryOpName, (a: tf.Tensor) => tf.Tensor> = {
  neg: (a) => tf.neg(toNumeric(a)),
  abs: (a) => tf.abs(toNumeric(a)),
  exp: (a) => tf.exp(toFloat(a)),
  log: (a) => tf.log(toFloat(a)),
  sqrt: (a) => tf.sqrt(toFloat(a)),
};

/**
 * A unary elementwise op; keeps the array's class and layout.
 *
 * @example
 * unaryOp("neg", nx.ones({ a: 2 }))
 */
export function unaryOp(op: UnaryOpName, x: NamedArrayBase): NamedArrayBase {
  return tidy(() => withData(x, UNARY[op](x.dataArray)));
}

/**
 * Elementwise logical not (inputs are cast to bool).
 *
 * @example
 * notOp(nx.zeros({ a: 2 }).eq(0))
 */
export function notOp(x: NamedArrayBase): NamedArrayBase {
  return tidy(() => withData(x, tf.logicalNot(toBool(x.dataArray))));
}

/**
 * Casts the data to `dtype`, keeping class and layout.
 *
 * @example
 * astype(nx.ones({ a: 2 }), "int32").dtype // "int32"
 */
export function astype(x: NamedArrayBase, dtype: tf.DataType): NamedArrayBase {
  if (x.dtype === dtype) return x;
  return tidy(() => withData(x, tf.cast(x.dataArray, dtype)));
}

/** Resolves positional indices and names to data axes. */
export function dataAxesOf(x: NamedArrayBase, axes: ReductionAxes, where: string): number[] {
  const { logical, nameAxis } = x.layout();
  const list: readonly (number | string)[] = Array.isArray(axes) ? axes : [axes as number | string];
  const out: number[] = [];
  for (const a of list) {
    let d: number;
    if (typeof a === "number") {
      const p = logical.length;
      if (!Number.isInteger(a) || a < -p || a >= p) {
        throw new PositionalAxesError(
          `${where}: positional axis ${a} is out of range for positional shape [${x.positionalShape.join(", ")}]. ` +
            "Numbers select positional axes (negative counts from the end); use a string to select a named axis.",
        );
      }
      d = logical[a < 0 ? a + p : a]!;
    } else {
      if (!Object.hasOwn(nameAxis, a)) {
        throw new AxisNameError(
          `${where}: axis name "${a}" is not present in the array, whose named shape is ` +
            `${describeNamedShape(x.namedShape)}.`,
        );
      }
      d = nameAxis[a]!;
    }
    if (out.includes(d)) {
      throw new AxisNameError(
        `${where}: axis ${String(a)} is listed twice in [${list.join(", ")}].`,
      );
    }
    out.push(d);
  }
  return out;
}

/** Builds the named array left after removing `removed` data axes from `x`'s layout. */
function afterRemoving(
  x: NamedArrayBase,
  data: tf.Tensor,
  removed: readonly number[],
): NamedArrayBase {
  const { logical, names, nameAxis } = x.layout();
  const rank = x.dataArray.rank;
  const newIndex = new Array<number>(rank).fill(-1);
  let next = 0;
  for (let d = 0; d < rank; d++) if (!removed.includes(d)) newIndex[d] = next++;
  const newLogical = logical.filter((d) => !removed.includes(d)).map((d) => newIndex[d]!);
  const newNames: Record<string, number> = nameRecord();
  for (const n of names) if (!removed.includes(nameAxis[n]!)) newNames[n] = newIndex[nameAxis[n]!]!;
  return fromLayout(data, newLogical, newNames);
}

/** The reductions available as NamedArray methods and `nx.logsumexp`. */
export type ReductionName = "sum" | "mean" | "max" | "min" | "logsumexp";

function logSumExpData(t: tf.Tensor, axes: number[]): tf.Tensor {
  const m = tf.max(t, axes, true);
  const safe = tf.where(tf.isFinite(m), m, tf.zerosLike(m));
  const s = tf.log(tf.sum(tf.exp(tf.sub(t, safe)), axes, true));
  return tf.squeeze(tf.add(s, safe), axes);
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
  const dataAxes =
    axes === undefined
      ? [...x.layout().logical]
      : dataAxesOf(x, axes, kind === "logsumexp" ? "logsumexp" : kind);
  if (dataAxes.length === 0) return x;
  return tidy(() => {
    let t = x.dataArray;
    let out: tf.Tensor;
    switch (kind) {
      case "sum":
        out = tf.sum(toNumeric(t), dataAxes);
        break;
      case "mean":
        out = tf.mean(toFloat(t), dataAxes);
        break;
      case "max":
      case "min": {
        const isBool = t.dtype === "bool";
        t = toNumeric(t);
        out = kind === "max" ? tf.max(t, dataAxes) : tf.min(t, dataAxes);
        if (isBool) out = tf.cast(out, "bool");
        break;
      }
      case "logsumexp":
        out = logSumExpData(toFloat(t), dataAxes);
        break;
    }
    return afterRemoving(x, out, dataAxes);
  });
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
  const ref = [a, b].find((o): o is NamedArrayBase | tf.Tensor => typeof o === "object")?.dtype;
  return elementwise(
    (c, x, y) => {
      // tf.where is slow on wasm (Tile to broadcast, then a slow Select kernel): see lowering.ts.
      const [xx, yy] = sameDtype(x!, y!);
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(
        tf.broadcast_util.assertAndGetBroadcastShape(c!.shape, xx.shape),
        yy.shape,
      );
      return whereFast(toBool(c!), xx, yy, shape);
    },
    [cond, a, b],
    "where",
    ref,
  );
}

/** Options of {@link dot}. */
export interface DotOptions {
  /** Axis names summed over; each must be present in both operands with the same size. */
  contract: readonly AxisName[];
}

function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
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
 * @example
 * nx.dot(x, w, { contract: ["embedding"] }) // x: {batch, embedding}, w: {embedding, neurons}
 */
export function dot(a: NamedArrayBase, b: NamedArrayBase, options: DotOptions): NamedArray {
  const contract = [...options.contract];
  for (const [label, x] of [
    ["a", a],
    ["b", b],
  ] as const) {
    if (x.positionalShape.length > 0) {
      throw new PositionalAxesError(
        `nx.dot works on named axes only, but operand ${label} has positional shape [${x.positionalShape.join(", ")}]. ` +
          "Name its positional axes first with tag(...) (or use nmap for positional contractions).",
      );
    }
    for (const n of contract) {
      if (!Object.hasOwn(x.namedShape, n)) {
        throw new AxisNameError(
          `nx.dot: contracted axis "${n}" is not present in operand ${label}, whose named shape is ` +
            `${describeNamedShape(x.namedShape)}. Every name in contract must be in both operands.`,
        );
      }
    }
  }
  if (new Set(contract).size !== contract.length) {
    throw new AxisNameError(
      `nx.dot: repeats in contract are not allowed, but got [${contract.join(", ")}].`,
    );
  }
  const sizes = unionNamedShape([a, b], "nx.dot", ["a", "b"]);
  const la = a.layout();
  const lb = b.layout();
  const aOrder = [...la.names].sort((x, y) => la.nameAxis[x]! - la.nameAxis[y]!);
  const bOrder = [...lb.names].sort((x, y) => lb.nameAxis[x]! - lb.nameAxis[y]!);
  const batch = aOrder.filter((n) => n in lb.nameAxis && !contract.includes(n));
  const aFree = aOrder.filter((n) => !Object.hasOwn(lb.nameAxis, n));
  const bFree = bOrder.filter((n) => !Object.hasOwn(la.nameAxis, n));
  const sizesOf = (names: readonly string[]) => names.map((n) => sizes[n]!);
  const batchSizes = sizesOf(batch);
  const aFreeSizes = sizesOf(aFree);
  const M = prod(aFreeSizes);
  const K = prod(sizesOf(contract));
  const N = prod(sizesOf(bFree));
  const outNames = [...batch, ...aFree, ...bFree];
  return tidy(() => {
    let ad = la.data;
    let bd = lb.data;
    const intResult = ad.dtype !== "float32" && bd.dtype !== "float32";
    if (ad.dtype !== "float32") ad = tf.cast(ad, "float32");
    if (bd.dtype !== "float32") bd = tf.cast(bd, "float32");
    let out: tf.Tensor;
    if (batch.length === 0) {
      // The left operand may keep leading size-1 axes (`[1, ..., rows, k]`): the kernel runs that
      // as the same plain product, and the result then often needs no reshape. Not while taping:
      // tfjs's matMul gradient does not sum over broadcast batch axes.
      const keepLeading = aFree.length > 1 && prod(aFreeSizes.slice(0, -1)) === 1 && !isTaping();
      const A = operandAs(
        ad,
        la.nameAxis,
        [...aFree, ...contract],
        keepLeading ? [...aFreeSizes, K] : [M, K],
      );
      const Bt = operandAs(bd, lb.nameAxis, [...contract, ...bFree], [K, N]);
      out = tf.matMul(A as tf.Tensor2D, Bt as tf.Tensor2D);
    } else {
      const A = operandAs(
        ad,
        la.nameAxis,
        [...batch, ...aFree, ...contract],
        [...batchSizes, M, K],
      );
      const Bt = operandAs(
        bd,
        lb.nameAxis,
        [...batch, ...contract, ...bFree],
        [...batchSizes, K, N],
      );
      out = matMulFast(A, Bt);
    }
    out = reshapeIfNeeded(out, sizesOf(outNames));
    if (intResult) out = tf.cast(tf.round(out), "int32");
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of outNames) namedAxes[n] = sizes[n]!;
    return new NamedArray({ namedAxes, dataArray: out });
  });
}

/**
 * The data of an operand with its named axes put in the order `names`, reshaped to `shape` (of
 * the same size). A permutation that moves only size-1 axes is folded into the reshape, and a
 * reshape to the data's own shape is skipped.
 */
function operandAs(
  data: tf.Tensor,
  nameAxis: Readonly<Record<string, number>>,
  names: readonly string[],
  shape: readonly number[],
): tf.Tensor {
  const perm = names.map((n) => nameAxis[n]!);
  let last = -1;
  let inOrder = true;
  for (const d of perm) {
    if (data.shape[d] === 1) continue;
    if (d < last) {
      inOrder = false;
      break;
    }
    last = d;
  }
  return reshapeIfNeeded(inOrder ? data : tf.transpose(data, perm), shape);
}

/** `tf.reshape(x, shape)`, or `x` itself when it already has that shape (a reshape is a dispatch). */
function reshapeIfNeeded(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return sameShape(x.shape, shape) ? x : tf.reshape(x, shape as number[]);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function normalizeOver(
  x: NamedArrayBase,
  axes: ReductionAxes,
  kind: "softmax" | "logSoftmax",
): NamedArrayBase {
  const dataAxes = dataAxesOf(x, axes, kind);
  if (dataAxes.length === 0) {
    throw new AxisNameError(`nx.${kind} needs at least one axis to normalize over, but got none.`);
  }
  const { data, logical, names, nameAxis } = x.layout();
  const rank = data.rank;
  const others = Array.from({ length: rank }, (_, i) => i).filter((d) => !dataAxes.includes(d));
  const perm = [...others, ...dataAxes];
  return tidy(() => {
    let t = transposeIfNeeded(toFloat(data), perm);
    const shape = t.shape;
    if (dataAxes.length > 1)
      t = tf.reshape(t, [...shape.slice(0, others.length), prod(shape.slice(others.length))]);
    let out = kind === "softmax" ? tf.softmax(t) : tf.logSoftmax(t);
    if (dataAxes.length > 1) out = tf.reshape(out, shape);
    const inverse = new Array<number>(rank);
    perm.forEach((d, j) => {
      inverse[d] = j;
    });
    const newNames: Record<string, number> = nameRecord();
    for (const n of names) newNames[n] = inverse[nameAxis[n]!]!;
    return fromLayout(
      out,
      logical.map((d) => inverse[d]!),
      newNames,
    );
  });
}

/**
 * Softmax over the given axes (names or positional indices), lowered to `tf.softmax` on the last
 * data axis (the axes are moved last; the result keeps that layout, so no transpose back).
 *
 * @example
 * nx.softmax(logits, "kv_seq")
 */
export function softmax(x: NamedArrayBase, axes: ReductionAxes): NamedArrayBase {
  return normalizeOver(x, axes, "softmax");
}

/**
 * Log-softmax over the given axes (see {@link softmax}).
 *
 * @example
 * nx.logSoftmax(logits, "vocabulary")
 */
export function logSoftmax(x: NamedArrayBase, axes: ReductionAxes): NamedArrayBase {
  return normalizeOver(x, axes, "logSoftmax");
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
