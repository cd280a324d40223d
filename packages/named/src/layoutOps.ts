/**
 * The kernels behind the name-aware operations: elementwise ops with name-union broadcasting,
 * reductions, `where`, contraction and softmax, all on {@link Layout}s (a data tensor plus the data
 * axis of every positional axis and name). They know nothing of the `NamedArray` classes: the
 * classes' methods (`namedArray.ts`) and the public functions (`ops.ts`) convert operands to
 * layouts, call a kernel and wrap the layout it returns.
 *
 * Elementwise results keep the data layout of their largest operand, so adding a small array to a
 * large one never transposes the large one. Names in the result are ordered as in the largest
 * operand, then in order of first appearance.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { isTaping } from "./engineState.js";
import {
  AxisNameError,
  NamedDtypeError,
  NamedShapeMismatchError,
  PositionalAxesError,
} from "./errors.js";
import {
  type AxisName,
  describeNamedShape,
  describePositionalShape,
  internalRecord,
  type Layout,
  layoutOf,
  namedShapeOf,
  positionalShapeOf,
  sizeOf,
  transposeIfNeeded,
} from "./layout.js";
import { broadcastFast, matMulFast, whereFast } from "./lowering.js";
import { tidyLayout } from "./tidy.js";

/** An operand of a kernel: a layout (named array or tensor) or a JavaScript scalar. */
export type LayoutOperand = Layout | number | boolean;

/** Axes for reductions: positional indices (numbers) and/or axis names (strings). */
export type ReductionAxes = number | AxisName | readonly (number | AxisName)[];

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

/**
 * The NumPy broadcast of positional shapes (right-aligned, sizes equal or 1).
 *
 * @throws NamedShapeMismatchError when the shapes do not broadcast.
 */
export function broadcastShapes(shapes: readonly (readonly number[])[], where: string): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new NamedShapeMismatchError(
          `${where}: positional shapes ${shapes.map((x) => describePositionalShape(x)).join(", ")} cannot be broadcast together ` +
            "(NumPy rules: right-aligned, sizes equal or 1). Named axes are matched by name; tag positional axes to " +
            "match them by name instead.",
        );
      }
    }
  }
  return out;
}

/**
 * Collects the size of every axis name across layouts, in order of first appearance
 * (`undefined` entries, standing for scalars, are skipped).
 *
 * @throws NamedShapeMismatchError when one name has two sizes.
 */
export function unionOfLayouts(
  layouts: readonly (Layout | undefined)[],
  where: string,
  labels?: readonly string[],
): Record<AxisName, number> {
  const sizes: Record<string, number> = internalRecord();
  const bad = new Set<string>();
  for (const l of layouts) {
    if (l === undefined) continue;
    for (const n of l.names) {
      const s = l.data.shape[l.nameAxis[n]!]!;
      if (Object.hasOwn(sizes, n) && sizes[n] !== s) bad.add(n);
      else if (!Object.hasOwn(sizes, n)) sizes[n] = s;
    }
  }
  if (bad.size > 0) {
    const lines = layouts
      .map((l, i) =>
        l === undefined || l.names.length === 0
          ? ""
          : `  ${labels?.[i] ?? `args[${i}]`}.namedShape == ${describeNamedShape(namedShapeOf(l))}`,
      )
      .filter((line) => line !== "");
    throw new NamedShapeMismatchError(
      `Inconsistent named axes in a call to ${where} for axes [${[...bad].join(", ")}]:\n${lines.join("\n")}\n` +
        "Axes with the same name must have the same size; rename one of them with untag(...)/tag(...) if they differ.",
    );
  }
  return sizes;
}

const layoutOrUndefined = (o: LayoutOperand): Layout | undefined =>
  typeof o === "object" ? o : undefined;

/**
 * Applies a broadcasting tfjs function to layouts: named axes are matched by name (the result has
 * the union of names), positional axes broadcast with NumPy rules. `fn` receives tensors laid out
 * as `[...positional (padded to a common rank), ...names]` where absent names have size 1, so it
 * must broadcast (any elementwise tfjs op does).
 *
 * @param scalarDtype dtype for plain number operands; by default that of the first array operand.
 * @returns a layout whose positional axes come first.
 */
export function elementwiseLayout(
  fn: (...tensors: tf.Tensor[]) => tf.Tensor,
  operands: readonly LayoutOperand[],
  where: string,
  scalarDtype?: tf.DataType,
): Layout {
  const layouts = operands.map(layoutOrUndefined);
  const sizes = unionOfLayouts(layouts, where);
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
  const positional = layouts.filter((l) => l !== undefined).map(positionalShapeOf);
  const outPositional = broadcastShapes(positional, where);
  const P = outPositional.length;
  const reference = scalarDtype ?? layouts.find((l) => l !== undefined)?.data.dtype;
  return tidyLayout(() => {
    const inputs = operands.map((o, i) => {
      const l = layouts[i];
      if (l === undefined) return weakScalar(o as number | boolean, reference);
      const present = outNames.filter((n) => Object.hasOwn(l.nameAxis, n));
      const perm = [...l.logical, ...present.map((n) => l.nameAxis[n]!)];
      let t = transposeIfNeeded(l.data, perm);
      const shape = [
        ...new Array<number>(P - l.logical.length).fill(1),
        ...l.logical.map((d) => l.data.shape[d]!),
        ...outNames.map((n) => (Object.hasOwn(l.nameAxis, n) ? sizes[n]! : 1)),
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
    out = out.size === sizeOf(target) ? reshapeIfNeeded(out, target) : broadcastFast(out, target);
    const nameAxis: Record<string, number> = internalRecord();
    outNames.forEach((n, i) => {
      nameAxis[n] = P + i;
    });
    return layoutOf(
      out,
      Array.from({ length: P }, (_, i) => i),
      nameAxis,
    );
  });
}

/** The same layout over new data of the same shape. */
export function withData(l: Layout, data: tf.Tensor): Layout {
  return { data, logical: l.logical, names: l.names, nameAxis: l.nameAxis };
}

const isIntegral = (t: tf.Tensor) => t.dtype === "int32" || t.dtype === "bool";
/** Bools as int32 (for arithmetic); other tensors unchanged. */
export const toNumeric = (t: tf.Tensor) => (t.dtype === "bool" ? tf.cast(t, "int32") : t);
/** Integers and bools as float32; float tensors unchanged. */
export const toFloat = (t: tf.Tensor) => (isIntegral(t) ? tf.cast(t, "float32") : t);
/**
 * Any tensor as bool (nonzero is true). A comparison, not a cast: the wasm backend's cast to bool
 * keeps the raw int32 values.
 */
export const toBool = (t: tf.Tensor) =>
  t.dtype === "bool"
    ? t
    : tf.notEqual(t, tf.zeros([], t.dtype === "complex64" ? "float32" : t.dtype));

/** Casts two tensors to a common dtype (float32 if either is, else int32). */
export function sameDtype(a: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor] {
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
  | "floorDiv"
  | "mod"
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
  | "logicalOr"
  | "bitwiseAnd"
  | "bitwiseOr"
  | "bitwiseXor"
  | "leftShift"
  | "rightShift";

type IntBinary = (a: number, b: number) => number;

/**
 * Runs an int32 bitwise operation on the host: tfjs has no kernels for `|`, `^`, `<<` and `>>`
 * (and `&` only on some backends), and JavaScript's operators on int32 values are exact.
 */
function bitwiseOnHost(a: tf.Tensor, b: tf.Tensor, op: IntBinary): tf.Tensor {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const av = tf.broadcastTo(a, shape).dataSync();
  const bv = tf.broadcastTo(b, shape).dataSync();
  const out = new Int32Array(av.length);
  for (let i = 0; i < out.length; i++) out[i] = op(av[i]!, bv[i]!);
  return tf.tensor(out, shape, "int32");
}

/** Checks that both operands of a bitwise op are bool or int32 and casts them to a common dtype. */
function bitwiseOperands(a: tf.Tensor, b: tf.Tensor, op: string): [tf.Tensor, tf.Tensor] {
  for (const t of [a, b]) {
    if (t.dtype !== "bool" && t.dtype !== "int32") {
      throw new NamedDtypeError(
        `${op} works on bool and int32 arrays, but got dtype ${t.dtype}. ` +
          'Cast with astype("int32") (or compare to get a bool array) first.',
      );
    }
  }
  if (a.dtype === "bool" && b.dtype === "bool") return [a, b];
  return [toNumeric(a), toNumeric(b)];
}

function bitwise(
  op: string,
  logical: ((a: tf.Tensor, b: tf.Tensor) => tf.Tensor) | undefined,
  int: IntBinary,
) {
  return (a: tf.Tensor, b: tf.Tensor) => {
    const [x, y] = bitwiseOperands(a, b, op);
    if (x.dtype === "bool" && logical !== undefined) return logical(x, y);
    return bitwiseOnHost(toNumeric(x), toNumeric(y), int);
  };
}

function intOnly(op: string, f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) {
  return (a: tf.Tensor, b: tf.Tensor) => {
    for (const t of [a, b]) {
      if (t.dtype !== "int32" && t.dtype !== "bool") {
        throw new NamedDtypeError(
          `${op} works on int32 (and bool) arrays, but got dtype ${t.dtype}. Cast with astype("int32") first.`,
        );
      }
    }
    return f(toNumeric(a), toNumeric(b));
  };
}

const BINARY: Record<BinaryOpName, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: (a, b) => tf.add(...sameDtype(toNumeric(a), toNumeric(b))),
  sub: (a, b) => tf.sub(...sameDtype(toNumeric(a), toNumeric(b))),
  mul: (a, b) => tf.mul(...sameDtype(toNumeric(a), toNumeric(b))),
  div: (a, b) => tf.div(toFloat(a), toFloat(b)),
  floorDiv: (a, b) => {
    const [x, y] = sameDtype(toNumeric(a), toNumeric(b));
    return x.dtype === "int32" ? tf.floorDiv(x, y) : tf.floor(tf.div(x, y));
  },
  mod: (a, b) => tf.mod(...sameDtype(toNumeric(a), toNumeric(b))),
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
  bitwiseAnd: bitwise("and", tf.logicalAnd, (x, y) => x & y),
  bitwiseOr: bitwise("or", tf.logicalOr, (x, y) => x | y),
  bitwiseXor: bitwise("xor", tf.notEqual, (x, y) => x ^ y),
  leftShift: intOnly("leftShift", (a, b) => bitwiseOnHost(a, b, (x, y) => x << y)),
  rightShift: intOnly("rightShift", (a, b) => bitwiseOnHost(a, b, (x, y) => x >> y)),
};

/** A binary elementwise op with name-union broadcasting on layouts. */
export function binaryLayout(op: BinaryOpName, a: LayoutOperand, b: LayoutOperand): Layout {
  return elementwiseLayout(BINARY[op], [a, b], op);
}

/** The unary elementwise operations available as NamedArray methods. */
export type UnaryOpName =
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "not"
  | "invert"
  | "round"
  | "real"
  | "imag"
  | "conj";

function invert(a: tf.Tensor): tf.Tensor {
  if (a.dtype === "bool") return tf.logicalNot(a);
  if (a.dtype === "int32") return tf.sub(tf.neg(a), tf.scalar(1, "int32"));
  throw new NamedDtypeError(
    `invert (~) works on bool and int32 arrays, but got dtype ${a.dtype}. Use neg() for floats.`,
  );
}

function conj(a: tf.Tensor): tf.Tensor {
  return a.dtype === "complex64" ? tf.complex(tf.real(a), tf.neg(tf.imag(a))) : a;
}

const UNARY: Record<UnaryOpName, (a: tf.Tensor) => tf.Tensor> = {
  neg: (a) => tf.neg(toNumeric(a)),
  abs: (a) => tf.abs(toNumeric(a)),
  exp: (a) => tf.exp(toFloat(a)),
  log: (a) => tf.log(toFloat(a)),
  sqrt: (a) => tf.sqrt(toFloat(a)),
  not: (a) => tf.logicalNot(toBool(a)),
  invert,
  round: (a) => (a.dtype === "float32" ? tf.round(a) : a),
  real: (a) => (a.dtype === "complex64" ? tf.real(a) : a),
  imag: (a) => (a.dtype === "complex64" ? tf.imag(a) : tf.zerosLike(toNumeric(a))),
  conj,
};

/** A unary elementwise op; keeps the layout. */
export function unaryLayout(op: UnaryOpName, x: Layout): Layout {
  return tidyLayout(() => withData(x, UNARY[op](x.data)));
}

/** Casts the data to `dtype`, keeping the layout (the same layout object when nothing changes). */
export function astypeLayout(x: Layout, dtype: tf.DataType): Layout {
  if (x.data.dtype === dtype) return x;
  return tidyLayout(() => withData(x, dtype === "bool" ? toBool(x.data) : tf.cast(x.data, dtype)));
}

/** Resolves positional indices (numbers, negative from the end) and names to data axes. */
export function dataAxesOf(x: Layout, axes: ReductionAxes, where: string): number[] {
  const { logical, nameAxis } = x;
  const list: readonly (number | string)[] = Array.isArray(axes) ? axes : [axes as number | string];
  const out: number[] = [];
  for (const a of list) {
    let d: number;
    if (typeof a === "number") {
      const p = logical.length;
      if (!Number.isInteger(a) || a < -p || a >= p) {
        throw new PositionalAxesError(
          `${where}: positional axis ${a} is out of range for positional shape ${describePositionalShape(positionalShapeOf(x))}. ` +
            "Numbers select positional axes (negative counts from the end); use a string to select a named axis.",
        );
      }
      d = logical[a < 0 ? a + p : a]!;
    } else {
      if (!Object.hasOwn(nameAxis, a)) {
        throw new AxisNameError(
          `${where}: axis name "${a}" is not present in the array, whose named shape is ` +
            `${describeNamedShape(namedShapeOf(x))}.`,
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

/** The layout left after removing the `removed` data axes of `x` (their data is gone from `data`). */
export function afterRemoving(x: Layout, data: tf.Tensor, removed: readonly number[]): Layout {
  const rank = x.data.rank;
  const newIndex = new Array<number>(rank).fill(-1);
  let next = 0;
  for (let d = 0; d < rank; d++) if (!removed.includes(d)) newIndex[d] = next++;
  const newLogical = x.logical.filter((d) => !removed.includes(d)).map((d) => newIndex[d]!);
  const nameAxis: Record<string, number> = internalRecord();
  for (const n of x.names)
    if (!removed.includes(x.nameAxis[n]!)) nameAxis[n] = newIndex[x.nameAxis[n]!]!;
  return layoutOf(data, newLogical, nameAxis);
}

/** The reductions available as NamedArray methods and `nx.logsumexp`. */
export type ReductionName =
  | "sum"
  | "mean"
  | "max"
  | "min"
  | "prod"
  | "all"
  | "any"
  | "var"
  | "std"
  | "ptp"
  | "logsumexp";

function logSumExpData(t: tf.Tensor, axes: number[]): tf.Tensor {
  const m = tf.max(t, axes, true);
  const safe = tf.where(tf.isFinite(m), m, tf.zerosLike(m));
  const s = tf.log(tf.sum(tf.exp(tf.sub(t, safe)), axes, true));
  return tf.squeeze(tf.add(s, safe), axes);
}

function varianceData(t: tf.Tensor, axes: number[], ddof: number): tf.Tensor {
  const x = toFloat(t);
  const centered = tf.sub(x, tf.mean(x, axes, true));
  const count = sizeOf(axes.map((a) => t.shape[a]!));
  return tf.div(tf.sum(tf.square(centered), axes), tf.scalar(Math.max(count - ddof, 0)));
}

function reduceData(kind: ReductionName, t: tf.Tensor, axes: number[], ddof: number): tf.Tensor {
  switch (kind) {
    case "sum":
      return tf.sum(toNumeric(t), axes);
    case "prod":
      return tf.prod(toNumeric(t), axes);
    case "mean":
      return tf.mean(toFloat(t), axes);
    case "max":
    case "min": {
      const out = kind === "max" ? tf.max(toNumeric(t), axes) : tf.min(toNumeric(t), axes);
      return t.dtype === "bool" ? tf.cast(out, "bool") : out;
    }
    case "ptp":
      return tf.sub(tf.max(toNumeric(t), axes), tf.min(toNumeric(t), axes));
    case "all":
      return tf.all(toBool(t), axes);
    case "any":
      return tf.any(toBool(t), axes);
    case "var":
      return varianceData(t, axes, ddof);
    case "std":
      return tf.sqrt(varianceData(t, axes, ddof));
    case "logsumexp":
      return logSumExpData(toFloat(t), axes);
  }
}

/**
 * What a reduction over no axes gives (penzai applies the reduction to each scalar): the value
 * for sum, prod, max, min and logsumexp (the array itself), a float for mean, a bool for all/any,
 * zeros for var, std and ptp.
 */
function reduceNothing(kind: ReductionName, x: Layout, ddof: number): Layout {
  switch (kind) {
    case "sum":
    case "prod":
    case "max":
    case "min":
    case "logsumexp":
      return x;
    case "mean":
      return astypeLayout(x, x.data.dtype === "complex64" ? "complex64" : "float32");
    case "all":
    case "any":
      return astypeLayout(x, "bool");
    case "var":
    case "std":
      return tidyLayout(() =>
        withData(x, ddof >= 1 ? tf.fill(x.data.shape, Number.NaN) : tf.zeros(x.data.shape)),
      );
    case "ptp":
      return tidyLayout(() => withData(x, tf.zerosLike(toNumeric(x.data))));
  }
}

/**
 * A reduction over positional axes (numbers) and/or named axes (strings). With `axes`
 * undefined, reduces every positional axis; over no axes see {@link reduceNothing}.
 *
 * @param ddof for var / std: the divisor is `count - ddof` (NumPy's `ddof`, default 0).
 */
export function reduceLayout(
  kind: ReductionName,
  x: Layout,
  axes?: ReductionAxes,
  ddof = 0,
): Layout {
  const dataAxes = axes === undefined ? [...x.logical] : dataAxesOf(x, axes, kind);
  if (dataAxes.length === 0) return reduceNothing(kind, x, ddof);
  return tidyLayout(() => afterRemoving(x, reduceData(kind, x.data, dataAxes, ddof), dataAxes));
}

/**
 * `cond ? a : b` elementwise, with name-union broadcasting. Number operands take the dtype of
 * the other value operand.
 */
export function whereLayout(cond: LayoutOperand, a: LayoutOperand, b: LayoutOperand): Layout {
  const ref = [a, b].find((o): o is Layout => typeof o === "object")?.data.dtype;
  return elementwiseLayout(
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

/**
 * Name-aware contraction of two fully named layouts over `contract` (see `nx.dot` for the
 * semantics and the lowering).
 */
export function dotLayouts(a: Layout, b: Layout, contract: readonly AxisName[]): Layout {
  for (const [label, x] of [
    ["a", a],
    ["b", b],
  ] as const) {
    if (x.logical.length > 0) {
      throw new PositionalAxesError(
        `nx.dot works on named axes only, but operand ${label} has positional shape ${describePositionalShape(positionalShapeOf(x))}. ` +
          "Name its positional axes first with tag(...) (or use the dot method for positional contractions).",
      );
    }
    for (const n of contract) {
      if (!Object.hasOwn(x.nameAxis, n)) {
        throw new AxisNameError(
          `nx.dot: contracted axis "${n}" is not present in operand ${label}, whose named shape is ` +
            `${describeNamedShape(namedShapeOf(x))}. Every name in contract must be in both operands.`,
        );
      }
    }
  }
  if (new Set(contract).size !== contract.length) {
    throw new AxisNameError(
      `nx.dot: repeats in contract are not allowed, but got [${contract.join(", ")}].`,
    );
  }
  const sizes = unionOfLayouts([a, b], "nx.dot", ["a", "b"]);
  const aOrder = [...a.names].sort((x, y) => a.nameAxis[x]! - a.nameAxis[y]!);
  const bOrder = [...b.names].sort((x, y) => b.nameAxis[x]! - b.nameAxis[y]!);
  const batch = aOrder.filter((n) => Object.hasOwn(b.nameAxis, n) && !contract.includes(n));
  const aFree = aOrder.filter((n) => !Object.hasOwn(b.nameAxis, n));
  const bFree = bOrder.filter((n) => !Object.hasOwn(a.nameAxis, n));
  const sizesOf = (names: readonly string[]) => names.map((n) => sizes[n]!);
  const batchSizes = sizesOf(batch);
  const aFreeSizes = sizesOf(aFree);
  const M = sizeOf(aFreeSizes);
  const K = sizeOf(sizesOf(contract));
  const N = sizeOf(sizesOf(bFree));
  const outNames = [...batch, ...aFree, ...bFree];
  return tidyLayout(() => {
    let ad = a.data;
    let bd = b.data;
    const intResult = ad.dtype !== "float32" && bd.dtype !== "float32";
    if (ad.dtype !== "float32") ad = tf.cast(ad, "float32");
    if (bd.dtype !== "float32") bd = tf.cast(bd, "float32");
    let out: tf.Tensor;
    if (batch.length === 0) {
      // The left operand may keep leading size-1 axes (`[1, ..., rows, k]`): the kernel runs that
      // as the same plain product, and the result then often needs no reshape. Not while taping:
      // tfjs's matMul gradient does not sum over broadcast batch axes.
      const keepLeading = aFree.length > 1 && sizeOf(aFreeSizes.slice(0, -1)) === 1 && !isTaping();
      const A = operandAs(
        ad,
        a.nameAxis,
        [...aFree, ...contract],
        keepLeading ? [...aFreeSizes, K] : [M, K],
      );
      const Bt = operandAs(bd, b.nameAxis, [...contract, ...bFree], [K, N]);
      out = tf.matMul(A as tf.Tensor2D, Bt as tf.Tensor2D);
    } else {
      const A = operandAs(ad, a.nameAxis, [...batch, ...aFree, ...contract], [...batchSizes, M, K]);
      const Bt = operandAs(
        bd,
        b.nameAxis,
        [...batch, ...contract, ...bFree],
        [...batchSizes, K, N],
      );
      out = matMulFast(A, Bt);
    }
    out = reshapeIfNeeded(out, sizesOf(outNames));
    if (intResult) out = tf.cast(tf.round(out), "int32");
    const nameAxis: Record<string, number> = internalRecord();
    outNames.forEach((n, i) => {
      nameAxis[n] = i;
    });
    return layoutOf(out, [], nameAxis);
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
export function reshapeIfNeeded(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return sameShape(x.shape, shape) ? x : tf.reshape(x, shape as number[]);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * Softmax or log-softmax over the given axes, lowered to `tf.softmax` on the last data axis (the
 * axes are moved last; the result keeps that layout, so no transpose back).
 */
export function normalizeLayout(
  x: Layout,
  axes: ReductionAxes,
  kind: "softmax" | "logSoftmax",
): Layout {
  const dataAxes = dataAxesOf(x, axes, kind);
  if (dataAxes.length === 0) {
    throw new AxisNameError(`nx.${kind} needs at least one axis to normalize over, but got none.`);
  }
  const { data, logical, names, nameAxis } = x;
  const rank = data.rank;
  const others = Array.from({ length: rank }, (_, i) => i).filter((d) => !dataAxes.includes(d));
  const perm = [...others, ...dataAxes];
  return tidyLayout(() => {
    let t = transposeIfNeeded(toFloat(data), perm);
    const shape = t.shape;
    if (dataAxes.length > 1)
      t = tf.reshape(t, [...shape.slice(0, others.length), sizeOf(shape.slice(others.length))]);
    let out = kind === "softmax" ? tf.softmax(t) : tf.logSoftmax(t);
    if (dataAxes.length > 1) out = tf.reshape(out, shape);
    const inverse = new Array<number>(rank);
    perm.forEach((d, j) => {
      inverse[d] = j;
    });
    const newNames: Record<string, number> = internalRecord();
    for (const n of names) newNames[n] = inverse[nameAxis[n]!]!;
    return layoutOf(
      out,
      logical.map((d) => inverse[d]!),
      newNames,
    );
  });
}
