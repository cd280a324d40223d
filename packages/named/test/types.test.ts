/** Type-level checks of the indexing, update and array-method API. */
import type * as tf from "@tensorflow/tfjs-core";
import { describe, expectTypeOf, it } from "vitest";
import type {
  GatherMode,
  GatherOptions,
  IndexEntry,
  IndexSpec,
  IndexUpdateRef,
  NamedArray,
  NamedArrayBase,
  NamedOperand,
  TakeOptions,
  UpdateMode,
  UpdateOptions,
} from "../src/index.js";

/** Type-level checks only: the body is compiled (and must fail where marked) but never run. */
function notRun(_body: () => void): void {}

describe("types", () => {
  it("at(...) returns an IndexUpdateRef whose methods return named arrays", () => {
    expectTypeOf<NamedArrayBase["at"]>().returns.toEqualTypeOf<IndexUpdateRef>();
    expectTypeOf<IndexUpdateRef["get"]>().returns.toEqualTypeOf<NamedArrayBase>();
    expectTypeOf<IndexUpdateRef["set"]>().parameter(0).toEqualTypeOf<NamedOperand>();
    expectTypeOf<IndexUpdateRef["apply"]>()
      .parameter(0)
      .toEqualTypeOf<(values: tf.Tensor) => tf.Tensor>();
    expectTypeOf<GatherMode>().toEqualTypeOf<"clip" | "fill" | "promise_in_bounds">();
    expectTypeOf<UpdateMode>().toEqualTypeOf<"drop" | "clip" | "promise_in_bounds">();
    expectTypeOf<GatherOptions["fillValue"]>().toEqualTypeOf<number | boolean | undefined>();
    expectTypeOf<UpdateOptions>().toHaveProperty("mode");
  });

  it("indexers accept named index arrays by name and by position", () => {
    expectTypeOf<NamedArray>().toMatchTypeOf<IndexEntry>();
    expectTypeOf<{ vocab: NamedArray }>().toMatchTypeOf<IndexSpec>();
    expectTypeOf<[NamedArray, null, number]>().toMatchTypeOf<IndexSpec>();
    expectTypeOf<"vocab">().not.toMatchTypeOf<IndexEntry>();
    notRun(() => {
      const x = {} as NamedArrayBase;
      // @ts-expect-error: a string is not an index
      x.index({ vocab: "3" });
      // @ts-expect-error: get's mode is a gather mode
      x.at({ a: 0 }).get({ mode: "drop" });
      // @ts-expect-error: updates take an update mode
      x.at({ a: 0 }).set(1, { mode: "fill" });
    });
  });

  it("array methods: tuples, scalars, iteration", () => {
    expectTypeOf<NamedArrayBase["divmod"]>().returns.toEqualTypeOf<
      [NamedArrayBase, NamedArrayBase]
    >();
    expectTypeOf<NamedArrayBase["nonzero"]>().returns.toEqualTypeOf<NamedArrayBase[]>();
    expectTypeOf<NamedArrayBase["item"]>().returns.toEqualTypeOf<number | boolean>();
    expectTypeOf<NamedArrayBase["canonicalize"]>().returns.toEqualTypeOf<NamedArray>();
    expectTypeOf<NamedArrayBase>().toMatchTypeOf<Iterable<NamedArrayBase>>();
    expectTypeOf<TakeOptions["mode"]>().toEqualTypeOf<GatherMode | undefined>();
    expectTypeOf<NamedArrayBase["T"]>().toEqualTypeOf<NamedArrayBase>();
  });
});
