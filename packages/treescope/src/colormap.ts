/**
 * Colour maps of the array and token views: a sequential map for values on one scale, a diverging
 * map around a centre with symmetric limits, categories for integers and booleans, and fixed
 * colours for NaN and the infinities. The host computes every colour (a 256-entry table for the
 * continuous maps), so the page and the tests see the same ones.
 *
 * @module
 */

import type { ValueKind } from "./arrayData.js";
import { RenderOptionError } from "./errors.js";
import { describeOption } from "./escape.js";

/** A colour as red, green and blue bytes. */
export type RGB = readonly [number, number, number];

/** Dark purple through blue and green to yellow: lightness rises steadily (viridis' key points). */
export const SEQUENTIAL_STOPS: readonly RGB[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Blue below the centre, near-white at it, red above. */
export const DIVERGING_STOPS: readonly RGB[] = [
  [5, 48, 97],
  [67, 147, 195],
  [247, 247, 247],
  [214, 96, 77],
  [103, 0, 31],
];

/** Colours of the first categories, in order of value; further categories reuse them. */
export const CATEGORICAL_COLORS: readonly RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [188, 189, 34],
  [23, 190, 207],
  [66, 66, 66],
  [174, 199, 232],
  [255, 187, 120],
  [152, 223, 138],
  [255, 152, 150],
  [197, 176, 213],
  [196, 156, 148],
  [247, 182, 210],
  [219, 219, 141],
  [158, 218, 229],
  [180, 180, 180],
];

/** `false` light grey, `true` dark blue. */
export const BOOLEAN_COLORS: readonly [RGB, RGB] = [
  [232, 232, 232],
  [8, 48, 107],
];

/**
 * Values no scale reaches: NaN magenta, +∞ cyan, −∞ black. Cells masked out by `valid` are drawn
 * transparent over a grey checkerboard.
 */
export const SPECIAL_COLORS = {
  nan: [255, 0, 255] as RGB,
  posInf: [0, 255, 255] as RGB,
  negInf: [0, 0, 0] as RGB,
} as const;

/** Integer arrays with at most this many distinct values are shown as categories. */
export const MAX_CATEGORIES = 20;

/** How a view colours its values. */
export type ColorScale =
  | {
      readonly kind: "sequential" | "diverging";
      /** The value drawn with the first colour of the table (and everything below it). */
      readonly lo: number;
      /** The value drawn with the last colour of the table (and everything above it). */
      readonly hi: number;
      /** The diverging map's centre. */
      readonly around?: number;
      /** 256 colours from `lo` to `hi`. */
      readonly table: readonly RGB[];
    }
  | {
      readonly kind: "categorical";
      /** The distinct values in increasing order, with their colours and labels. */
      readonly categories: readonly { value: number; color: RGB; label: string }[];
    };

/** The colour scale options shared by `renderArray` and `renderTokens`. */
export interface ColorOptions {
  /** Diverging map centred here, with limits symmetric about it. */
  around?: number;
  /** The value drawn with the lowest colour; lower values are clamped. */
  vmin?: number;
  /** The value drawn with the highest colour; higher values are clamped. */
  vmax?: number;
  /**
   * Which map: `"sequential"`, `"diverging"` (around `around`, default 0) or `"categorical"`.
   * Default: categorical for booleans and for integers with at most 20 distinct values (unless
   * `around`, `vmin` or `vmax` is given), diverging when `around` is given, sequential otherwise.
   */
  colormap?: "sequential" | "diverging" | "categorical";
}

/** Linear interpolation through evenly spaced colour stops, `t` in [0, 1]. */
export function interpolate(stops: readonly RGB[], t: number): RGB {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

function table(stops: readonly RGB[]): RGB[] {
  return Array.from({ length: 256 }, (_, i) => interpolate(stops, i / 255));
}

/** The sequential map's 256 colours, from `lo` to `hi`. */
export const SEQUENTIAL_TABLE: readonly RGB[] = table(SEQUENTIAL_STOPS);
/** The diverging map's 256 colours, from `lo` to `hi`. */
export const DIVERGING_TABLE: readonly RGB[] = table(DIVERGING_STOPS);

function checkNumberOption(where: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new RenderOptionError(
    name,
    `${describeOption(value)} is not a finite number`,
    `Pass a number, like ${where}(x, { ${name}: 0 }), or leave it out.`,
    where,
  );
}

/**
 * Picks the colour scale of some values.
 *
 * @param values the values shown (all of them, so every slice shares one scale).
 * @param valid per value, whether it is shown (`undefined`: all are); masked values do not count
 *   towards the limits.
 * @param kind how the values are read.
 * @param options `around`, `vmin`, `vmax`, `colormap`.
 * @param where the function, for error messages.
 * @returns the scale. Limits come from the finite shown values unless given; a diverging scale's
 *   limits are symmetric about its centre (`around ± max |x − around|`).
 * @throws RenderOptionError for a limit that is not a finite number, `vmin > vmax`, a categorical
 *   map asked for floats, or more than 256 categories.
 * @example
 * colorScale([-1, 2], undefined, "float", { around: 0 }, "renderArray"); // diverging, lo -2, hi 2
 */
export function colorScale(
  values: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
  kind: ValueKind,
  options: ColorOptions,
  where: string,
): ColorScale {
  const around = checkNumberOption(where, "around", options.around);
  const vmin = checkNumberOption(where, "vmin", options.vmin);
  const vmax = checkNumberOption(where, "vmax", options.vmax);
  if (vmin !== undefined && vmax !== undefined && vmin > vmax) {
    throw new RenderOptionError(
      "vmin",
      `vmin (${vmin}) is greater than vmax (${vmax})`,
      "Give the lower limit as vmin and the upper as vmax.",
      where,
    );
  }
  const colormap = options.colormap;
  if (
    colormap !== undefined &&
    colormap !== "sequential" &&
    colormap !== "diverging" &&
    colormap !== "categorical"
  ) {
    throw new RenderOptionError(
      "colormap",
      `${JSON.stringify(String(colormap))} is not a colour map`,
      'Use "sequential", "diverging" or "categorical", or leave it out to choose from the dtype.',
      where,
    );
  }
  if (colormap === "categorical" || (colormap === undefined && kind === "bool")) {
    return categoricalScale(values, valid, kind, where, colormap === "categorical");
  }
  const wantsScale = around !== undefined || vmin !== undefined || vmax !== undefined;
  if (colormap === undefined && kind === "int" && !wantsScale) {
    const categories = distinctValues(values, valid, MAX_CATEGORIES + 1);
    if (categories.length <= MAX_CATEGORIES) return categoricalScale(values, valid, kind, where);
  }
  const [dataMin, dataMax] = finiteRange(values, valid);
  if (colormap === "diverging" || (colormap === undefined && around !== undefined)) {
    const centre = around ?? 0;
    let lo: number;
    let hi: number;
    if (vmin !== undefined && vmax !== undefined) [lo, hi] = [vmin, vmax];
    else if (vmax !== undefined) [lo, hi] = [2 * centre - vmax, vmax];
    else if (vmin !== undefined) [lo, hi] = [vmin, 2 * centre - vmin];
    else {
      const reach = Number.isFinite(dataMin)
        ? Math.max(Math.abs(dataMin - centre), Math.abs(dataMax - centre))
        : 0;
      [lo, hi] = [centre - reach, centre + reach];
    }
    return { kind: "diverging", lo, hi, around: centre, table: DIVERGING_TABLE };
  }
  const lo = vmin ?? (Number.isFinite(dataMin) ? dataMin : 0);
  const hi = vmax ?? (Number.isFinite(dataMax) ? dataMax : lo);
  return {
    kind: "sequential",
    lo: Math.min(lo, hi),
    hi: Math.max(lo, hi),
    table: SEQUENTIAL_TABLE,
  };
}

/** The smallest and largest finite shown value; `[Infinity, -Infinity]` when there is none. */
export function finiteRange(
  values: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (valid !== undefined && !valid[i]) continue;
    const x = values[i]!;
    if (x - x !== 0) continue;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return [min, max];
}

function distinctValues(
  values: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
  limit: number,
): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < values.length && seen.size < limit; i++) {
    if (valid !== undefined && !valid[i]) continue;
    const x = values[i]!;
    if (x - x === 0) seen.add(x);
  }
  return [...seen].sort((a, b) => a - b);
}

const MAX_ASKED_CATEGORIES = 256;

function categoricalScale(
  values: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
  kind: ValueKind,
  where: string,
  asked = false,
): ColorScale {
  if (kind === "bool") {
    return {
      kind: "categorical",
      categories: [
        { value: 0, color: BOOLEAN_COLORS[0], label: "false" },
        { value: 1, color: BOOLEAN_COLORS[1], label: "true" },
      ],
    };
  }
  if (asked && kind === "float") {
    throw new RenderOptionError(
      "colormap",
      '"categorical" needs integer or boolean values, but the array holds floats',
      'Cast it to integers first, or use colormap: "sequential".',
      where,
    );
  }
  const distinct = distinctValues(values, valid, MAX_ASKED_CATEGORIES + 1);
  if (distinct.length > MAX_ASKED_CATEGORIES) {
    throw new RenderOptionError(
      "colormap",
      `"categorical" supports at most ${MAX_ASKED_CATEGORIES} distinct values, and the array has more`,
      'Use colormap: "sequential" for arrays with many distinct values.',
      where,
    );
  }
  return {
    kind: "categorical",
    categories: distinct.map((value, i) => ({
      value,
      color: CATEGORICAL_COLORS[i % CATEGORICAL_COLORS.length]!,
      label: String(value),
    })),
  };
}

/**
 * The table level (0 to 255) of a finite value on a continuous scale: `lo` is 0, `hi` is 255, and
 * a scale whose limits are equal draws everything at the middle level.
 *
 * @example
 * scaleLevel(0.5, 0, 1); // 128
 */
export function scaleLevel(x: number, lo: number, hi: number): number {
  if (!(hi > lo)) return 128;
  return Math.round(Math.min(1, Math.max(0, (x - lo) / (hi - lo))) * 255);
}

/**
 * The colour of a value on a scale: special colours for NaN and the infinities, the table colour
 * for finite values, a category's colour (or grey for a value outside every category).
 *
 * @example
 * colorOf(colorScale([0, 1], undefined, "float", {}, "renderArray"), 1); // [253, 231, 37]
 */
export function colorOf(scale: ColorScale, x: number): RGB {
  if (Number.isNaN(x)) return SPECIAL_COLORS.nan;
  if (x === Number.POSITIVE_INFINITY) return SPECIAL_COLORS.posInf;
  if (x === Number.NEGATIVE_INFINITY) return SPECIAL_COLORS.negInf;
  if (scale.kind === "categorical") {
    return scale.categories.find((c) => c.value === x)?.color ?? UNKNOWN_CATEGORY;
  }
  return scale.table[scaleLevel(x, scale.lo, scale.hi)]!;
}

/** The colour of an integer no category lists (possible in token scores given explicitly). */
export const UNKNOWN_CATEGORY: RGB = [128, 128, 128];

/**
 * Black or white, whichever reads better on `background` (by its relative luminance).
 *
 * @example
 * textColorOn([253, 231, 37]); // [0, 0, 0]
 */
export function textColorOn(background: RGB): RGB {
  const linear = background.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0]! + 0.7152 * linear[1]! + 0.0722 * linear[2]!;
  return luminance > 0.25 ? [0, 0, 0] : [255, 255, 255];
}
