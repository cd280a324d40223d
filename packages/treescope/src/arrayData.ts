/**
 * Reading arrays for the array and token views: any tensor, named array or nested JavaScript array
 * becomes a list of logical axes (positional axes first, then named axes) over a flat buffer, and
 * an array too big to embed in a page is subsampled along its largest axes.
 *
 * @module
 */

import { className, safeString } from "@saikei/struct";
import { ArrayInputError } from "./errors.js";
import { escapeControls } from "./escape.js";
import { isNamedArrayLike, isTensorLike, type TensorLike } from "./inspect.js";

/** One logical axis of an array as the views show it. */
export interface ArrayAxis {
  /** The axis name (escaped for display), or the positional axis number as text (`"0"`). */
  readonly name: string;
  /** Whether the axis is a named axis of a named array. */
  readonly named: boolean;
  readonly size: number;
}

/** How values are read and coloured: floats on a scale, integers and booleans as categories. */
export type ValueKind = "float" | "int" | "bool";

/** An array read for display: logical axes over a flat buffer. */
export interface ArrayInput {
  /** `"tf.Tensor"`, `"NamedArray"`, `"NamedArrayView"` or `"Array"`. */
  readonly typeName: string;
  readonly dtype: string;
  readonly kind: ValueKind;
  /** Positional axes first, then named axes (in the array's order of names). */
  readonly axes: readonly ArrayAxis[];
  /** The step in `values` for one step along each logical axis. */
  readonly strides: readonly number[];
  /** The values in storage order. Booleans are 0 and 1. */
  readonly values: ArrayLike<number>;
}

/**
 * Reads a tensor, `NamedArray`, `NamedArrayView`, typed array or nested array of numbers or
 * booleans.
 *
 * @param value the array.
 * @param where the function and argument, for error messages (`"renderArray"`).
 * @param data the values of the tensor (of a named array: of its data array) when the caller has
 *   read them already (`dataSync()`), so they are not read again.
 * @throws ArrayInputError for anything else, a disposed tensor, a string or complex tensor, or a
 *   ragged nested array.
 */
export function readArray(value: unknown, where: string, data?: ArrayLike<number>): ArrayInput {
  if (isTensorLike(value)) return readTensor(value, [...value.shape].map(positional), where, data);
  if (isNamedArrayLike(value)) return readNamedArray(value, where, data);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return readTyped(value as unknown as ArrayLike<number> & { constructor: Function }, where);
  }
  if (Array.isArray(value)) return readNested(value, where);
  throw new ArrayInputError(
    `${where}: expected a tf.Tensor, a NamedArray or NamedArrayView, a typed array or a nested ` +
      `array of numbers, but got ${describeValue(value)}. Pass the array itself, e.g. ` +
      "renderArray(attention) or renderArray(tf.tensor2d([[1, 2], [3, 4]])).",
  );
}

function describeValue(value: unknown): string {
  if (value === null || typeof value !== "object") return escapeControls(safeString(value));
  return `an instance of ${escapeControls(className(value.constructor) || "Object")}`;
}

function positional(size: number, index: number): ArrayAxis {
  return { name: String(index), named: false, size };
}

function kindOfDtype(dtype: string, where: string): ValueKind {
  if (dtype === "bool") return "bool";
  if (dtype === "int32" || dtype === "int64" || dtype === "int8" || dtype === "uint8") return "int";
  if (dtype === "float32" || dtype === "float16" || dtype === "float64") return "float";
  throw new ArrayInputError(
    `${where}: cannot show a ${escapeControls(dtype)} array as colours. Only number and boolean ` +
      "arrays have a colour scale; show string arrays with renderToText.",
  );
}

function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

function tensorValues(tensor: TensorLike, where: string): ArrayLike<number> {
  if (tensor.isDisposed === true) {
    throw new ArrayInputError(
      `${where}: the tensor is disposed, so there are no values to show. Render it before ` +
        "disposing it (or keep it alive with tf.keep inside tf.tidy).",
    );
  }
  return tensor.dataSync() as ArrayLike<number>;
}

function readTensor(
  tensor: TensorLike,
  axes: ArrayAxis[],
  where: string,
  data: ArrayLike<number> | undefined,
): ArrayInput {
  const kind = kindOfDtype(tensor.dtype, where);
  return {
    typeName: "tf.Tensor",
    dtype: tensor.dtype,
    kind,
    axes,
    strides: rowMajorStrides(tensor.shape),
    values: data ?? tensorValues(tensor, where),
  };
}

/**
 * A NamedArray stores positional axes first and named axes last, in `namedAxes` order; a
 * NamedArrayView maps each logical axis and each name to a data axis.
 */
function readNamedArray(
  value: object,
  where: string,
  data: ArrayLike<number> | undefined,
): ArrayInput {
  const v = value as unknown as Record<string, unknown> & { dataArray: TensorLike };
  const tensor = v.dataArray;
  const kind = kindOfDtype(tensor.dtype, where);
  const shape = tensor.shape;
  const dataStrides = rowMajorStrides(shape);
  const axes: ArrayAxis[] = [];
  const strides: number[] = [];
  if (v.namedAxes !== null && typeof v.namedAxes === "object") {
    const names = Object.keys(v.namedAxes as object);
    const first = shape.length - names.length;
    if (first < 0) throw badLayout(where, value);
    for (let d = 0; d < first; d++) {
      axes.push(positional(shape[d]!, d));
      strides.push(dataStrides[d]!);
    }
    names.forEach((name, i) => {
      axes.push({ name: escapeControls(name), named: true, size: shape[first + i]! });
      strides.push(dataStrides[first + i]!);
    });
  } else {
    const logical = v.dataAxisForLogicalAxis;
    const byName = v.dataAxisForName;
    if (!Array.isArray(logical) || byName === null || typeof byName !== "object") {
      throw badLayout(where, value);
    }
    const dataAxis = (d: unknown): number => {
      if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d >= shape.length) {
        throw badLayout(where, value);
      }
      return d;
    };
    logical.forEach((d, i) => {
      axes.push(positional(shape[dataAxis(d)]!, i));
      strides.push(dataStrides[dataAxis(d)]!);
    });
    for (const [name, d] of Object.entries(byName as Record<string, unknown>)) {
      axes.push({ name: escapeControls(name), named: true, size: shape[dataAxis(d)]! });
      strides.push(dataStrides[dataAxis(d)]!);
    }
    if (axes.length !== shape.length) throw badLayout(where, value);
  }
  return {
    typeName: escapeControls(className(value.constructor) || "NamedArray"),
    dtype: tensor.dtype,
    kind,
    axes,
    strides,
    values: data ?? tensorValues(tensor, where),
  };
}

function badLayout(where: string, value: object): ArrayInputError {
  return new ArrayInputError(
    `${where}: this ${escapeControls(className(value.constructor))} does not describe its data ` +
      "array (its axis names and data axes do not match the tensor's shape). Call its " +
      "checkValid() to see what is wrong.",
  );
}

/** Typed arrays are 1-D: integer arrays as integers, float arrays as floats. */
function readTyped(
  value: ArrayLike<number> & { constructor: Function },
  where: string,
): ArrayInput {
  const name = className(value.constructor);
  if (name.startsWith("Big")) {
    throw new ArrayInputError(
      `${where}: cannot show a ${name} as colours. Convert it to numbers first (Array.from(x, Number)).`,
    );
  }
  const float = name.startsWith("Float");
  return {
    typeName: "Array",
    dtype: float ? (name === "Float64Array" ? "float64" : "float32") : "int",
    kind: float ? "float" : "int",
    axes: [positional(value.length, 0)],
    strides: [1],
    values: value,
  };
}

/** Nested arrays: every element at one depth is an array of the same length, or none is. */
function readNested(value: unknown[], where: string): ArrayInput {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  let booleans = 0;
  let k = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node === "boolean") {
        booleans++;
        out[k++] = node ? 1 : 0;
      } else if (typeof node === "number") {
        out[k++] = node;
      } else {
        throw new ArrayInputError(
          `${where}: element ${path} is ${describeValue(node)}, not a number or a boolean. ` +
            "Nested arrays must hold numbers or booleans only.",
        );
      }
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ArrayInputError(
        `${where}: the nested array is ragged: element ${path === "" ? "(the root)" : path} ` +
          `should be an array of ${shape[depth]} elements, like the first one at that depth, ` +
          `but is ${Array.isArray(node) ? `an array of ${node.length}` : describeValue(node)}.`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, "");
  if (booleans > 0 && booleans !== size) {
    throw new ArrayInputError(
      `${where}: the nested array mixes booleans and numbers. Use one or the other ` +
        "(Number(b) turns a boolean into 0 or 1).",
    );
  }
  // JavaScript numbers are doubles, so nested numbers are floats even when they are whole; an
  // Int32Array or an int32 tensor asks for categories.
  const kind: ValueKind = size > 0 && booleans === size ? "bool" : "float";
  return {
    typeName: "Array",
    dtype: kind === "bool" ? "bool" : "float64",
    kind,
    axes: shape.map(positional),
    strides: rowMajorStrides(shape),
    values: out,
  };
}

/**
 * The indices kept along each axis so that at most `maxValues` values are shown: the axis with
 * the most kept indices takes every second one of them, again and again. Axes that fit are kept
 * whole.
 *
 * @param sizes the axis sizes.
 * @param maxValues at least 1.
 * @returns for each axis, the stride between kept indices (1 when nothing is dropped).
 * @example
 * subsampleSteps([4, 1024], 1024); // [1, 4]
 */
export function subsampleSteps(sizes: readonly number[], maxValues: number): number[] {
  const steps = sizes.map(() => 1);
  const kept = (i: number) => Math.ceil(sizes[i]! / steps[i]!);
  const total = () => sizes.reduce((n, _, i) => n * kept(i), 1);
  while (total() > maxValues) {
    let widest = 0;
    for (let i = 1; i < sizes.length; i++) if (kept(i) > kept(widest)) widest = i;
    if (kept(widest) <= 1) break;
    steps[widest]! *= 2;
  }
  return steps;
}

/**
 * The kept values in row-major order of the logical axes, each axis taking every `steps[i]`-th
 * index.
 */
export function gatherValues(
  input: Pick<ArrayInput, "axes" | "strides" | "values">,
  steps: readonly number[],
  out: { length: number; [i: number]: number },
): void {
  const counts = input.axes.map((a, i) => Math.ceil(a.size / steps[i]!));
  const total = counts.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  const rank = counts.length;
  const index = new Array<number>(rank).fill(0);
  const jumps = input.strides.map((s, i) => s * steps[i]!);
  let offset = 0;
  const values = input.values;
  for (let k = 0; k < total; k++) {
    out[k] = +values[offset]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      offset += jumps[axis]!;
      if (index[axis]! < counts[axis]!) break;
      offset -= jumps[axis]! * counts[axis]!;
      index[axis] = 0;
    }
  }
}
