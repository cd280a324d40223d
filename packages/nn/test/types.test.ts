import type { NamedArray, NamedArrayBase } from "@saikei/named";
import type * as tf from "@tensorflow/tfjs-core";
import { describe, expectTypeOf, it } from "vitest";
import {
  type AddBias,
  type ApplyAttentionMask,
  type contract,
  type Elementwise,
  EmbeddingTable,
  initializeParameters,
  Linear,
  type LinearInPlace,
  type NamedEinsum,
  type Parameter,
  type ParameterLike,
  type Sequential,
  type Softmax,
  type StochasticDropout,
  type UninitializedParameter,
} from "../src/index.js";

describe("public types", () => {
  it("builders return the documented classes", () => {
    expectTypeOf(Linear.fromConfig).returns.toEqualTypeOf<Linear | LinearInPlace>();
    expectTypeOf(EmbeddingTable.fromConfig).returns.toEqualTypeOf<EmbeddingTable>();
    expectTypeOf<ApplyAttentionMask["call"]>().parameters.toEqualTypeOf<[NamedArrayBase]>();
  });

  it("layers take what named's operations return and give NamedArrays", () => {
    expectTypeOf<Linear["call"]>().parameters.toEqualTypeOf<[NamedArrayBase]>();
    expectTypeOf<Linear["call"]>().returns.toEqualTypeOf<NamedArray>();
    expectTypeOf<AddBias["call"]>().returns.toEqualTypeOf<NamedArray>();
    expectTypeOf<Softmax["call"]>().returns.toEqualTypeOf<NamedArray>();
    expectTypeOf<StochasticDropout["call"]>().returns.toEqualTypeOf<NamedArray>();
    expectTypeOf<Elementwise["call"]>().returns.toEqualTypeOf<NamedArrayBase | tf.Tensor>();
    expectTypeOf<UninitializedParameter["asEmptyParameter"]>().returns.toEqualTypeOf<Parameter>();
    expectTypeOf<NamedEinsum["call"]>().parameters.toEqualTypeOf<[readonly NamedArrayBase[]]>();
    expectTypeOf<typeof contract>().parameters.toEqualTypeOf<
      [string | readonly string[], NamedArrayBase, NamedArrayBase]
    >();
  });

  it("parameters are ParameterLike and initialization keeps the model type", () => {
    expectTypeOf<Parameter<NamedArray>>().toMatchTypeOf<ParameterLike<NamedArray>>();
    expectTypeOf<UninitializedParameter<NamedArray>>().toMatchTypeOf<ParameterLike<NamedArray>>();
    expectTypeOf(initializeParameters<Sequential>).returns.toEqualTypeOf<Sequential>();
    expectTypeOf<Linear["weights"]>().toEqualTypeOf<ParameterLike<NamedArray>>();
  });
});
