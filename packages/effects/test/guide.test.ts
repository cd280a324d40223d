/** The examples of docs/effects.md, run as written. */
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { random, ready } from "@saikei/named";
import { field, keystr } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CollectingSideOutputs,
  freezeLocalStates,
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  type RandomEffect,
  RandomRequest,
  type SideInputEffect,
  SideInputRequest,
  TellIntermediate,
  UnhandledEffectError,
  WithConstantSideInputs,
  WithRandomKeyFromArg,
  WithSideInputsFromInputTuple,
} from "../src/index.js";

class AddOffset extends Layer.define({ offset: field<SideInputEffect<number>>() }) {
  call(x: number): number {
    return x + this.offset.ask();
  }
}

class Sequential extends Layer.define({ sublayers: field<readonly LayerLike[]>() }) {
  call(x: unknown): unknown {
    let out = x;
    for (const layer of this.sublayers) out = callLayer(layer, out);
    return out;
  }
}

class Counter extends Layer.define({ count: field<LocalStateEffect<number>>() }) {
  call(x: number): number {
    const c = this.count.get();
    this.count.set(c + 1);
    return x + c;
  }
}

class Noise extends Layer.define({ rng: field<RandomEffect>() }) {
  call(shape: number[]): tf.Tensor {
    return random.normal(this.rng.nextKey(), shape);
  }
}

describe("docs/effects.md", () => {
  beforeAll(async () => {
    await ready();
  });

  const model = new Sequential({
    sublayers: [
      new AddOffset({ offset: new SideInputRequest({ tag: "offset" }) }),
      (x: number) => 10 * x,
      new AddOffset({ offset: new SideInputRequest({ tag: "offset" }) }),
    ],
  });

  it("side inputs", () => {
    const handled = WithSideInputsFromInputTuple.handling(model, ["offset"]);
    expect(handled.call([1, 2])).toBe(32);
    expect(WithConstantSideInputs.handling(model, { offset: 2 }).call(1)).toBe(32);
  });

  it("the unhandled-request message locates the layer", () => {
    const checked = WithSideInputsFromInputTuple.handling(model, []);
    expect(() => checked.call([1])).toThrow(UnhandledEffectError);
    expect(() => checked.call([1])).toThrow(
      /held by a layer of type AddOffset, at _?WithSideInputsFromInputTuple\.body\/Sequential\.sublayers\[0\]\/AddOffset\.offset/,
    );
  });

  it("local state and the round trip", () => {
    const counters = new Sequential({
      sublayers: [
        new Counter({
          count: new InitialLocalStateRequest({ stateInitializer: () => 0, category: "count" }),
        }),
        new Counter({
          count: new InitialLocalStateRequest({
            stateInitializer: () => 100,
            category: "count",
            name: "shared",
          }),
        }),
      ],
    });
    const [stateful, states] = handleLocalStates(counters, "count");
    expect(states).toEqual({ "Sequential.sublayers[0]/Counter.count": 0, shared: 100 });
    const [out, next] = stateful.call([1, states]);
    expect(out).toBe(101);
    expect(next).toEqual({ "Sequential.sublayers[0]/Counter.count": 1, shared: 101 });
    const frozen = freezeLocalStates(stateful, next);
    const [again, againStates] = handleLocalStates(frozen, {
      category: "count",
      handlerId: stateful.handlerId,
    });
    expect(again.equals(stateful)).toBe(true);
    expect(againStates).toEqual(next);
  });

  it("randomness", () => {
    const baseline = tf.memory().numTensors;
    const noisy = WithRandomKeyFromArg.handling(new Noise({ rng: new RandomRequest() }));
    const a = noisy.call([[2, 3], random.key(0)]);
    const expected = random.normal(random.foldIn(random.key(0), 0), [2, 3]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([a, expected]);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("side outputs", () => {
    const probed = new Sequential({
      sublayers: [(x: number) => x + 1, TellIntermediate.fromConfig("probe"), (x: number) => 2 * x],
    });
    const [result, told] = CollectingSideOutputs.handling(probed, "probe").call(1);
    expect(result).toBe(4);
    expect(told.map((v) => [keystr(v.keypath), v.tag, v.value])).toEqual([
      [".sublayers[1].sideOut", "probe", 2],
    ]);
  });
});
