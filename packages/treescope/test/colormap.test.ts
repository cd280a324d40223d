import { UnknownOptionError } from "@saikei/struct";
import {
  colorOf,
  colorScale,
  interpolate,
  RenderOptionError,
  renderArray,
  SEQUENTIAL_STOPS,
  scaleLevel,
  textColorOn,
} from "@saikei/treescope";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const scale = (values: number[], options = {}, kind: "float" | "int" | "bool" = "float") =>
  colorScale(values, undefined, kind, options, "renderArray");

describe("colour maps", () => {
  it("interpolates between evenly spaced stops", () => {
    expect(interpolate(SEQUENTIAL_STOPS, 0)).toEqual([68, 1, 84]);
    expect(interpolate(SEQUENTIAL_STOPS, 1)).toEqual([253, 231, 37]);
    // t = 1/3 lies a third of the way from stop 1 (59,82,139) to stop 2 (33,145,140):
    // 59 - 26/3 = 50.33, 82 + 63/3 = 103, 139 + 1/3 = 139.33
    expect(interpolate(SEQUENTIAL_STOPS, 1 / 3)).toEqual([50, 103, 139]);
    // t = 2/3: two thirds from stop 2 to stop 3 (94,201,98): 33 + 40.67, 145 + 37.33, 140 - 28
    expect(interpolate(SEQUENTIAL_STOPS, 2 / 3)).toEqual([74, 182, 112]);
    expect(interpolate(SEQUENTIAL_STOPS, -5)).toEqual([68, 1, 84]);
    expect(interpolate(SEQUENTIAL_STOPS, 9)).toEqual([253, 231, 37]);
  });

  it("maps values to table levels 0..255 and draws equal limits at the middle", () => {
    expect(scaleLevel(0, 0, 3)).toBe(0);
    expect(scaleLevel(1, 0, 3)).toBe(85);
    expect(scaleLevel(3, 0, 3)).toBe(255);
    expect(scaleLevel(-7, 0, 3)).toBe(0);
    expect(scaleLevel(70, 0, 3)).toBe(255);
    expect(scaleLevel(5, 5, 5)).toBe(128);
  });

  it("takes sequential limits from the finite values, skipping NaN, infinities and masked values", () => {
    const s = scale([3, Number.NaN, -1, Number.POSITIVE_INFINITY, 7]);
    expect(s).toMatchObject({ kind: "sequential", lo: -1, hi: 7 });
    const masked = colorScale([3, -1, 100], [1, 1, 0], "float", {}, "renderArray");
    expect(masked).toMatchObject({ lo: -1, hi: 3 });
    expect(scale([Number.NaN])).toMatchObject({ kind: "sequential", lo: 0, hi: 0 });
  });

  it("centres a diverging map on `around` with symmetric limits", () => {
    expect(scale([-1, 2], { around: 0 })).toMatchObject({ kind: "diverging", lo: -2, hi: 2 });
    // reach = max(|0 - 1|, |4 - 1|) = 3
    expect(scale([0, 4], { around: 1 })).toMatchObject({ lo: -2, hi: 4, around: 1 });
    expect(scale([0, 4], { around: 0, vmax: 3 })).toMatchObject({ lo: -3, hi: 3 });
    expect(scale([0, 4], { around: 1, vmin: 0 })).toMatchObject({ lo: 0, hi: 2 });
    expect(scale([0, 4], { colormap: "diverging" })).toMatchObject({ lo: -4, hi: 4, around: 0 });
  });

  it("is symmetric about its centre for any data (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (values, around) => {
          const s = scale(values, { around });
          if (s.kind !== "diverging") return false;
          const covered = values.every((v) => v >= s.lo - 1e-6 && v <= s.hi + 1e-6);
          return covered && Math.abs(s.hi - around - (around - s.lo)) <= 1e-6 * (1 + s.hi - s.lo);
        },
      ),
    );
  });

  it("uses vmin and vmax as given and clamps beyond them", () => {
    const s = scale([0, 10], { vmin: 2, vmax: 4 });
    expect(s).toMatchObject({ kind: "sequential", lo: 2, hi: 4 });
    expect(colorOf(s, -100)).toEqual([68, 1, 84]);
    expect(colorOf(s, 100)).toEqual([253, 231, 37]);
  });

  it("shows booleans and integers with few values as categories", () => {
    const bools = scale([0, 1], {}, "bool");
    expect(bools.kind === "categorical" && bools.categories.map((c) => c.label)).toEqual([
      "false",
      "true",
    ]);
    const ints = scale([7, 3, 3, 9], {}, "int");
    expect(ints.kind === "categorical" && ints.categories.map((c) => c.value)).toEqual([3, 7, 9]);
    expect(colorOf(ints, 3)).toEqual([31, 119, 180]);
    expect(colorOf(ints, 7)).toEqual([255, 127, 14]);
    const many = scale(
      Array.from({ length: 21 }, (_, i) => i),
      {},
      "int",
    );
    expect(many).toMatchObject({ kind: "sequential", lo: 0, hi: 20 });
    // asking for a scale turns categories off
    expect(scale([1, 2], { around: 0 }, "int").kind).toBe("diverging");
  });

  it("draws NaN, +inf and -inf in their own colours", () => {
    for (const s of [scale([0, 1]), scale([0, 1], {}, "int"), scale([-1, 1], { around: 0 })]) {
      expect(colorOf(s, Number.NaN)).toEqual([255, 0, 255]);
      expect(colorOf(s, Number.POSITIVE_INFINITY)).toEqual([0, 255, 255]);
      expect(colorOf(s, Number.NEGATIVE_INFINITY)).toEqual([0, 0, 0]);
    }
  });

  it("picks black text on light colours and white on dark ones", () => {
    expect(textColorOn([253, 231, 37])).toEqual([0, 0, 0]);
    expect(textColorOn([68, 1, 84])).toEqual([255, 255, 255]);
    expect(textColorOn([247, 247, 247])).toEqual([0, 0, 0]);
  });

  it("rejects limits and colour maps it cannot use, naming the option and the fix", () => {
    expect(() => scale([1], { vmin: 3, vmax: 1 })).toThrow(
      "renderArray option `vmin`: vmin (3) is greater than vmax (1). Give the lower limit as vmin " +
        "and the upper as vmax.",
    );
    expect(() => scale([1], { vmax: Number.NaN })).toThrow(RenderOptionError);
    expect(() => scale([1], { around: "0" as unknown as number })).toThrow(
      'renderArray option `around`: "0" is not a finite number. Pass a number, like renderArray(x, ' +
        "{ around: 0 }), or leave it out.",
    );
    expect(() => scale([0.5], { colormap: "categorical" })).toThrow(
      /"categorical" needs integer or boolean values/,
    );
    expect(() => scale([1], { colormap: "rainbow" as "sequential" })).toThrow(
      /"rainbow" is not a colour map/,
    );
  });

  it("renderArray checks its options object", () => {
    expect(() => renderArray([1, 2], { row: ["a"] } as never)).toThrow(UnknownOptionError);
    expect(() => renderArray([1, 2], { row: ["a"] } as never)).toThrow(
      'renderArray: unknown option "row". Allowed options: rows, columns, sliders, valid, around, ' +
        "vmin, vmax, colormap, maxValues, cellSize, fragment, theme, id, title.",
    );
  });
});
