import type * as E from "fp-ts/lib/Either.js";
import { describe, expectTypeOf, it } from "vitest";
import type {
  AbstractDType,
  ArraySpec,
  BoundValue,
  ConcreteDType,
  DimVar,
  DType,
  KnownDim,
  MatchResult,
  MultiDimVar,
  NamedDim,
  PositionalDim,
  RemainingAxisPlaceholder,
  StructureMismatchError,
  Wildcard,
} from "../src/index.js";
import * as chk from "../src/index.js";

describe("public types", () => {
  it("var builds a DimVar whose unpack helpers spread into shapes", () => {
    expectTypeOf(chk.var).toEqualTypeOf<(name: string) => DimVar>();
    expectTypeOf(chk.var("x").unpack()).toEqualTypeOf<readonly [MultiDimVar]>();
    expectTypeOf(chk.var("x").unpackNamed()).toEqualTypeOf<
      Readonly<Record<string, RemainingAxisPlaceholder>>
    >();
    expectTypeOf([1, chk.var("x"), ...chk.var("y").unpack()]).toExtend<PositionalDim[]>();
    expectTypeOf({ a: 1, ...chk.var("x").unpackNamed() }).toExtend<Record<string, NamedDim>>();
    expectTypeOf(chk.varsForAxes("x", ["a"])).toEqualTypeOf<Record<string, DimVar | KnownDim>>();
  });

  it("ArraySpec exposes typed, readonly fields", () => {
    const spec = new chk.ArraySpec({ shape: [chk.var("b"), 3], dtype: "float32" });
    expectTypeOf(spec.shape).toEqualTypeOf<readonly PositionalDim[]>();
    expectTypeOf(spec.dtype).toEqualTypeOf<DType>();
    expectTypeOf(spec.namedShape).toEqualTypeOf<Readonly<Record<string, NamedDim>>>();
    expectTypeOf<DType>().toEqualTypeOf<ConcreteDType | AbstractDType>();
    expectTypeOf(chk.ANY).toEqualTypeOf<Wildcard>();
    expectTypeOf(chk.ArraySpec.floatingNamed).returns.toEqualTypeOf<ArraySpec>();
    const wrongProps = () => {
      // @ts-expect-error dtype names are checked
      new chk.ArraySpec({ dtype: "float" });
      // @ts-expect-error shape entries are sizes or variables
      new chk.ArraySpec({ shape: ["3"] });
    };
    expectTypeOf(wrongProps).returns.toBeVoid();
  });

  it("checkStructure returns a MatchResult, the Either variant an Either", () => {
    expectTypeOf(chk.checkStructure).returns.toEqualTypeOf<MatchResult>();
    expectTypeOf(chk.checkStructureEither).returns.toEqualTypeOf<
      E.Either<StructureMismatchError, MatchResult>
    >();
    expectTypeOf<chk.CheckStructureOptions>().toEqualTypeOf<{
      knownVars?: MatchResult | Readonly<Record<string, BoundValue>>;
      errorPrefix?: string;
    }>();
  });

  it("MatchResult accessors are typed by the kind of variable", () => {
    const r = chk.checkStructure(3, new chk.ArraySpec());
    expectTypeOf(r.get).returns.toEqualTypeOf<BoundValue>();
    expectTypeOf(r.dim).returns.toEqualTypeOf<number>();
    expectTypeOf(r.dims).returns.toEqualTypeOf<readonly number[]>();
    expectTypeOf(r.namedDims).returns.toEqualTypeOf<Readonly<Record<string, number>>>();
    expectTypeOf(r.toObject()).toEqualTypeOf<Record<string, BoundValue>>();
    expectTypeOf<BoundValue>().toEqualTypeOf<
      number | readonly number[] | Readonly<Record<string, number>>
    >();
  });

  it("substitution keeps the structure's type", () => {
    const s = { a: new chk.ArraySpec() };
    expectTypeOf(
      chk.fullSubstituteDimensionVariables(s, new chk.DimensionVariableSubstitution()),
    ).toEqualTypeOf<{ a: ArraySpec }>();
    expectTypeOf(chk.StructureMismatchError).instance.toExtend<Error>();
    expectTypeOf<StructureMismatchError["failures"]>().toEqualTypeOf<
      readonly chk.StructureMismatch[]
    >();
  });
});
