import {
  type DecodingEngine,
  type KVCachingState,
  type KVCachingTransformerLM,
  temperatureSample,
} from "@saikei/models";
import type { NamedArray, NamedArrayBase, random } from "@saikei/named";
import type * as tf from "@tensorflow/tfjs-core";
import { describe, expectTypeOf, it } from "vitest";
import type * as onnx from "../src/index.js";

describe("public types", () => {
  it("export takes the function's own argument types and returns bytes", () => {
    expectTypeOf<typeof onnx.export<[NamedArray, tf.Tensor]>>().parameters.toEqualTypeOf<
      [
        (args_0: NamedArray, args_1: tf.Tensor) => unknown,
        [NamedArray, tf.Tensor],
        onnx.ExportOptions?,
      ]
    >();
    expectTypeOf<ReturnType<typeof onnx.export>>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<onnx.ExportOptions["dynamicAxes"]>().toEqualTypeOf<
      readonly (string | readonly string[])[] | undefined
    >();
  });

  it("sessions are created and run asynchronously, with NamedArrays or tensors", () => {
    expectTypeOf<ReturnType<typeof onnx.session>>().toEqualTypeOf<Promise<onnx.OnnxSession>>();
    expectTypeOf<onnx.OnnxSession["run"]>().parameter(0).toEqualTypeOf<onnx.SessionFeeds>();
    expectTypeOf<Awaited<ReturnType<onnx.OnnxSession["run"]>>>().toEqualTypeOf<
      Record<string, NamedArray | tf.Tensor>
    >();
    expectTypeOf<onnx.OnnxSession["dispose"]>().returns.toEqualTypeOf<Promise<void>>();
  });

  it("the decoding engine is a DecodingEngine of @saikei/models, and sampling with it is a promise", () => {
    expectTypeOf<onnx.OnnxDecodingEngine>().toMatchTypeOf<DecodingEngine>();
    // Never called: the calls are checked by the type checker only.
    const sample = (
      model: KVCachingTransformerLM,
      state: KVCachingState,
      prompt: NamedArrayBase,
      key: random.RandomKey,
      engine: onnx.OnnxDecodingEngine,
    ) => {
      expectTypeOf(temperatureSample(model, state, prompt, key, { engine })).toEqualTypeOf<
        Promise<NamedArrayBase>
      >();
      expectTypeOf(
        temperatureSample(model, state, prompt, key, { temperature: 0 }),
      ).toEqualTypeOf<NamedArrayBase>();
    };
    expectTypeOf(sample).returns.toBeVoid();
  });
});
