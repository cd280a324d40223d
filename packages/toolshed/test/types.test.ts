import type { NamedArrayBase } from "@saikei/named";
import type { Sequential } from "@saikei/nn";
import type * as tf from "@tensorflow/tfjs-core";
import { describe, expectTypeOf, it } from "vitest";
import {
  annotateShapes,
  callAndExtractSubmodel,
  checkLayer,
  From,
  type IsolatedSubmodel,
  type KnockOutAttentionHeads,
  type LossFunction,
  LowRankAdapter,
  type ParsedSafetensors,
  parseSafetensorsWithMetadata,
  readSafetensorsHeader,
  runAndInterleaveIntermediates,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type TrainState,
} from "../src/index.js";

describe("public types", () => {
  it("keep layer types through the model tools", () => {
    expectTypeOf(annotateShapes<Sequential>).returns.toEqualTypeOf<Sequential>();
    expectTypeOf(runAndInterleaveIntermediates<Sequential>).returns.toEqualTypeOf<Sequential>();
    expectTypeOf(callAndExtractSubmodel).returns.toEqualTypeOf<
      IsolatedSubmodel | IsolatedSubmodel[]
    >();
    expectTypeOf(checkLayer).returns.toEqualTypeOf<unknown>();
    expectTypeOf(LowRankAdapter.fromLinear).returns.toEqualTypeOf<LowRankAdapter>();
    expectTypeOf<KnockOutAttentionHeads["call"]>().returns.toEqualTypeOf<NamedArrayBase>();
    expectTypeOf(new From("a").weight).toEqualTypeOf<number | NamedArrayBase>();
  });

  it("describe safetensors and training values", () => {
    expectTypeOf(readSafetensorsHeader).returns.toEqualTypeOf<SafetensorsHeader>();
    expectTypeOf(parseSafetensorsWithMetadata).returns.toEqualTypeOf<ParsedSafetensors>();
    expectTypeOf<SafetensorsHeader["entries"][number]["dtype"]>().toEqualTypeOf<SafetensorsDtype>();
    expectTypeOf<TrainState<{ w: tf.Tensor }, { n: number }>["lossFnState"]>().toEqualTypeOf<{
      n: number;
    }>();
    expectTypeOf<
      Parameters<LossFunction<{ w: tf.Tensor }, null, number, { x: tf.Tensor }>>[0]["x"]
    >().toEqualTypeOf<tf.Tensor>();
  });
});
