/**
 * `renderArray`: an array of any rank as a picture. Two axes are drawn as the pixels of a facet,
 * further axes as a grid of facets or as sliders, and every cell shows its index and value under
 * the pointer.
 *
 * @module
 */

import { checkOptions, safeString } from "@saikei/struct";
import { ARRAY_CLIENT, ARRAY_STYLE } from "./arrayClient.js";
import { type ArrayInput, gatherValues, readArray, subsampleSteps } from "./arrayData.js";
import { STYLE } from "./client.js";
import {
  type ColorOptions,
  type ColorScale,
  colorScale,
  type RGB,
  SPECIAL_COLORS,
  UNKNOWN_CATEGORY,
} from "./colormap.js";
import { RenderOptionError } from "./errors.js";
import { checkElementId, escapeControls, escapeHTML, scriptJSON } from "./escape.js";
import { base64, completePage, freshId, randomHex } from "./page.js";
import { formatNumber } from "./summary.js";

/** An axis of `renderArray`'s layout options: a name, or the number of a positional axis. */
export type AxisRef = string | number;

/** Options for {@link renderArray}. */
export interface ArrayViewOptions extends ColorOptions {
  /**
   * Axes along the vertical, outermost first: the last is drawn as pixel rows, the others as rows
   * of facets. See {@link renderArray} for the axes you leave out.
   */
  rows?: readonly AxisRef[];
  /** Axes along the horizontal, outermost first: the last as pixel columns, the others as facets. */
  columns?: readonly AxisRef[];
  /** Axes shown one index at a time, chosen with a slider. */
  sliders?: readonly AxisRef[];
  /**
   * Which values to show: an array of booleans (or numbers, non-zero meaning shown) that
   * broadcasts against the array, named axes by name (absent or size-1 axes broadcast) and
   * positional axes aligned from the end. Hidden cells are drawn as a grey checkerboard and do
   * not count towards the colour limits.
   */
  valid?: unknown;
  /**
   * The most values embedded in the page; a larger array is subsampled (every 2nd, 4th, … index
   * along its longest axes) and says so above the picture. Default 524288 (2^19), a 4 × 8 × 128 ×
   * 128 attention pattern whole (2.7 MB of page).
   */
  maxValues?: number;
  /** Side of one cell in CSS pixels. Default: the largest from 1 to 24 that keeps the grid near 720 pixels. */
  cellSize?: number;
  /** `true`: a fragment for a notebook or page; `false` (default): a complete page. */
  fragment?: boolean;
  /** The initial theme; a button toggles it. Default `"light"`. */
  theme?: "light" | "dark";
  /** The root element's id (as in `renderToHTML`). Default: a fresh random id. */
  id?: string;
  /** The page title of a complete page. Default `"treescope array"`. */
  title?: string;
}

const OPTION_KEYS = [
  "rows",
  "columns",
  "sliders",
  "valid",
  "around",
  "vmin",
  "vmax",
  "colormap",
  "maxValues",
  "cellSize",
  "fragment",
  "theme",
  "id",
  "title",
] as const;

/** The default of `maxValues`. */
export const DEFAULT_MAX_VALUES = 2 ** 19;

/** One axis of the embedded view description. */
interface SpecAxis {
  readonly name: string;
  readonly named: boolean;
  readonly size: number;
  /** Every `step`-th index is shown. */
  readonly step: number;
}

/** The view as the page's script reads it (see ARRAY_CLIENT). */
export interface ArraySpec {
  readonly title: string;
  readonly kind: ArrayInput["kind"];
  readonly axes: readonly SpecAxis[];
  readonly rows: readonly number[];
  readonly columns: readonly number[];
  readonly sliders: readonly number[];
  readonly encoding: "f32" | "f64" | "i32" | "u8";
  readonly data: string;
  readonly valid?: string;
  readonly scale:
    | { lo: number; hi: number; around?: number; map: "sequential" | "diverging" }
    | { categories: { value: number; color: RGB; label: string }[] };
  readonly special: { nan: RGB; posInf: RGB; negInf: RGB; unknown: RGB };
  readonly counts: { nan: number; posInf: number; negInf: number; masked: number };
  readonly cellSize: number;
  readonly note?: string;
  readonly themeButton?: boolean;
  readonly dark?: boolean;
}

/** An array's layout: logical axis numbers, rows and columns outermost first. */
export interface ArrayLayout {
  readonly rows: readonly number[];
  readonly columns: readonly number[];
  readonly sliders: readonly number[];
}

function axisList(input: ArrayInput): string {
  return input.axes.map((a) => (a.named ? JSON.stringify(a.name) : a.name)).join(", ");
}

function resolveAxis(input: ArrayInput, option: string, ref: unknown, where: string): number {
  if (typeof ref === "number") {
    const index = input.axes.findIndex((a) => !a.named && a.name === String(ref));
    if (index >= 0) return index;
  } else if (typeof ref === "string") {
    const name = escapeControls(ref);
    const index = input.axes.findIndex((a) => a.named && a.name === name);
    if (index >= 0) return index;
  }
  const shown = typeof ref === "string" ? JSON.stringify(escapeControls(ref)) : safeString(ref);
  throw new RenderOptionError(
    option,
    `${escapeControls(shown)} is not an axis of this array`,
    `Its axes are ${axisList(input)} (named axes by name, positional axes by number).`,
    where,
  );
}

/**
 * Places every axis. Axes in `rows`, `columns` and `sliders` go where they are put; of the others,
 * the array's last axis becomes the innermost column, the one before it the innermost row, and the
 * rest sliders.
 *
 * @throws RenderOptionError for an axis that does not exist or is placed twice.
 */
export function arrayLayout(
  input: ArrayInput,
  options: Pick<ArrayViewOptions, "rows" | "columns" | "sliders">,
  where = "renderArray",
): ArrayLayout {
  const placed = new Map<number, string>();
  const take = (option: "rows" | "columns" | "sliders"): number[] => {
    const list = options[option];
    if (list === undefined) return [];
    if (!Array.isArray(list)) {
      throw new RenderOptionError(
        option,
        `${safeString(list)} is not a list of axes`,
        `Pass axis names or positional axis numbers in an array, like { ${option}: ["heads"] }.`,
        where,
      );
    }
    return list.map((ref: unknown) => {
      const axis = resolveAxis(input, option, ref, where);
      const earlier = placed.get(axis);
      if (earlier !== undefined) {
        throw new RenderOptionError(
          option,
          `axis ${input.axes[axis]!.name} is already placed in ${earlier}`,
          "Place each axis once, in rows, columns or sliders.",
          where,
        );
      }
      placed.set(axis, option);
      return axis;
    });
  };
  const rows = take("rows");
  const columns = take("columns");
  const sliders = take("sliders");
  const last = input.axes.length - 1;
  if (last >= 0 && !placed.has(last)) {
    columns.push(last);
    placed.set(last, "columns");
  }
  if (last >= 1 && !placed.has(last - 1)) {
    rows.push(last - 1);
    placed.set(last - 1, "rows");
  }
  for (let axis = 0; axis <= last; axis++) if (!placed.has(axis)) sliders.push(axis);
  return { rows, columns, sliders };
}

function checkPositiveInteger(where: string, name: string, value: unknown, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= max) {
    return value;
  }
  throw new RenderOptionError(
    name,
    `${safeString(value)} is not a whole number from 1 to ${max}`,
    `Pass one, like ${where}(x, { ${name}: ${name === "cellSize" ? 4 : 4096} }), or leave it out.`,
    where,
  );
}

/** The mask as 0/1 bytes in the order of the kept values of `input`. */
function maskBytes(
  input: ArrayInput,
  mask: unknown,
  steps: readonly number[],
  total: number,
  where: string,
): Uint8Array {
  const m = readArray(mask, `${where} option \`valid\``);
  const strides = input.axes.map(() => 0);
  const positional = input.axes.filter((a) => !a.named).length;
  const maskPositional = m.axes.filter((a) => !a.named).length;
  const mismatch = (what: string) =>
    new RenderOptionError(
      "valid",
      what,
      "Pass a mask whose named axes are axes of the array (of the same size, or 1) and whose " +
        "positional axes match the array's last positional axes, like nx.greaterEqual(seq, kvSeq).",
      where,
    );
  if (maskPositional > positional) {
    throw mismatch(`the mask has ${maskPositional} positional axes, the array only ${positional}`);
  }
  m.axes.forEach((axis, i) => {
    const target = axis.named
      ? input.axes.findIndex((a) => a.named && a.name === axis.name)
      : positional - maskPositional + Number(axis.name);
    if (target < 0)
      throw mismatch(`the mask's axis ${JSON.stringify(axis.name)} is not an axis of the array`);
    const size = input.axes[target]!.size;
    if (axis.size !== size && axis.size !== 1) {
      throw mismatch(
        `the mask's axis ${axis.named ? JSON.stringify(axis.name) : axis.name} has size ${axis.size}, the array's ${size}`,
      );
    }
    strides[target] = axis.size === 1 ? 0 : m.strides[i]!;
  });
  const out = new Uint8Array(total);
  const gathered = new Float64Array(total);
  gatherValues({ axes: input.axes, strides, values: m.values }, steps, gathered);
  for (let i = 0; i < total; i++) out[i] = gathered[i] ? 1 : 0;
  return out;
}

function encodeValues(
  kind: ArrayInput["kind"],
  dtype: string,
  total: number,
): {
  encoding: ArraySpec["encoding"];
  buffer: Float32Array | Float64Array | Int32Array | Uint8Array;
} {
  if (kind === "bool") return { encoding: "u8", buffer: new Uint8Array(total) };
  // int32 tensors fit Int32Array; integer typed arrays (Uint32Array, …) may not, doubles hold all
  if (kind === "int" && dtype === "int32")
    return { encoding: "i32", buffer: new Int32Array(total) };
  if (kind === "int") return { encoding: "f64", buffer: new Float64Array(total) };
  if (dtype === "float64") return { encoding: "f64", buffer: new Float64Array(total) };
  return { encoding: "f32", buffer: new Float32Array(total) };
}

function ordinal(n: number): string {
  return n === 2 ? "2nd" : n === 3 ? "3rd" : `${n}th`;
}

function summaryNote(input: ArrayInput, steps: readonly number[], shown: number): string {
  const size = input.axes.reduce((n, a) => n * a.size, 1);
  const cut = input.axes
    .map((a, i) =>
      steps[i]! > 1
        ? `every ${ordinal(steps[i]!)} ${a.named ? a.name : `axis ${a.name}`} index`
        : "",
    )
    .filter((t) => t !== "");
  return (
    `Summarised: ${shown.toLocaleString("en-US")} of ${size.toLocaleString("en-US")} values shown ` +
    `(${cut.join(", ")}); raise maxValues to see more.`
  );
}

function titleOf(input: ArrayInput): string {
  const positional = input.axes.filter((a) => !a.named).map((a) => a.size);
  const named = input.axes.filter((a) => a.named).map((a) => `${a.name}:${a.size}`);
  if (input.typeName === "tf.Tensor" || input.typeName === "Array") {
    return `${input.typeName === "Array" ? "Array" : "tf.Tensor"} ${input.dtype}[${positional.join(",")}]`;
  }
  const p = positional.join(", ");
  return `${input.typeName} ${input.dtype}(${p}${p === "" ? "" : " "}| ${named.join(", ")})`;
}

function defaultCellSize(input: ArrayInput, layout: ArrayLayout, steps: readonly number[]): number {
  const kept = (axis: number) => Math.ceil(input.axes[axis]!.size / steps[axis]!);
  const extent = (list: readonly number[]) => list.reduce((n, a) => n * kept(a), 1);
  const longest = Math.max(extent(layout.rows), extent(layout.columns), 1);
  return Math.max(1, Math.min(24, Math.floor(720 / longest)));
}

/**
 * Everything the page needs to draw an array: kept values, mask, layout, colour scale, counts.
 * Shared by {@link renderArray} and the array views of `renderToHTML` trees (which pass the
 * values they read for the leaf's summary as `data`, see `readArray`).
 */
export function arraySpec(
  value: unknown,
  options: Omit<ArrayViewOptions, "fragment" | "theme" | "id" | "title">,
  where: string,
  data?: ArrayLike<number>,
): ArraySpec {
  const input = readArray(value, where, data);
  const layout = arrayLayout(input, options, where);
  const maxValues =
    options.maxValues === undefined
      ? DEFAULT_MAX_VALUES
      : checkPositiveInteger(where, "maxValues", options.maxValues, 2 ** 26);
  const steps = subsampleSteps(
    input.axes.map((a) => a.size),
    maxValues,
  );
  const total = input.axes.reduce((n, a, i) => n * Math.ceil(a.size / steps[i]!), 1);
  const { encoding, buffer } = encodeValues(input.kind, input.dtype, total);
  gatherValues(input, steps, buffer);
  const valid =
    options.valid === undefined ? undefined : maskBytes(input, options.valid, steps, total, where);
  const scale = colorScale(buffer, valid, input.kind, options, where);
  const counts = { nan: 0, posInf: 0, negInf: 0, masked: 0 };
  for (let i = 0; i < total; i++) {
    if (valid !== undefined && !valid[i]) counts.masked++;
    else {
      const x = buffer[i]!;
      if (Number.isNaN(x)) counts.nan++;
      else if (x === Number.POSITIVE_INFINITY) counts.posInf++;
      else if (x === Number.NEGATIVE_INFINITY) counts.negInf++;
    }
  }
  const cellSize =
    options.cellSize === undefined
      ? defaultCellSize(input, layout, steps)
      : checkPositiveInteger(where, "cellSize", options.cellSize, 64);
  const spec: ArraySpec = {
    title: titleOf(input),
    kind: input.kind,
    axes: input.axes.map((a, i) => ({
      name: a.name,
      named: a.named,
      size: a.size,
      step: steps[i]!,
    })),
    rows: layout.rows,
    columns: layout.columns,
    sliders: layout.sliders,
    encoding,
    data: base64(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)),
    scale: scaleSpec(scale),
    special: { ...SPECIAL_COLORS, unknown: UNKNOWN_CATEGORY },
    counts,
    cellSize,
  };
  const extra: { valid?: string; note?: string } = {};
  if (valid !== undefined) extra.valid = base64(valid);
  if (steps.some((s) => s > 1)) extra.note = summaryNote(input, steps, total);
  return { ...spec, ...extra };
}

function scaleSpec(scale: ColorScale): ArraySpec["scale"] {
  if (scale.kind === "categorical") {
    return {
      categories: scale.categories.map((c) => ({
        value: c.value,
        color: c.color,
        label: c.label,
      })),
    };
  }
  const out: { lo: number; hi: number; around?: number; map: "sequential" | "diverging" } = {
    lo: scale.lo,
    hi: scale.hi,
    map: scale.kind,
  };
  if (scale.around !== undefined) out.around = scale.around;
  return out;
}

/** The text shown where scripts do not run: the array's shape and the range of its values. */
function fallbackText(spec: ArraySpec): string {
  const range =
    "lo" in spec.scale
      ? ` colours from ${formatNumber(spec.scale.lo)} to ${formatNumber(spec.scale.hi)}`
      : ` ${spec.scale.categories.length} categories`;
  return `${spec.title}${range} (the picture needs scripts to run)`;
}

/**
 * Renders an array as a picture: a `tf.Tensor`, `NamedArray`, `NamedArrayView`, typed array or
 * nested array of numbers or booleans, of any rank (penzai's `render_array`).
 *
 * **Layout.** `rows` and `columns` list axes outermost first: the last of each is drawn as the
 * pixel rows or columns of a facet, the ones before it as a nested grid of facets, labelled
 * `heads=3`. `sliders` are shown one index at a time. Named axes are given by name, positional
 * axes by number. Axes left out are placed for you: the array's last axis becomes the innermost
 * column, the one before it the innermost row, and every other axis a slider. So for an attention
 * pattern `{batch, heads, seq, kv_seq}`, `{ rows: ["heads"], columns: ["batch"] }` draws a grid of
 * `seq × kv_seq` facets, one row of facets per head and one column per batch element.
 *
 * **Colours.** Floats on a sequential map from their minimum to their maximum; with `around: c`,
 * a diverging map (blue, white at `c`, red) with limits symmetric about `c`; `vmin` / `vmax` fix
 * the limits. Booleans and integers with at most 20 distinct values are categories, each with its
 * own colour. NaN is magenta, +∞ cyan, −∞ black; cells that `valid` hides are transparent over a
 * checkerboard. The limits come from every value shown, so moving a slider keeps the scale.
 *
 * **Reading values.** Hovering a cell shows its index (named axes by name, positional ones in
 * brackets) and value: `batch=0, heads=3, seq=5, kv_seq=2 → 0.1234`. Ticks label the pixel axes,
 * and a legend gives the limits and counts of NaN, infinities and masked cells.
 *
 * **Large arrays.** At most `maxValues` values (default 2^19) are embedded: a larger array keeps
 * every 2nd, 4th, … index along its longest axes, says so above the picture, and the ticks and
 * hover text still show true indices.
 *
 * The output is self-contained like `renderToHTML`'s (inline style and script, no network; a
 * complete page carries a Content-Security-Policy), in a light or dark theme, and every axis name
 * reaches the page as text. Tensors are read, never disposed.
 *
 * @param array the array.
 * @param options see {@link ArrayViewOptions}.
 * @returns an HTML page, or a fragment with `fragment: true`.
 * @throws ArrayInputError when `array` is not an array of numbers or booleans (or is disposed).
 * @throws RenderOptionError for an unknown axis, an axis placed twice, a `valid` mask that does
 *   not broadcast, bad limits or sizes; UnknownOptionError for an option it does not know.
 * @example
 * renderArray(attention, { rows: ["heads"], columns: ["batch"], vmin: 0, vmax: 1 });
 * renderArray(tf.randomNormal([8, 8]), { around: 0, fragment: true });
 */
export function renderArray(array: unknown, options: ArrayViewOptions = {}): string {
  checkOptions("renderArray", options, OPTION_KEYS);
  const id = options.id === undefined ? freshId() : checkElementId(options.id, "renderArray");
  checkTheme(options.theme, "renderArray");
  const spec = arraySpec(array, options, "renderArray");
  const dark = options.theme === "dark";
  return htmlOf({ ...spec, themeButton: true, dark }, fallbackText(spec), {
    id,
    dark,
    page: options.fragment !== true,
    title: options.title ?? "treescope array",
    className: "skts-array-root",
  });
}

/** Checks the `theme` option. */
export function checkTheme(theme: unknown, where: string): void {
  if (theme === undefined || theme === "light" || theme === "dark") return;
  throw new RenderOptionError(
    "theme",
    `${safeString(theme)} is not a theme`,
    'Use "light" or "dark".',
    where,
  );
}

/**
 * A rendering: the style, the root element with the fallback text, the spec as JSON data and the
 * script that builds the view from it.
 */
function htmlOf(
  spec: ArraySpec,
  fallback: string,
  page: { id: string; dark: boolean; page: boolean; title: string; className: string },
): string {
  const nonce = page.page ? randomHex(16) : "";
  const fragment =
    `<style>${STYLE}${ARRAY_STYLE}</style>` +
    `<div class="skts-root ${page.className}${page.dark ? " skts-dark" : ""}" id="${page.id}">` +
    `<pre class="skts-text">${escapeHTML(fallback)}</pre></div>` +
    `<script type="application/json" id="${page.id}-data">${scriptJSON(spec)}</script>` +
    `<script${page.page ? ` nonce="${nonce}"` : ""}>${MOUNT_SCRIPT}(${scriptJSON(page.id)});</script>`;
  return page.page ? completePage(fragment, page.title, nonce) : fragment;
}

/** Reads the spec, replaces the fallback text by the view, marks the root ready. */
const MOUNT_SCRIPT = `(function (id) {
  var root = document.getElementById(id);
  var dataEl = document.getElementById(id + "-data");
  if (!root || !dataEl || root.getAttribute("data-skts-ready")) return;
  var t0 = performance.now();
  var text = root.querySelector(".skts-text");
  if (text) root.removeChild(text);
  (${ARRAY_CLIENT})(root, JSON.parse(dataEl.textContent));
  root.setAttribute("data-skts-ready", "1");
  root.setAttribute("data-render-ms", String(Math.round((performance.now() - t0) * 100) / 100));
})`;
