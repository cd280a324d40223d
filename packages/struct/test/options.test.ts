import { describe, expect, it } from "vitest";
import { checkOptions, UnknownOptionError } from "../src/index.js";

describe("checkOptions", () => {
  it("passes undefined and known keys, returning the options", () => {
    expect(checkOptions("f", undefined, ["a"])).toBeUndefined();
    const options = { a: 1, b: undefined };
    expect(checkOptions("f", options, ["a", "b"])).toBe(options);
  });

  it("names the unknown keys and the allowed ones", () => {
    expect(() => checkOptions("sample", { temprature: 1 }, ["temperature", "seed"])).toThrow(
      new UnknownOptionError(
        'sample: unknown option "temprature". Allowed options: temperature, seed.',
      ),
    );
    expect(() => checkOptions("f", { x: 1, y: undefined }, [])).toThrow(
      'f: unknown options "x", "y". Allowed options: (none).',
    );
  });

  it("rejects a value that is not a plain options object", () => {
    expect(() => checkOptions("handleLocalStates", "cat", ["category"])).toThrow(
      UnknownOptionError,
    );
    expect(() => checkOptions("f", [1], ["a"])).toThrow("options must be an object");
    expect(() => checkOptions("f", null, ["a"])).toThrow("options must be an object, got null");
  });
});
