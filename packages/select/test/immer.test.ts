import { ready } from "@saikei/named";
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { produce } from "immer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { select } from "../src/index.js";

class Dense extends Struct.define({
  weights: field<tf.Tensor>(),
  scale: field<number>(),
  name: field<string>({ static: true }),
}) {}
class Stack extends Struct.define({ layers: field<Dense[]>() }) {}

let baseline = 0;
let w0: tf.Tensor;
let w1: tf.Tensor;

beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
  w0 = tf.tensor1d([1, 2, 3]);
  w1 = tf.tensor1d([4, 5]);
});

afterAll(() => {
  w0.dispose();
  w1.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

const stack = () =>
  new Stack({
    layers: [
      new Dense({ weights: w0, scale: 1, name: "a" }),
      new Dense({ weights: w1, scale: 2, name: "b" }),
    ],
  });

describe("immer recipe", () => {
  it("produce on a struct returns a frozen instance of the same class and shares the rest", () => {
    const s = stack();
    const out = produce(s, (draft) => {
      (draft.layers[1] as { scale: number }).scale = 20;
    });
    expect(out).toBeInstanceOf(Stack);
    expect(out.layers[1]).toBeInstanceOf(Dense);
    expect(Object.isFrozen(out)).toBe(true);
    expect(Object.isFrozen(out.layers[1])).toBe(true);
    expect(out.layers[1]!.scale).toBe(20);
    expect(out.layers[1]!.name).toBe("b");
    expect(out.layers[0]).toBe(s.layers[0]);
    expect(s.layers[1]!.scale).toBe(2);
  });

  it("produce on the values of a selection (apply) edits each selected struct", () => {
    const s = stack();
    const out = select(s)
      .atInstancesOf(Dense)
      .where((d) => d.name === "a")
      .apply((d) =>
        produce(d, (draft) => {
          (draft as { scale: number }).scale = 10;
        }),
      );
    expect(out.layers.map((d) => d.scale)).toEqual([10, 2]);
    expect(out.layers[1]).toBe(s.layers[1]);
    expect(out.layers[0]).toBeInstanceOf(Dense);
    expect(Object.isFrozen(out.layers[0])).toBe(true);
  });

  it("produce on a selection's result tree", () => {
    const s = stack();
    const edited = select(s)
      .at((x) => x.layers[0]!.scale)
      .set(5);
    const out = produce(edited, (draft) => {
      (draft.layers[1] as { scale: number }).scale = 6;
    });
    expect(out.layers.map((d) => d.scale)).toEqual([5, 6]);
  });

  it("never drafts or freezes tensors inside structs", () => {
    const s = stack();
    let seen: unknown;
    const out = produce(s, (draft) => {
      seen = draft.layers[0]!.weights;
      (draft.layers[0] as { scale: number }).scale = 3;
    });
    expect(seen).toBe(w0);
    expect(out.layers[0]!.weights).toBe(w0);
    expect(Object.isFrozen(w0)).toBe(false);
    expect(Object.isFrozen(w1)).toBe(false);
    const doubled = tf.tidy(() => tf.mul(out.layers[0]!.weights, 2));
    expect(Array.from(doubled.dataSync())).toEqual([2, 4, 6]);
    doubled.dispose();
  });

  it("selections keep tensors as leaves, untouched", () => {
    const s = stack();
    const tensors = select(s).atInstancesOf(tf.Tensor).getSequence();
    expect(tensors).toEqual([w0, w1]);
    const out = select(s)
      .atInstancesOf(tf.Tensor)
      .apply((t) => t);
    expect(out).toBe(s);
    expect(Object.isFrozen(w0)).toBe(false);
  });
});
