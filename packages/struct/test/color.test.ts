import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { colorFromString, oklchColor } from "../src/index.js";

// Expected values come from fixtures/color_reference.py, which computes them independently.

describe("oklchColor", () => {
  it("converts OKLCH to sRGB hex", () => {
    expect(oklchColor(1, 0, 0)).toBe("#ffffff");
    expect(oklchColor(0, 0, 0)).toBe("#000000");
    expect(oklchColor(0.6279554, 0.2576833, 29.2338851)).toBe("#ff0000");
    expect(oklchColor(0.785, 0.103, 40)).toBe("#f2a286");
  });

  it("clips out-of-gamut colours to sRGB", () => {
    // Linear red and blue go below 0 here: both clip to 00.
    expect(oklchColor(0.5, 0.37, 150)).toBe("#008f00");
    // Linear blue goes above 1 here: it clips to ff.
    expect(oklchColor(0.9, 0.3, 264)).toBe("#73cdff");
  });
});

describe("colorFromString", () => {
  it("takes the hue from the FNV-1a hash of the name, in tenths of a degree", () => {
    // FNV-1a("Linear") = 0xfccc59e0; % 3600 = 784, so the hue is 78.4°.
    expect(colorFromString("Linear")).toBe("#ddb16a");
    expect(colorFromString("Linear")).toBe(oklchColor(0.785, 0.103, 78.4));
    expect(colorFromString("AddBias")).toBe("#e7ab70");
    expect(colorFromString("CounterEffect")).toBe("#70cead");
    expect(colorFromString("gelu")).toBe("#c2aaf2");
    // The empty string hashes to the FNV offset basis 0x811c9dc5; % 3600 = 1861.
    expect(colorFromString("")).toBe("#60cec3");
  });

  it("hashes UTF-16 code units, so non-ASCII names and surrogate pairs are stable", () => {
    expect(colorFromString("é")).toBe("#82cd9b");
    expect(colorFromString("😀")).toBe("#5cccdb");
  });

  it("is a pure function of the name (cached or not) and always gives #rrggbb", () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const first = colorFromString(name);
        expect(first).toMatch(/^#[0-9a-f]{6}$/);
        expect(colorFromString(name)).toBe(first);
      }),
    );
  });

  it("gives the same colours after its cache has filled and been cleared", () => {
    for (let i = 0; i < 5000; i++) colorFromString(`Layer${i}`);
    expect(colorFromString("Linear")).toBe("#ddb16a");
  });

  it("has the public types", () => {
    expectTypeOf(colorFromString).toEqualTypeOf<(name: string) => string>();
    expectTypeOf(oklchColor).toEqualTypeOf<
      (lightness: number, chroma: number, hue: number) => string
    >();
  });
});
