import { Layer } from "@saikei/layer";
import { field, keystr, TreeCycleError, TreeDepthError } from "@saikei/struct";
import { afterEach, describe, expect, it } from "vitest";
import {
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  SideInputRequest,
  WithConstantSideInputs,
  WithSideInputsFromInputTuple,
} from "../src/index.js";
import { AddSideInput, Chain } from "./helpers.js";

const objectProtoNames = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoNames);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

const add = (tag: string) => new AddSideInput({ value: new SideInputRequest({ tag }) });

class Counter extends Layer.define({ count: field<LocalStateEffect<number>>() }) {
  call(x: number): number {
    const c = this.count.get();
    this.count.set(c + 1);
    return x + c;
  }
}
const counter = (name: string) =>
  new Counter({
    count: new InitialLocalStateRequest({ stateInitializer: () => 5, category: "c", name }),
  });

describe("tags and state names that are Object.prototype members", () => {
  it("a side-input tag __proto__ given as a JSON object is kept", () => {
    const values = JSON.parse('{"__proto__": 10, "constructor": 100}') as Record<string, number>;
    const model = new Chain({ sublayers: [add("__proto__"), add("constructor")] });
    const handled = WithConstantSideInputs.handling(model, values);
    expect(Object.keys(handled.sideInputs)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(handled.sideInputs)).toBe(Object.prototype);
    expect(handled.call(1)).toBe(111);
  });

  it("a tag named toString works like any other tag", () => {
    const tuple = WithSideInputsFromInputTuple.handling(add("toString"), ["toString"]);
    expect(tuple.call([1, 2])).toBe(3);
  });

  it("states named __proto__ and constructor are ordinary states", () => {
    const model = new Chain({ sublayers: [counter("__proto__"), counter("constructor")] });
    const [handled, states] = handleLocalStates(model, "c");
    expect(Object.keys(states)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(states, "__proto__")!.value).toBe(5);
    const [out, next] = handled.call([1, states]);
    expect(out).toBe(11);
    expect(Object.getOwnPropertyDescriptor(next, "__proto__")!.value).toBe(6);
    expect(Object.getOwnPropertyDescriptor(next, "constructor")!.value).toBe(6);
    expect(Object.getPrototypeOf(next)).toBe(Object.prototype);
  });
});

describe("cycles and depth in effect walks", () => {
  it("handling a body that contains itself raises TreeCycleError with the path", () => {
    const layers: unknown[] = [add("t")];
    const body = new Chain({ sublayers: layers as never });
    layers.push({ back: body });
    let e: unknown;
    try {
      WithConstantSideInputs.handling(body, { t: 1 });
    } catch (caught) {
      e = caught;
    }
    expect(e).toBeInstanceOf(TreeCycleError);
    expect(keystr((e as TreeCycleError).path)).toBe(".sublayers[1]['back']");
  });

  it("a 20,000-deep body raises TreeDepthError", () => {
    let deep: unknown = add("t");
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() =>
      WithConstantSideInputs.handling(new Chain({ sublayers: [deep] as never }), { t: 1 }),
    ).toThrow(TreeDepthError);
  });
});
