/**
 * Escaping for every context treescope writes someone else's text into: terminals (control and
 * bidirectional-override characters), HTML text and attributes, and data inside `<script>`.
 *
 * Names and values come from the tree being rendered, which may come from a checkpoint, a
 * notebook or a web page someone else wrote; none of them may change what the output does.
 *
 * @module
 */

import { RenderOptionError } from "./errors.js";

/**
 * Characters that change how a terminal or an editor shows the text around them rather than
 * showing themselves: C0 and C1 controls and DEL (`\x1b[2J` clears a terminal), the line and
 * paragraph separators, and the bidirectional controls (U+202E reverses the text after it, the
 * "Trojan Source" trick).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const UNSAFE_ALL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** The escape of one unsafe character: `\n`, `\r`, `\t`, `\x1b` below U+0100, `\u202e` above. */
function escapeOne(ch: string): string {
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text with every control character (C0, DEL, C1), line and paragraph separator (U+2028, U+2029)
 * and bidirectional control (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) written as an
 * escape: `\n`, `\t`, `\x1b`, `\u202e`. Treescope passes every name and value it prints through
 * it, so a class, key or axis name cannot clear a terminal or reorder the text after it.
 *
 * Backslashes are left alone: inside quoted strings {@link quoteString} doubles them, so there
 * an escape is never ambiguous.
 *
 * @param text any text.
 * @returns the text, unchanged when it holds no such character.
 * @example
 * escapeControls("Evil\x1b[2J"); // "Evil\\x1b[2J"
 * escapeControls("abc\u202edef"); // "abc\\u202edef"
 */
export function escapeControls(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeOne) : text;
}

/**
 * Text for HTML element content or a quoted attribute value: `&`, `<`, `>`, `"` and `'` as
 * character references.
 *
 * @example
 * escapeHTML(`"><svg onload=x>`); // "&#34;&#62;&#60;svg onload=x&#62;"
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe as the content of a `<script>` element, executable or data: `<`, `>` and `&`
 * are written as `\u003c`, `\u003e`, `\u0026`, so no value can write `</script>` or `<!--`, and
 * U+2028 / U+2029 as escapes, which older script parsers read as line ends. `JSON.parse` and
 * JavaScript read the result as the same value.
 *
 * @example
 * scriptJSON("</script>"); // '"\\u003c/script\\u003e"'
 */
export function scriptJSON(value: unknown): string {
  const json = JSON.stringify(value);
  // most data has nothing to escape: one scan, and the text as it is
  if (!SCRIPT_UNSAFE.test(json)) return json;
  return json.replace(
    SCRIPT_UNSAFE_ALL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/;
const SCRIPT_UNSAFE_ALL = /[<>&\u2028\u2029]/g;

/** What an element id given to `renderToHTML` may look like. */
const SAFE_ID = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;

/**
 * Checks an element id given to `renderToHTML`: a letter, then at most 99 letters, digits, `-` or
 * `_`. Such an id means the same in HTML, CSS selectors and script, so no escaping can go wrong.
 *
 * @param id the id option.
 * @param where the function the option was given to.
 * @returns the id.
 * @throws RenderOptionError for anything else, saying what is allowed.
 * @example
 * checkElementId("model-view"); // "model-view"
 */
export function checkElementId(id: unknown, where = "renderToHTML"): string {
  if (typeof id === "string" && SAFE_ID.test(id)) return id;
  throw new RenderOptionError(
    "id",
    `${describeOption(id)} is not a safe element id`,
    'Use a letter followed by letters, digits, "-" or "_" (at most 100 characters), ' +
      `like ${where}(${where === "renderToHTML" ? "tree" : "x"}, { id: "model-view" }), or leave id ` +
      "out for a fresh random id.",
    where,
  );
}

/** A short, escaped picture of an option value for an error message. */
export function describeOption(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return JSON.stringify(escapeControls(shown));
  }
  if (value === null || typeof value !== "object") return escapeControls(String(value));
  return Array.isArray(value) ? "an array" : "an object";
}
