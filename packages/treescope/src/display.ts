/**
 * Notebook and browser display: HTML where the host can show it, text elsewhere.
 *
 * @module
 */

import { checkOptions } from "@saikei/struct";
import { type ArrayViewOptions, renderArray } from "./arrayView.js";
import { type HTMLOptions, renderToHTML } from "./html.js";
import { oneLine, renderToText } from "./text.js";
import { renderTokens, type TokenViewOptions, tokensText } from "./tokens.js";

/** Where {@link display} sent the rendering. */
export type DisplayTarget = "tslab" | "deno-jupyter" | "dom" | "text";

/** Options for {@link display}. */
export interface DisplayOptions
  extends Pick<HTMLOptions, "theme" | "expandDepth" | "highlight" | "reveal"> {
  /** Browser only: the element to append the view to. Default `document.body`. */
  target?: { appendChild(node: unknown): unknown };
  /** Text fallback only: where the text goes. Default `console.log`. */
  write?: (text: string) => void;
}

/** The MIME bundle key Deno's Jupyter kernel reads from displayable objects. */
const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

interface TslabDisplay {
  html(html: string): void;
}

interface DenoJupyter {
  display(bundle: Record<string, string>, options: { raw: boolean }): unknown;
}

function tslabDisplay(): TslabDisplay | undefined {
  const g = globalThis as {
    $$?: { html?: unknown };
    tslab?: { display?: { html?: unknown } };
    __tslab__?: { require?: (id: string) => unknown };
  };
  // tslab 1.0 sets `__tslab__` in its kernel; its `require("tslab")` is the display API that a
  // cell gets with `import * as tslab from "tslab"`. `$$` and a global `tslab` serve other set-ups.
  const tslabRequire = g.__tslab__?.require;
  if (typeof tslabRequire === "function") {
    try {
      const module = tslabRequire("tslab") as { display?: { html?: unknown } } | undefined;
      if (typeof module?.display?.html === "function") return module.display as TslabDisplay;
    } catch {
      // Not tslab's kernel after all: try the other hosts.
    }
  }
  if (typeof g.$$?.html === "function") return g.$$ as TslabDisplay;
  if (typeof g.tslab?.display?.html === "function") return g.tslab.display as TslabDisplay;
  return undefined;
}

function denoJupyter(): DenoJupyter | undefined {
  const g = globalThis as { Deno?: { jupyter?: { display?: unknown } } };
  return typeof g.Deno?.jupyter?.display === "function"
    ? (g.Deno.jupyter as DenoJupyter)
    : undefined;
}

interface MinimalDocument {
  body: { appendChild(node: unknown): unknown };
  createElement(tag: string): {
    innerHTML: string;
    text?: string;
    textContent: string | null;
    querySelectorAll(
      selector: string,
    ): ArrayLike<{ textContent: string | null; replaceWith(node: unknown): void }>;
  };
}

/**
 * Inserts an HTML rendering into a browser element and runs its script (scripts set through
 * `innerHTML` do not run by themselves).
 *
 * @param target the element to append to.
 * @param html a fragment from `renderToHTML(value, { fragment: true })`.
 * @example
 * mountHTML(document.getElementById("out")!, renderToHTML(model, { fragment: true }));
 */
export function mountHTML(target: { appendChild(node: unknown): unknown }, html: string): void {
  const doc = (globalThis as { document?: MinimalDocument }).document;
  if (doc === undefined) {
    throw new Error(
      "mountHTML needs a browser document; outside a browser use renderToHTML and write the page to a file.",
    );
  }
  const container = doc.createElement("div");
  container.innerHTML = html;
  target.appendChild(container);
  const scripts = container.querySelectorAll("script:not([type])");
  for (let i = 0; i < scripts.length; i++) {
    const old = scripts[i]!;
    const fresh = doc.createElement("script");
    fresh.textContent = old.textContent;
    old.replaceWith(fresh);
  }
}

/**
 * Where {@link display} sends a rendering in this environment: `"tslab"`, `"deno-jupyter"`, `"dom"`
 * (a browser page) or `"text"`.
 *
 * @param options the same options as `display` (a `write` function means text).
 * @returns the display target.
 * @example
 * displayTarget(); // "text" in a terminal, "tslab" in a tslab notebook
 */
export function displayTarget(options: Pick<DisplayOptions, "write"> = {}): DisplayTarget {
  if (tslabDisplay() !== undefined) return "tslab";
  if (denoJupyter() !== undefined) return "deno-jupyter";
  const doc = (globalThis as { document?: MinimalDocument }).document;
  if (doc !== undefined && options.write === undefined) return "dom";
  return "text";
}

/**
 * Shows a tree where the user is looking: as interactive HTML in tslab, in Deno's Jupyter kernel
 * (`Deno.jupyter.display`) and in a browser page (appended to `document.body`), and as multi-line
 * text (coloured in a terminal) everywhere else. Like penzai's `display`, it returns nothing, so a
 * notebook cell that ends with it shows only the rendering; {@link displayTarget} says where it
 * goes.
 *
 * @param value any value, tree or selection.
 * @param options theme, expansion depth, highlighted paths, and the DOM target or text writer.
 * @example
 * display(model); // in a notebook: an interactive tree; in a terminal: indented text
 */
export function display(value: unknown, options: DisplayOptions = {}): void {
  checkOptions("display", options, [
    "theme",
    "expandDepth",
    "highlight",
    "reveal",
    "target",
    "write",
  ]);
  const htmlOptions: HTMLOptions = { fragment: true };
  if (options.theme !== undefined) htmlOptions.theme = options.theme;
  if (options.expandDepth !== undefined) htmlOptions.expandDepth = options.expandDepth;
  if (options.highlight !== undefined) htmlOptions.highlight = options.highlight;
  if (options.reveal !== undefined) htmlOptions.reveal = options.reveal;
  switch (displayTarget(options)) {
    case "tslab":
      tslabDisplay()!.html(renderToHTML(value, htmlOptions));
      return;
    case "deno-jupyter":
      void denoJupyter()!.display(displayBundle(value, htmlOptions), { raw: true });
      return;
    case "dom": {
      const doc = (globalThis as { document?: MinimalDocument }).document!;
      mountHTML(options.target ?? doc.body, renderToHTML(value, htmlOptions));
      return;
    }
    case "text":
      (options.write ?? console.log)(renderToText(value, { multiline: true }));
  }
}

/**
 * Shows an HTML fragment where the user is looking (as {@link display} does), or `text` where
 * HTML cannot be shown.
 */
function showFragment(
  html: () => string,
  text: () => string,
  options: Pick<DisplayOptions, "target" | "write">,
): void {
  switch (displayTarget(options)) {
    case "tslab":
      tslabDisplay()!.html(html());
      return;
    case "deno-jupyter":
      void denoJupyter()!.display({ "text/html": html(), "text/plain": text() }, { raw: true });
      return;
    case "dom": {
      const doc = (globalThis as { document?: MinimalDocument }).document!;
      mountHTML(options.target ?? doc.body, html());
      return;
    }
    case "text":
      (options.write ?? console.log)(text());
  }
}

/** Options for {@link displayArray}: the array view's options and where to show it. */
export interface DisplayArrayOptions
  extends Omit<ArrayViewOptions, "fragment" | "title">,
    Pick<DisplayOptions, "target" | "write"> {}

/**
 * Shows {@link renderArray}'s picture of an array where the user is looking: in a tslab notebook,
 * Deno's Jupyter kernel or a browser page; in a terminal, the array's one-line summary. Returns
 * nothing, like {@link display}.
 *
 * @param array a tensor, named array or nested array.
 * @param options the options of `renderArray` (no `fragment` or `title`), `target` and `write`.
 * @example
 * displayArray(attention, { rows: ["heads"], columns: ["batch"] }); // in a notebook cell
 */
export function displayArray(array: unknown, options: DisplayArrayOptions = {}): void {
  const { target, write, ...view } = options;
  // Render before choosing where, so bad options throw in every environment alike.
  const html = renderArray(array, { ...view, fragment: true });
  const where: Pick<DisplayOptions, "target" | "write"> = {};
  if (target !== undefined) where.target = target;
  if (write !== undefined) where.write = write;
  showFragment(
    () => html,
    () => oneLine(array),
    where,
  );
}

/** Options for {@link displayTokens}: the token view's options and where to show it. */
export interface DisplayTokensOptions
  extends Omit<TokenViewOptions, "fragment" | "title">,
    Pick<DisplayOptions, "target" | "write"> {}

/**
 * Shows {@link renderTokens}' boxes where the user is looking: in a tslab notebook, Deno's Jupyter
 * kernel or a browser page; in a terminal, the token texts between `|` separators. Returns
 * nothing, like {@link display}.
 *
 * @param ids token ids (1 or 2 axes).
 * @param options the options of `renderTokens` (no `fragment` or `title`), `target` and `write`.
 * @example
 * displayTokens(ids, { tokenizer, scores: lossPerToken });
 */
export function displayTokens(ids: unknown, options: DisplayTokensOptions = {}): void {
  const { target, write, ...view } = options;
  const html = renderTokens(ids, { ...view, fragment: true });
  const where: Pick<DisplayOptions, "target" | "write"> = {};
  if (target !== undefined) where.target = target;
  if (write !== undefined) where.write = write;
  const textOptions: Pick<TokenViewOptions, "tokenizer" | "vocabulary"> = {};
  if (view.tokenizer !== undefined) textOptions.tokenizer = view.tokenizer;
  if (view.vocabulary !== undefined) textOptions.vocabulary = view.vocabulary;
  showFragment(
    () => html,
    () => tokensText(ids, textOptions),
    where,
  );
}

function displayBundle(value: unknown, options: HTMLOptions): Record<string, string> {
  return {
    "text/html": renderToHTML(value, { ...options, fragment: true }),
    "text/plain": renderToText(value, { multiline: true, color: false }),
  };
}

/**
 * Wraps a value so that Jupyter kernels which look for `Symbol.for("Jupyter.display")` (Deno's)
 * show it as interactive HTML when it is the last expression of a cell.
 *
 * @param value any value, tree or selection.
 * @param options HTML options (theme, expansion depth, highlighted paths).
 * @returns an object whose `[Symbol.for("Jupyter.display")]()` gives the MIME bundle.
 * @example
 * displayable(model); // as the last line of a Deno notebook cell
 */
export function displayable(
  value: unknown,
  options: Pick<HTMLOptions, "theme" | "expandDepth" | "highlight" | "reveal"> = {},
): { [JUPYTER_DISPLAY](): Record<string, string> } {
  return { [JUPYTER_DISPLAY]: () => displayBundle(value, options) };
}
