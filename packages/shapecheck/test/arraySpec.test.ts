import { flatten, structure } from "@saikei/struct";
import { describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ANY,
  ArraySpec,
  ArraySpecError,
  dtypes,
  KnownDim,
  REMAINING,
  ShapeDtypeStruct,
  Wildcard,
} from "../src/index.js";

const v = chk.var;

describe("ArraySpec", () => {
  it("defaults to a scalar of any dtype", () => {
    const spec = new ArraySpec();
    expect(spec.shape).toEqual([]);
    expect(spec.namedShape).toEqual({});
    expect(spec.dtype).toBe(dtypes.generic);
    expect(spec.positionalShape).toBe(spec.shape);
  });

  it("is a childless struct whose fields live in the tree structure", () => {
    const spec = new ArraySpec({ shape: [v("b"), 3], dtype: "float32" });
    const [leaves] = flatten({ x: spec });
    expect(leaves).toEqual([]);
    expect(
      structure(spec).equals(structure(new ArraySpec({ shape: [v("b"), 3], dtype: "float32" }))),
    ).toBe(true);
    expect(
      structure(spec).equals(structure(new ArraySpec({ shape: [v("c"), 3], dtype: "float32" }))),
    ).toBe(false);
    expect(
      structure(spec).equals(structure(new ArraySpec({ shape: [v("b"), 3], dtype: "int32" }))),
    ).toBe(false);
    expect(
      structure(new ArraySpec({ namedShape: { ...v("x").unpackNamed() } })).equals(
        structure(new ArraySpec({ namedShape: { ...v("y").unpackNamed() } })),
      ),
    ).toBe(false);
    expect(spec.equals(new ArraySpec({ shape: [v("b"), 3], dtype: "float32" }))).toBe(true);
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.shape)).toBe(true);
  });

  it("takes a bare variable as an unpack pattern", () => {
    expect(new ArraySpec({ shape: v("g") }).shape).toEqual([...v("g").unpack()]);
    expect(new ArraySpec({ namedShape: v("g") }).namedShape).toEqual({ '**var("g")': REMAINING });
  });

  it("floatingNamed gives dtypes.floating", () => {
    const spec = ArraySpec.floatingNamed({ batch: v("b") });
    expect(spec.dtype).toBe(dtypes.floating);
    expect(spec.namedShape).toEqual({ batch: v("b") });
  });

  it("renders its parts", () => {
    expect(
      new ArraySpec({
        shape: [v("b"), ...v("r").unpack(), 3],
        dtype: dtypes.floating,
        namedShape: { h: 4, ...v("n").unpackNamed() },
      }).toString(),
    ).toBe(
      "ArraySpec(shape=(var('b'), *var('r'), 3), dtype=dtypes.floating, namedShape={'h': 4, **var('n')})",
    );
  });

  it("rejects bad sizes, dtypes and unpack entries with named errors", () => {
    expect(() => new ArraySpec({ shape: [1.5] })).toThrow(ArraySpecError);
    expect(() => new ArraySpec({ shape: [-1] })).toThrow(
      "ArraySpec: shape[0] is -1, but axis sizes must be non-negative integers.",
    );
    expect(() => new ArraySpec({ shape: ["3" as unknown as number] })).toThrow(
      "ArraySpec: shape[0] is '3'; expected an integer size, var(name) or a KnownDim.",
    );
    expect(() => new ArraySpec({ shape: 3 as unknown as number[] })).toThrow(
      "shape must be an array",
    );
    expect(() => new ArraySpec({ dtype: "float" as chk.ConcreteDType })).toThrow(
      "ArraySpec: unknown dtype 'float'.",
    );
    expect(() => new ArraySpec({ namedShape: { a: 2.5 } })).toThrow(
      "ArraySpec: namedShape['a'] is 2.5",
    );
    expect(() => new ArraySpec({ namedShape: { '**var("x")': 3 } })).toThrow(
      "must map to REMAINING",
    );
  });

  it("hasVariables sees variables and KnownDims", () => {
    expect(new ArraySpec({ shape: [1, 2] }).hasVariables()).toBe(false);
    expect(new ArraySpec({ shape: [v("x")] }).hasVariables()).toBe(true);
    expect(new ArraySpec({ namedShape: { a: new KnownDim("x", 2) } }).hasVariables()).toBe(true);
    expect(new ArraySpec({ namedShape: v("x") }).hasVariables()).toBe(true);
  });

  it("intoShapeDtypeStruct keeps named axes in order (penzai's NamedArray layout)", () => {
    const spec = new ArraySpec({ shape: [2], namedShape: { seq: 5, batch: 3 }, dtype: "float32" });
    const leaf = spec.intoShapeDtypeStruct();
    expect(leaf.shape).toEqual([2]);
    expect(Object.entries(leaf.namedShape)).toEqual([
      ["seq", 5],
      ["batch", 3],
    ]);
    // The data array of the NamedArray penzai builds: positional sizes, then named ones.
    expect(leaf.dataShape).toEqual([2, 5, 3]);
    expect(leaf.equals(new ShapeDtypeStruct([2], "float32", { seq: 5, batch: 3 }))).toBe(true);
    expect(leaf.equals(new ShapeDtypeStruct([2], "float32", { batch: 3, seq: 5 }))).toBe(false);
    expect(leaf.equals(new ShapeDtypeStruct([2, 5, 3], "float32"))).toBe(false);
    expect(leaf.toString()).toBe(
      "ShapeDtypeStruct(shape=(2,), dtype=float32, namedShape={'seq': 5, 'batch': 3})",
    );
    // The leaf matches the spec it came from, and gives its named sizes to variables.
    expect(chk.checkStructure(leaf, spec).size).toBe(0);
    const match = chk.checkStructure(
      leaf,
      new ArraySpec({ shape: [2], namedShape: { seq: v("s"), batch: v("b") } }),
    );
    expect(match.dim("s")).toBe(5);
    expect(match.dim("b")).toBe(3);
  });

  it("a named ShapeDtypeStruct rejects bad named sizes and keeps __proto__ an ordinary axis", () => {
    expect(() => new ShapeDtypeStruct([], "float32", { a: -1 })).toThrow(
      "namedShape['a'] is -1, but sizes must be non-negative integers",
    );
    expect(() => new ShapeDtypeStruct([], "float32", [] as never)).toThrow(ArraySpecError);
    const named = JSON.parse('{"__proto__": 4}') as Record<string, number>;
    const leaf = new ShapeDtypeStruct([], "int32", named);
    expect(Object.keys(leaf.namedShape)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(leaf.namedShape)).toBe(Object.prototype);
    expect(leaf.dataShape).toEqual([4]);
  });

  it("intoShapeDtypeStruct needs a concrete spec", () => {
    expect(new ArraySpec({ shape: [2, 3], dtype: "int32" }).intoShapeDtypeStruct()).toEqual(
      new ShapeDtypeStruct([2, 3], "int32"),
    );
    expect(() => new ArraySpec({ shape: [v("n")], dtype: "int32" }).intoShapeDtypeStruct()).toThrow(
      "it has variable dimensions",
    );
    expect(() =>
      new ArraySpec({ namedShape: { a: v("a") }, dtype: "int32" }).intoShapeDtypeStruct(),
    ).toThrow("it has variable dimensions");
    expect(() => new ArraySpec({ shape: [2] }).intoShapeDtypeStruct()).toThrow(
      "its dtype dtypes.generic is abstract",
    );
  });
});

describe("Wildcard", () => {
  it("ANY is a childless struct", () => {
    expect(ANY).toBeInstanceOf(Wildcard);
    expect(flatten([ANY])[0]).toEqual([]);
    expect(ANY.toString()).toBe("ANY");
    expect(new Wildcard({ description: "params" }).toString()).toBe("Wildcard('params')");
  });
});

describe("ShapeDtypeStruct", () => {
  it("is a frozen leaf with value equality", () => {
    const s = new ShapeDtypeStruct([1, 2], "float32");
    expect(flatten(s)[0]).toEqual([s]);
    expect(s.equals(new ShapeDtypeStruct([1, 2], "float32"))).toBe(true);
    expect(s.equals(new ShapeDtypeStruct([1, 2], "int32"))).toBe(false);
    expect(s.toString()).toBe("ShapeDtypeStruct(shape=(1, 2), dtype=float32)");
    expect(() => new ShapeDtypeStruct([1.5], "float32")).toThrow(ArraySpecError);
    expect(() => new ShapeDtypeStruct([1], "f32" as chk.ConcreteDType)).toThrow(
      "unknown dtype 'f32'",
    );
  });
});
