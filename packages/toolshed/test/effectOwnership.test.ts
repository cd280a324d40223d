/**
 * Tensors given to `set` and `tell` inside composite layers (whose calls run in `tf.tidy`) reach
 * the handler's caller alive, and are the caller's to dispose.
 */
import {
  CollectingSideOutputs,
  DisposedEffectValueError,
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  type SideOutputEffect,
  SideOutputRequest,
  TellIntermediate,
} from "@saikei/effects";
import { Layer, type LayerLike } from "@saikei/layer";
import { jit, type NamedArray, nx, ready } from "@saikei/named";
import { CheckedSequential, Elementwise, NamedGroup, Residual, Sequential } from "@saikei/nn";
import { Wildcard } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

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

/** Tells `2 * x` (a tensor made inside the call) and returns `x + 1`. */
class TellDouble extends Layer.define({ out: field<SideOutputEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    this.out.tell(tf.mul(x, 2));
    return tf.add(x, 1);
  }
}

/** Sets its state to `state + x` (a tensor made inside the call) and returns `x + 1`. */
class Accumulate extends Layer.define({ total: field<LocalStateEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    this.total.set(tf.add(this.total.get(), x));
    return tf.add(x, 1);
  }
}

/** Tells `x * 10`, then throws. */
class TellThenThrow extends Layer.define({ out: field<SideOutputEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    this.out.tell(tf.mul(x, 10));
    throw new RangeError("layer failed after telling");
  }
}

/** Tells `2 * x`, then disposes what it told. */
class TellThenDispose extends Layer.define({ out: field<SideOutputEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    const told = tf.mul(x, 2);
    this.out.tell(told);
    told.dispose();
    return tf.add(x, 1);
  }
}

/** Returns `x + weight` without changing its state. */
class ReadState extends Layer.define({ total: field<LocalStateEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    return tf.add(x, this.total.get());
  }
}

/** Sets its state to `state + x` and tells the same tensor. */
class SetAndTell extends Layer.define({
  total: field<LocalStateEffect<tf.Tensor>>(),
  out: field<SideOutputEffect<tf.Tensor>>(),
}) {
  call(x: tf.Tensor): tf.Tensor {
    const next = tf.add(this.total.get(), x);
    this.total.set(next);
    this.out.tell(next);
    return tf.add(x, 1);
  }
}

const weightState = (): LocalStateEffect<tf.Tensor> =>
  new InitialLocalStateRequest({
    stateInitializer: () => tf.tensor1d([3, 4]),
    category: "weight",
    name: "weight",
  });

const probe = () => new TellDouble({ out: new SideOutputRequest({ tag: "probe" }) });
const accumulate = (name?: string) =>
  new Accumulate({
    total: new InitialLocalStateRequest({
      stateInitializer: () => tf.zeros([2]),
      category: "total",
      name,
    }),
  });

type Wrap = (inner: LayerLike) => LayerLike;
const wraps: Record<string, Wrap> = {
  Sequential: (inner) => new Sequential({ sublayers: [inner] }),
  NamedGroup: (inner) => new NamedGroup({ name: "group", sublayers: [inner] }),
  // Residual adds x to the inner output: x + (x + 1).
  Residual: (inner) => new Residual({ delta: inner }),
  CheckedSequential: (inner) =>
    new CheckedSequential({
      inputLike: new Wildcard({}),
      outputLike: new Wildcard({}),
      sublayers: [inner],
    }),
};
const nestings: Record<string, Wrap> = {
  ...wraps,
  "Sequential(NamedGroup)": (inner) => wraps.Sequential!(wraps.NamedGroup!(inner)),
  "Residual(CheckedSequential(NamedGroup))": (inner) =>
    wraps.Residual!(wraps.CheckedSequential!(wraps.NamedGroup!(inner))),
  "NamedGroup(Sequential(Residual(Sequential)))": (inner) =>
    wraps.NamedGroup!(wraps.Sequential!(wraps.Residual!(wraps.Sequential!(inner)))),
};

const values = (t: unknown) => Array.from((t as tf.Tensor).dataSync());
const disposeAll = (...trees: unknown[]) => tf.dispose(trees as tf.TensorContainer[]);

describe("told values survive every composite between the layer and the collector", () => {
  for (const [name, wrap] of Object.entries(nestings)) {
    it(`through ${name}`, () => {
      const collector = CollectingSideOutputs.handling(
        new Sequential({ sublayers: [probe(), wrap(probe())] }),
        "probe",
      );
      const x = tf.tensor1d([1, 2]);
      const [out, told] = collector.call(x);
      expect(told).toHaveLength(2);
      expect(values(told[0]!.value)).toEqual([2, 4]);
      // The second probe sees x + 1 = [2, 3].
      expect(values(told[1]!.value)).toEqual([4, 6]);
      disposeAll(
        out,
        told.map((v) => v.value),
      );
      expect(x.isDisposed).toBe(false);
      x.dispose();
    });
  }
});

describe("states set inside composites reach the caller of the state handler", () => {
  for (const [name, wrap] of Object.entries(nestings)) {
    it(`through ${name}`, () => {
      const [handled, initial] = handleLocalStates(
        new Sequential({ sublayers: [accumulate("first"), wrap(accumulate("second"))] }),
        { category: "total" },
      );
      const x = tf.tensor1d([1, 2]);
      const [out, next] = handled.call([x, initial]);
      expect(values(next.first)).toEqual([1, 2]);
      expect(values(next.second)).toEqual([2, 3]);
      // A second step from the new states accumulates again.
      const [out2, next2] = handled.call([x, next]);
      expect(values(next2.first)).toEqual([2, 4]);
      expect(values(next2.second)).toEqual([4, 6]);
      disposeAll(x, out, out2, initial, next, next2);
    });
  }
});

describe("ownership of handed-back tensors", () => {
  it("collected NamedArrays from a probe after each block can be stacked (penzai's recipe)", () => {
    const block = (scale: number) =>
      new NamedGroup({
        name: `block${scale}`,
        sublayers: [
          new Elementwise({ fn: (t: tf.Tensor) => tf.mul(t, scale) }),
          TellIntermediate.fromConfig("after_block"),
        ],
      });
    const model = new Sequential({ sublayers: [block(2), block(3)] });
    const collector = CollectingSideOutputs.handling(model, "after_block");
    const x = nx.wrap(tf.tensor1d([1, -1]), "f");
    const [out, told] = collector.call(x);
    const stacked = tf.stack(told.map((v) => (v.value as NamedArray).dataArray));
    expect(stacked.arraySync()).toEqual([
      [2, -2],
      [6, -6],
    ]);
    disposeAll(
      x,
      out,
      stacked,
      told.map((v) => v.value),
    );
  });

  it("a told input or unchanged state is handed back as a separate tensor", () => {
    const collector = CollectingSideOutputs.handling(
      new Sequential({ sublayers: [TellIntermediate.fromConfig("x")] }),
      "x",
    );
    const x = tf.tensor1d([5, 6]);
    const [out, [told]] = collector.call(x);
    expect(told!.value).not.toBe(x);
    expect(told!.value).not.toBe(out);
    (told!.value as tf.Tensor).dispose();
    expect(values(x)).toEqual([5, 6]);
    expect(values(out)).toEqual([5, 6]);
    disposeAll(x, out);

    const [handled, states] = handleLocalStates(
      new Sequential({ sublayers: [new ReadState({ total: weightState() })] }),
      { category: "weight" },
    );
    const old = states as Record<string, tf.Tensor>;
    const input = tf.tensor1d([1, 1]);
    const [out2, next] = handled.call([input, old]);
    expect(values(out2)).toEqual([4, 5]);
    expect(next.weight).not.toBe(old.weight);
    disposeAll(old);
    expect(values(next.weight)).toEqual([3, 4]);
    disposeAll(input, out2, next);
  });

  it("a handler called inside tf.tidy frees handed-back tensors it does not return", () => {
    const collector = CollectingSideOutputs.handling(wraps.Sequential!(probe()), "probe");
    const x = tf.tensor1d([1, 2]);
    const kept = tf.tidy(() => {
      const [out, told] = collector.call(x);
      out.dispose();
      return tf.mul(told[0]!.value as tf.Tensor, 1);
    });
    expect(values(kept)).toEqual([2, 4]);
    disposeAll(x, kept);
  });

  it("gradients flow through told values", () => {
    const collector = CollectingSideOutputs.handling(wraps.NamedGroup!(probe()), "probe");
    const x = tf.tensor1d([1, 2]);
    // loss = sum(told) + sum(output) = sum(2x) + sum(x + 1): d/dx = 3.
    const grad = tf.grad((input: tf.Tensor) => {
      const [out, told] = collector.call(input);
      return tf.add(tf.sum(told[0]!.value as tf.Tensor), tf.sum(out));
    })(x);
    expect(values(grad)).toEqual([3, 3]);
    disposeAll(x, grad);
  });

  it("a jitted handler call traces and replays with the same handed-back values", () => {
    const collector = CollectingSideOutputs.handling(wraps.Residual!(probe()), "probe");
    const step = jit((x: tf.Tensor) => {
      const [out, told] = collector.call(x);
      return [out, told[0]!.value as tf.Tensor];
    });
    const x = tf.tensor1d([1, 2]);
    const first = step(x);
    const second = step(x);
    expect(step.stats.replays).toBe(1);
    expect(values(first[0])).toEqual([3, 5]);
    expect(values(first[1])).toEqual([2, 4]);
    expect(values(second[0])).toEqual([3, 5]);
    expect(values(second[1])).toEqual([2, 4]);
    disposeAll(x, first, second);
    step.dispose();
  });

  it("nested handlers: one tensor both set and told reaches each receiver separately", () => {
    const inner = new SetAndTell({
      total: new InitialLocalStateRequest({
        stateInitializer: () => tf.zeros([2]),
        category: "total",
        name: "acc",
      }),
      out: new SideOutputRequest({ tag: "probe" }),
    });
    const [stateful, initial] = handleLocalStates(wraps.NamedGroup!(wraps.Sequential!(inner)), {
      category: "total",
    });
    const collector = CollectingSideOutputs.handling(wraps.Sequential!(stateful), "probe");
    const x = tf.tensor1d([1, 2]);
    const [[out, next], told] = collector.call([x, initial]);
    expect(values(out)).toEqual([2, 3]);
    expect(values(next.acc)).toEqual([1, 2]);
    expect(told[0]!.value).not.toBe(next.acc);
    (told[0]!.value as tf.Tensor).dispose();
    expect(values(next.acc)).toEqual([1, 2]);
    disposeAll(x, out, next, initial);
  });

  it("a body that throws after telling frees what it told", () => {
    const collector = CollectingSideOutputs.handling(
      wraps.Sequential!(new TellThenThrow({ out: new SideOutputRequest({ tag: "probe" }) })),
      "probe",
    );
    const x = tf.tensor1d([1, 2]);
    expect(() => collector.call(x)).toThrow(RangeError);
    x.dispose();
  });

  it("a told tensor disposed by its layer is a DisposedEffectValueError, with nothing leaked", () => {
    const collector = CollectingSideOutputs.handling(
      new Sequential({
        sublayers: [probe(), new TellThenDispose({ out: new SideOutputRequest({ tag: "probe" }) })],
      }),
      "probe",
    );
    const x = tf.tensor1d([1, 2]);
    expect(() => collector.call(x)).toThrow(DisposedEffectValueError);
    x.dispose();
  });
});

describe("no leak over repeated calls", () => {
  it("1,000 collector and state-handler calls through nested composites, caller disposing", () => {
    const nest = nestings["Sequential(NamedGroup)"]!;
    const collector = CollectingSideOutputs.handling(nest(probe()), "probe");
    const [handled, initial] = handleLocalStates(nest(accumulate("acc")), { category: "total" });
    const x = tf.tensor1d([1, 2]);
    let states = initial;
    const start = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      const [out, told] = collector.call(x);
      disposeAll(
        out,
        told.map((v) => v.value),
      );
      const [out2, next] = handled.call([x, states]);
      disposeAll(out2, states);
      states = next;
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(values(states.acc)).toEqual([1000, 2000]);
    disposeAll(x, states);
  });
});
