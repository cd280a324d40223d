import type { NamedArray } from "@saikei/named";
import { describe, expectTypeOf, it } from "vitest";
import {
  type ApplyAttentionMask,
  EmbeddingTable,
  initializeParameters,
  Linear,
  type LinearInPlace,
  type Parameter,
  type ParameterLike,
  type Sequential,
  type UninitializedParameter,
} from "../src/index.js";

describe("public types", () => {
  it("builders return the documented classes", () => {
    expectTypeOf(Linear.fromConfig).returns.toEqualTypeOf<Linear | LinearInPlace>();
    expectTypeOf(EmbeddingTable.fromConfig).returns.toEqualTypeOf<EmbeddingTable>();
    expectTypeOf<ApplyAttentionMask["call"]>().parameters.toEqualTypeOf<[NamedArray]>();
  });

  it("parameters are ParameterLike and initialization keeps the model type", () => {
    expectTypeOf<Parameter<NamedArray>>().toMatchTypeOf<ParameterLike<NamedArray>>();
    expectTypeOf<UninitializedParameter<NamedArray>>().toMatchTypeOf<ParameterLike<NamedArray>>();
    expectTypeOf(initializeParameters<Sequential>).returns.toEqualTypeOf<Sequential>();
    expectTypeOf<Linear["weights"]>().toEqualTypeOf<ParameterLike<NamedArray>>();
  });
});
