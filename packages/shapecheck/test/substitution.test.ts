import { describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ArraySpec,
  DimensionVariableSubstitution,
  fullSubstituteDimensionVariables,
  getDimensionVariables,
  KnownDim,
  SubstitutionError,
  varsForAxes,
} from "../src/index.js";

const v = chk.var;

const struct = {
  a: new ArraySpec({ shape: [1, 2, v("a")] }),
  b: new ArraySpec({ shape: [3, ...v("b").unpack()] }),
  c: new ArraySpec({ namedShape: { foo: 4, bar: v("c") } }),
  d: new ArraySpec({ namedShape: { foo: 4, ...v("d").unpackNamed() } }),
  e: new ArraySpec({ namedShape: { w: 1, ...varsForAxes("e", { x: 2, y: null, z: null }) } }),
  b2: new ArraySpec({ shape: [3, ...v("b").unpack()] }),
};

describe("getDimensionVariables", () => {
  it("lists every variable mapped to itself, without KnownDims", () => {
    const got = getDimensionVariables(struct);
    expect(got.sizeVariables).toEqual({
      a: v("a"),
      c: v("c"),
      'e["y"]': v("e").at("y"),
      'e["z"]': v("e").at("z"),
    });
    expect(got.sequenceVariables).toEqual({ b: [...v("b").unpack()] });
    expect(got.mappingVariables).toEqual({ d: { ...v("d").unpackNamed() } });
    expect(got.isEmpty()).toBe(false);
    expect(getDimensionVariables({ x: new ArraySpec({ shape: [1] }), y: 3 }).isEmpty()).toBe(true);
  });

  it("substituting the identity only strips KnownDims", () => {
    const same = fullSubstituteDimensionVariables(struct, getDimensionVariables(struct));
    expect(same.a.equals(struct.a)).toBe(true);
    expect(same.d.equals(struct.d)).toBe(true);
    expect(same.e.namedShape).toEqual({ w: 1, x: 2, y: v("e").at("y"), z: v("e").at("z") });
  });
});

describe("fullSubstituteDimensionVariables", () => {
  it("replaces every variable by its value", () => {
    const res = fullSubstituteDimensionVariables(
      struct,
      new DimensionVariableSubstitution({
        sizeVariables: { a: 10, c: 13, 'e["y"]': 16, 'e["z"]': 17 },
        sequenceVariables: { b: [11, 12] },
        mappingVariables: { d: { bar: 14, baz: 15 } },
      }),
    );
    expect(res).toEqual({
      a: new ArraySpec({ shape: [1, 2, 10] }),
      b: new ArraySpec({ shape: [3, 11, 12] }),
      c: new ArraySpec({ namedShape: { foo: 4, bar: 13 } }),
      d: new ArraySpec({ namedShape: { foo: 4, bar: 14, baz: 15 } }),
      e: new ArraySpec({ namedShape: { w: 1, x: 2, y: 16, z: 17 } }),
      b2: new ArraySpec({ shape: [3, 11, 12] }),
    });
    expect(res.a.equals(new ArraySpec({ shape: [1, 2, 10] }))).toBe(true);
  });

  it("can rename variables", () => {
    const res = fullSubstituteDimensionVariables(
      new ArraySpec({
        shape: [v("a"), ...v("r").unpack()],
        namedShape: { ...v("m").unpackNamed() },
      }),
      new DimensionVariableSubstitution({
        sizeVariables: { a: v("b") },
        sequenceVariables: { r: [1, ...v("s").unpack()] },
        mappingVariables: { m: { h: 2, ...v("n").unpackNamed() } },
      }),
    );
    expect(res.toString()).toBe(
      "ArraySpec(shape=(var('b'), 1, *var('s')), dtype=dtypes.generic, namedShape={'h': 2, **var('n')})",
    );
  });

  it("keeps non-ArraySpec leaves", () => {
    expect(
      fullSubstituteDimensionVariables({ n: 3, s: "x" }, new DimensionVariableSubstitution()),
    ).toEqual({ n: 3, s: "x" });
  });

  it("strips a KnownDim to its size", () => {
    const res = fullSubstituteDimensionVariables(
      new ArraySpec({ shape: [new KnownDim("k", 5)] }),
      new DimensionVariableSubstitution(),
    );
    expect(res.shape).toEqual([5]);
  });

  it("reports a missing variable with its key path", () => {
    const call = () =>
      fullSubstituteDimensionVariables(
        { p: [new ArraySpec({ shape: [v("n")] })] },
        new DimensionVariableSubstitution(),
      );
    expect(call).toThrow(SubstitutionError);
    expect(call).toThrow(
      "No value for the size variable var('n') at root['p'][0]: the substitution's sizeVariables has no entry for it. " +
        "Start from getDimensionVariables(structure) so every variable has an entry.",
    );
    expect(() =>
      fullSubstituteDimensionVariables(
        new ArraySpec({ namedShape: v("m") }),
        new DimensionVariableSubstitution(),
      ),
    ).toThrow("No value for the unpacked variable **var('m') at root");
    expect(() =>
      fullSubstituteDimensionVariables(
        new ArraySpec({ shape: v("m") }),
        new DimensionVariableSubstitution(),
      ),
    ).toThrow("No value for the unpacked variable *var('m') at root");
  });

  it("reports a key conflict from a mapping variable", () => {
    expect(() =>
      fullSubstituteDimensionVariables(
        { x: new ArraySpec({ namedShape: { foo: 4, ...v("d").unpackNamed() } }) },
        new DimensionVariableSubstitution({ mappingVariables: { d: { foo: 1 } } }),
      ),
    ).toThrow(
      "Key conflict while substituting mapping variable var('d') at root['x']: name foo is already present.",
    );
  });
});
