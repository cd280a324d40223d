import { Layer } from "@saikei/layer";
import { ready } from "@saikei/named";
import { colorFromString, field, GetAttrKey, registerPytreeNode } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  allHandlerIds,
  brokenHandlerRefs,
  defineEffectProtocol,
  EFFECT_COLORS,
  type EffectProtocol,
  freeEffectTypes,
  getEffectColor,
  HandledSideInputRef,
  HandlerIdError,
  handleLocalStates,
  InitialLocalStateRequest,
  inferOrCheckHandlerId,
  LOCAL_STATE_EFFECT_COLOR,
  LocalStateEffect,
  RANDOM_EFFECT_COLOR,
  RandomEffect,
  RandomRequest,
  registerEffectColor,
  SIDE_INPUT_EFFECT_COLOR,
  SIDE_OUTPUT_EFFECT_COLOR,
  SideInputEffect,
  SideInputRequest,
  SideOutputEffect,
  SideOutputRequest,
  WithConstantSideInputs,
  WithSideInputsFromInputTuple,
} from "../src/index.js";
import { AddSideInput, Chain, MulSideInput } from "./helpers.js";

/** A layer that only holds other values. */
class Holding extends Layer.define({ parts: field<unknown>() }) {
  call(x: unknown): unknown {
    return x;
  }
}

const add = (tag: string) => new AddSideInput({ value: new SideInputRequest({ tag }) });
const mul = (tag: string) => new MulSideInput({ value: new SideInputRequest({ tag }) });

describe("effect protocols and colours", () => {
  it("exports penzai's colours and registers them for the built-in effects", () => {
    expect(EFFECT_COLORS).toEqual({
      SideInput: "#5eb3e5",
      LocalState: "#f58566",
      Random: "#df982b",
      SideOutput: "#3fbfb6",
    });
    expect(getEffectColor(SideInputEffect)).toBe(SIDE_INPUT_EFFECT_COLOR);
    expect(getEffectColor(LocalStateEffect)).toBe(LOCAL_STATE_EFFECT_COLOR);
    expect(getEffectColor(RandomEffect)).toBe(RANDOM_EFFECT_COLOR);
    expect(getEffectColor(SideOutputEffect)).toBe(SIDE_OUTPUT_EFFECT_COLOR);
  });

  it("derives a stable colour for unregistered protocols and lets it be registered", () => {
    const Counter = defineEffectProtocol("CounterEffect", ["increment"]);
    expect(Counter).toEqual({ name: "CounterEffect", methods: ["increment"] });
    expect(Object.isFrozen(Counter)).toBe(true);
    const derived = getEffectColor(Counter);
    // colorFromString("CounterEffect"): FNV-1a 0x551cd366 % 3600 = 1686, OKLCH(0.785 0.103 168.6°).
    expect(derived).toBe("#70cead");
    expect(derived).toBe(colorFromString("CounterEffect"));
    expect(getEffectColor(defineEffectProtocol("CounterEffect", ["increment"]))).toBe(derived);
    registerEffectColor(Counter, "#123456");
    expect(getEffectColor(Counter)).toBe("#123456");
  });

  it("handlers take the colour of their effect", () => {
    expect(WithSideInputsFromInputTuple.handling(add("a"), ["a"]).treescopeColor()).toBe("#5eb3e5");
    expect(handleLocalStates(add("a"))[0].treescopeColor()).toBe("#f58566");
  });
});

describe("freeEffectTypes", () => {
  it("lists the protocols of unhandled requests in pre-order without repeats", () => {
    const model = [
      add("a"),
      { rng: new RandomRequest() },
      add("b"),
      new SideOutputRequest({ tag: "t" }),
      new InitialLocalStateRequest({ stateInitializer: () => 0, category: "c" }),
    ];
    expect(freeEffectTypes(model)).toEqual([
      SideInputEffect,
      RandomEffect,
      SideOutputEffect,
      LocalStateEffect,
    ]);
    expect(
      freeEffectTypes(
        WithSideInputsFromInputTuple.handling(new Holding({ parts: model }), ["a", "b"]),
      ),
    ).toEqual([RandomEffect, SideOutputEffect, LocalStateEffect]);
    expect(freeEffectTypes(3)).toEqual([]);
  });
});

describe("allHandlerIds and brokenHandlerRefs", () => {
  it("collect handler and reference ids, and references outside their handler", () => {
    const inner = WithSideInputsFromInputTuple.handling(add("a"), ["a"], { handlerId: "inner" });
    const outer = WithConstantSideInputs.handling(
      new Chain({ sublayers: [inner, mul("b")] }),
      { b: 2 },
      { handlerId: "outer" },
    );
    expect(allHandlerIds(outer)).toEqual(["outer", "inner"]);
    expect(brokenHandlerRefs(outer)).toEqual([]);
    expect(brokenHandlerRefs(outer.body)).toEqual([
      new HandledSideInputRef({ handlerId: "outer", tag: "b" }),
    ]);
    expect(brokenHandlerRefs(inner.body)).toEqual([
      new HandledSideInputRef({ handlerId: "inner", tag: "a" }),
    ]);
    expect(allHandlerIds(add("a"))).toEqual([]);
  });
});

describe("inferOrCheckHandlerId", () => {
  it("hashes the structure: equal structures give equal ids, static data changes them", () => {
    const id = inferOrCheckHandlerId("Tag", add("a"));
    expect(id).toMatch(/^Tag_[0-9a-f]{5}$/);
    expect(inferOrCheckHandlerId("Tag", add("a"))).toBe(id);
    expect(inferOrCheckHandlerId("Tag", add("b"))).not.toBe(id);
    expect(inferOrCheckHandlerId("Tag", add("a"), { minHashLength: 8 })).toMatch(
      /^Tag_[0-9a-f]{8}$/,
    );
    expect(inferOrCheckHandlerId("Tag", add("a"), { minHashLength: 8 }).startsWith(id)).toBe(true);
  });

  it("lengthens the prefix when an id in the subtree already uses it", () => {
    // Find a body holding a handler with id "Tag_<c>" whose own hash starts with <c>.
    let found: { body: unknown; full: string } | undefined;
    for (let t = 0; t < 50 && found === undefined; t++) {
      for (const c of "0123456789abcdef") {
        const body = WithConstantSideInputs.handling(
          add(`tag${t}`),
          { [`tag${t}`]: 1 },
          { handlerId: `Tag_${c}` },
        );
        const full = inferOrCheckHandlerId("Tag", body, { minHashLength: 63 });
        if (full.slice(4, 5) === c) {
          found = { body, full };
          break;
        }
      }
    }
    expect(found).toBeDefined();
    const { body, full } = found!;
    expect(inferOrCheckHandlerId("Tag", body, { minHashLength: 1 })).toBe(full.slice(0, 6));
  });

  it("accepts a fresh explicit id and rejects one already used", () => {
    const handled = WithSideInputsFromInputTuple.handling(add("a"), ["a"], { handlerId: "taken" });
    expect(inferOrCheckHandlerId("Tag", handled, { explicitId: "free" })).toBe("free");
    expect(() => inferOrCheckHandlerId("Tag", handled, { explicitId: "taken" })).toThrow(
      HandlerIdError,
    );
    expect(() =>
      WithSideInputsFromInputTuple.handling(handled, [], { handlerId: "taken" }),
    ).toThrow(/Explicit handler ID taken already exists in the subtree/);
  });
});

describe("reference indexes", () => {
  it("are computed once per handler, also for handlers rebuilt by an enclosing handler", () => {
    let flattens = 0;
    class Probe {
      constructor(readonly value: number) {}
    }
    registerPytreeNode(Probe, {
      flattenWithKeys: (p) => {
        flattens += 1;
        return { children: [[new GetAttrKey("value"), p.value]], aux: null };
      },
      unflatten: (_aux, [value]) => new Probe(value as number),
    });
    class Holder extends Layer.define({ probe: field<Probe>() }) {
      call(x: number) {
        return x + this.probe.value;
      }
    }
    // the inner handler sits on the path to the outer handler's reference, so every outer call
    // rebuilds it; its own index must not be recomputed (that would flatten the Probe again)
    const inner = WithSideInputsFromInputTuple.handling(
      new Chain({ sublayers: [new Holder({ probe: new Probe(100) }), mul("outer")] }),
      ["inner"],
    );
    const outer = WithConstantSideInputs.handling(
      new Chain({ sublayers: [(x: number) => [x, 0], inner] }),
      { outer: 3 },
    );
    expect(outer.call(1)).toBe(303);
    const after = flattens;
    for (let i = 0; i < 5; i++) expect(outer.call(1)).toBe(303);
    expect(flattens).toBe(after);
  });
});

describe("tensors", () => {
  beforeAll(async () => {
    await ready();
  });

  it("handlers pass tensors through without copying or leaking them", () => {
    class MatMulMask extends Layer.define({ mask: field<{ ask(): tf.Tensor }>() }) {
      call(x: tf.Tensor2D): tf.Tensor {
        return tf.mul(x, this.mask.ask());
      }
    }
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const mask = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    const handled = WithSideInputsFromInputTuple.handling(
      new MatMulMask({ mask: new SideInputRequest({ tag: "mask" }) }),
      ["mask"],
    );
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const y = handled.call([x, mask]) as tf.Tensor;
      expect(Array.from(y.dataSync())).toEqual([1, 0, 3, 4]);
      y.dispose();
    }
    expect(tf.memory().numTensors).toBe(baseline);
    expect(x.isDisposed).toBe(false);
    expect(mask.isDisposed).toBe(false);
    tf.dispose([x, mask]);
  });
});

describe("types", () => {
  it("protocols are values with names and methods", () => {
    expectTypeOf(SideInputEffect).toMatchTypeOf<EffectProtocol>();
    expectTypeOf(inferOrCheckHandlerId).returns.toEqualTypeOf<string>();
    expectTypeOf(freeEffectTypes).returns.toEqualTypeOf<EffectProtocol[]>();
  });
});
