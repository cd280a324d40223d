/**
 * Colours derived from names: the one place that turns a class or protocol name into the colour
 * treescope draws it with. Treescope, effects and nn all colour by name, so the engine lives here,
 * in the package they all build on.
 *
 * @module
 */

/**
 * A CSS colour built from OKLCH coordinates, returned as a `#rrggbb` hex string so that every
 * host (old browsers, terminals, SVG) can use it. Out-of-gamut colours are clipped to sRGB.
 *
 * @param lightness perceptual lightness in [0, 1].
 * @param chroma colourfulness, typically in [0, 0.37].
 * @param hue hue angle in degrees.
 * @returns the colour as `#rrggbb`.
 * @example
 * oklchColor(0.785, 0.103, 40); // "#f2a286" (a light salmon)
 */
export function oklchColor(lightness: number, chroma: number, hue: number): string {
  const h = (hue * Math.PI) / 180;
  const a = chroma * Math.cos(h);
  const b = chroma * Math.sin(h);
  const l = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (lightness - 0.0894841775 * a - 1.291485548 * b) ** 3;
  const r = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
  const g = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
  const bl = -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s;
  return `#${[r, g, bl].map((x) => hexByte(gammaEncode(x))).join("")}`;
}

/** Linear-light sRGB to the sRGB transfer curve. */
function gammaEncode(x: number): number {
  return x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
}

/** A channel in [0, 1] (clipped) as two hex digits. */
function hexByte(x: number): string {
  const byte = Math.max(0, Math.min(255, Math.round(x * 255)));
  return byte.toString(16).padStart(2, "0");
}

/**
 * A stable pastel colour for a name (penzai's `color_from_string`): the same string always gives
 * the same colour, different strings usually give visibly different hues. The hue is the string's
 * 32-bit FNV-1a hash (over UTF-16 code units) modulo 3600, in tenths of a degree, at OKLCH
 * lightness 0.785 and chroma 0.103.
 *
 * @param name any string, usually a class name.
 * @returns the colour as `#rrggbb`.
 * @example
 * colorFromString("Linear") === colorFromString("Linear"); // true
 */
export function colorFromString(name: string): string {
  let color = colorCache.get(name);
  if (color === undefined) {
    color = hashColor(name);
    // Class names are few; the cache only bounds itself against pathological callers.
    if (colorCache.size > 4096) colorCache.clear();
    colorCache.set(name, color);
  }
  return color;
}

const colorCache = new Map<string, string>();

function hashColor(name: string): string {
  return oklchColor(0.785, 0.103, (fnv1a(name) % 3600) / 10);
}

/** 32-bit FNV-1a over UTF-16 code units: cheap, stable across runs and platforms. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
