/**
 * Colours: penzai's per-type colours, the colour of a tree node, CSS colour validation and
 * conversion of CSS colours to RGB for terminals. Colours derived from names ({@link colorFromString},
 * {@link oklchColor}) come from `@saikei/struct` and are re-exported here.
 *
 * @module
 */

import { className, colorFromString, isStruct, oklchColor } from "@saikei/struct";

/** `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`. */
const HEX_COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
/** A colour keyword: `red`, `rebeccapurple`, `transparent`, `currentcolor`. */
const KEYWORD_COLOR = /^[a-z]{3,24}$/i;
/**
 * A colour function whose arguments are numbers, percentages, angles and keywords (`rgb(1 2 3)`,
 * `hsl(120deg 50% 50% / .5)`, `oklch(0.7 0.1 40)`, `color(display-p3 1 0 0)`): no nested
 * function, so no `url(` or `var(`, and no `;`, `:`, braces, quotes or backslashes.
 */
const FUNCTION_COLOR = /^(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\([-+.,%/ \w]*\)$/i;

/**
 * Whether `text` is a CSS colour treescope accepts: a hex colour, a colour keyword, or a colour
 * function (`rgb()`, `hsl()`, `hwb()`, `lab()`, `lch()`, `oklab()`, `oklch()`, `color()`) whose
 * arguments are numbers, units and keywords, at most 100 characters. Nothing else reaches the
 * HTML view's stylesheet, so a colour cannot add CSS declarations or load anything.
 *
 * @param text a candidate colour.
 * @returns `true` for colours in that syntax.
 * @example
 * isCSSColor("#93cce1"); // true
 * isCSSColor("oklch(0.785 0.103 40)"); // true
 * isCSSColor("red;background-image:url(http://example.com/x)"); // false
 */
export function isCSSColor(text: unknown): text is string {
  if (typeof text !== "string" || text.length > 100) return false;
  return HEX_COLOR.test(text) || KEYWORD_COLOR.test(text) || FUNCTION_COLOR.test(text);
}

/**
 * The colour treescope gives a value, as penzai does: the value's own `treescopeColor()` when it
 * has one and it returns a colour in the syntax {@link isCSSColor} accepts, a colour derived from
 * the class name for layers (structs with a `call` method), and `"transparent"` for everything
 * else.
 *
 * A `treescopeColor()` that throws or returns anything else is ignored, as if the method were
 * absent: the colour only decorates the view, and a tree from elsewhere must still render.
 *
 * @param value any tree node or leaf.
 * @returns a CSS colour string.
 * @example
 * treescopeColorOf({ treescopeColor: () => "#93cce1" }); // "#93cce1"
 * treescopeColorOf({ treescopeColor: () => "red;background:url(x)" }); // "transparent"
 * treescopeColorOf([1, 2]); // "transparent"
 */
export function treescopeColorOf(value: unknown): string {
  if (value === null || typeof value !== "object") return "transparent";
  const own = (value as { treescopeColor?: unknown }).treescopeColor;
  if (typeof own === "function") {
    try {
      const color: unknown = own.call(value);
      if (isCSSColor(color)) return color;
    } catch {
      // A broken treescopeColor must not break rendering; fall through to the default.
    }
  }
  if (isStruct(value) && typeof (value as { call?: unknown }).call === "function") {
    return colorFromString(className(value.constructor));
  }
  return "transparent";
}

const NAMED: Record<string, [number, number, number]> = {
  orange: [255, 165, 0],
  red: [255, 0, 0],
  green: [0, 128, 0],
  blue: [0, 0, 255],
  black: [0, 0, 0],
  white: [255, 255, 255],
  gray: [128, 128, 128],
  grey: [128, 128, 128],
  yellow: [255, 255, 0],
  purple: [128, 0, 128],
  cyan: [0, 255, 255],
  magenta: [255, 0, 255],
};

/**
 * Parses the CSS colours treescope produces or penzai uses (`#rgb`, `#rrggbb`, `rgb(r, g, b)`,
 * `oklch(L C H)` and a few names) into RGB bytes, for terminal output.
 *
 * @param color a CSS colour string.
 * @returns `[r, g, b]` in 0..255, or `undefined` for `transparent` and colours it cannot read.
 * @example
 * parseColor("#eba875"); // [235, 168, 117]
 */
export function parseColor(color: string): [number, number, number] | undefined {
  const c = color.trim().toLowerCase();
  if (c === "transparent" || c === "") return undefined;
  if (NAMED[c] !== undefined) return NAMED[c];
  let m = /^#([0-9a-f]{3})$/.exec(c);
  if (m)
    return [0, 1, 2].map((i) => Number.parseInt(m![1]![i]!.repeat(2), 16)) as [
      number,
      number,
      number,
    ];
  m = /^#([0-9a-f]{6})(?:[0-9a-f]{2})?$/.exec(c);
  if (m) {
    return [0, 2, 4].map((i) => Number.parseInt(m![1]!.slice(i, i + 2), 16)) as [
      number,
      number,
      number,
    ];
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(c);
  if (m)
    return [m[1], m[2], m[3]].map((x) => Math.min(255, Math.round(Number(x)))) as [
      number,
      number,
      number,
    ];
  m = /^oklch\(\s*([\d.]+)(%?)\s+([\d.]+)\s+([\d.]+)(?:deg)?/.exec(c);
  if (m) {
    const lightness = m[2] === "%" ? Number(m[1]) / 100 : Number(m[1]);
    return parseColor(oklchColor(lightness, Number(m[3]), Number(m[4])));
  }
  return undefined;
}
