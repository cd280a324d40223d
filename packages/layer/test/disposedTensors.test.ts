import { type NamedArray, ready, wrap } from "@saikei/named";
import { ArraySpec, var as dim } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkedLayerCall, DisposedTensorError, Layer } from "../src/index.js";

/** A checked layer with a tensor of its own: adds `bias` to the first array of its argument. */
class AddBias extends Layer.define({ bias: field<NamedArray>() }, { name: "AddBias" }) {
  inputStructure() {
    const features = new ArraySpec({ namedShape: { batch: dim("b"), features: 3 } });
    return [features, features];
  }
  outputStructure() {
    return new ArraySpec({ namedShape: { batch: dim("b"), features: 3 } });
  }
  @checkedLayerCall
  call([x]: [NamedArray, NamedArray]): NamedArray {
    return wrap(tf.add(x.dataArray, this.bias.dataArray), "batch", "features");
  }
}

function features(values: number[][]): NamedArray {
  return wrap(tf.tensor2d(values), "batch", "features");
}

/** The error `f` throws (fails the test when it throws none). */
function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("checked calls reject disposed tensors", () => {
  let baseline = 0;
  beforeAll(async () => {
    await ready();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("names the key path of a disposed tensor in the argument", () => {
    const layer = new AddBias({ bias: wrap(tf.tensor1d([1, 2, 3]), "features") });
    const live = features([[0, 0, 0]]);
    const freed = features([[1, 1, 1]]);
    freed.dataArray.dispose();
    const error = errorOf(() => layer.call([live, freed]));
    expect(error).toBeInstanceOf(DisposedTensorError);
    expect(error.name).toBe("DisposedTensorError");
    expect(error.message).toBe(
      "AddBias.call: the argument at [1].dataArray is a disposed tensor (float32 [1, 3]). " +
        "Its data was freed by dispose() or by the end of the tf.tidy that created it. Pass a live " +
        "tensor: create it outside that tidy (or tf.keep it), and dispose it only after its last use.",
    );
    tf.dispose([live.dataArray, layer.bias.dataArray]);
  });

  it("rejects a disposed argument after calls of the same shape passed", () => {
    const layer = new AddBias({ bias: wrap(tf.tensor1d([1, 2, 3]), "features") });
    const x = features([[1, 2, 3]]);
    const out = layer.call([x, x]);
    expect(Array.from(out.dataArray.dataSync())).toEqual([2, 4, 6]);
    out.dataArray.dispose();
    x.dataArray.dispose();
    const error = errorOf(() => layer.call([x, x]));
    expect(error).toBeInstanceOf(DisposedTensorError);
    expect(error.message).toContain("the argument at [0].dataArray is a disposed tensor");
    layer.bias.dataArray.dispose();
  });

  it("names a bare disposed tensor as the argument itself", () => {
    class Identity extends Layer {
      inputStructure() {
        return new ArraySpec({ shape: [2] });
      }
      @checkedLayerCall
      call(x: tf.Tensor) {
        return x;
      }
    }
    const t = tf.tensor1d([1, 2]);
    t.dispose();
    expect(() => new Identity().call(t)).toThrow(
      "Identity.call: the argument is a disposed tensor (float32 [2]).",
    );
  });

  it("names the key path of a disposed tensor inside the layer", () => {
    const bias = wrap(tf.tensor1d([1, 2, 3]), "features");
    const layer = new AddBias({ bias });
    const x = features([[1, 2, 3]]);
    layer.call([x, x]).dataArray.dispose();
    bias.dataArray.dispose();
    const error = errorOf(() => layer.call([x, x]));
    expect(error).toBeInstanceOf(DisposedTensorError);
    expect(error.message).toBe(
      "AddBias.call: its tensor at .bias.dataArray (float32 [3]) has been disposed, so the layer " +
        "cannot run. A layer's parameters must stay alive while the layer is used: dispose them " +
        "(or the model holding them) only after the last call, or rebuild them " +
        "(initializeParameters, or load the weights again).",
    );
    x.dataArray.dispose();
  });

  it("accepts live tensors and leaves the argument alive", () => {
    const layer = new AddBias({ bias: wrap(tf.tensor1d([1, 2, 3]), "features") });
    const x = features([[1, 1, 1]]);
    for (let i = 0; i < 3; i++) layer.call([x, x]).dataArray.dispose();
    expect(x.dataArray.isDisposed).toBe(false);
    tf.dispose([x.dataArray, layer.bias.dataArray]);
  });
});
