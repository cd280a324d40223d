/**
 * HTML rendering: a self-contained, interactive view of any tree.
 *
 * The tree is turned into compact JSON once, on the host, with the heat maps and array view values
 * of its leaves in a separate text element (ASCII only, referred to by offset); the embedded
 * script renders the open nodes and renders the children of a collapsed node only when it is
 * first expanded, so a model with tens of thousands of nodes opens as fast as its first levels.
 *
 * @module
 */

import { checkOptions, className, type KeyPath, keystr } from "@saikei/struct";
import { ARRAY_STYLE } from "./arrayClient.js";
import { type ArraySpec, arraySpec } from "./arrayView.js";
import { SCRIPT, STYLE } from "./client.js";
import { treescopeColorOf } from "./color.js";
import { RenderOptionError } from "./errors.js";
import {
  checkElementId,
  describeOption,
  escapeControls,
  escapeHTML,
  scriptJSON,
} from "./escape.js";
import { asSelectionView, type Described, describe } from "./inspect.js";
import { completePage, freshId, randomHex } from "./page.js";
import { type ArraySummary, fillHeatMap, heatMapSize, readSummary, statsText } from "./summary.js";
import {
  arrayText,
  leafText,
  MAX_RENDER_DEPTH,
  multilineHead,
  oneLine,
  oneLineRenderer,
  smallArrayValues,
} from "./text.js";

/** Options for {@link renderToHTML}. */
export interface HTMLOptions {
  /**
   * `true`: a fragment (`<style>`, the view, its data and script) to insert into a page or a
   * notebook output. `false` (default): a complete `<!doctype html>` page, whose
   * Content-Security-Policy forbids every network request and every script but its own.
   */
  fragment?: boolean;
  /** The initial theme; the toolbar toggles it. Default `"light"`. */
  theme?: "light" | "dark";
  /**
   * Nodes less than this many levels below the root start expanded; deeper ones start collapsed
   * and their children are rendered when first expanded. Default 2. Ancestors of highlighted nodes
   * always start expanded.
   */
  expandDepth?: number;
  /** Key paths (from the rendered root) of nodes to highlight, as a selection does. */
  highlight?: readonly KeyPath[];
  /** Key paths of nodes to show without highlighting them: their ancestors start expanded. */
  reveal?: readonly KeyPath[];
  /**
   * The id of the root element: a letter, then letters, digits, `-` or `_` (at most 100
   * characters). Default: a fresh random id (`skts-` and 16 hex digits), so renderings never
   * collide.
   */
  id?: string;
  /** The page title of a complete page. Default `"treescope"`. */
  title?: string;
  /**
   * How many array values the page may embed for the "show array" views of its array leaves, in
   * all (each leaf at most `ARRAY_VIEW_LEAF_VALUES`, subsampled beyond). Leaves past the budget
   * keep their summary and heat map only; 0 turns the views off. Default
   * `ARRAY_VIEW_PAGE_VALUES` (32,768: about 175 KB of page).
   */
  arrayViewValues?: number;
}

const HTML_OPTION_KEYS = [
  "fragment",
  "theme",
  "expandDepth",
  "highlight",
  "reveal",
  "id",
  "title",
  "arrayViewValues",
] as const satisfies readonly (keyof HTMLOptions)[];

/** One node of the embedded JSON tree (short keys keep the page small). */
interface NodeData {
  /** label before the node: `x=`, `"a": ` */
  l?: string;
  /** the path step as code: `.x`, `[0]`; absent when it is `.name` for the label `name=` */
  p?: string;
  /** opening bracket: `[`, `{`; absent for structs and registered nodes, which open with `y(` */
  o?: string;
  /** coloured type name */
  y?: string;
  /** closing bracket; absent for structs and registered nodes, which close with `)` */
  e?: string;
  /** collapsed summary: `3 items`; absent for structs, whose summary counts their fields */
  n?: string;
  /** leaf text */
  x?: string;
  /** leaf kind: string, number, keyword, array, other; `t` for an array leaf, `<x>` */
  k?: string;
  /** children; present exactly for expandable nodes */
  c?: NodeData[];
  /** colour variable suffix; 1 when it is the type name `y` */
  v?: string | 1;
  /** starts open */
  f?: 1;
  /** selected */
  s?: 1;
  /** static field */
  z?: 1;
  /**
   * array summary: statistics text, NaN count, infinity count, heat map (one char per cell), and
   * the array view opened by "show array"
   */
  a?: {
    t?: string;
    n?: number;
    f?: number;
    /** `o`: where the cells (one character each, `r * c` of them) start in the bulk text */
    h?: { r: number; c: number; m: "s" | "d"; o: number };
    /** the view's values (its `data`) are in the bulk text: `b` is their offset and length */
    v?: Omit<ArraySpec, "data" | "special"> & { b: [number, number] };
  };
  /** layer input / output structure */
  i?: string;
  u?: string;
  /** children not shown: more than MAX_RENDER_DEPTH levels deep */
  g?: 1;
}

class HTMLBuilder {
  /** colour variable name → colour */
  readonly colorVars = new Map<string, string>();
  /** Array summaries by array, for the static text form. */
  readonly summaries = new Map<unknown, ArraySummary>();
  private readonly varByTypeAndColor = new Map<string, Map<string, string>>();
  private readonly ancestors = new Set<unknown>();
  private readonly tracking: boolean;
  /** Values the array views of this page may still embed. */
  private arrayBudget: number;
  /** The one-line text of declared structures. */
  private readonly lineOf = oneLineRenderer();
  /**
   * The bulk text: heat map cells and array view values, which the JSON tree refers to by offset.
   * Only characters of the heat map levels and of base64 go here (no text from the tree), so it
   * travels in its own script element without any escaping, and JSON never scans it.
   */
  private readonly bulk: string[] = [];
  private bulkLength = 0;
  /**
   * Heat map characters not yet in `bulk`, as ASCII bytes: they become text in one decoding per
   * run of heat maps rather than a string per leaf.
   */
  private pending = new Uint8Array(0);
  private pendingLength = 0;

  constructor(
    private readonly expandDepth: number,
    private readonly selected: ReadonlySet<string>,
    private readonly openPaths: ReadonlySet<string>,
    arrayViewValues: number,
  ) {
    this.tracking = selected.size > 0 || openPaths.size > 0;
    this.arrayBudget = arrayViewValues;
  }

  private colorVar(typeName: string, color: string): string {
    let byColor = this.varByTypeAndColor.get(typeName);
    if (byColor === undefined) {
      byColor = new Map();
      this.varByTypeAndColor.set(typeName, byColor);
    }
    let name = byColor.get(color);
    if (name === undefined) {
      const base = typeName.replace(/[^A-Za-z0-9_-]/g, "_") || "node";
      name = base;
      for (let i = 2; this.colorVars.has(name); i++) name = `${base}-${i}`;
      this.colorVars.set(name, color);
      byColor.set(color, name);
    }
    return name;
  }

  /** `keyPath` is the keystr of the node's path, tracked only when something is highlighted. */
  node(value: unknown, keyPath: string, depth: number): NodeData {
    const out: NodeData = {};
    if (this.tracking && this.selected.has(keyPath)) out.s = 1;
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      out.x = leafText(value);
      out.k = leafKind(value);
      return out;
    }
    const d = describe(value);
    if (d.kind === "tensor" || d.kind === "namedArray") return this.arrayLeaf(value, out);
    if (d.kind === "leaf" || d.kind === "none") {
      out.x = oneLine(value);
      out.k = leafKind(value);
      return out;
    }
    if (d.kind === "struct" || d.kind === "registered") {
      const color = treescopeColorOf(value);
      if (color !== "transparent") {
        const name = this.colorVar(d.typeName, color);
        out.v = name === d.typeName ? 1 : name;
      }
      out.y = d.typeName;
    }
    if (d.entries.length === 0 || this.ancestors.has(value)) {
      out.x = this.ancestors.has(value) ? "<cycle>" : oneLine(value);
      out.k = "other";
      return out;
    }
    if (depth >= MAX_RENDER_DEPTH) {
      out.x = `${d.open}\u2026${d.close}`;
      out.k = "other";
      out.g = 1;
      return out;
    }
    // Structs and registered nodes open with `Name(` and close with `)`, and a struct counts its
    // fields: the client makes those texts itself.
    const named = d.kind === "struct" || d.kind === "registered";
    if (!named) {
      out.o = d.open;
      out.e = d.close;
    }
    if (d.kind !== "struct") out.n = countText(d);
    if (depth < this.expandDepth || (this.tracking && this.openPaths.has(keyPath))) out.f = 1;
    this.layerStructures(value, out);
    this.ancestors.add(value);
    try {
      out.c = d.entries.map((entry) => {
        const child = this.node(
          entry.value,
          this.tracking ? keyPath + String(entry.key) : "",
          depth + 1,
        );
        if (entry.label !== "") child.l = entry.label;
        if (!isFieldStep(entry.code, entry.label)) child.p = entry.code;
        if (entry.isStatic) child.z = 1;
        return child;
      });
    } finally {
      this.ancestors.delete(value);
    }
    return out;
  }

  private arrayLeaf(value: unknown, out: NodeData): NodeData {
    // The values are read once, for the statistics, the heat map and the array view.
    const { summary, data, shape } = readSummary(value, true)!;
    this.summaries.set(value, summary);
    // `<NamedArray float32(…)>` travels without its angle brackets (kind "t"), which the client
    // puts back: brackets in script data are written as escapes, 1700 of them in a large model.
    const text = arrayText(summary, smallArrayValues(value, summary, data), false);
    out.x = text.slice(1, -1);
    out.k = "t";
    const a: NonNullable<NodeData["a"]> = {};
    const stats = statsText(summary, { counts: false });
    if (stats !== "") a.t = stats;
    if (summary.stats !== undefined) {
      if (summary.stats.nanCount > 0) a.n = summary.stats.nanCount;
      if (summary.stats.infCount > 0) a.f = summary.stats.infCount;
    }
    const heat = data === undefined ? undefined : heatMapSize(shape);
    if (heat !== undefined) {
      const offset = this.bulkLength;
      const codes = this.pendingCells(heat.rows * heat.cols);
      const scale = fillHeatMap(data!, shape, summary.stats!, codes);
      for (let i = 0; i < codes.length; i++) codes[i] = CELL_CODE[codes[i]!]!;
      a.h = { r: heat.rows, c: heat.cols, m: scale === "diverging" ? "d" : "s", o: offset };
    }
    const view = this.arrayView(value, summary, data);
    if (view !== undefined) {
      // the values go to the bulk text; the special colours are the same for every view, and
      // the page's script has them
      const { data: values, special: _, ...rest } = view;
      a.v = { ...rest, b: [this.addBulk(values), values.length] };
    }
    if (Object.keys(a).length > 0) out.a = a;
    return out;
  }

  /** Appends heat map or base64 text to the bulk text; returns its offset. */
  private addBulk(text: string): number {
    this.flushPending();
    const offset = this.bulkLength;
    this.bulk.push(text);
    this.bulkLength += text.length;
    return offset;
  }

  /** Room for `n` heat map characters at the end of the bulk text. */
  private pendingCells(n: number): Uint8Array {
    if (this.pendingLength + n > this.pending.length) {
      const size = Math.max(PENDING_BYTES, 2 * this.pending.length, this.pendingLength + n);
      const grown = new Uint8Array(size);
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    const cells = this.pending.subarray(this.pendingLength, this.pendingLength + n);
    this.pendingLength += n;
    this.bulkLength += n;
    return cells;
  }

  private flushPending(): void {
    if (this.pendingLength === 0) return;
    // ASCII only, so UTF-8 decoding gives one character per byte
    this.bulk.push(ASCII.decode(this.pending.subarray(0, this.pendingLength)));
    this.pendingLength = 0;
  }

  /** The bulk text, or `""` when the page has no arrays. */
  bulkText(): string {
    this.flushPending();
    return this.bulk.join("");
  }

  /** The array view of a leaf, subsampled to its share of the page's budget. */
  private arrayView(
    value: unknown,
    summary: ArraySummary,
    data: ArrayLike<number> | undefined,
  ): ArraySpec | undefined {
    if (summary.stats === undefined || summary.size === 0) return undefined;
    const maxValues = Math.min(ARRAY_VIEW_LEAF_VALUES, this.arrayBudget);
    if (maxValues < 1 || maxValues < Math.min(summary.size, ARRAY_VIEW_LEAF_VALUES)) {
      return undefined;
    }
    try {
      const spec = arraySpec(value, { maxValues }, "renderToHTML", data);
      this.arrayBudget -= spec.axes.reduce((n, x) => n * Math.ceil(x.size / x.step), 1);
      return spec;
    } catch {
      // Arrays the view cannot show (strings, broken named arrays) keep their summary only.
      return undefined;
    }
  }

  private layerStructures(value: unknown, out: NodeData): void {
    const layer = value as { inputStructure?: unknown; outputStructure?: unknown };
    if (typeof layer.inputStructure === "function") {
      const text = structureText(
        () => (layer.inputStructure as () => unknown).call(value),
        this.lineOf,
      );
      if (text !== undefined) out.i = text;
    }
    if (typeof layer.outputStructure === "function") {
      const text = structureText(
        () => (layer.outputStructure as () => unknown).call(value),
        this.lineOf,
      );
      if (text !== undefined) out.u = text;
    }
  }
}

/**
 * Heat map cells travel as one character each: 63 levels (0..62, from the 0..254 byte) and `_`
 * (level 63) for NaN or infinity. The client maps level `l` back to `l * 254 / 62`.
 */
const LEVELS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
const CELL = Array.from(
  { length: 256 },
  (_, v) => LEVELS[v === 255 ? 63 : Math.round((v * 62) / 254)]!,
);
const CELL_CODE = Uint8Array.from(CELL, (c) => c.charCodeAt(0));
const ASCII = new TextDecoder();
/** Room for heat map bytes is made in steps of at least this many. */
const PENDING_BYTES = 1 << 14;

/**
 * Whether a path step is the field step `.name` of the label `name=`, which the client rebuilds
 * from the label (most steps of a model are).
 */
function isFieldStep(code: string, label: string): boolean {
  const n = code.length;
  if (n < 2 || label.length !== n || code.charCodeAt(0) !== 46 || label.charCodeAt(n - 1) !== 61) {
    return false;
  }
  for (let i = 1; i < n; i++) if (code.charCodeAt(i) !== label.charCodeAt(i - 1)) return false;
  return true;
}

/** The text of a declared structure; `undefined` for the default "anything" wildcard. */
function structureText(get: () => unknown, lineOf: (value: unknown) => string): string | undefined {
  try {
    const structure = get();
    if (isDefaultWildcard(structure)) return undefined;
    return lineOf(structure);
  } catch (error) {
    const e = error as { name?: string; message?: string };
    return `\u26a0 ${escapeControls(`${e?.name ?? "Error"}: ${e?.message ?? String(error)}`)}`;
  }
}

function isDefaultWildcard(structure: unknown): boolean {
  if (structure === null || typeof structure !== "object") return false;
  const s = structure as { description?: unknown };
  return (
    className(structure.constructor) === "Wildcard" &&
    (s.description === undefined || s.description === null)
  );
}

function leafKind(value: unknown): string {
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
    case "bigint":
      return "number";
    case "boolean":
    case "undefined":
      return "keyword";
    default:
      return value === null ? "keyword" : ArrayBuffer.isView(value) ? "array" : "other";
  }
}

function countText(d: Described): string {
  const n = d.entries.length;
  const cache = d.kind === "struct" ? FIELDS : d.kind === "array" ? ITEMS : ENTRIES;
  if (n < COUNT_CACHE) {
    const known = cache[n];
    if (known !== undefined) return known;
  }
  let text: string;
  switch (d.kind) {
    case "struct":
      text = `${n} field${n === 1 ? "" : "s"}`;
      break;
    case "array":
      text = `${n} item${n === 1 ? "" : "s"}`;
      break;
    default:
      text = `${n} entr${n === 1 ? "y" : "ies"}`;
  }
  if (n < COUNT_CACHE) cache[n] = text;
  return text;
}

/** Count texts of small nodes, made once: most nodes of a model have a handful of children. */
const COUNT_CACHE = 64;
const FIELDS: string[] = [];
const ITEMS: string[] = [];
const ENTRIES: string[] = [];

/**
 * Array leaves embed an array view of at most this many values (subsampled beyond), and a page at
 * most {@link ARRAY_VIEW_PAGE_VALUES} in all: arrays past that budget show their summary only.
 */
export const ARRAY_VIEW_LEAF_VALUES = 4096;
/** See {@link ARRAY_VIEW_LEAF_VALUES}. */
export const ARRAY_VIEW_PAGE_VALUES = 32_768;

/** The static text shown where scripts do not run is cut after this many lines or characters. */
const FALLBACK_LINES = 400;
const FALLBACK_CHARS = 40_000;

/**
 * The multi-line text form for hosts that strip scripts (GitHub's and nbviewer's notebook views,
 * untrusted Jupyter notebooks), cut to a reasonable size; the script replaces it by the view.
 */
function fallbackText(
  tree: unknown,
  highlight: readonly KeyPath[],
  summaries: Map<unknown, ArraySummary>,
): string {
  const head = multilineHead(tree, { width: 100, maxLines: FALLBACK_LINES, highlight, summaries });
  let text = head.lines.join("\n");
  let more = head.more;
  if (text.length > FALLBACK_CHARS) {
    text = text.slice(0, FALLBACK_CHARS);
    more = true;
  }
  return more ? `${text}\n${FALLBACK_CUT}` : text;
}

const FALLBACK_CUT =
  "\u2026 (cut here: the interactive view shows the whole tree where scripts run)";

function checkArrayViewValues(values: unknown): number {
  if (values === undefined) return ARRAY_VIEW_PAGE_VALUES;
  if (typeof values === "number" && Number.isInteger(values) && values >= 0) return values;
  throw new RenderOptionError(
    "arrayViewValues",
    `${describeOption(values)} is not a number of values`,
    "Pass a whole number from 0 (no array views) up, like renderToHTML(tree, { arrayViewValues: " +
      "100_000 }), or leave it out.",
  );
}

function checkExpandDepth(depth: unknown): number {
  if (depth === undefined) return 2;
  if (typeof depth === "number" && depth >= 0) return depth;
  throw new RenderOptionError(
    "expandDepth",
    `${describeOption(depth)} is not a number of levels`,
    "Pass a number of levels from 0 (everything starts collapsed) up to Infinity (everything " +
      "starts open), like renderToHTML(tree, { expandDepth: 3 }).",
  );
}

/**
 * Renders any tree as interactive HTML: collapsible nodes (deep ones rendered lazily), a colour per
 * struct type as CSS custom properties (`--skts-color-Linear`), a light and a dark theme, a
 * "copy path" button on every node that copies the code reaching it (`.body.sublayers[2].mask`),
 * summaries and heat maps of tensors and named arrays, highlighted selections and each layer's
 * declared input and output structures.
 *
 * A `Selection` of `@saikei/select` renders as the whole tree with its selected nodes highlighted
 * (penzai's `show_selection`).
 *
 * The result is self-contained: inline CSS and script, no network access, no global state. Several
 * renderings on one page never collide. Where scripts do not run (a notebook viewed on GitHub, an
 * untrusted Jupyter notebook) the view shows the multi-line text form instead, cut after 400 lines.
 *
 * Nothing in the tree can change what the output does: every name and value reaches the page as
 * text (escaped for the script element that carries it), colours only in CSS colour syntax
 * (`isCSSColor`), and a complete page also carries a Content-Security-Policy that forbids every
 * request and every script but its own. Trees deeper than `MAX_RENDER_DEPTH` levels show their
 * deepest nodes as `Name(…)`.
 *
 * @param value any value or tree, or a selection.
 * @param options see {@link HTMLOptions}.
 * @returns an HTML page or fragment.
 * @throws RenderOptionError for an `id` that is not a safe element id or an `expandDepth` that is
 *   not a number of levels.
 * @example
 * writeFileSync("model.html", renderToHTML(model, { expandDepth: 3 }));
 * renderToHTML(select(model).atInstancesOf(Linear), { fragment: true });
 */
export function renderToHTML(value: unknown, options: HTMLOptions = {}): string {
  checkOptions("renderToHTML", options, HTML_OPTION_KEYS);
  const id = options.id === undefined ? freshId() : checkElementId(options.id);
  const expandDepth = checkExpandDepth(options.expandDepth);
  let tree = value;
  const highlight: KeyPath[] = [...(options.highlight ?? [])];
  const selection = asSelectionView(value);
  if (selection !== undefined) {
    tree = selection.tree;
    highlight.push(...selection.selectedPaths);
  }
  const selected = new Set(highlight.map((p) => keystr(p)));
  const openPaths = new Set<string>();
  for (const path of [...highlight, ...(options.reveal ?? [])]) {
    for (let i = 0; i < path.length; i++) openPaths.add(keystr(path.slice(0, i)));
  }
  const builder = new HTMLBuilder(
    expandDepth,
    selected,
    openPaths,
    checkArrayViewValues(options.arrayViewValues),
  );
  const data = builder.node(tree, "", 0);
  const bulk = builder.bulkText();
  // Names are [A-Za-z0-9_-] and colours pass isCSSColor, so a declaration cannot end early.
  const vars = [...builder.colorVars]
    .map(([name, color]) => `--skts-color-${name}:${color}`)
    .join(";");
  const dark = options.theme === "dark";
  const page = options.fragment !== true;
  const nonce = page ? randomHex(16) : "";
  const fragment =
    `<style>${STYLE}${ARRAY_STYLE}</style>` +
    `<div class="skts-root${dark ? " skts-dark" : ""}" id="${id}"${vars === "" ? "" : ` style="${escapeHTML(vars)}"`}>` +
    `<pre class="skts-text">${escapeHTML(fallbackText(tree, highlight, builder.summaries))}</pre>` +
    `<div class="skts-tree"></div></div>` +
    `<script type="application/json" id="${id}-data">${scriptJSON(data)}</script>` +
    (bulk === "" ? "" : `<script type="text/plain" id="${id}-bulk">${bulk}</script>`) +
    `<script${page ? ` nonce="${nonce}"` : ""}>${SCRIPT}(${scriptJSON(id)});</script>`;
  if (!page) return fragment;
  return completePage(fragment, options.title ?? "treescope", nonce);
}
