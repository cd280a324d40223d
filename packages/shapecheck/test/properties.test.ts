// Laws of the solver, checked on random shapes and trees.
import * as fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ArraySpec,
  asArrayStructure,
  checkStructure,
  checkStructureEither,
  DimensionVariableSubstitution,
  fullSubstituteDimensionVariables,
  type PositionalDim,
  ShapeDtypeStruct,
} from "../src/index.js";

const v = chk.var;

const size = fc.integer({ min: 0, max: 6 });
const shape = fc.array(size, { maxLength: 5 });
const dtype = fc.constantFrom(
  "float32",
  "int32",
  "bool",
  "complex64",
) as fc.Arbitrary<chk.ConcreteDType>;
const axisName = fc.constantFrom("batch", "seq", "heads", "embed", "vocab", "k");
const namedShape = fc.dictionary(axisName, size, { maxKeys: 4 });

const leaf = fc.oneof(
  fc.record({ shape, dtype }).map(({ shape: s, dtype: d }) => new ShapeDtypeStruct(s, d)),
  fc
    .record({ shape, namedShape, dtype })
    .map(
      ({ shape: s, namedShape: n, dtype: d }) =>
        new ArraySpec({ shape: s, namedShape: n, dtype: d }),
    ),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.string({ maxLength: 3 }),
);
const tree = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("node"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "c"), tie("node"), { maxKeys: 3 }),
  ),
})).node;

/** A pattern for `s` in which each dim is a constant or a variable; equal sizes may share a variable. */
const shapeWithPattern = shape.chain((s) =>
  fc
    .tuple(
      fc.constant(s),
      fc.array(fc.constantFrom("const", "own", "bySize"), {
        minLength: s.length,
        maxLength: s.length,
      }),
    )
    .map(([sizes, kinds]) => {
      const pattern: PositionalDim[] = sizes.map((n, i) =>
        kinds[i] === "const" ? n : kinds[i] === "own" ? v(`d${i}`) : v(`size${n}`),
      );
      return { sizes, pattern };
    }),
);

describe("laws", () => {
  it("every tree matches its own array structure, binding nothing", () => {
    fc.assert(
      fc.property(tree, (t) => {
        expect(checkStructure(t, asArrayStructure(t)).size).toBe(0);
      }),
    );
  });

  it("solved variables substituted into the pattern give the value's structure", () => {
    fc.assert(
      fc.property(shapeWithPattern, dtype, ({ sizes, pattern }, d) => {
        const value = new ShapeDtypeStruct(sizes, d);
        const spec = new ArraySpec({ shape: pattern, dtype: d });
        const match = checkStructure(value, spec);
        pattern.forEach((dim, i) => {
          if (dim instanceof chk.DimVar) expect(match.get(dim.name as string)).toBe(sizes[i]);
        });
        const concrete = fullSubstituteDimensionVariables(
          spec,
          DimensionVariableSubstitution.fromMatchResult(match),
        );
        expect(concrete.equals(asArrayStructure(value))).toBe(true);
        expect(checkStructure(value, concrete).size).toBe(0);
      }),
    );
  });

  it("an unpack pattern binds exactly the dims between the fixed prefix and suffix", () => {
    fc.assert(
      fc.property(shape, fc.nat(), fc.nat(), (sizes, a, b) => {
        const prefix = a % (sizes.length + 1);
        const suffix = b % (sizes.length - prefix + 1);
        const pattern = [
          ...sizes.slice(0, prefix),
          ...v("m").unpack(),
          ...sizes.slice(sizes.length - suffix),
        ];
        const match = checkStructure(
          new ShapeDtypeStruct(sizes, "float32"),
          new ArraySpec({ shape: pattern }),
        );
        expect(match.get("m")).toEqual(sizes.slice(prefix, sizes.length - suffix));
      }),
    );
  });

  it("a named unpack pattern binds exactly the names not given explicitly", () => {
    fc.assert(
      fc.property(
        namedShape,
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (named, picks) => {
          const names = Object.keys(named);
          const explicit = names.filter((_, i) => picks[i]);
          const pattern: Record<string, chk.NamedDim> = { ...v("rest").unpackNamed() };
          for (const n of explicit) pattern[n] = v(`n_${n}`);
          const match = checkStructure(
            new ArraySpec({ namedShape: named }),
            new ArraySpec({ namedShape: pattern }),
          );
          const rest = Object.fromEntries(
            names.filter((n) => !explicit.includes(n)).map((n) => [n, named[n]!]),
          );
          expect(match.get("rest")).toEqual(rest);
          for (const n of explicit) expect(match.get(`n_${n}`)).toBe(named[n]);
        },
      ),
    );
  });

  it("a changed constant dim always fails, naming the key path and the dim", () => {
    fc.assert(
      fc.property(fc.array(size, { minLength: 1, maxLength: 5 }), fc.nat(), (sizes, at) => {
        const i = at % sizes.length;
        const pattern = sizes.map((n, j) => (j === i ? n + 1 : n));
        const result = checkStructureEither(
          { p: [new ShapeDtypeStruct(sizes, "int32")] },
          { p: [new ArraySpec({ shape: pattern })] },
        );
        expect(E.isLeft(result)).toBe(true);
        if (E.isLeft(result)) {
          expect(result.left.message).toContain(`At root['p'][0]: Positional shape mismatch`);
          expect(result.left.message).toContain(
            `  Dim ${i}: Actual size ${sizes[i]} does not match expected ${sizes[i]! + 1}`,
          );
        }
      }),
    );
  });

  it("checkStructure throws exactly when checkStructureEither gives a left, with the same message", () => {
    fc.assert(
      fc.property(tree, tree, (value, other) => {
        const pattern = asArrayStructure(other);
        const either = checkStructureEither(value, pattern);
        let thrown: unknown;
        try {
          checkStructure(value, pattern);
        } catch (e) {
          thrown = e;
        }
        if (E.isLeft(either)) {
          expect(thrown).toBeInstanceOf(chk.StructureMismatchError);
          expect((thrown as Error).message).toBe(either.left.message);
        } else {
          expect(thrown).toBeUndefined();
        }
      }),
    );
  });

  it("knownVars from an earlier match never change the new solutions", () => {
    fc.assert(
      fc.property(shapeWithPattern, ({ sizes, pattern }) => {
        const value = new ShapeDtypeStruct(sizes, "float32");
        const spec = new ArraySpec({ shape: pattern });
        const first = checkStructure(value, spec);
        expect(checkStructure(value, spec, { knownVars: first }).toObject()).toEqual(
          first.toObject(),
        );
      }),
    );
  });
});
