import { describe, expect, it } from "vitest";
import { intFlag, parseFlags } from "../lib/args.js";
import { lossPlotSvg } from "../lib/plot.js";
import { CharTokenizer } from "../lib/tokenizer.js";

describe("demo helpers", () => {
  it("parseFlags reads both flag spellings", () => {
    expect(parseFlags(["--steps", "20", "--out=dir", "--quiet"])).toEqual({
      steps: "20",
      out: "dir",
      quiet: "true",
    });
  });

  it("intFlag rejects non-integers with the flag name", () => {
    expect(intFlag({ steps: "20" }, "steps", 5)).toBe(20);
    expect(intFlag({}, "steps", 5)).toBe(5);
    expect(() => intFlag({ steps: "2.5" }, "steps", 5)).toThrow(
      '--steps must be a positive integer, got "2.5".',
    );
  });

  it("CharTokenizer round-trips text and reserves 0 for padding", () => {
    const tok = new CharTokenizer("abca");
    expect(tok.alphabet).toEqual(["\u0000", "a", "b", "c"]);
    expect(tok.encode("cab")).toEqual([3, 1, 2]);
    expect(tok.decode([3, 0, 1, 2])).toBe("cab");
    expect(() => tok.encode("z")).toThrow('character "z" is not in the training alphabet');
  });

  it("lossPlotSvg draws one polyline point per step, scaled to the plot box", () => {
    const svg = lossPlotSvg([2, 1, 0]);
    expect(svg.startsWith("<svg")).toBe(true);
    // x runs from 56 to 624 and y from 32 (max) to 320 (min) for this 640x360 plot.
    expect(svg).toContain('points="56.0,32.0 340.0,176.0 624.0,320.0"');
  });
});
