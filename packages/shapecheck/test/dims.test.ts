import { describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  DimensionVariableError,
  DimVar,
  KnownDim,
  MultiDimVar,
  namedUnpackKey,
  parseNamedUnpackKey,
  REMAINING,
  RemainingAxisPlaceholder,
  showDim,
  summarizeNamed,
  summarizePositional,
  varsForAxes,
} from "../src/index.js";

const v = chk.var;

describe("var", () => {
  it("makes a DimVar with the given name", () => {
    const x = v("x");
    expect(x).toBeInstanceOf(DimVar);
    expect(x.name).toBe("x");
    expect(x.toString()).toBe("var('x')");
    expect(Object.isFrozen(x)).toBe(true);
  });

  it("rejects a non-string name with a named error", () => {
    expect(() => v(3 as unknown as string)).toThrow(DimensionVariableError);
    expect(() => v(3 as unknown as string)).toThrow(
      'Variable names must be strings. Got 3; write var("name").',
    );
  });

  it("unpack() spreads into a positional multi-variable, like *var('x')", () => {
    expect([1, ...v("x").unpack(), 2]).toEqual([1, new MultiDimVar("x"), 2]);
    expect(new MultiDimVar("x").toString()).toBe("*var('x')");
  });

  it("unpackNamed gives one REMAINING entry keyed by the variable, like **var('x')", () => {
    const entry = v("x").unpackNamed();
    expect(entry).toEqual({ [namedUnpackKey("x")]: REMAINING });
    expect(Object.keys(entry)).toEqual(['**var("x")']);
    expect(parseNamedUnpackKey('**var("x")')).toEqual(new MultiDimVar("x"));
  });

  it("at() makes the sub-variable that varsForAxes creates", () => {
    expect(v("e").at("y")).toEqual(new DimVar(["e", "y"]));
    expect(v("e").at("y").toString()).toBe("var('e')['y']");
    expect(v("e").at(0).toString()).toBe("var('e')[0]");
  });

  it("a sub-variable cannot be unpacked or indexed", () => {
    const sub = v("e").at("y");
    expect(() => sub.unpack()).toThrow(DimensionVariableError);
    expect(() => sub.unpack()).toThrow("Cannot unpack the sub-variable var('e')['y']");
    expect(() => sub.unpackNamed()).toThrow(DimensionVariableError);
    expect(() => sub.at("z")).toThrow("Cannot index the sub-variable var('e')['y']");
  });

  it("variables compare by name", () => {
    expect(v("x").equals(v("x"))).toBe(true);
    expect(v("x").equals(v("y"))).toBe(false);
    expect(
      v("x")
        .at("a")
        .equals(new DimVar(["x", "a"])),
    ).toBe(true);
    expect(new MultiDimVar("x").equals(new MultiDimVar("x"))).toBe(true);
    expect(new KnownDim("x", 3).equals(new KnownDim("x", 3))).toBe(true);
    expect(new KnownDim("x", 3).equals(new KnownDim("x", 4))).toBe(false);
    expect(REMAINING.equals(new RemainingAxisPlaceholder())).toBe(true);
  });
});

describe("parseNamedUnpackKey", () => {
  it("returns undefined for ordinary axis names and malformed keys", () => {
    expect(parseNamedUnpackKey("batch")).toBeUndefined();
    expect(parseNamedUnpackKey("**var(x)")).toBeUndefined();
    expect(parseNamedUnpackKey("**var(3)")).toBeUndefined();
  });

  it("round-trips names with quotes and brackets", () => {
    for (const name of ["a'b", 'a"b', "a)b", ""]) {
      expect(parseNamedUnpackKey(namedUnpackKey(name))?.name).toBe(name);
    }
  });
});

describe("varsForAxes", () => {
  it("makes a sub-variable per unknown axis and a KnownDim per known one", () => {
    expect(varsForAxes("x", { b: 2, c: null, d: undefined })).toEqual({
      b: new KnownDim(["x", "b"], 2),
      c: new DimVar(["x", "c"]),
      d: new DimVar(["x", "d"]),
    });
    expect(varsForAxes("y", ["b", "c"])).toEqual({
      b: new DimVar(["y", "b"]),
      c: new DimVar(["y", "c"]),
    });
  });
});

describe("formatting", () => {
  it("shows dims as penzai does", () => {
    expect(showDim(3)).toBe("3");
    expect(showDim(v("x"))).toBe("var('x')");
    expect(showDim(new KnownDim("x", 3))).toBe("var('x'):=3");
    expect(showDim(new KnownDim(["y", "b"], 2))).toBe("var('y')['b']:=2");
    expect(showDim(new KnownDim(["y", 0], 2))).toBe("var('y')[0]:=2");
  });

  it("summarises positional patterns as tuples", () => {
    expect(summarizePositional([])).toBe("()");
    expect(summarizePositional([4])).toBe("(4,)");
    expect(summarizePositional([1, 2, ...v("z").unpack()])).toBe("(1, 2, *var('z'))");
  });

  it("summarises named patterns as dicts", () => {
    expect(summarizeNamed({ a: 1, ...v("x").unpackNamed() })).toBe("{'a': 1, **var('x')}");
    expect(summarizeNamed({})).toBe("{}");
  });
});
