import { Layer } from "@saikei/layer";
import { StructureMismatchError } from "@saikei/shapecheck";
import { field, tree } from "@saikei/struct";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  embedSharedStateRequests,
  FrozenLocalStateRequest,
  freeEffectTypes,
  freezeLocalStates,
  HandledLocalStateRef,
  handleLocalStates,
  hoistSharedStateRequests,
  InitialLocalStateRequest,
  LocalStateEffect,
  LocalStateEffectImpl,
  LocalStateHandlingError,
  SharedLocalStateRequest,
  UnhandledEffectError,
  WithFunctionalLocalState,
} from "../src/index.js";
import { Chain } from "./helpers.js";

/** Adds its count to the input, then increments the count. */
class Counter extends Layer.define({ count: field<LocalStateEffect<number>>() }) {
  call(x: number): number {
    const c = this.count.get();
    this.count.set(c + 1);
    return x + c;
  }
}

const zero = () => 0;
const counter = (name?: string, category = "count", init: () => number = zero) =>
  new Counter({ count: new InitialLocalStateRequest({ stateInitializer: init, category, name }) });

describe("InitialLocalStateRequest", () => {
  it("is childless, fails when used unhandled, and freezes to its initial value", () => {
    const request = new InitialLocalStateRequest({ stateInitializer: () => 7, category: "c" });
    expect(tree.leaves(request)).toEqual([]);
    expect(request.name).toBeUndefined();
    expect(() => request.get()).toThrow(UnhandledEffectError);
    expect(() => counter().call(1)).toThrow(/handleLocalStates\(model, \{ category: 'count' \}\)/);
    const frozen = request.asFrozen();
    expect(frozen).toBeInstanceOf(FrozenLocalStateRequest);
    expect(frozen.get()).toBe(7);
    expect(request.treescopeColor()).toBe("#f58566");
  });

  it("renames only explicitly named requests", () => {
    const named = new InitialLocalStateRequest({
      stateInitializer: zero,
      category: "c",
      name: "a",
    });
    expect(named.withRenamedParameters((n) => `p.${n}`).name).toBe("p.a");
    const unnamed = new InitialLocalStateRequest({ stateInitializer: zero, category: "c" });
    expect(unnamed.withRenamedParameters((n) => `p.${n}`)).toBe(unnamed);
  });
});

describe("FrozenLocalStateRequest and SharedLocalStateRequest", () => {
  it("a frozen state reads without a handler but cannot be set", () => {
    const layer = new Counter({
      count: new FrozenLocalStateRequest({ state: 4, category: "count" }),
    });
    expect(layer.count.get()).toBe(4);
    expect(() => layer.call(1)).toThrow(/'set' of LocalStateEffect/);
    expect(tree.leaves(layer)).toEqual([4]);
  });

  it("a shared request is unusable unhandled", () => {
    const shared = new SharedLocalStateRequest({ name: "s", category: "count" });
    expect(() => shared.get()).toThrow(/stateSharing: "allowed"/);
  });
});

describe("handleLocalStates and WithFunctionalLocalState", () => {
  it("threads states through calls and names unnamed states by key path", () => {
    const model = new Chain({ sublayers: [counter(), counter("named")] });
    const [handled, states] = handleLocalStates(model, "count");
    expect(handled).toBeInstanceOf(WithFunctionalLocalState);
    expect(states).toEqual({ "Chain.sublayers[0]/Counter.count": 0, named: 0 });
    expect(handled.stateNames()).toEqual(["Chain.sublayers[0]/Counter.count", "named"]);
    const [out1, s1] = handled.call([10, states]);
    expect(out1).toBe(10);
    expect(s1).toEqual({ "Chain.sublayers[0]/Counter.count": 1, named: 1 });
    const [out2, s2] = handled.call([10, s1]);
    expect(out2).toBe(12);
    expect(s2).toEqual({ "Chain.sublayers[0]/Counter.count": 2, named: 2 });
    expect(freeEffectTypes(handled)).toEqual([]);
    const body = handled.body as Chain;
    expect((body.sublayers[1] as Counter).count).toEqual(
      new HandledLocalStateRef({
        handlerId: handled.handlerId,
        category: "count",
        name: "named",
        wasExplicitlyNamed: true,
      }),
    );
  });

  it("handles only the chosen category, or those matching a predicate", () => {
    const model = new Chain({ sublayers: [counter(undefined, "a"), counter(undefined, "b")] });
    const [onlyA, statesA] = handleLocalStates(model, { category: "a" });
    expect(Object.keys(statesA)).toEqual(["Chain.sublayers[0]/Counter.count"]);
    expect(freeEffectTypes(onlyA)).toEqual([LocalStateEffect]);
    const [both, statesBoth] = handleLocalStates(model, {
      categoryPredicate: (c) => c === "a" || c === "b",
    });
    expect(Object.keys(statesBoth)).toHaveLength(2);
    expect(both.call([0, statesBoth])[1]).toEqual({
      "Chain.sublayers[0]/Counter.count": 1,
      "Chain.sublayers[1]/Counter.count": 1,
    });
    expect(() =>
      handleLocalStates(model, { category: "a", categoryPredicate: () => true }),
    ).toThrow(/Only one of `category` and `categoryPredicate`/);
    // no category: every local state (a documented extension of penzai)
    expect(Object.keys(handleLocalStates(model)[1])).toHaveLength(2);
  });

  it("computes initial states lazily when asked", () => {
    let calls = 0;
    const init = () => {
      calls += 1;
      return 5;
    };
    const [, thunk] = handleLocalStates(counter("x", "count", init), { lazy: true });
    expect(calls).toBe(0);
    expect(thunk()).toEqual({ x: 5 });
    expect(calls).toBe(1);
  });

  it("forbidden sharing rejects repeated names and shared requests", () => {
    const model = new Chain({ sublayers: [counter("s"), counter("s")] });
    expect(() => handleLocalStates(model, "count")).toThrow(LocalStateHandlingError);
    expect(() => handleLocalStates(model, "count")).toThrow(/same explicit name 's'.*'forbidden'/s);
    const withShared = new Chain({
      sublayers: [
        counter("s"),
        new Counter({ count: new SharedLocalStateRequest({ name: "s", category: "count" }) }),
      ],
    });
    expect(() => handleLocalStates(withShared, "count")).toThrow(
      /SharedLocalStateRequest for state variable s/,
    );
  });

  it("allowed sharing shares one cell between uses of a name with the same initializer", () => {
    const model = new Chain({
      sublayers: [
        counter("s"),
        counter("s"),
        new Counter({ count: new SharedLocalStateRequest({ name: "s", category: "count" }) }),
      ],
    });
    const [handled, states] = handleLocalStates(model, {
      category: "count",
      stateSharing: "allowed",
    });
    expect(states).toEqual({ s: 0 });
    // 0 + 0, then + 1, then + 2: every layer sees the shared counter
    expect(handled.call([0, states])).toEqual([3, { s: 3 }]);
    const different = new Chain({ sublayers: [counter("s"), counter("s", "count", () => 0)] });
    expect(() =>
      handleLocalStates(different, { category: "count", stateSharing: "allowed" }),
    ).toThrow(/different initializers/);
    const sharedFirst = new Chain({
      sublayers: [
        new Counter({ count: new SharedLocalStateRequest({ name: "s", category: "count" }) }),
        counter("s"),
      ],
    });
    expect(() =>
      handleLocalStates(sharedFirst, { category: "count", stateSharing: "allowed" }),
    ).toThrow(/before seeing a corresponding value/);
  });

  it("unsafe sharing lets the last definition win", () => {
    const model = new Chain({
      sublayers: [counter("s", "count", () => 1), counter("s", "count", () => 10)],
    });
    const [handled, states] = handleLocalStates(model, {
      category: "count",
      stateSharing: "unsafe",
    });
    expect(states).toEqual({ s: 10 });
    expect(handled.call([0, states])).toEqual([21, { s: 12 }]);
    expect(() => handleLocalStates(model, { stateSharing: "bogus" as never })).toThrow(
      /Bad state sharing setting/,
    );
  });

  it("rejects a states object with the wrong names, naming the expected structure", () => {
    const [handled] = handleLocalStates(counter("x"), "count");
    expect(() => handled.call([0, { y: 1 }] as never)).toThrow(StructureMismatchError);
    expect(() => handled.call([0, { y: 1 }] as never)).toThrow(/old state 0: x/);
    expect(() => handled.call(3 as never)).toThrow(StructureMismatchError);
  });

  it("nests handlers of different categories", () => {
    const [inner, innerStates] = handleLocalStates(
      new Chain({ sublayers: [counter("a", "inner")] }),
      "inner",
    );
    const outerBody = new Chain({
      sublayers: [counter("b", "outer"), (x: number) => inner.call([x, innerStates])[0]],
    });
    const [outer, outerStates] = handleLocalStates(outerBody, "outer");
    expect(outer.call([5, outerStates])).toEqual([5, { b: 1 }]);
    class CountFirst extends Layer.define({ count: field<LocalStateEffect<number>>() }) {
      call([y, rest]: [number, unknown]): [number, unknown] {
        const c = this.count.get();
        this.count.set(c + 1);
        return [y + c, rest];
      }
    }
    const countFirst = new CountFirst({
      count: new InitialLocalStateRequest({ stateInitializer: zero, category: "outer", name: "b" }),
    });
    const [wrapped, states] = handleLocalStates(
      new Chain({ sublayers: [inner, countFirst] }),
      "outer",
    );
    expect(wrapped.call([[5, innerStates], states])).toEqual([[5, { a: 1 }], { b: 1 }]);
  });

  it("reports a reference separated from its handler", () => {
    const [handled] = handleLocalStates(counter("x"), "count");
    expect(() => (handled.body as Counter).call(1)).toThrow(/unbound effect reference/);
  });
});

describe("freezeLocalStates", () => {
  it("round-trips: handle(freeze(handled, states)) gives the same handler and states", () => {
    const model = new Chain({
      sublayers: [
        counter(),
        counter("s"),
        new Counter({ count: new SharedLocalStateRequest({ name: "s", category: "count" }) }),
      ],
    });
    const [handled, states] = handleLocalStates(model, {
      category: "count",
      stateSharing: "allowed",
    });
    const [, next] = handled.call([0, states]);
    const frozen = freezeLocalStates(handled, next) as Chain;
    expect((frozen.sublayers[0] as Counter).count).toEqual(
      new FrozenLocalStateRequest({ state: 1, category: "count" }),
    );
    expect((frozen.sublayers[1] as Counter).count).toEqual(
      new FrozenLocalStateRequest({ state: 2, category: "count", name: "s" }),
    );
    expect((frozen.sublayers[2] as Counter).count).toEqual(
      new SharedLocalStateRequest({ name: "s", category: "count" }),
    );
    const [again, againStates] = handleLocalStates(frozen, {
      category: "count",
      stateSharing: "allowed",
      handlerId: handled.handlerId,
    });
    expect(again.equals(handled)).toBe(true);
    expect(againStates).toEqual(next);
  });

  it("property: freezing any reachable states and handling again restores them", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom("p", "q", "r"), { nil: undefined }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 4 }),
        (names, steps) => {
          const unique = names.map((n, i) => (n === undefined ? undefined : `${n}${i}`));
          const model = new Chain({ sublayers: unique.map((n) => counter(n)) });
          const [handled, initial] = handleLocalStates(model, "count");
          let states = initial;
          for (let i = 0; i < steps; i++) states = handled.call([0, states])[1];
          const [again, againStates] = handleLocalStates(freezeLocalStates(handled, states), {
            category: "count",
            handlerId: handled.handlerId,
          });
          expect(again.equals(handled)).toBe(true);
          expect(againStates).toEqual(states);
        },
      ),
    );
  });

  it("needs every state", () => {
    const [handled] = handleLocalStates(counter("x"), "count");
    expect(() => freezeLocalStates(handled, {})).toThrow(/no value for the state 'x'/);
  });
});

describe("hoistSharedStateRequests and embedSharedStateRequests", () => {
  it("replaces repeated names by shared requests and embeds the definitions back", () => {
    const model = new Chain({ sublayers: [counter("s"), counter("s"), counter("solo")] });
    const [hoisted, defs] = hoistSharedStateRequests(model);
    expect([...defs.keys()]).toEqual(["s"]);
    const layers = (hoisted as Chain).sublayers as Counter[];
    expect(layers[0]!.count).toEqual(new SharedLocalStateRequest({ name: "s", category: "count" }));
    expect(layers[1]!.count).toEqual(new SharedLocalStateRequest({ name: "s", category: "count" }));
    expect(layers[2]!.count).toBe((model.sublayers[2] as Counter).count);
    const embedded = embedSharedStateRequests(hoisted, defs) as Chain;
    expect((embedded.sublayers[0] as Counter).count).toBe(defs.get("s"));
    expect((embedded.sublayers[1] as Counter).count).toBeInstanceOf(SharedLocalStateRequest);
    const [handled, states] = handleLocalStates(embedded, {
      category: "count",
      stateSharing: "allowed",
    });
    expect(states).toEqual({ s: 0, solo: 0 });
    expect(handled.call([0, states])).toEqual([1, { s: 2, solo: 1 }]);
  });

  it("rejects different definitions unless unsafe, and mismatched categories", () => {
    const model = new Chain({ sublayers: [counter("s"), counter("s", "count", () => 3)] });
    expect(() => hoistSharedStateRequests(model)).toThrow(/different initializers or values/);
    expect(hoistSharedStateRequests(model, { unsafe: true })[1].size).toBe(1);
    const [hoisted, defs] = hoistSharedStateRequests(
      new Chain({ sublayers: [counter("s"), counter("s")] }),
    );
    const other = new Map([
      ["s", new InitialLocalStateRequest({ stateInitializer: zero, category: "other" })],
    ]);
    expect(defs.size).toBe(1);
    expect(() => embedSharedStateRequests(hoisted, other)).toThrow(/mismatched categories/);
  });
});

describe("LocalStateEffectImpl", () => {
  it("is a mutable cell tagged with its handler", () => {
    const cell = new LocalStateEffectImpl(1, "h");
    cell.set(2);
    expect(cell.get()).toBe(2);
    expect(cell.handlerId()).toBe("h");
    expect(cell.effectProtocol()).toBe(LocalStateEffect);
  });
});

describe("types", () => {
  it("requests and cells satisfy LocalStateEffect<T>, handleLocalStates types its result", () => {
    expectTypeOf(
      new InitialLocalStateRequest<number>({ stateInitializer: zero, category: "c" }),
    ).toMatchTypeOf<LocalStateEffect<number>>();
    expectTypeOf(new LocalStateEffectImpl(1, "h")).toMatchTypeOf<LocalStateEffect<number>>();
    expectTypeOf(handleLocalStates(counter(), "count")).toEqualTypeOf<
      [WithFunctionalLocalState, Record<string, unknown>]
    >();
    expectTypeOf(handleLocalStates(counter(), { lazy: true })[1]).toEqualTypeOf<
      () => Record<string, unknown>
    >();
  });
});
