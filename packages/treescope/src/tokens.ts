/**
 * `renderTokens`: token ids as a row of boxes, each showing its text (or its digits) and coloured
 * by a score, with the id and score on hover.
 *
 * @module
 */

import { checkOptions, safeString } from "@saikei/struct";
import { type ArrayInput, readArray } from "./arrayData.js";
import { checkTheme } from "./arrayView.js";
import { STYLE } from "./client.js";
import {
  type ColorOptions,
  type ColorScale,
  colorOf,
  colorScale,
  DIVERGING_STOPS,
  type RGB,
  SEQUENTIAL_STOPS,
  textColorOn,
} from "./colormap.js";
import { ArrayInputError, RenderOptionError } from "./errors.js";
import { checkElementId, escapeControls, escapeHTML } from "./escape.js";
import { completePage, freshId, randomHex } from "./page.js";
import { formatNumber } from "./summary.js";

/**
 * Anything that turns token ids into text: a Hugging Face tokenizer wrapper, or your own object.
 * `renderTokens` decodes one id at a time.
 */
export interface TokenDecoder {
  decode(ids: number[]): string;
}

/** Options for {@link renderTokens}. */
export interface TokenViewOptions extends ColorOptions {
  /** Decodes each id to the text shown in its box. */
  tokenizer?: TokenDecoder;
  /** The text of each id: an array indexed by id, or a Map from id to text. */
  vocabulary?: readonly string[] | ReadonlyMap<number, string>;
  /**
   * One number per token (the same shape as `ids`): the box colours. Without scores boxes are
   * uncoloured.
   */
  scores?: unknown;
  /** `true`: a fragment; `false` (default): a complete page. */
  fragment?: boolean;
  /** Default `"light"`. */
  theme?: "light" | "dark";
  /** The root element's id. Default: a fresh random id. */
  id?: string;
  /** The page title of a complete page. Default `"treescope tokens"`. */
  title?: string;
}

const OPTION_KEYS = [
  "tokenizer",
  "vocabulary",
  "scores",
  "around",
  "vmin",
  "vmax",
  "colormap",
  "fragment",
  "theme",
  "id",
  "title",
] as const;

const TOKEN_STYLE = `
.skts-root.skts-tokens{display:inline-block;max-width:100%;box-sizing:border-box;overflow:visible}
.skts-tokens-line{display:flex;flex-wrap:wrap;align-items:baseline;gap:2px;margin:2px 0}
.skts-tokens-line>.skts-label{margin-right:6px;min-width:3ch}
.skts-token{position:relative;display:inline-block;white-space:pre;border:1px solid var(--skts-border);
border-radius:3px;padding:0 2px;min-width:.6em;text-align:center}
.skts-token.skts-digits{font-variant-numeric:tabular-nums;color:var(--skts-number)}
.skts-token .skts-empty{color:var(--skts-muted)}
.skts-token:hover{outline:2px solid var(--skts-fg);z-index:2}
.skts-token:hover::after{content:attr(data-tip);position:absolute;left:0;top:100%;margin-top:3px;
background:var(--skts-fg);color:var(--skts-bg);padding:1px 6px;border-radius:3px;white-space:pre;
font-size:11px;z-index:3;pointer-events:none}
.skts-tokens-legend{margin-top:6px;color:var(--skts-muted);display:flex;gap:6px;align-items:center}
.skts-tokens-bar{display:inline-block;width:160px;height:10px;border:1px solid var(--skts-border)}
`;

const MAX_TOKENS = 20_000;

function readIds(ids: unknown): ArrayInput {
  const input = readArray(ids, "renderTokens");
  if (input.axes.length < 1 || input.axes.length > 2) {
    throw new ArrayInputError(
      `renderTokens: token ids must be a 1-D sequence or a 2-D batch of sequences, but they have ` +
        `${input.axes.length} axes. Pick one sequence or batch first.`,
    );
  }
  const size = input.axes.reduce((n, a) => n * a.size, 1);
  if (size > MAX_TOKENS) {
    throw new ArrayInputError(
      `renderTokens: ${size} tokens are too many for one view (at most ${MAX_TOKENS}). Show a ` +
        "slice of the sequence or batch.",
    );
  }
  return input;
}

/** The values of an array in row-major order of its logical axes. */
function rowMajor(input: ArrayInput): number[] {
  const [rows, cols] =
    input.axes.length === 1 ? [1, input.axes[0]!.size] : [input.axes[0]!.size, input.axes[1]!.size];
  const rowStride = input.axes.length === 1 ? 0 : input.strides[0]!;
  const colStride = input.strides[input.axes.length - 1]!;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out.push(+input.values[r * rowStride + c * colStride]!);
  }
  return out;
}

function checkIds(values: readonly number[]): void {
  values.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0) {
      throw new ArrayInputError(
        `renderTokens: token ${i} is ${String(id)}, not a token id (a whole number from 0). ` +
          "Pass integer ids, e.g. the int32 output of a tokenizer or of argMax.",
      );
    }
  });
}

/** The text of each token, from the tokenizer, the vocabulary, or its digits. */
function tokenTexts(ids: readonly number[], options: TokenViewOptions): string[] | undefined {
  const { tokenizer, vocabulary } = options;
  if (tokenizer !== undefined && vocabulary !== undefined) {
    throw new RenderOptionError(
      "vocabulary",
      "both tokenizer and vocabulary are given",
      "Pass one of them: the tokenizer decodes ids, the vocabulary lists their texts.",
      "renderTokens",
    );
  }
  if (tokenizer !== undefined) {
    if (tokenizer === null || typeof (tokenizer as TokenDecoder).decode !== "function") {
      throw new RenderOptionError(
        "tokenizer",
        `${safeString(tokenizer)} has no decode(ids) method`,
        "Pass an object with decode(ids: number[]): string, such as a loaded Hugging Face tokenizer.",
        "renderTokens",
      );
    }
    return ids.map((id) => {
      let text: unknown;
      try {
        text = tokenizer.decode([id]);
      } catch (error) {
        throw new RenderOptionError(
          "tokenizer",
          `decode([${id}]) threw ${escapeControls(String(error))}`,
          "Check that the ids belong to this tokenizer's vocabulary.",
          "renderTokens",
        );
      }
      if (typeof text !== "string") {
        throw new RenderOptionError(
          "tokenizer",
          `decode([${id}]) returned ${safeString(text)}, not a string`,
          "Pass a tokenizer whose decode returns text.",
          "renderTokens",
        );
      }
      return text;
    });
  }
  if (vocabulary !== undefined) {
    const lookup =
      vocabulary instanceof Map
        ? (id: number) => vocabulary.get(id)
        : Array.isArray(vocabulary)
          ? (id: number) => (Object.hasOwn(vocabulary, id) ? vocabulary[id] : undefined)
          : undefined;
    if (lookup === undefined) {
      throw new RenderOptionError(
        "vocabulary",
        `${safeString(vocabulary)} is not an array or a Map of token texts`,
        'Pass the texts indexed by id, like { vocabulary: ["<pad>", "a", "b"] }.',
        "renderTokens",
      );
    }
    return ids.map((id, i) => {
      const text = lookup(id);
      if (typeof text !== "string") {
        throw new RenderOptionError(
          "vocabulary",
          `token ${i} has id ${id}, which the vocabulary has no text for`,
          "Pass a vocabulary that covers every id, or a tokenizer.",
          "renderTokens",
        );
      }
      return text;
    });
  }
  return undefined;
}

/** Line breaks and tabs as visible arrows, other control characters as escapes. */
function visibleText(text: string): string {
  return escapeControls(text.replace(/\r?\n/g, "\u21b5").replace(/\t/g, "\u21e5"));
}

function rgb(c: RGB): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function scoreText(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+inf" : "-inf";
  return String(Number(x.toPrecision(4)));
}

function legend(scale: ColorScale): string {
  if (scale.kind === "categorical") {
    return scale.categories
      .map(
        (c) =>
          `<span><span class="skts-token" style="background:${rgb(c.color)};color:${rgb(textColorOn(c.color))}">${escapeHTML(c.label)}</span></span>`,
      )
      .join("");
  }
  const stops = scale.kind === "diverging" ? DIVERGING_STOPS : SEQUENTIAL_STOPS;
  const gradient = `linear-gradient(to right,${stops.map(rgb).join(",")})`;
  return (
    `<span class="skts-number">${escapeHTML(formatNumber(scale.lo))}</span>` +
    `<span class="skts-tokens-bar" style="background:${gradient}"></span>` +
    `<span class="skts-number">${escapeHTML(formatNumber(scale.hi))}</span>`
  );
}

/**
 * Renders token ids as boxes (penzai's token visualisation): each box shows the token's text
 * (from `tokenizer.decode([id])` or `vocabulary[id]`) or, without either, the id's digits. With
 * `scores` (one number per token) the boxes are coloured on the same scales as `renderArray`
 * (`around`, `vmin`, `vmax`, `colormap`), with a legend; hovering a box shows its position, id,
 * text and score. A 2-D batch of ids shows one line per sequence.
 *
 * Line breaks show as ↵ and tabs as ⇥, so a token's box keeps its place; other control and
 * bidirectional characters show as escapes, and every text reaches the page escaped. The view is
 * static HTML (no script), self-contained, light or dark.
 *
 * @param ids token ids: an array, typed array, tensor or named array of 1 or 2 axes.
 * @param options see {@link TokenViewOptions}.
 * @returns an HTML page, or a fragment with `fragment: true`.
 * @throws ArrayInputError when `ids` are not whole numbers ≥ 0 in 1 or 2 axes, or scores have
 *   another shape; RenderOptionError for a tokenizer that fails, a vocabulary missing an id, or
 *   bad colour options.
 * @example
 * renderTokens([5, 9, 2], { vocabulary: ["a", "b", …], scores: [0.1, 0.9, 0.4] });
 * renderTokens(ids, { tokenizer, scores: lossPerToken, fragment: true });
 */
export function renderTokens(ids: unknown, options: TokenViewOptions = {}): string {
  checkOptions("renderTokens", options, OPTION_KEYS);
  const id = options.id === undefined ? freshId() : checkElementId(options.id, "renderTokens");
  checkTheme(options.theme, "renderTokens");
  const input = readIds(ids);
  const values = rowMajor(input);
  checkIds(values);
  const texts = tokenTexts(values, options);
  let scores: number[] | undefined;
  let scale: ColorScale | undefined;
  if (options.scores !== undefined) {
    const s = readArray(options.scores, "renderTokens option `scores`");
    const same =
      s.axes.length === input.axes.length && s.axes.every((a, i) => a.size === input.axes[i]!.size);
    if (!same) {
      throw new ArrayInputError(
        `renderTokens: scores have shape [${s.axes.map((a) => a.size).join(", ")}] but ids have ` +
          `[${input.axes.map((a) => a.size).join(", ")}]. Pass one score per token.`,
      );
    }
    scores = rowMajor(s);
    scale = colorScale(scores, undefined, s.kind, options, "renderTokens");
  }
  const rows = input.axes.length === 1 ? 1 : input.axes[0]!.size;
  const cols = input.axes[input.axes.length - 1]!.size;
  const rowLabel = (r: number): string => {
    if (rows === 1) return "";
    const axis = input.axes[0]!;
    return `<span class="skts-label">${escapeHTML(axis.named ? `${axis.name}=${r}` : String(r))}</span>`;
  };
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = `<div class="skts-tokens-line">${rowLabel(r)}`;
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      const tokenId = values[k]!;
      const text = texts === undefined ? String(tokenId) : visibleText(texts[k]!);
      const position = input.axes.length === 1 ? `[${c}]` : `[${r}, ${c}]`;
      let tip = `${position} id ${tokenId}`;
      if (texts !== undefined) tip += ` ${JSON.stringify(text)}`;
      let style = "";
      if (scores !== undefined && scale !== undefined) {
        const background = colorOf(scale, scores[k]!);
        style = ` style="background:${rgb(background)};color:${rgb(textColorOn(background))}"`;
        tip += ` score ${scoreText(scores[k]!)}`;
      }
      const content = text === "" ? '<span class="skts-empty">\u2205</span>' : escapeHTML(text);
      line +=
        `<span class="skts-token${texts === undefined ? " skts-digits" : ""}"${style} ` +
        `data-tip="${escapeHTML(tip)}" title="${escapeHTML(tip)}">${content}</span>`;
    }
    lines.push(`${line}</div>`);
  }
  const legendHTML =
    scale === undefined ? "" : `<div class="skts-tokens-legend">score ${legend(scale)}</div>`;
  const dark = options.theme === "dark";
  const fragment =
    `<style>${STYLE}${TOKEN_STYLE}</style>` +
    `<div class="skts-root skts-tokens${dark ? " skts-dark" : ""}" id="${id}">` +
    `${lines.join("")}${legendHTML}</div>`;
  if (options.fragment === true) return fragment;
  return completePage(fragment, options.title ?? "treescope tokens", randomHex(16));
}

/**
 * The tokens as plain text, one line per sequence, boxes as `|` separators: what `displayTokens`
 * prints in a terminal.
 */
export function tokensText(
  ids: unknown,
  options: Pick<TokenViewOptions, "tokenizer" | "vocabulary">,
): string {
  const input = readIds(ids);
  const values = rowMajor(input);
  checkIds(values);
  const texts = tokenTexts(values, options) ?? values.map(String);
  const cols = input.axes[input.axes.length - 1]!.size;
  const lines: string[] = [];
  for (let k = 0; k < texts.length; k += cols) {
    lines.push(
      `|${texts
        .slice(k, k + cols)
        .map(visibleText)
        .join("|")}|`,
    );
  }
  return lines.join("\n");
}
