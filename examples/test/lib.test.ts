import { describe, expect, it } from "vitest";
import { commandLine, parseDemoArgs, USAGE, UsageError } from "../lib/args.js";
import { lossPlotSvg } from "../lib/plot.js";
import { CharTokenizer } from "../lib/tokenizer.js";

describe("demo helpers", () => {
  it("parseDemoArgs reads both flag spellings and fills in the defaults", () => {
    expect(parseDemoArgs([])).toEqual({
      steps: 300,
      seconds: 100,
      seed: 1,
      out: undefined,
      backend: undefined,
    });
    expect(
      parseDemoArgs([
        "--steps",
        "20",
        "--out=dir",
        "--seed",
        "0",
        "--seconds=5",
        "--backend",
        "cpu",
      ]),
    ).toEqual({ steps: 20, seconds: 5, seed: 0, out: "dir", backend: "cpu" });
    expect(parseDemoArgs(["--help"])).toEqual({ help: true });
    expect(parseDemoArgs(["--steps", "3", "-h"])).toEqual({ help: true });
  });

  it("parseDemoArgs rejects unknown flags, missing values, positionals and bad values", () => {
    expect(() => parseDemoArgs(["--stepz", "3"])).toThrow(UsageError);
    expect(() => parseDemoArgs(["--stepz", "3"])).toThrow("Unknown option '--stepz'");
    expect(() => parseDemoArgs(["--steps"])).toThrow("Option '--steps <value>' argument missing");
    expect(() => parseDemoArgs(["20"])).toThrow("Unexpected argument '20'");
    expect(() => parseDemoArgs(["--steps", "2.5"])).toThrow(
      '--steps must be a positive integer, got "2.5".',
    );
    expect(() => parseDemoArgs(["--steps", "0"])).toThrow(
      '--steps must be a positive integer, got "0".',
    );
    expect(() => parseDemoArgs(["--seed=-1"])).toThrow(
      '--seed must be a non-negative integer, got "-1".',
    );
    expect(() => parseDemoArgs(["--backend", "webgl"])).toThrow(
      '--backend must be wasm or cpu, got "webgl".',
    );
    expect(() => parseDemoArgs(["--help=yes"])).toThrow(UsageError);
  });

  it("commandLine turns --help into usage on stdout and mistakes into exit code 2", () => {
    expect(commandLine(["--help"])).toEqual({ kind: "exit", code: 0, stdout: USAGE, stderr: "" });
    expect(commandLine(["--steps", "20"])).toEqual({
      kind: "run",
      options: { steps: 20, seconds: 100, seed: 1, out: undefined, backend: undefined },
    });
    const bad = commandLine(["--verbose"]);
    expect(bad).toEqual({
      kind: "exit",
      code: 2,
      stdout: "",
      stderr: `error: Unknown option '--verbose'\n\n${USAGE}`,
    });
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
