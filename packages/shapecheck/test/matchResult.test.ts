import { describe, expect, it } from "vitest";
import { MatchResult, MatchResultKeyError, pyRepr, showBound, showShape } from "../src/index.js";

describe("MatchResult", () => {
  const r = new MatchResult({ batch: 8, lead: [2, 3], rest: { kv: 1 } });

  it("reads like a mapping", () => {
    expect(r.size).toBe(3);
    expect(r.has("batch")).toBe(true);
    expect(r.has("toString")).toBe(false);
    expect(r.get("batch")).toBe(8);
    expect(r.getMany("batch", "lead")).toEqual([8, [2, 3]]);
    expect(r.keys()).toEqual(["batch", "lead", "rest"]);
    expect([...r]).toEqual([
      ["batch", 8],
      ["lead", [2, 3]],
      ["rest", { kv: 1 }],
    ]);
    expect(r.toObject()).toEqual({ batch: 8, lead: [2, 3], rest: { kv: 1 } });
    expect(r.toString()).toBe("MatchResult({'batch': 8, 'lead': (2, 3), 'rest': {'kv': 1}})");
  });

  it("typed accessors check the kind of binding", () => {
    expect(r.dim("batch")).toBe(8);
    expect(r.dims("lead")).toEqual([2, 3]);
    expect(r.namedDims("rest")).toEqual({ kv: 1 });
    expect(() => r.dims("batch")).toThrow(
      'Variable "batch" is bound to a single size, not a positional run of sizes.',
    );
    expect(() => r.namedDims("lead")).toThrow(MatchResultKeyError);
  });

  it("names the bound variables when asked for a missing one", () => {
    expect(() => r.get("heads")).toThrow(
      'No variable "heads" in this match result. Bound variables: "batch", "lead", "rest". Check the name used in var(...) in the pattern.',
    );
    expect(() => new MatchResult({}).get("x")).toThrow("Bound variables: (none).");
  });

  it("is frozen and does not share the caller's object", () => {
    const source: Record<string, number> = { x: 1 };
    const m = new MatchResult(source);
    source.x = 2;
    expect(m.get("x")).toBe(1);
    expect(Object.isFrozen(m)).toBe(true);
    expect(m.has("__proto__")).toBe(false);
  });
});

describe("formatting helpers", () => {
  it("pyRepr renders values as penzai's messages show them", () => {
    expect(pyRepr("a")).toBe("'a'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pyRepr([1, "b", null, undefined, true])).toBe("[1, 'b', null, undefined, true]");
    expect(pyRepr({ a: [1], b: { c: 2 } })).toBe("{'a': [1], 'b': {'c': 2}}");
    expect(pyRepr(new Map([["k", 1]]))).toBe("{'k': 1}");
    expect(pyRepr(Number.POSITIVE_INFINITY)).toBe("inf");
    expect(pyRepr(Number.NaN)).toBe("nan");
    expect(pyRepr(function named() {})).toBe("<function named>");
    expect(pyRepr(new (class Foo {})())).toBe("<Foo>");
  });

  it("shapes print as tuples and bindings as penzai prints them", () => {
    expect(showShape([])).toBe("()");
    expect(showShape([5])).toBe("(5,)");
    expect(showShape([1, 2])).toBe("(1, 2)");
    expect(showBound(3)).toBe("3");
    expect(showBound([4])).toBe("(4,)");
    expect(showBound({ a: 1, b: 2 })).toBe("{'a': 1, 'b': 2}");
  });
});
