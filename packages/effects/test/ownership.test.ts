/**
 * Tensor ownership of handed-back values, with `tf.tidy` standing where composite layers put it
 * (the composites of `@saikei/nn` are tested in the toolshed package's effectOwnership tests).
 */
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { ready } from "@saikei/named";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CollectingSideOutputs,
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  type SideOutputEffect,
  SideOutputRequest,
} from "../src/index.js";

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

/** Runs its sublayer inside tf.tidy, as composite layers do. */
class Tidy extends Layer.define({ inner: field<LayerLike>() }) {
  call(x: unknown): unknown {
    return tf.tidy(() => callLayer(this.inner, x) as tf.Tensor);
  }
}

/** Tells `x * 3`; sets its state to `x * 2`; keeps its state cell in `leaked` for later misuse. */
class SetAndTell extends Layer.define({
  state: field<LocalStateEffect<tf.Tensor>>(),
  out: field<SideOutputEffect<tf.Tensor>>(),
}) {
  static leaked: LocalStateEffect<tf.Tensor> | undefined;
  call(x: tf.Tensor): tf.Tensor {
    SetAndTell.leaked = this.state;
    this.state.set(tf.mul(x, 2));
    this.out.tell(tf.mul(x, 3));
    return tf.add(x, 1);
  }
}

const layer = (tag: string) =>
  new SetAndTell({
    state: new InitialLocalStateRequest({ stateInitializer: () => 0, category: "s", name: "s" }),
    out: new SideOutputRequest({ tag }),
  });

const values = (t: unknown) => Array.from((t as tf.Tensor).dataSync());

describe("handed-back tensors", () => {
  it("survive tf.tidy between the layer and its handlers, and are the caller's", () => {
    const [stateful, initial] = handleLocalStates(
      new Tidy({ inner: new Tidy({ inner: layer("a") }) }),
      "s",
    );
    const collector = CollectingSideOutputs.handling(stateful, "a");
    const x = tf.tensor1d([1, 2]);
    const [[out, next], told] = collector.call([x, initial]);
    expect(values(out)).toEqual([2, 3]);
    expect(values(next.s)).toEqual([2, 4]);
    expect(values(told[0]!.value)).toEqual([3, 6]);
    tf.dispose([x, out, next.s as tf.Tensor, told[0]!.value as tf.Tensor]);
  });

  it("a state cell used after its handler returned keeps nothing alive", () => {
    const [stateful, initial] = handleLocalStates(new Tidy({ inner: layer("b") }), "s");
    const x = tf.tensor1d([1]);
    const [out, next] = stateful.call([x, initial]);
    // The cell outlived the call (a layer kept it); a late set neither throws nor pins a tensor.
    const late = tf.tidy(() => {
      const t = tf.scalar(7);
      SetAndTell.leaked!.set(t);
      return tf.scalar(0);
    });
    tf.dispose([x, out, next.s as tf.Tensor, late]);
  });

  it("the same told tensor reaches two nested collectors as two tensors", () => {
    const twice = new TwoProbes({
      first: new SideOutputRequest({ tag: "c" }),
      second: new SideOutputRequest({ tag: "d" }),
    });
    const both = CollectingSideOutputs.handling(
      CollectingSideOutputs.handling(new Tidy({ inner: twice }), "c"),
      "d",
    );
    const x = tf.tensor1d([4]);
    const [[out, byInner], byOuter] = both.call(x);
    expect(byInner[0]!.value).not.toBe(byOuter[0]!.value);
    (byInner[0]!.value as tf.Tensor).dispose();
    expect(values(byOuter[0]!.value)).toEqual([8]);
    tf.dispose([x, out, byOuter[0]!.value as tf.Tensor]);
  });
});

/** Tells the same tensor to two tags. */
class TwoProbes extends Layer.define({
  first: field<SideOutputEffect<tf.Tensor>>(),
  second: field<SideOutputEffect<tf.Tensor>>(),
}) {
  call(x: tf.Tensor): tf.Tensor {
    const doubled = tf.mul(x, 2);
    this.first.tell(doubled);
    this.second.tell(doubled);
    return tf.add(x, 0);
  }
}
