// Ports of penzai's tests/core/shapecheck_test.py, with the expected texts of its solver.

import { field, Struct } from "@saikei/struct";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ANY,
  ArraySpec,
  checkStructure,
  dtypes,
  ShapeDtypeStruct,
  StructureMismatchError,
  varsForAxes,
} from "../src/index.js";

const v = chk.var;
const sds = (shape: number[], dtype: chk.ConcreteDType = "float32") =>
  new ShapeDtypeStruct(shape, dtype);
const named = (namedShape: Record<string, number>, dtype: chk.DType = "float32") =>
  new ArraySpec({ namedShape, dtype });

/** Runs a failing check and returns the error's message. */
function failure(value: unknown, pattern: unknown, options?: chk.CheckStructureOptions): string {
  const result = chk.checkStructureEither(value, pattern, options);
  if (E.isRight(result)) throw new Error(`expected a mismatch, got ${result.right}`);
  expect(result.left).toBeInstanceOf(StructureMismatchError);
  expect(result.left.name).toBe("StructureMismatchError");
  return result.left.message;
}

const lines = (...parts: string[]) => parts.join("\n");

describe("checkStructure without variables", () => {
  it("matches empty trees", () => {
    expect(checkStructure([], []).toObject()).toEqual({});
  });

  it("matches equal non-ArraySpec leaves and ANY subtrees", () => {
    const match = checkStructure(
      ["a", [1, 2, 3], new Int32Array([3, 5]), ["foo", "bar"]],
      ["a", [1, 2, 3], new Int32Array([3, 5]), ANY],
    );
    expect(match.toObject()).toEqual({});
  });

  it("reports every unequal leaf with its key path", () => {
    expect(
      failure(
        ["a", [1, 2, 3], new Int32Array([3, 5]), ["foo", "bar"]],
        ["b", [3, 2, 1], new Int32Array([3, 6]), 100],
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root[0]: Value 'a' was not equal to the non-ArraySpec pattern 'b'.",
        "At root[1][0]: Value 1 was not equal to the non-ArraySpec pattern 3.",
        "At root[1][2]: Value 3 was not equal to the non-ArraySpec pattern 1.",
        "At root[2]: Value Int32Array([3, 5]) was not equal to the non-ArraySpec pattern Int32Array([3, 6]).",
        "At root[3]: Value ['foo', 'bar'] was not equal to the non-ArraySpec pattern 100.",
      ),
    );
  });

  it("matches a simple array", () => {
    expect(
      checkStructure({ a: sds([1, 2, 3]) }, { a: new ArraySpec({ shape: [1, 2, 3] }) }).size,
    ).toBe(0);
  });

  it("rejects a non-arraylike value for an ArraySpec", () => {
    expect(failure({ a: sds([1, 2, 2]) }, new ArraySpec({ shape: [1, 2, 3] }))).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root: Couldn't match an ArraySpec with a non-arraylike value {'a': ShapeDtypeStruct(shape=(1, 2, 2), dtype=float32)}",
      ),
    );
  });

  it("reports dtype and shape mismatches, dtype ones first", () => {
    expect(
      failure(
        { a: sds([1, 2, 2]), b: sds([6, 3], "int32"), c: sds([1, 2, 3]) },
        {
          a: new ArraySpec({ shape: [1, 2, 3] }),
          b: new ArraySpec({ shape: [6, 3], dtype: dtypes.floating }),
          c: new ArraySpec({ shape: [1, 2, 3, 4], dtype: "float32" }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['b']: Value has the wrong dtype: expected a sub-dtype of dtypes.floating but got dtype int32.",
        "At root['a']: Positional shape mismatch between value (1, 2, 2) and pattern (1, 2, 3):",
        "  Dim 2: Actual size 2 does not match expected 3",
        "At root['c']: Positional shape (1, 2, 3) had different length than pattern (1, 2, 3, 4)",
      ),
    );
  });

  it("compares concrete dtypes after canonicalisation", () => {
    expect(
      checkStructure(sds([2], "float32"), new ArraySpec({ shape: [2], dtype: "float64" })).size,
    ).toBe(0);
    expect(failure(sds([2], "int32"), new ArraySpec({ shape: [2], dtype: "float64" }))).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root: Value has the wrong dtype: expected dtype float32 but got dtype int32.",
      ),
    );
  });

  it("matches named shapes of named-array values", () => {
    const value = {
      a: new ArraySpec({ shape: [5], namedShape: { foo: 3, bar: 4 }, dtype: "float32" }),
    };
    expect(
      checkStructure(value, { a: new ArraySpec({ shape: [5], namedShape: { foo: 3, bar: 4 } }) })
        .size,
    ).toBe(0);
  });

  it("reports bad named shapes: missing and unexpected names", () => {
    expect(
      failure(
        {
          a: new ArraySpec({ shape: [5], namedShape: { foo: 3, bar: 4 }, dtype: "float32" }),
          b: named({ foo: 3, bar: 4, baz: 5 }, "int32"),
          c: named({ foo: 3, bar: 4, baz: 5 }),
        },
        {
          a: new ArraySpec({ namedShape: { foo: 3, bar: 4 } }),
          b: new ArraySpec({ namedShape: { foo: 3, bar: 4, baz: 5 }, dtype: dtypes.floating }),
          c: new ArraySpec({ namedShape: { foo: 3, bar: 4, qux: 6 }, dtype: "float32" }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['b']: Value has the wrong dtype: expected a sub-dtype of dtypes.floating but got dtype int32.",
        "At root['a']: Positional shape (5,) had different length than pattern ()",
        "At root['c']: Named shape mismatch between value {'foo': 3, 'bar': 4, 'baz': 5} and pattern {'foo': 3, 'bar': 4, 'qux': 6}:",
        "  Axis 'qux': Expected to be present but was missing",
        "  Unexpected names in value's named shape: ['baz']",
      ),
    );
  });

  it("reports a container whose structure differs from the pattern's", () => {
    const message = failure({ a: [1, 2] }, { a: [1, 2, 3] });
    expect(message).toContain("At root['a']: Tree structure mismatch: the pattern has a node");
    expect(message).toContain("use ANY in the pattern to accept any subtree");
    expect(failure({ a: 1 }, { a: { b: 1 } })).toContain("but the value has the leaf 1.");
  });

  it("puts errorPrefix before the message", () => {
    expect(failure(sds([2]), new ArraySpec({ shape: [3] }), { errorPrefix: "In Linear: " })).toBe(
      lines(
        "In Linear: Mismatch while checking structures:",
        "At root: Positional shape mismatch between value (2,) and pattern (3,):",
        "  Dim 0: Actual size 2 does not match expected 3",
      ),
    );
  });
});

describe("positional dimension variables", () => {
  it("solves single and unpacked variables", () => {
    const match = checkStructure(
      {
        a: sds([1, 2, 3]),
        b: sds([4, 3], "int32"),
        c: sds([6, 7, 8, 9, 10]),
        d: sds([11, 12, 13]),
        e: sds([11, 12, 13]),
        f: sds([5, 5, 5]),
        g: sds([6, 7]),
      },
      {
        a: new ArraySpec({ shape: [v("a"), 2, v("c")] }),
        b: new ArraySpec({ shape: [4, v("b")] }),
        c: new ArraySpec({ shape: [6, ...v("c1").unpack(), 9, v("c2")], dtype: "float32" }),
        d: new ArraySpec({ shape: [...v("d1").unpack(), 11, 12, 13], dtype: "float32" }),
        e: new ArraySpec({ shape: [11, 12, 13, ...v("d2").unpack()], dtype: "float32" }),
        f: new ArraySpec({ shape: [v("f"), v("f"), v("f")], dtype: "float32" }),
        g: new ArraySpec({ shape: v("g"), dtype: "float32" }),
      },
    );
    expect(match.toObject()).toEqual({
      a: 1,
      c: 3,
      b: 3,
      c1: [7, 8],
      c2: 10,
      d1: [],
      d2: [],
      f: 5,
      g: [6, 7],
    });
    expect(match.keys()).toEqual(["a", "c", "b", "c1", "c2", "d1", "d2", "f", "g"]);
  });

  it("reports mismatched variables with where they were first bound", () => {
    expect(
      failure(
        {
          a: sds([3, 4, 5]),
          b: sds([5, 6]),
          c: sds([1, 2, 3, 4]),
          d: sds([5, 6, 7]),
          e: sds([5, 6, 7]),
          f: sds([1, 2, 3, 4]),
        },
        {
          a: new ArraySpec({ shape: [v("x"), 4, v("x")] }),
          b: new ArraySpec({ shape: [v("x"), 6] }),
          c: new ArraySpec({ shape: [1, ...v("y").unpack(), 4] }),
          d: new ArraySpec({ shape: [...v("y").unpack(), 7] }),
          e: new ArraySpec({ shape: v("y") }),
          f: new ArraySpec({ shape: [1, 2, 3, ...v("z").unpack(), 3, 4] }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['a']: Positional shape mismatch between value (3, 4, 5) and pattern (var('x'), 4, var('x')):",
        "  Dim 2: Size 5 does not match previous size 3 for var('x') from root['a']",
        "At root['b']: Positional shape mismatch between value (5, 6) and pattern (var('x'), 6):",
        "  Dim 0: Size 5 does not match previous size 3 for var('x') from root['a']",
        "At root['d']: Positional shape mismatch between value (5, 6, 7) and pattern (var('y')[0]:=2, var('y')[1]:=3, 7):",
        "  Dim 0: Size 5 does not match previous size 2 for var('y')[0]:=2 from root['c']",
        "  Dim 1: Size 6 does not match previous size 3 for var('y')[1]:=3 from root['c']",
        "  After inlining var('y') = (2, 3) from root['c']",
        "At root['e']: Positional shape (5, 6, 7) had different length than pattern (var('y')[0]:=2, var('y')[1]:=3)",
        "  After inlining var('y') = (2, 3) from root['c']",
        "At root['f']: Positional shape (1, 2, 3, 4) was shorter than wildcard pattern (1, 2, 3, *var('z'), 3, 4)",
        "Variables solved so far:",
        "  var('x') = 3 from root['a']",
        "  var('y') = (2, 3) from root['c']",
      ),
    );
  });

  it("solves several unpack patterns over several rounds", () => {
    const match = checkStructure(
      { a: sds([1, 2, 3, 4]), b: sds([5, 6, 7, 3, 4, 5, 6, 7]), c: sds([1, 5, 6, 7, 10]) },
      {
        a: new ArraySpec({ shape: [...v("x").unpack(), ...v("y").unpack()] }),
        b: new ArraySpec({ shape: [...v("z").unpack(), ...v("y").unpack(), ...v("z").unpack()] }),
        c: new ArraySpec({ shape: [1, ...v("z").unpack(), 10] }),
      },
    );
    expect(match.toObject()).toEqual({ z: [5, 6, 7], y: [3, 4], x: [1, 2] });
  });

  it("reports constraints it cannot solve", () => {
    expect(
      failure(
        { a: sds([1, 2, 3, 4]), b: sds([5, 6, 7, 3, 4, 5, 6, 7]) },
        {
          a: new ArraySpec({ shape: [...v("x").unpack(), ...v("y").unpack()] }),
          b: new ArraySpec({ shape: [...v("z").unpack(), ...v("y").unpack(), ...v("z").unpack()] }),
        },
      ),
    ).toBe(
      lines(
        "Could not solve for all variable constraints. This usually means the variable assignment is ambiguous because multiple unpack patterns (*var(...) or **var(...)) appeared in the same positional or named shape.",
        "Unsolvable variables: var('x'), var('y'), var('z')",
        "Unsolvable constraints:",
        "  (1, 2, 3, 4) == (*var('x'), *var('y')) from root['a']",
        "  (5, 6, 7, 3, 4, 5, 6, 7) == (*var('z'), *var('y'), *var('z')) from root['b']",
        "To fix it, pin down all but one unpack pattern per shape: use the variable alone in another pattern, or pass its value in knownVars.",
      ),
    );
  });

  it("stops at the first round with errors and says constraints remain", () => {
    expect(
      failure(
        {
          a: sds([1, 2, 3, 4]),
          b: sds([5, 6, 7, 3, 4, 5, 6, 7]),
          c: sds([1, 5, 6, 7, 10]),
          d: sds([1, 2, 3]),
        },
        {
          a: new ArraySpec({ shape: [...v("x").unpack(), ...v("y").unpack()] }),
          b: new ArraySpec({ shape: [...v("z").unpack(), ...v("y").unpack(), ...v("z").unpack()] }),
          c: new ArraySpec({ shape: [1, ...v("z").unpack(), 10] }),
          d: new ArraySpec({ shape: [4] }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['d']: Positional shape (1, 2, 3) had different length than pattern (4,)",
        "There may also be additional mismatches due to remaining unsolved constraints.",
        "Variables solved so far:",
        "  var('z') = (5, 6, 7) from root['c']",
      ),
    );
  });

  it("reports a mismatch inside an unpacked run", () => {
    expect(
      failure(
        { a: sds([2, 3, 9]), b: sds([2, 4, 9]) },
        {
          a: new ArraySpec({ shape: [...v("r").unpack(), 9] }),
          b: new ArraySpec({ shape: [2, ...v("s").unpack(), v("n")] }),
        },
        { knownVars: { s: [5] } },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['b']: Positional shape mismatch between value (2, 4, 9) and pattern (2, var('s')[0]:=5, var('n')):",
        "  Dim 1: Size 4 does not match previous size 5 for var('s')[0]:=5 from the known variable assignments (argument `knownVars` to checkStructure)",
        "  After inlining var('s') = (5,) from the known variable assignments (argument `knownVars` to checkStructure)",
        "Variables solved so far:",
        "  var('s') = (5,) from the known variable assignments (argument `knownVars` to checkStructure)",
        "  var('r') = (2, 3) from root['a']",
        "  var('n') = 9 from root['b']",
      ),
    );
  });

  it("names the unpack pattern when a bound run differs", () => {
    expect(
      failure(sds([2, 3]), new ArraySpec({ shape: [...v("r").unpack(), 3] }), {
        knownVars: { r: 7 },
      }),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root: Positional shape mismatch between value (2, 3) and pattern (*var('r'), 3):",
        "  Unpack pattern *var('r'): Size (2,) does not match previous size 7 for var('r') from the known variable assignments (argument `knownVars` to checkStructure)",
        "Variables solved so far:",
        "  var('r') = 7 from the known variable assignments (argument `knownVars` to checkStructure)",
      ),
    );
  });
});

describe("named dimension variables", () => {
  it("solves single and unpacked named variables", () => {
    const match = checkStructure(
      {
        a: named({ a: 1, b: 2, c: 3 }),
        b: named({ a: 4, b: 3 }, "int32"),
        c: named({ a: 6, b: 7, c: 8, d: 9, e: 10 }),
        d: named({ a: 11, b: 12, c: 13 }),
        e: named({ a: 11, b: 12, c: 13 }),
        f: named({ a: 5, b: 5, c: 5 }),
      },
      {
        a: new ArraySpec({ namedShape: { a: v("a"), b: 2, c: v("c") } }),
        b: new ArraySpec({ namedShape: { a: 4, b: v("b") } }),
        c: new ArraySpec({
          namedShape: { a: 6, d: 9, e: v("c2"), ...v("c1").unpackNamed() },
          dtype: "float32",
        }),
        d: new ArraySpec({
          namedShape: { ...v("d").unpackNamed(), a: 11, b: 12, c: 13 },
          dtype: "float32",
        }),
        e: new ArraySpec({ namedShape: { ...v("e").unpackNamed() }, dtype: "float32" }),
        f: new ArraySpec({ namedShape: { a: v("f"), b: v("f"), c: v("f") }, dtype: "float32" }),
      },
    );
    expect(match.toObject()).toEqual({
      c: 3,
      a: 1,
      b: 3,
      c2: 10,
      c1: { c: 8, b: 7 },
      d: {},
      e: { c: 13, b: 12, a: 11 },
      f: 5,
    });
  });

  it("reports key conflicts when inlining a solved named variable", () => {
    const value = named({ a: 1, b: 2, c: 3, d: 4 });
    expect(
      failure(
        { a: value, b: value, c: value, d: value },
        {
          a: new ArraySpec({ namedShape: { ...v("u").unpackNamed(), b: 2, d: 4 } }),
          b: new ArraySpec({ namedShape: { a: 1, b: 2, ...v("x").unpackNamed() } }),
          c: new ArraySpec({ namedShape: { a: 1, c: 3, ...v("x").unpackNamed() } }),
          d: new ArraySpec({ namedShape: { ...v("u").unpackNamed(), ...v("x").unpackNamed() } }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['c']: Key conflict while substituting unpacked variable var('x') for known named sub-shape {'c': 3, 'd': 4} from root['b']: name c is already present in the shape {'a': 1, 'c': 3, **var('x')}.",
        "At root['d']: Key conflict while substituting unpacked variable var('x') for known named sub-shape {'c': 3, 'd': 4} from root['b']: name c is already present in the shape {**var('u'), **var('x')}.",
        "  After inlining var('u') = {'a': 1, 'c': 3} from root['a']",
        "Variables solved so far:",
        "  var('u') = {'a': 1, 'c': 3} from root['a']",
        "  var('x') = {'c': 3, 'd': 4} from root['b']",
      ),
    );
  });

  it("reports inconsistent named sizes", () => {
    expect(
      failure(
        {
          a: named({ a: 3, b: 4, c: 7 }),
          b: named({ a: 5, b: 6 }),
          c: named({ a: 1, b: 2, c: 3, d: 4 }),
          d: named({ b: 6, c: 7, d: 4 }),
          e: named({ b: 6, c: 7, d: 4 }),
        },
        {
          a: new ArraySpec({ namedShape: { a: v("x"), b: 4, c: v("x") } }),
          b: new ArraySpec({ namedShape: { a: v("x"), b: 6 } }),
          c: new ArraySpec({ namedShape: { a: 1, ...v("y").unpackNamed(), d: 4 } }),
          d: new ArraySpec({ namedShape: { ...v("y").unpackNamed(), d: 4 } }),
          e: new ArraySpec({ namedShape: { ...v("y").unpackNamed() } }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['a']: Named shape mismatch between value {'a': 3, 'b': 4, 'c': 7} and pattern {'a': var('x'), 'b': 4, 'c': var('x')}:",
        "  Axis 'c': Size 7 does not match previous size 3 for var('x') from root['a']",
        "At root['b']: Named shape mismatch between value {'a': 5, 'b': 6} and pattern {'a': var('x'), 'b': 6}:",
        "  Axis 'a': Size 5 does not match previous size 3 for var('x') from root['a']",
        "At root['d']: Named shape mismatch between value {'b': 6, 'c': 7, 'd': 4} and pattern {'d': 4, 'b': var('y')['b']:=2, 'c': var('y')['c']:=3}:",
        "  Axis 'b': Size 6 does not match previous size 2 for var('y')['b']:=2 from root['c']",
        "  Axis 'c': Size 7 does not match previous size 3 for var('y')['c']:=3 from root['c']",
        "  After inlining var('y') = {'b': 2, 'c': 3} from root['c']",
        "At root['e']: Named shape mismatch between value {'b': 6, 'c': 7, 'd': 4} and pattern {'b': var('y')['b']:=2, 'c': var('y')['c']:=3}:",
        "  Axis 'b': Size 2 does not match previous size 6 for var('y')['b']:=2 from root['d']",
        "  Axis 'c': Size 3 does not match previous size 7 for var('y')['c']:=3 from root['d']",
        "  Unexpected names in value's named shape: ['d']",
        "  After inlining var('y') = {'b': 2, 'c': 3} from root['c']",
        "Variables solved so far:",
        "  var('x') = 3 from root['a']",
        "  var('y') = {'b': 2, 'c': 3} from root['c']",
      ),
    );
  });

  it("solves several named unpack patterns over several rounds", () => {
    const match = checkStructure(
      {
        a: named({ a: 1, b: 2, c: 3, d: 4 }),
        b: named({ a: 1, b: 2, e: 5, f: 6 }),
        c: named({ e: 5, f: 6 }),
      },
      {
        a: new ArraySpec({ namedShape: { ...v("x").unpackNamed(), ...v("y").unpackNamed() } }),
        b: new ArraySpec({ namedShape: { ...v("z").unpackNamed(), ...v("y").unpackNamed() } }),
        c: new ArraySpec({ namedShape: v("z") }),
      },
    );
    expect(match.toObject()).toEqual({ z: { f: 6, e: 5 }, y: { b: 2, a: 1 }, x: { d: 4, c: 3 } });
  });

  it("reports named constraints it cannot solve", () => {
    expect(
      failure(
        { a: named({ a: 1, b: 2, c: 3, d: 4 }), b: named({ a: 1, b: 2, e: 5, f: 6 }) },
        {
          a: new ArraySpec({ namedShape: { ...v("x").unpackNamed(), ...v("y").unpackNamed() } }),
          b: new ArraySpec({ namedShape: { ...v("z").unpackNamed(), ...v("y").unpackNamed() } }),
        },
      ),
    ).toBe(
      lines(
        "Could not solve for all variable constraints. This usually means the variable assignment is ambiguous because multiple unpack patterns (*var(...) or **var(...)) appeared in the same positional or named shape.",
        "Unsolvable variables: var('x'), var('y'), var('z')",
        "Unsolvable constraints:",
        "  {'a': 1, 'b': 2, 'c': 3, 'd': 4} == {**var('x'), **var('y')} from root['a']",
        "  {'a': 1, 'b': 2, 'e': 5, 'f': 6} == {**var('z'), **var('y')} from root['b']",
        "To fix it, pin down all but one unpack pattern per shape: use the variable alone in another pattern, or pass its value in knownVars.",
      ),
    );
  });

  it("names the unpack pattern when a bound set of named axes differs", () => {
    expect(
      failure(
        named({ a: 1, b: 2 }),
        new ArraySpec({ namedShape: { a: 1, ...v("r").unpackNamed() } }),
        { knownVars: { r: 4 } },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root: Named shape mismatch between value {'a': 1, 'b': 2} and pattern {'a': 1, **var('r')}:",
        "  Unpack pattern **var('r'): Size {'b': 2} does not match previous size 4 for var('r') from the known variable assignments (argument `knownVars` to checkStructure)",
        "Variables solved so far:",
        "  var('r') = 4 from the known variable assignments (argument `knownVars` to checkStructure)",
      ),
    );
  });
});

describe("varsForAxes", () => {
  it("collects the sizes of each axis under one variable", () => {
    const value = named({ a: 1, b: 2, c: 3, d: 4 });
    const match = checkStructure(
      { a: value, b: value },
      {
        a: new ArraySpec({ namedShape: { a: 1, ...varsForAxes("x", { b: 2, c: null, d: null }) } }),
        b: new ArraySpec({ namedShape: { a: 1, ...varsForAxes("y", ["b", "c", "d"]) } }),
      },
    );
    expect(match.toObject()).toEqual({ x: { d: 4, c: 3, b: 2 }, y: { d: 4, c: 3, b: 2 } });
  });

  it("reports mismatched known and repeated sub-variables", () => {
    expect(
      failure(
        {
          a: named({ a: 1, b: 2, c: 3, d: 4 }),
          b: named({ a: 1, b: 2, c: 3, d: 4 }),
          c: named({ a: 1, b: 2, c: 3, d: 5 }),
        },
        {
          a: new ArraySpec({
            namedShape: { a: 1, ...varsForAxes("x", { b: 4, c: null, d: null }) },
          }),
          b: new ArraySpec({ namedShape: { a: 1, ...varsForAxes("y", ["b", "c", "d"]) } }),
          c: new ArraySpec({ namedShape: { a: 1, ...varsForAxes("y", ["b", "c", "d"]) } }),
        },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['a']: Named shape mismatch between value {'a': 1, 'b': 2, 'c': 3, 'd': 4} and pattern {'a': 1, 'b': var('x')['b']:=4, 'c': var('x')['c'], 'd': var('x')['d']}:",
        "  Axis 'b': Actual size 2 does not match expected var('x')['b']:=4",
        "At root['c']: Named shape mismatch between value {'a': 1, 'b': 2, 'c': 3, 'd': 5} and pattern {'a': 1, 'b': var('y')['b'], 'c': var('y')['c'], 'd': var('y')['d']}:",
        "  Axis 'd': Size 5 does not match previous size 4 for var('y')['d'] from root['b']",
        "Variables solved so far:",
        "  var('x')['b'] = 2 from root['a']",
        "  var('x')['c'] = 3 from root['a']",
        "  var('x')['d'] = 4 from root['a']",
        "  var('y')['b'] = 2 from root['b']",
        "  var('y')['c'] = 3 from root['b']",
        "  var('y')['d'] = 4 from root['b']",
      ),
    );
  });

  it("accepts a consistent overlap with a named unpack of the same variable", () => {
    const value = named({ a: 1, b: 2, c: 3, d: 4 });
    const match = checkStructure(
      { a: value, b: value },
      {
        a: new ArraySpec({ namedShape: { a: 1, ...varsForAxes("x", { b: 2, c: null, d: null }) } }),
        b: new ArraySpec({ namedShape: { a: 1, ...v("x").unpackNamed() } }),
      },
    );
    expect(match.toObject()).toEqual({ x: { d: 4, c: 3, b: 2 } });
  });

  it("reports an inconsistent overlap with a named unpack of the same variable", () => {
    expect(
      failure(
        { a: named({ a: 1, b: 2, c: 3, d: 4 }), b: named({ a: 1, e: 2, f: 3, g: 4 }) },
        {
          a: new ArraySpec({
            namedShape: { a: 1, ...varsForAxes("x", { b: 2, c: null, d: null }) },
          }),
          b: new ArraySpec({ namedShape: { a: 1, ...v("x").unpackNamed() } }),
        },
      ),
    ).toBe(
      lines(
        "Unexpected conflicts between variable assignments:",
        "  var('x'): Solved as {'e': 2, 'f': 3, 'g': 4} from root['b'] but separately solved var('x')['b'] as 2 from root['a']",
        "  var('x'): Solved as {'e': 2, 'f': 3, 'g': 4} from root['b'] but separately solved var('x')['c'] as 3 from root['a']",
        "  var('x'): Solved as {'e': 2, 'f': 3, 'g': 4} from root['b'] but separately solved var('x')['d'] as 4 from root['a']",
        "A variable unpacked with var(name).unpackNamed() and also given per axis with varsForAxes(name, ...) or var(name).at(axis) must describe the same axes with the same sizes.",
      ),
    );
  });
});

describe("wildcards and known variables", () => {
  it("ANY matches any subtree", () => {
    const value = named({ a: 1, b: 2, c: 3, d: 4 });
    const match = checkStructure(
      { a: value, b: [value, 3] },
      { a: new ArraySpec({ namedShape: { ...v("u").unpackNamed(), b: 2, d: 4 } }), b: ANY },
    );
    expect(match.toObject()).toEqual({ u: { c: 3, a: 1 } });
  });

  it("a described Wildcard also matches anything", () => {
    expect(
      checkStructure({ a: [1, { b: 2 }] }, { a: new chk.Wildcard({ description: "anything" }) })
        .size,
    ).toBe(0);
  });

  it("reports disagreement with knownVars", () => {
    const first = checkStructure(
      { a: sds([3, 4, 5]) },
      { a: new ArraySpec({ shape: [v("x"), 4, 5] }) },
    );
    expect(
      failure(
        { b: sds([5, 6]) },
        { b: new ArraySpec({ shape: [v("x"), 6] }) },
        { knownVars: first },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['b']: Positional shape mismatch between value (5, 6) and pattern (var('x'), 6):",
        "  Dim 0: Size 5 does not match previous size 3 for var('x') from the known variable assignments (argument `knownVars` to checkStructure)",
        "Variables solved so far:",
        "  var('x') = 3 from the known variable assignments (argument `knownVars` to checkStructure)",
      ),
    );
  });

  it("extends knownVars with the new solutions", () => {
    const first = checkStructure(
      { a: sds([3, 4, 5]) },
      { a: new ArraySpec({ shape: [v("x"), v("y"), 5] }) },
    );
    const second = checkStructure(
      { b: sds([3, 6]) },
      { b: new ArraySpec({ shape: [v("x"), v("z")] }) },
      { knownVars: first },
    );
    expect(second.toObject()).toEqual({ x: 3, y: 4, z: 6 });
  });

  it("checks ShapeDtypeStructs made from fully concrete specs", () => {
    const specs = [
      new ArraySpec({ shape: [1, 2, 3], dtype: "float32" }),
      new ArraySpec({ shape: [4], dtype: "int64" }),
    ];
    const values = specs.map((s) => s.intoShapeDtypeStruct());
    expect(values[1]!.dtype).toBe("int64");
    expect(checkStructure(values, specs).size).toBe(0);
  });
});

describe("error data", () => {
  it("exposes failures and solved variables as data", () => {
    const result = chk.checkStructureEither(
      { a: sds([3]), b: sds([4]) },
      { a: new ArraySpec({ shape: [v("n")] }), b: new ArraySpec({ shape: [v("n")] }) },
    );
    expect(E.isLeft(result)).toBe(true);
    if (E.isLeft(result)) {
      expect(result.left.failures).toEqual([
        {
          keyPath: "root['b']",
          message:
            "Positional shape mismatch between value (4,) and pattern (var('n'),):\n  Dim 0: Size 4 does not match previous size 3 for var('n') from root['a']",
        },
      ]);
      expect(result.left.solved).toEqual([{ variable: "var('n')", value: 3, source: "root['a']" }]);
    }
  });

  it("checkStructure throws what checkStructureEither returns", () => {
    expect(() => checkStructure(sds([2]), new ArraySpec({ shape: [3] }))).toThrow(
      StructureMismatchError,
    );
    const ok = chk.checkStructureEither(sds([2]), new ArraySpec({ shape: [v("n")] }));
    expect(E.isRight(ok) && ok.right.get("n")).toBe(2);
  });
});

describe("ArraySpec values", () => {
  it("an ArraySpec value with variables is reported, not matched", () => {
    expect(
      failure({ x: new ArraySpec({ shape: [v("n")] }) }, { x: new ArraySpec({ shape: [3] }) }),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['x']: The value ArraySpec(shape=(var('n'),), dtype=dtypes.generic, namedShape={}) is an ArraySpec with dimension variables, " +
          "which cannot be matched as a value. Check a concrete value, or substitute its variables first with fullSubstituteDimensionVariables.",
      ),
    );
  });

  it("an ArraySpec value with an abstract dtype fails a concrete dtype", () => {
    expect(
      failure(
        new ArraySpec({ shape: [2], dtype: dtypes.floating }),
        new ArraySpec({ shape: [2], dtype: "float32" }),
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root: Value has the wrong dtype: expected dtype float32 but got dtype dtypes.floating.",
      ),
    );
    expect(
      checkStructure(
        new ArraySpec({ dtype: dtypes.floating }),
        new ArraySpec({ dtype: dtypes.inexact }),
      ).size,
    ).toBe(0);
  });
});

describe("key paths through structs", () => {
  class Pair extends Struct.define({
    b: field<unknown>(),
    c: field<unknown>(),
    tag: field<string>({ static: true }),
  }) {}

  it("names struct fields with .field in the key path", () => {
    expect(
      failure(
        { a: new Pair({ b: sds([2, 3]), c: "x", tag: "t" }) },
        { a: new Pair({ b: new ArraySpec({ shape: [v("n"), 4] }), c: "x", tag: "t" }) },
      ),
    ).toBe(
      lines(
        "Mismatch while checking structures:",
        "At root['a'].b: Positional shape mismatch between value (2, 3) and pattern (var('n'), 4):",
        "  Dim 1: Actual size 3 does not match expected 4",
        "Variables solved so far:",
        "  var('n') = 2 from root['a'].b",
      ),
    );
  });

  it("a struct with different static fields is a structure mismatch", () => {
    const message = failure(new Pair({ b: 1, c: 2, tag: "t" }), new Pair({ b: 1, c: 2, tag: "u" }));
    expect(message).toMatch(
      /^Mismatch while checking structures:\nAt root: Tree structure mismatch: the pattern has a node .*tag='u'.* here but the value has a node .*tag='t'/,
    );
  });
});
