/**
 * Text rendering: the one-line form used by `Struct#toString` and a multi-line indented form, with
 * ANSI colours in terminals that support them.
 *
 * @module
 */

import { checkOptions, className, type KeyPath, keystr, safeString } from "@saikei/struct";
import { parseColor, treescopeColorOf } from "./color.js";
import { escapeControls } from "./escape.js";
import { asSelectionView, type ChildEntry, describe } from "./inspect.js";
import {
  type ArraySummary,
  formatNumber,
  shapeText,
  statsText,
  summarizeArray,
} from "./summary.js";

/** Options for {@link renderToText}. */
export interface TextOptions {
  /**
   * Indented form, one field per line where the one-line form does not fit in `width` columns.
   * Default `false`.
   */
  multiline?: boolean;
  /**
   * ANSI colours. Default: on when standard output is a terminal and `NO_COLOR` is not set.
   */
  color?: boolean;
  /** Line width for the multi-line form. Default 80. */
  width?: number;
  /**
   * Statistics (min, max, mean, NaN and infinity counts) after each array's shape. Default: on in
   * the multi-line form, off in the one-line form (which never reads tensor values, except to show
   * arrays of at most 5 elements).
   */
  arraySummaries?: boolean;
  /** Key paths of nodes to mark as `«…»`, as a selection's nodes are marked. */
  highlight?: readonly KeyPath[];
}

/**
 * Whether colour is on by default: standard output is a TTY and `NO_COLOR` is unset
 * (https://no-color.org). Always `false` outside Node.
 *
 * @example
 * defaultColor(); // false when piped to a file
 */
export function defaultColor(): boolean {
  const proc = (
    globalThis as {
      process?: { stdout?: { isTTY?: boolean }; env?: Record<string, string | undefined> };
    }
  ).process;
  if (proc === undefined) return false;
  const noColor = proc.env?.NO_COLOR;
  if (noColor !== undefined && noColor !== "") return false;
  return proc.stdout?.isTTY === true;
}

interface Style {
  type(name: string, color: string): string;
  string(text: string): string;
  number(text: string): string;
  keyword(text: string): string;
  array(text: string): string;
  dim(text: string): string;
}

const PLAIN: Style = {
  type: (t) => t,
  string: (t) => t,
  number: (t) => t,
  keyword: (t) => t,
  array: (t) => t,
  dim: (t) => t,
};

const RESET = "\x1b[0m";

const ANSI: Style = {
  type(name, color) {
    const rgb = parseColor(color);
    return rgb === undefined
      ? `\x1b[1m${name}${RESET}`
      : `\x1b[1;38;2;${rgb[0]};${rgb[1]};${rgb[2]}m${name}${RESET}`;
  },
  string: (t) => `\x1b[32m${t}${RESET}`,
  number: (t) => `\x1b[34m${t}${RESET}`,
  keyword: (t) => `\x1b[35m${t}${RESET}`,
  array: (t) => `\x1b[36m${t}${RESET}`,
  dim: (t) => `\x1b[2m${t}${RESET}`,
};

/**
 * A string as treescope writes it: single-quoted like Python's `repr`, with `\`, `'`, control
 * characters, line separators and bidirectional controls escaped (`\n`, `\x1b`, `\u202e`).
 *
 * @example
 * quoteString("it's"); // "'it\\'s'"
 * quoteString("\x1b[2J"); // "'\\x1b[2J'"
 */
export function quoteString(text: string): string {
  const escaped = HAS_QUOTE_OR_BACKSLASH.test(text)
    ? text.replace(QUOTE_OR_BACKSLASH, "\\$&")
    : text;
  return `'${escapeControls(escaped)}'`;
}

const QUOTE_OR_BACKSLASH = /[\\']/g;
const HAS_QUOTE_OR_BACKSLASH = /[\\']/;

/**
 * The uncoloured text of a leaf that is neither an array nor a tree node (numbers, strings,
 * functions, typed arrays, class instances).
 *
 * @example
 * leafText("a"); // "'a'"
 */
export function leafText(value: unknown): string {
  return styledLeafText(value, PLAIN);
}

/** Renders a leaf that is not an array. */
function styledLeafText(value: unknown, st: Style): string {
  switch (typeof value) {
    case "string":
      return st.string(quoteString(value));
    case "number":
      return st.number(Object.is(value, -0) ? "-0" : String(value));
    case "bigint":
      return st.number(`${value}n`);
    case "boolean":
      return st.keyword(String(value));
    case "undefined":
      return st.keyword("undefined");
    case "symbol":
      return st.keyword(escapeControls(value.toString()));
    case "function":
      return st.dim(`<function ${escapeControls(String(value.name) || "anonymous")}>`);
  }
  if (value === null) return st.keyword("null");
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as ArrayLike<unknown>).length ?? value.byteLength;
    return st.array(escapeControls(`${value.constructor.name}(${length})`));
  }
  const own = (value as { toString?: unknown }).toString;
  if (typeof own === "function" && own !== Object.prototype.toString) {
    return escapeControls(safeString(value));
  }
  return st.dim(`<${escapeControls(className((value as object).constructor) || "object")}>`);
}

const SMALL_ARRAY = 5;

/**
 * The text of an array leaf: `<tf.Tensor float32[2,3]>`, with its values when they are given, or
 * with statistics when `withStats`.
 *
 * @param summary from `summarizeArray`.
 * @param values the values to show inline (from {@link smallArrayValues}), or `undefined`.
 * @param withStats append `min=… max=… mean=…` and NaN / infinity counts.
 * @returns the text.
 * @example
 * arrayText(summarizeArray(t)!, undefined, true); // "<tf.Tensor float32[2,3] min=1 max=6 mean=3.5>"
 */
export function arrayText(
  summary: ArraySummary,
  values: readonly unknown[] | undefined,
  withStats: boolean,
): string {
  let extra = "";
  if (summary.disposed) extra = " disposed";
  else if (values !== undefined) {
    const shown = values.map((v) =>
      typeof v === "number" ? formatNumber(v) : typeof v === "string" ? quoteString(v) : String(v),
    );
    extra =
      summary.shape.length + summary.namedShape.length === 0
        ? ` ${shown[0]}`
        : ` [${shown.join(", ")}]`;
  } else if (withStats) {
    const stats = statsText(summary);
    if (stats !== "") extra = ` ${stats}`;
  }
  // Class, dtype and axis names come from the array; quoted values are escaped already.
  return escapeControls(`<${summary.typeName} ${shapeText(summary)}${extra}>`);
}

/**
 * The values of an array small enough to show inline (at most 5 elements, in storage order).
 *
 * @param value a tensor or named array.
 * @param summary its summary.
 * @param read the values when already read (`dataSync()` of the tensor or data array).
 * @returns the values (booleans for `bool` arrays), or `undefined` for larger or disposed arrays.
 * @example
 * smallArrayValues(tf.tensor1d([7, 8], "int32"), summary); // [7, 8]
 */
export function smallArrayValues(
  value: unknown,
  summary: ArraySummary,
  read?: ArrayLike<unknown>,
): unknown[] | undefined {
  if (summary.disposed || summary.size > SMALL_ARRAY || summary.dtype === "complex64")
    return undefined;
  const tensor =
    (value as { dataArray?: { dataSync(): ArrayLike<unknown> } }).dataArray ??
    (value as { dataSync(): ArrayLike<unknown> });
  const data = read ?? tensor.dataSync();
  const out = Array.from(data as ArrayLike<unknown>);
  return summary.dtype === "bool" ? out.map((x) => Boolean(x)) : out;
}

/**
 * How deep treescope walks a tree. Nodes at this depth that have children are shown with their
 * brackets and an ellipsis (`Block(…)`, `[…]`), so a tree nested 20,000 levels deep (which no
 * model is, but a hostile or corrupted file can be) renders instead of overflowing the stack.
 */
export const MAX_RENDER_DEPTH = 1000;

class TextRenderer {
  private readonly ancestors = new Set<unknown>();
  private readonly tracking: boolean;
  /** Line breaks the multi-line form has written so far. */
  private breaks = 0;

  /**
   * `marks`: keystr of the paths to wrap in `«…»` (a selection's nodes). `maxBreaks`: the
   * multi-line form stops adding children after this many line breaks (its text is then cut by
   * the caller). `summaries`: array summaries already computed, by array.
   */
  constructor(
    private readonly width: number,
    private readonly withStats: boolean,
    private readonly marks: ReadonlySet<string>,
    private readonly maxBreaks = Number.POSITIVE_INFINITY,
    private readonly summaries = new Map<unknown, ArraySummary>(),
  ) {
    this.tracking = marks.size > 0;
  }

  private array(value: unknown, st: Style): string {
    let summary = this.summaries.get(value);
    if (summary === undefined) {
      summary = summarizeArray(value, { stats: this.withStats, heatMap: false })!;
      this.summaries.set(value, summary);
    }
    return st.array(arrayText(summary, smallArrayValues(value, summary), this.withStats));
  }

  private mark(text: string, path: string, st: Style): string {
    return this.tracking && this.marks.has(path)
      ? `${st.keyword("«")}${text}${st.keyword("»")}`
      : text;
  }

  private childPath(path: string, e: ChildEntry): string {
    return this.tracking ? path + String(e.key) : "";
  }

  /**
   * The one-line form. `limit`: the caller only needs to know whether the text fits in this many
   * columns, so the walk stops (returning a longer, partial text) once it is exceeded; without
   * it, measuring every node of a deep tree in the multi-line form would cost depth × size.
   */
  line(value: unknown, st: Style, path = "", depth = 0, limit = Number.POSITIVE_INFINITY): string {
    const d = describe(value);
    if (d.kind === "tensor" || d.kind === "namedArray")
      return this.mark(this.array(value, st), path, st);
    if (d.kind === "leaf" || d.kind === "none")
      return this.mark(styledLeafText(value, st), path, st);
    if (this.ancestors.has(value)) return st.dim("<cycle>");
    const open = this.open(value, d.typeName, d.open, st);
    if (depth >= MAX_RENDER_DEPTH && d.entries.length > 0) {
      return this.mark(`${open}${st.dim("\u2026")}${d.close}`, path, st);
    }
    this.ancestors.add(value);
    try {
      let text = open;
      for (let i = 0; i < d.entries.length && text.length <= limit; i++) {
        const e = d.entries[i]!;
        if (i > 0) text += ", ";
        text +=
          e.label + this.line(e.value, st, this.childPath(path, e), depth + 1, limit - text.length);
      }
      return this.mark(text + d.close, path, st);
    } finally {
      this.ancestors.delete(value);
    }
  }

  /** `extra`: columns taken on the node's first line by its label and trailing comma. */
  block(value: unknown, indent: number, extra: number, st: Style, path = "", depth = 0): string {
    const d = describe(value);
    if (d.entries.length === 0 || this.ancestors.has(value) || depth >= MAX_RENDER_DEPTH) {
      return this.line(value, st, path, depth);
    }
    const room = this.width - indent - extra;
    const flat = this.line(value, PLAIN, path, depth, room);
    if (flat.length <= room) {
      return st === PLAIN ? flat : this.line(value, st, path, depth);
    }
    this.ancestors.add(value);
    this.breaks++;
    try {
      const pad = " ".repeat(indent + 2);
      let lines = "";
      for (const e of d.entries) {
        if (this.breaks >= this.maxBreaks) break;
        const child = this.block(
          e.value,
          indent + 2,
          e.label.length + 1,
          st,
          this.childPath(path, e),
          depth + 1,
        );
        lines += `${pad}${e.label}${child},\n`;
        this.breaks++;
      }
      const text = `${this.open(value, d.typeName, d.open, st)}\n${lines}${" ".repeat(indent)}${d.close}`;
      return this.mark(text, path, st);
    } finally {
      this.ancestors.delete(value);
    }
  }

  private open(value: unknown, typeName: string, open: string, st: Style): string {
    if (st === PLAIN || !open.endsWith("(")) return open;
    return `${st.type(typeName, treescopeColorOf(value))}(`;
  }
}

/**
 * Renders any tree as text.
 *
 * The one-line form is what `Struct#toString` shows: `Point(x=3, y=4, label='p')`. Structs list
 * every field (static ones included) in declaration order, objects their keys in sorted order (the
 * order of their children), arrays as `<tf.Tensor float32[2,3]>` or
 * `<NamedArray float32(3 | batch:2)>`. The multi-line form breaks nodes that do not fit in
 * `width` columns over indented lines with trailing commas, and adds array statistics.
 * A `Selection` renders as its whole tree with the selected nodes marked `«…»`.
 *
 * @param value any value or tree.
 * @param options `multiline`, `color`, `width`, `arraySummaries` (see {@link TextOptions}).
 * @returns the rendering, with ANSI colour codes only when `color` is on.
 * @example
 * renderToText({ b: [1, 2], a: "x" }, { color: false }); // `{"a": 'x', "b": [1, 2]}`
 * renderToText(new Point({ x: 3, y: 4, label: "p" }), { multiline: true, width: 10, color: false });
 * // "Point(\n  x=3,\n  y=4,\n  label='p',\n)"
 */
export function renderToText(value: unknown, options: TextOptions = {}): string {
  checkOptions("renderToText", options, [
    "multiline",
    "color",
    "width",
    "arraySummaries",
    "highlight",
  ]);
  const multiline = options.multiline === true;
  const st = (options.color ?? defaultColor()) ? ANSI : PLAIN;
  let tree = value;
  const marked: KeyPath[] = [...(options.highlight ?? [])];
  const selection = asSelectionView(value);
  if (selection !== undefined) {
    tree = selection.tree;
    marked.push(...selection.selectedPaths);
  }
  const renderer = new TextRenderer(
    options.width ?? 80,
    options.arraySummaries ?? multiline,
    new Set(marked.map((p) => keystr(p))),
  );
  return multiline ? renderer.block(tree, 0, 0, st) : renderer.line(tree, st);
}

/**
 * The first `maxLines` lines of the uncoloured multi-line form, with array statistics, rendering
 * no more of the tree than those lines need (for the static text of an HTML view).
 *
 * @param tree a tree (not a selection).
 * @param highlight key paths to mark `«…»`.
 * @param summaries array summaries already computed.
 * @returns the lines, and whether more followed.
 */
export function multilineHead(
  tree: unknown,
  options: {
    width: number;
    maxLines: number;
    highlight: readonly KeyPath[];
    summaries?: Map<unknown, ArraySummary>;
  },
): { lines: string[]; more: boolean } {
  const renderer = new TextRenderer(
    options.width,
    true,
    new Set(options.highlight.map((p) => keystr(p))),
    options.maxLines,
    options.summaries,
  );
  const lines = renderer.block(tree, 0, 0, PLAIN).split("\n");
  return lines.length > options.maxLines
    ? { lines: lines.slice(0, options.maxLines), more: true }
    : { lines, more: false };
}

/**
 * The one-line, uncoloured form of a value (what `Struct#toString` returns once treescope is
 * loaded).
 *
 * @example
 * oneLine([1, "a", null]); // "[1, 'a', null]"
 */
export function oneLine(value: unknown): string {
  return renderToText(value, { color: false });
}

/**
 * A reusable {@link oneLine}: one renderer for many values (the declared structures of every layer
 * of a tree), so each call costs only its own walk.
 *
 * @returns a function from a value to its one-line, uncoloured form.
 */
export function oneLineRenderer(): (value: unknown) => string {
  const renderer = new TextRenderer(80, false, new Set());
  return (value) => renderer.line(value, PLAIN);
}
