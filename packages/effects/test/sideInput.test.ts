import { StructureMismatchError } from "@saikei/shapecheck";
import { GetAttrKey, keystr, SequenceKey, tree } from "@saikei/struct";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  allHandlerIds,
  brokenHandlerRefs,
  freeEffectTypes,
  HandledSideInputRef,
  HoistedTag,
  hoistConstantSideInputs,
  SideInputEffect,
  SideInputEffectImpl,
  SideInputHandlingError,
  SideInputRequest,
  UnhandledEffectError,
  WithConstantSideInputs,
  WithSideInputsFromInputTuple,
} from "../src/index.js";
import { AddSideInput, Chain, MulSideInput } from "./helpers.js";

const add = (tag: string) => new AddSideInput({ value: new SideInputRequest({ tag }) });
const mul = (tag: string) => new MulSideInput({ value: new SideInputRequest({ tag }) });

describe("SideInputRequest", () => {
  it("throws UnhandledEffectError naming the tag and the handlers to use when asked", () => {
    const layer = add("mask");
    expect(() => layer.call(1)).toThrow(UnhandledEffectError);
    expect(() => layer.call(1)).toThrow(/'ask' of SideInputEffect.*tag='mask'/s);
    expect(() => layer.call(1)).toThrow(
      /WithSideInputsFromInputTuple\.handling\(model, \['mask'\]\)/,
    );
  });

  it("is childless with a static tag and reports its effect and colour", () => {
    const request = new SideInputRequest({ tag: "mask" });
    expect(tree.leaves(request)).toEqual([]);
    expect(request.effectProtocol()).toBe(SideInputEffect);
    expect(request.treescopeColor()).toBe("#5eb3e5");
    expect(request.equals(new SideInputRequest({ tag: "mask" }))).toBe(true);
    expect(request.equals(new SideInputRequest({ tag: "other" }))).toBe(false);
  });
});

describe("WithSideInputsFromInputTuple", () => {
  it("supplies side inputs from the argument array in tag order", () => {
    const model = new Chain({ sublayers: [add("a"), mul("b"), add("a")] });
    const handled = WithSideInputsFromInputTuple.handling(model, ["a", "b"]);
    expect(handled.call([1, 10, 3])).toBe((1 + 10) * 3 + 10);
    expect(handled.call([0, 1, 2])).toBe(3);
  });

  it("replaces only requests whose tags it handles and keeps unused tags", () => {
    const model = new Chain({ sublayers: [add("a"), mul("b")] });
    const handled = WithSideInputsFromInputTuple.handling(model, ["a", "unused"]);
    expect(handled.sideInputTags).toEqual(["a", "unused"]);
    const body = handled.body as Chain;
    expect((body.sublayers[0] as AddSideInput).value).toBeInstanceOf(HandledSideInputRef);
    expect((body.sublayers[1] as MulSideInput).value).toBeInstanceOf(SideInputRequest);
    expect(freeEffectTypes(handled)).toEqual([SideInputEffect]);
    // the unhandled request still fails, and the handler's call locates the layer holding it
    expect(() => handled.call([1, 2, 3])).toThrow(/tag='b'/);
    // (vitest's esbuild transform without keepNames renames decorated classes to _Name)
    expect(() => handled.call([1, 2, 3])).toThrow(
      /held by a layer of type MulSideInput, at _?WithSideInputsFromInputTuple\.body\/Chain\.sublayers\[1\]\/MulSideInput\.value/,
    );
    try {
      handled.call([1, 2, 3]);
    } catch (error) {
      expect((error as UnhandledEffectError).layerType).toBe("MulSideInput");
      expect((error as UnhandledEffectError).method).toBe("ask");
    }
  });

  it("leaves subtrees without requests untouched (===)", () => {
    const untouched = new Chain({ sublayers: [(x: number) => x] });
    const model = new Chain({ sublayers: [untouched, add("a")] });
    const handled = WithSideInputsFromInputTuple.handling(model, ["a"]);
    expect((handled.body as Chain).sublayers[0]).toBe(untouched);
  });

  it("refuses a string of tags and shows the fix", () => {
    expect(() => WithSideInputsFromInputTuple.handling(add("a"), "a" as never)).toThrow(
      SideInputHandlingError,
    );
    expect(() => WithSideInputsFromInputTuple.handling(add("a"), "a" as never)).toThrow(
      /handling\(body, \["a"\]\)/,
    );
  });

  it("rejects an argument array of the wrong length, naming the handler and the tags", () => {
    const handled = WithSideInputsFromInputTuple.handling(add("a"), ["a", "b"]);
    expect(() => handled.call([1, 2] as never)).toThrow(StructureMismatchError);
    expect(() => handled.call([1, 2] as never)).toThrow(/WithSideInputsFromInputTuple/);
    expect(() => handled.call(5 as never)).toThrow(StructureMismatchError);
  });

  it("nests: inner and outer handlers of the same kind get distinct ids", () => {
    const inner = WithSideInputsFromInputTuple.handling(new Chain({ sublayers: [add("a")] }), [
      "a",
    ]);
    const model = new Chain({
      sublayers: [(pair: [number, number]) => inner.call(pair), mul("b")],
    });
    const outer = WithSideInputsFromInputTuple.handling(model, ["b"]);
    expect(outer.handlerId).not.toBe(inner.handlerId);
    expect(outer.call([[1, 2], 10])).toBe(30);

    const nested = WithSideInputsFromInputTuple.handling(
      new Chain({ sublayers: [inner, mul("b")] }),
      ["b"],
    );
    expect(allHandlerIds(nested)).toEqual([nested.handlerId, inner.handlerId]);
    expect(nested.call([[1, 2], 10])).toBe(30);
    expect(brokenHandlerRefs(nested)).toEqual([]);
  });

  it("infers deterministic ids from the body structure", () => {
    const a = WithSideInputsFromInputTuple.handling(add("a"), ["a"]);
    const b = WithSideInputsFromInputTuple.handling(add("a"), ["a"]);
    const c = WithSideInputsFromInputTuple.handling(add("z"), ["z"]);
    expect(a.handlerId).toBe(b.handlerId);
    expect(a.handlerId).toMatch(/^WithSideInputsFromInputTuple_[0-9a-f]{5}$/);
    expect(c.handlerId).not.toBe(a.handlerId);
    expect(
      WithSideInputsFromInputTuple.handling(add("a"), ["a"], { handlerId: "mine" }).handlerId,
    ).toBe("mine");
  });

  it("does not rebuild parts of the body without references on each call", () => {
    const shared = new Chain({ sublayers: [(x: number) => x + 1] });
    const seen: unknown[] = [];
    const spy = new Chain({
      sublayers: [
        shared,
        add("a"),
        (x: number) => {
          seen.push(x);
          return x;
        },
      ],
    });
    const handled = WithSideInputsFromInputTuple.handling(spy, ["a"]);
    expect(handled.call([1, 5])).toBe(7);
    expect(handled.call([2, 5])).toBe(8);
    expect(seen).toEqual([7, 8]);
    expect(handled.handledRefs().map((r) => keystr(r.path))).toEqual([".sublayers[1].value"]);
    expect(handled.handledRefs()[0]!.path).toEqual([
      new GetAttrKey("sublayers"),
      new SequenceKey(1),
      new GetAttrKey("value"),
    ]);
  });

  it("property: handled side inputs give the same output as values passed explicitly", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom("a", "b", "c")), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: -50, max: 50 }),
        fc.record({
          a: fc.integer({ min: -9, max: 9 }),
          b: fc.integer({ min: -9, max: 9 }),
          c: fc.integer({ min: -9, max: 9 }),
        }),
        (spec, input, values) => {
          const model = new Chain({
            sublayers: spec.map(([isAdd, tag]) => (isAdd ? add(tag) : mul(tag))),
          });
          let expected = input;
          for (const [isAdd, tag] of spec) {
            expected = isAdd ? expected + values[tag] : expected * values[tag];
          }
          const tuple = WithSideInputsFromInputTuple.handling(model, ["a", "b", "c"]);
          expect(tuple.call([input, values.a, values.b, values.c])).toBe(expected);
          const constant = WithConstantSideInputs.handling(model, values);
          expect(constant.call(input)).toBe(expected);
        },
      ),
    );
  });
});

describe("HandledSideInputRef", () => {
  it("throws when separated from its handler, naming its handler id and the way back", () => {
    const handled = WithSideInputsFromInputTuple.handling(add("a"), ["a"], { handlerId: "h1" });
    const separated = handled.body as AddSideInput;
    expect(() => separated.call(1)).toThrow(UnhandledEffectError);
    expect(() => separated.call(1)).toThrow(/unbound effect reference.*handler with id 'h1'/s);
    expect(brokenHandlerRefs(separated)).toEqual([
      new HandledSideInputRef({ handlerId: "h1", tag: "a" }),
    ]);
    expect(brokenHandlerRefs(handled)).toEqual([]);
  });
});

describe("SideInputEffectImpl", () => {
  it("returns its value and handler id", () => {
    const impl = new SideInputEffectImpl(42, "h");
    expect(impl.ask()).toBe(42);
    expect(impl.handlerId()).toBe("h");
    expect(impl.effectProtocol()).toBe(SideInputEffect);
    expect(tree.leaves({ impl })).toEqual([impl]);
  });
});

describe("WithConstantSideInputs", () => {
  it("supplies stored values and keeps only requested tags unless keepUnused", () => {
    const model = new Chain({ sublayers: [add("a"), mul("b")] });
    const handled = WithConstantSideInputs.handling(model, { a: 2, b: 3, c: 4 });
    expect(handled.sideInputs).toEqual({ a: 2, b: 3 });
    expect(handled.call(1)).toBe(9);
    expect(handled.call(1)).toBe(9);
    expect(
      WithConstantSideInputs.handling(model, { a: 2, b: 3, c: 4 }, { keepUnused: true }).sideInputs,
    ).toEqual({
      a: 2,
      b: 3,
      c: 4,
    });
    // values are children, visible to tree operations
    expect(tree.leaves(handled)).toEqual([2, 3]);
  });

  it("accepts a Map for non-string tags", () => {
    const tag = new HoistedTag({ source: "x", tag: "a" });
    const layer = new AddSideInput({ value: new SideInputRequest({ tag }) });
    const handled = WithConstantSideInputs.handling(
      layer,
      new Map([[new HoistedTag({ source: "x", tag: "a" }), 5]]),
    );
    expect(handled.call(1)).toBe(6);
  });
});

describe("hoistConstantSideInputs", () => {
  it("moves values out with scoped tags and round-trips through WithConstantSideInputs.handling", () => {
    const inner = WithConstantSideInputs.handling(new Chain({ sublayers: [mul("m")] }), { m: 3 });
    const model = WithConstantSideInputs.handling(new Chain({ sublayers: [add("a"), inner] }), {
      a: 2,
    });
    expect(model.call(1)).toBe(9);
    const [bare, hoisted] = hoistConstantSideInputs(model);
    expect([...hoisted.entries()]).toEqual([
      [new HoistedTag({ source: "", tag: "a" }), 2],
      [new HoistedTag({ source: "WithConstantSideInputs.body/Chain.sublayers[1]", tag: "m" }), 3],
    ]);
    expect(bare).toBeInstanceOf(Chain);
    expect(freeEffectTypes(bare)).toEqual([SideInputEffect]);
    expect(() => (bare as Chain).call(1)).toThrow(UnhandledEffectError);
    expect(WithConstantSideInputs.handling(bare as Chain, hoisted).call(1)).toBe(9);
  });

  it("keeps entries rejected by the predicate and the handlers that still hold some", () => {
    const model = WithConstantSideInputs.handling(new Chain({ sublayers: [add("a"), mul("b")] }), {
      a: 2,
      b: 5,
    });
    const [partly, hoisted] = hoistConstantSideInputs(model, {
      hoistPredicate: (tag) => tag === "b",
      scoped: false,
    });
    expect([...hoisted.entries()]).toEqual([["b", 5]]);
    expect(partly).toBeInstanceOf(WithConstantSideInputs);
    expect((partly as WithConstantSideInputs).sideInputs).toEqual({ a: 2 });
    expect(WithConstantSideInputs.handling(partly as WithConstantSideInputs, hoisted).call(1)).toBe(
      15,
    );
  });

  it("property: hoisting and handling the hoisted values again keeps the output", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.boolean(), fc.constantFrom("a", "b"), fc.integer({ min: 0, max: 2 })),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        fc.integer({ min: -20, max: 20 }),
        fc.boolean(),
        (spec, input, scoped) => {
          // each layer sits in its own handler (so unscoped tags could clash) or in the shared outer one
          const sublayers = spec.map(([isAdd, tag, own], i) => {
            const layer = isAdd ? add(tag) : mul(tag);
            return own === 0 ? WithConstantSideInputs.handling(layer, { [tag]: i + 2 }) : layer;
          });
          const model = WithConstantSideInputs.handling(new Chain({ sublayers }), { a: 3, b: -1 });
          const expected = model.call(input);
          let hoisted: ReturnType<typeof hoistConstantSideInputs>;
          try {
            hoisted = hoistConstantSideInputs(model, { scoped });
          } catch (error) {
            expect(scoped).toBe(false);
            expect(error).toBeInstanceOf(SideInputHandlingError);
            return;
          }
          const [bare, values] = hoisted;
          expect(WithConstantSideInputs.handling(bare as Chain, values).call(input)).toBe(expected);
        },
      ),
    );
  });

  it("reports tag conflicts and clashes with unhandled requests", () => {
    const h1 = WithConstantSideInputs.handling(add("t"), { t: 1 });
    const h2 = WithConstantSideInputs.handling(mul("t"), { t: 2 });
    const model = new Chain({ sublayers: [h1, h2] });
    expect(() => hoistConstantSideInputs(model, { scoped: false })).toThrow(
      /Tag conflict while hoisting tag 't'/,
    );
    expect(hoistConstantSideInputs(model)[1].size).toBe(2);
    const clash = new Chain({ sublayers: [h1, add("t")] });
    expect(() => hoistConstantSideInputs(clash, { scoped: false })).toThrow(
      /already used by an unhandled SideInputRequest/,
    );
  });
});

describe("types", () => {
  it("requests, references and implementations all satisfy SideInputEffect<T>", () => {
    expectTypeOf(new SideInputRequest<number>({ tag: "a" })).toMatchTypeOf<
      SideInputEffect<number>
    >();
    expectTypeOf(new HandledSideInputRef<number>({ handlerId: "h", tag: "a" })).toMatchTypeOf<
      SideInputEffect<number>
    >();
    expectTypeOf(new SideInputEffectImpl(1, "h").ask()).toEqualTypeOf<number>();
    expectTypeOf(
      WithSideInputsFromInputTuple.handling,
    ).returns.toEqualTypeOf<WithSideInputsFromInputTuple>();
  });
});
