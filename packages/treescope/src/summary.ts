/**
 * Array summaries: shape, dtype and statistics of a tensor or named array, and a small heat map of
 * 1-D and 2-D arrays.
 *
 * @module
 */

import { className } from "@saikei/struct";
import {
  isNamedArrayLike,
  isTensorLike,
  type NamedArrayLike,
  namedArrayShapes,
  type TensorLike,
} from "./inspect.js";

/** A downsampled picture of a 1-D or 2-D array, one byte per cell. */
export interface HeatMap {
  readonly rows: number;
  readonly cols: number;
  /**
   * `"sequential"`: 0 is the minimum and 254 the maximum. `"diverging"` (values of both signs):
   * 127 is zero, 0 is `-max|x|`, 254 is `+max|x|`. 255 marks a cell with a NaN or infinity.
   */
  readonly scale: "sequential" | "diverging";
  /** `rows * cols` bytes in row-major order. */
  readonly cells: Uint8Array;
}

/** What treescope shows for an array leaf. */
export interface ArraySummary {
  /** `"tf.Tensor"`, `"NamedArray"` or `"NamedArrayView"`. */
  readonly typeName: string;
  readonly dtype: string;
  /** The positional shape (the whole shape of a plain tensor). */
  readonly shape: readonly number[];
  /** Named axes and their sizes in storage order; empty for plain tensors. */
  readonly namedShape: readonly (readonly [string, number])[];
  readonly size: number;
  readonly disposed: boolean;
  /** Statistics over the finite values; absent for string and complex arrays and disposed tensors. */
  readonly stats?: {
    readonly min: number;
    readonly max: number;
    readonly mean: number;
    readonly nanCount: number;
    readonly infCount: number;
    readonly finiteCount: number;
  };
  readonly heatMap?: HeatMap;
}

const MAX_ROWS = 32;
const MAX_COLS = 64;

/**
 * Summarises a tensor or named array.
 *
 * @param value a tfjs tensor, `NamedArray` or `NamedArrayView`.
 * @param options `heatMap: false` skips the heat map; `stats: false` skips reading the values.
 * @returns the summary, or `undefined` when `value` is not an array.
 * @example
 * summarizeArray(tf.tensor1d([1, 2, NaN]))!.stats; // { min: 1, max: 2, mean: 1.5, nanCount: 1, infCount: 0, finiteCount: 2 }
 */
export function summarizeArray(
  value: unknown,
  options: { stats?: boolean; heatMap?: boolean } = {},
): ArraySummary | undefined {
  const read = readSummary(value, options.stats !== false);
  if (read === undefined) return undefined;
  const { summary, data, shape } = read;
  if (data === undefined || options.heatMap === false) return summary;
  const size = heatMapSize(shape);
  if (size === undefined) return summary;
  const cells = new Uint8Array(size.rows * size.cols);
  const scale = fillHeatMap(data, shape, summary.stats!, cells);
  return { ...summary, heatMap: { rows: size.rows, cols: size.cols, scale, cells } };
}

/**
 * An array's summary without its heat map, with the values it read (once) and the data array's
 * full shape, so a caller can build its own heat map or view from the same values.
 *
 * @param value a tensor or named array.
 * @param withStats read the values and compute statistics.
 * @returns `undefined` when `value` is not an array; `data` is absent when no values were read.
 */
export function readSummary(
  value: unknown,
  withStats: boolean,
): { summary: ArraySummary; data?: ArrayLike<number>; shape: readonly number[] } | undefined {
  let tensor: TensorLike;
  let typeName: string;
  let shape: number[];
  let namedShape: [string, number][] = [];
  if (isTensorLike(value)) {
    tensor = value;
    typeName = "tf.Tensor";
    shape = [...value.shape];
  } else if (isNamedArrayLike(value)) {
    tensor = (value as NamedArrayLike).dataArray;
    typeName = className(value.constructor);
    const shapes = namedArrayShapes(value);
    shape = shapes.positional;
    namedShape = shapes.named;
  } else {
    return undefined;
  }
  const disposed = tensor.isDisposed === true;
  const base = { typeName, dtype: tensor.dtype, shape, namedShape, size: tensor.size, disposed };
  if (disposed || !withStats || tensor.dtype === "string" || tensor.dtype === "complex64") {
    return { summary: base, shape: tensor.shape };
  }
  const data = tensor.dataSync() as ArrayLike<number>;
  return { summary: { ...base, stats: statsOf(data) }, data, shape: tensor.shape };
}

function statsOf(data: ArrayLike<number>): NonNullable<ArraySummary["stats"]> {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let nanCount = 0;
  let infCount = 0;
  let finiteCount = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const x = +data[i]!;
    // x - x is 0 exactly for finite x, NaN for NaN and infinities.
    if (x - x === 0) {
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      finiteCount++;
    } else if (Number.isNaN(x)) nanCount++;
    else infCount++;
  }
  return finiteCount > 0
    ? { min, max, mean: sum / finiteCount, nanCount, infCount, finiteCount }
    : { min: Number.NaN, max: Number.NaN, mean: Number.NaN, nanCount, infCount, finiteCount };
}

/**
 * The cells of the heat map of an array of this (full data) shape: 1-D and 2-D arrays only, at
 * most 32 rows and 64 columns.
 */
export function heatMapSize(shape: readonly number[]): { rows: number; cols: number } | undefined {
  if (shape.length !== 1 && shape.length !== 2) return undefined;
  const height = shape.length === 1 ? 1 : shape[0]!;
  const width = shape[shape.length - 1]!;
  if (height * width === 0) return undefined;
  return { rows: Math.min(height, MAX_ROWS), cols: Math.min(width, MAX_COLS) };
}

/**
 * Writes the heat map bytes (see {@link HeatMap.cells}) of `data` into `cells`, which holds
 * `heatMapSize(shape)` rows times columns.
 *
 * @returns the heat map's scale.
 */
export function fillHeatMap(
  data: ArrayLike<number>,
  shape: readonly number[],
  stats: { min: number; max: number },
  cells: { [i: number]: number },
): HeatMap["scale"] {
  const height = shape.length === 1 ? 1 : shape[0]!;
  const width = shape[shape.length - 1]!;
  const rows = Math.min(height, MAX_ROWS);
  const cols = Math.min(width, MAX_COLS);
  const diverging = stats.min < 0 && stats.max > 0;
  const absMax = Math.max(Math.abs(stats.min), Math.abs(stats.max));
  const scale = { diverging, absMax, min: stats.min, max: stats.max };
  if (rows === height && cols === width) {
    // Small arrays: one cell per element (cellLevel written out, the common case of a model).
    const n = rows * cols;
    const { min, max } = stats;
    for (let i = 0; i < n; i++) {
      const x = +data[i]!;
      let byte: number;
      if (x - x !== 0) byte = 255;
      else {
        if (diverging) byte = Math.round(127 + (127 * x) / absMax);
        else if (max === min) byte = 127;
        else byte = Math.round((254 * (x - min)) / (max - min));
        byte = Math.max(0, Math.min(254, byte));
      }
      cells[i] = byte;
    }
    return diverging ? "diverging" : "sequential";
  }
  for (let r = 0; r < rows; r++) {
    const r0 = Math.floor((r * height) / rows);
    const r1 = Math.max(r0 + 1, Math.floor(((r + 1) * height) / rows));
    for (let c = 0; c < cols; c++) {
      const c0 = Math.floor((c * width) / cols);
      const c1 = Math.max(c0 + 1, Math.floor(((c + 1) * width) / cols));
      let sum = 0;
      let n = 0;
      let bad = false;
      for (let i = r0; i < r1; i++) {
        for (let j = c0; j < c1; j++) {
          const x = +data[i * width + j]!;
          if (x - x !== 0) bad = true;
          else {
            sum += x;
            n++;
          }
        }
      }
      cells[r * cols + c] = bad || n === 0 ? 255 : cellLevel(sum / n, scale);
    }
  }
  return diverging ? "diverging" : "sequential";
}

/** The heat map byte of a value: see {@link HeatMap.scale}. */
function cellLevel(
  x: number,
  scale: { diverging: boolean; absMax: number; min: number; max: number },
): number {
  if (x - x !== 0) return 255;
  let byte: number;
  if (scale.diverging) byte = Math.round(127 + (127 * x) / scale.absMax);
  else if (scale.max === scale.min) byte = 127;
  else byte = Math.round((254 * (x - scale.min)) / (scale.max - scale.min));
  return Math.max(0, Math.min(254, byte));
}

/**
 * Formats a statistic: integers below a million as they are, other numbers with 4 significant
 * digits.
 *
 * @param x the number.
 * @returns its text.
 * @example
 * formatNumber(0.123456); // "0.1235"
 * formatNumber(-3); // "-3"
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  return String(Number(x.toPrecision(4)));
}

/**
 * The shape part of an array's one-line form: dtype and shape of a tensor, or dtype, positional
 * axes and named axes of a named array.
 *
 * @param summary from {@link summarizeArray}.
 * @returns the text.
 * @example
 * shapeText(summarizeArray(tf.zeros([2, 3]))!); // "float32[2,3]"
 * shapeText(summarizeArray(namedArray)!); // "float32(3 | batch:2)"
 */
export function shapeText(summary: ArraySummary): string {
  if (summary.typeName === "tf.Tensor") return `${summary.dtype}[${summary.shape.join(",")}]`;
  const named = summary.namedShape.map(([n, s]) => `${n}:${s}`).join(", ");
  const positional = summary.shape.join(", ");
  return `${summary.dtype}(${positional}${positional === "" ? "" : " "}| ${named})`;
}

/**
 * The statistics part of an array's summary: `min=0 max=1 mean=0.5 nan=1`.
 *
 * @param summary from {@link summarizeArray}.
 * @param options `counts: false` leaves out the NaN and infinity counts.
 * @returns the text, `"disposed"`, or `""` when there are no statistics.
 * @example
 * statsText(summarizeArray(tf.tensor1d([0, 1, NaN]))!); // "min=0 max=1 mean=0.5 nan=1"
 */
export function statsText(summary: ArraySummary, options: { counts?: boolean } = {}): string {
  if (summary.disposed) return "disposed";
  const s = summary.stats;
  if (s === undefined || summary.size === 0) return "";
  let out =
    s.finiteCount > 0
      ? `min=${formatNumber(s.min)} max=${formatNumber(s.max)} mean=${formatNumber(s.mean)}`
      : "";
  if (options.counts !== false) {
    if (s.nanCount > 0) out += `${out === "" ? "" : " "}nan=${s.nanCount}`;
    if (s.infCount > 0) out += `${out === "" ? "" : " "}inf=${s.infCount}`;
  }
  return out;
}
