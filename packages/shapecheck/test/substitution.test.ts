import { field, Struct } from "@saikei/struct";
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

  it("substitutes specs inside structs and Maps, keeping primitive and null leaves next to them", () => {
    class Holder extends Struct.define({ spec: field<unknown>(), tag: field<string>() }) {}
    const shared = { n: 1, s: "x" };
    const structure = {
      h: new Holder({ spec: [7, new ArraySpec({ shape: [v("b")] })], tag: "t" }),
      m: new Map<string, unknown>([
        ["k", new ArraySpec({ namedShape: { x: v("b") } })],
        ["z", null],
      ]),
      plain: shared,
    };
    const res = fullSubstituteDimensionVariables(
      structure,
      new DimensionVariableSubstitution({ sizeVariables: { b: 5 } }),
    );
    expect(res.h).toBeInstanceOf(Holder);
    expect(res.h.tag).toBe("t");
    const [seven, spec] = res.h.spec as [number, ArraySpec];
    expect(seven).toBe(7);
    expect(spec.shape).toEqual([5]);
    expect((res.m.get("k") as ArraySpec).namedShape).toEqual({ x: 5 });
    expect(res.m.get("z")).toBeNull();
    // Parts without specs are kept as they are; a structure without specs comes back itself.
    expect(res.plain).toBe(shared);
    expect(fullSubstituteDimensionVariables(shared, new DimensionVariableSubstitution())).toBe(
      shared,
    );
    expect(getDimensionVariables(structure).sizeVariables).toEqual({ b: v("b") });
  });

  it("reports the key path of a spec inside a struct field", () => {
    class Holder extends Struct.define({ inner: field<unknown>() }) {}
    const structure = [0, new Holder({ inner: { q: [null, new ArraySpec({ shape: [v("n")] })] } })];
    expect(() =>
      fullSubstituteDimensionVariables(structure, new DimensionVariableSubstitution()),
    ).toThrow("No value for the size variable var('n') at root[1].inner['q'][1]:");
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
