/** Every function of the package that takes an options object rejects keys it does not know. */
import { Layer } from "@saikei/layer";
import { random } from "@saikei/named";
import { field, UnknownOptionError } from "@saikei/struct";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  CollectingSideOutputs,
  handleLocalStates,
  hoistConstantSideInputs,
  hoistSharedStateRequests,
  InitialLocalStateRequest,
  inferOrCheckHandlerId,
  type LocalStateEffect,
  LocalStateHandlingError,
  SideInputRequest,
  SideOutputHandlingError,
  TellIntermediate,
  WithConstantSideInputs,
  WithFrozenRandomState,
  WithFunctionalLocalState,
  WithRandomKeyFromArg,
  WithSideInputsFromInputTuple,
  WithStatefulRandomKey,
} from "../src/index.js";
import { AddSideInput, Chain } from "./helpers.js";

class Counter extends Layer.define({ count: field<LocalStateEffect<number>>() }) {
  call(x: number): number {
    const c = this.count.get();
    this.count.set(c + 1);
    return x + c;
  }
}

const counter = (init: () => number) =>
  new Counter({
    count: new InitialLocalStateRequest({ stateInitializer: init, category: "count" }),
  });
const body = new Chain({
  sublayers: [
    new AddSideInput({ value: new SideInputRequest({ tag: "offset" }) }),
    counter(() => 5),
  ],
});

/** [function, allowed keys, call with one unknown key added]. */
const table: [string, string[], (bad: Record<string, unknown>) => unknown][] = [
  [
    "inferOrCheckHandlerId",
    ["explicitId", "minHashLength"],
    (bad) => inferOrCheckHandlerId("X", body, bad),
  ],
  [
    "handleLocalStates",
    ["category", "categoryPredicate", "lazy", "stateSharing", "handlerId"],
    (bad) => handleLocalStates(body, { category: "count", ...bad }),
  ],
  [
    "handleLocalStates (options after a category)",
    ["lazy", "stateSharing", "handlerId"],
    (bad) => handleLocalStates(body, "count", bad),
  ],
  ["hoistSharedStateRequests", ["unsafe"], (bad) => hoistSharedStateRequests(body, bad)],
  [
    "WithSideInputsFromInputTuple.handling",
    ["handlerId"],
    (bad) => WithSideInputsFromInputTuple.handling(body, ["offset"], bad),
  ],
  [
    "WithConstantSideInputs.handling",
    ["handlerId", "keepUnused"],
    (bad) => WithConstantSideInputs.handling(body, { offset: 1 }, bad),
  ],
  [
    "hoistConstantSideInputs",
    ["hoistPredicate", "scoped"],
    (bad) => hoistConstantSideInputs(body, bad),
  ],
  [
    "WithRandomKeyFromArg.handling",
    ["holePredicate", "handlerId"],
    (bad) => WithRandomKeyFromArg.handling(body, bad),
  ],
  [
    "WithStatefulRandomKey.handling",
    ["holePredicate", "handlerId", "stateCategory"],
    (bad) => WithStatefulRandomKey.handling(body, random.key(0), bad),
  ],
  [
    "WithFrozenRandomState.handling",
    ["holePredicate", "handlerId", "startingOffset"],
    (bad) => WithFrozenRandomState.handling(body, random.key(0), bad),
  ],
  [
    "CollectingSideOutputs.handling",
    ["tag", "tagPredicate", "handlerId"],
    (bad) => CollectingSideOutputs.handling(body, { tag: "x", ...bad }),
  ],
  [
    "CollectingSideOutputs.handling (options after a tag)",
    ["handlerId"],
    (bad) => CollectingSideOutputs.handling(body, "x", bad),
  ],
];

describe("an unknown option is an UnknownOptionError naming the allowed keys", () => {
  for (const [where, allowed, call] of table) {
    it(where, () => {
      let caught: unknown;
      try {
        call({ handlerID: "typo" });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(UnknownOptionError);
      const message = (caught as Error).message;
      expect(message).toContain(`${where}: unknown option "handlerID"`);
      expect(message).toContain(`Allowed options: ${allowed.join(", ")}.`);
    });
  }
});

describe("handleLocalStates accepts penzai's call shape (body, category, options)", () => {
  it("lazy and handlerId after a positional category are used", () => {
    const [handled, init] = handleLocalStates(body, "count", { lazy: true, handlerId: "states" });
    expectTypeOf(init).toEqualTypeOf<() => Record<string, unknown>>();
    expect(typeof init).toBe("function");
    expect(handled).toBeInstanceOf(WithFunctionalLocalState);
    expect(handled.handlerId).toBe("states");
    expect(init()).toEqual({ "Chain.sublayers[1]/Counter.count": 5 });
  });

  it("gives the same handler and states as the options-only shape", () => {
    const [a, sa] = handleLocalStates(body, "count", { handlerId: "h", stateSharing: "allowed" });
    const [b, sb] = handleLocalStates(body, {
      category: "count",
      handlerId: "h",
      stateSharing: "allowed",
    });
    expect(a.equals(b)).toBe(true);
    expect(sa).toEqual(sb);
    expectTypeOf(sa).toEqualTypeOf<Record<string, unknown>>();
  });

  it("a category given both ways, or two options objects, is a LocalStateHandlingError", () => {
    expect(() => handleLocalStates(body, "count", { category: "count" } as never)).toThrow(
      LocalStateHandlingError,
    );
    expect(() =>
      handleLocalStates(body, "count", { categoryPredicate: () => true } as never),
    ).toThrow(/category 'count' as its second argument and `categoryPredicate`/);
    expect(() => handleLocalStates(body, { category: "count" }, { lazy: true } as never)).toThrow(
      /options object as its second argument and another one as its third/,
    );
  });

  it("a third argument that is not an object is an UnknownOptionError", () => {
    expect(() => handleLocalStates(body, "count", true as never)).toThrow(UnknownOptionError);
  });
});

describe("CollectingSideOutputs.handling accepts (body, tag, { handlerId })", () => {
  it("uses the handler id after a tag", () => {
    const probed = new Chain({ sublayers: [TellIntermediate.fromConfig("x")] });
    const collector = CollectingSideOutputs.handling(probed, "x", { handlerId: "probes" });
    expect(collector.handlerId).toBe("probes");
    const [out, told] = collector.call(3);
    expect(out).toBe(3);
    expect(told.map((v) => v.value)).toEqual([3]);
  });

  it("a tag given both ways, or two options objects, is a SideOutputHandlingError", () => {
    expect(() => CollectingSideOutputs.handling(body, "x", { tag: "y" } as never)).toThrow(
      SideOutputHandlingError,
    );
    expect(() =>
      CollectingSideOutputs.handling(body, { tag: "x" } as never, { handlerId: "h" }),
    ).toThrow(/options object as its second argument and another one as its third/);
  });
});
