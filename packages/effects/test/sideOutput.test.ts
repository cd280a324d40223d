import { Layer } from "@saikei/layer";
import { field, keystr, tree } from "@saikei/struct";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  CollectingSideOutputs,
  HandledSideOutputRef,
  SideOutputEffect,
  SideOutputEffectImpl,
  SideOutputHandlingError,
  SideOutputRequest,
  SideOutputValue,
  TellIntermediate,
  UnhandledEffectError,
} from "../src/index.js";
import { Chain } from "./helpers.js";

/** Doubles its input and tells the result under its tag. */
class DoubleAndTell extends Layer.define({ out: field<SideOutputEffect<number>>() }) {
  call(x: number): number {
    this.out.tell(2 * x);
    return 2 * x;
  }
}

const doubler = (tag: string) => new DoubleAndTell({ out: new SideOutputRequest({ tag }) });

describe("SideOutputRequest", () => {
  it("does nothing when unhandled", () => {
    expect(doubler("a").call(3)).toBe(6);
    expect(new SideOutputRequest({ tag: "a" }).treescopeColor()).toBe("#3fbfb6");
  });
});

describe("CollectingSideOutputs", () => {
  it("returns the output with the told values in call order, with paths relative to the body", () => {
    const model = new Chain({
      sublayers: [doubler("a"), TellIntermediate.fromConfig("a"), doubler("b")],
    });
    const collector = CollectingSideOutputs.handling(model);
    const [out, values] = collector.call(1);
    expect(out).toBe(4);
    expect(values.map((v) => [keystr(v.keypath), v.tag, v.value])).toEqual([
      [".sublayers[0].out", "a", 2],
      [".sublayers[1].sideOut", "a", 2],
      [".sublayers[2].out", "b", 4],
    ]);
    expect(values[0]).toBeInstanceOf(SideOutputValue);
    // a second call starts a fresh list
    expect(collector.call(2)[1]).toHaveLength(3);
  });

  it("collects one tag, or tags matching a predicate", () => {
    const model = new Chain({ sublayers: [doubler("a"), doubler("b")] });
    expect(
      CollectingSideOutputs.handling(model, "b")
        .call(1)[1]
        .map((v) => v.value),
    ).toEqual([4]);
    expect(
      CollectingSideOutputs.handling(model, { tagPredicate: (t) => t === "a" })
        .call(1)[1]
        .map((v) => v.tag),
    ).toEqual(["a"]);
    expect(() =>
      CollectingSideOutputs.handling(model, { tag: "a", tagPredicate: () => true }),
    ).toThrow(SideOutputHandlingError);
  });

  it("nests: an inner collector keeps its values, the outer sees the rest", () => {
    const inner = CollectingSideOutputs.handling(new Chain({ sublayers: [doubler("a")] }), "a");
    const outer = CollectingSideOutputs.handling(
      new Chain({ sublayers: [inner, ([x]: [number, unknown]) => x, doubler("a")] }),
      "a",
    );
    const [out, outerValues] = outer.call(1);
    // the inner collector took the first value: 1 -> 2; then the outer doubler: 2 -> 4
    expect(out).toBe(4);
    expect(inner.call(1)[1].map((v) => v.value)).toEqual([2]);
    expect(outerValues.map((v) => [keystr(v.keypath), v.value])).toEqual([
      [".sublayers[2].out", 4],
    ]);
  });

  it("reports a reference taken out of its collector", () => {
    const collector = CollectingSideOutputs.handling(doubler("a"));
    expect(collector.body).toBeInstanceOf(DoubleAndTell);
    expect((collector.body as DoubleAndTell).out).toBeInstanceOf(HandledSideOutputRef);
    expect(() => (collector.body as DoubleAndTell).call(1)).toThrow(UnhandledEffectError);
  });
});

describe("TellIntermediate and SideOutputEffectImpl", () => {
  it("TellIntermediate is the identity with tag 'intermediate' by default", () => {
    const probe = new TellIntermediate();
    expect(probe.call(5)).toBe(5);
    expect(probe.sideOut).toEqual(new SideOutputRequest({ tag: "intermediate" }));
    expect(TellIntermediate.fromConfig().equals(probe)).toBe(true);
  });

  it("SideOutputEffectImpl appends SideOutputValues to its destination", () => {
    const destination: SideOutputValue[] = [];
    const impl = new SideOutputEffectImpl([], "t", destination, "h");
    impl.tell(1);
    impl.tell(2);
    expect(destination.map((v) => v.value)).toEqual([1, 2]);
    expect(impl.handlerId()).toBe("h");
    expect(impl.effectProtocol()).toBe(SideOutputEffect);
    expect(tree.leaves(destination[0])).toEqual([1]);
  });
});

describe("types", () => {
  it("requests and implementations are SideOutputEffects", () => {
    expectTypeOf(new SideOutputRequest<number>({ tag: "a" })).toMatchTypeOf<
      SideOutputEffect<number>
    >();
    expectTypeOf(CollectingSideOutputs.handling(doubler("a")).call(1)).toEqualTypeOf<
      [any, SideOutputValue[]]
    >();
  });
});
