import { Layer, RandomStream } from "@saikei/layer";
import { type RandomKey, RandomKeyError, random } from "@saikei/named";
import { StructureMismatchError } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  FrozenLocalStateRequest,
  freeEffectTypes,
  HandledRandomRef,
  handleLocalStates,
  RandomEffect,
  RandomEffectImpl,
  RandomRequest,
  TaggedRandomRequest,
  UnhandledEffectError,
  WithFrozenRandomState,
  WithRandomKeyFromArg,
  WithStatefulRandomKey,
} from "../src/index.js";
import { Chain } from "./helpers.js";

/** Returns the words of the keys it draws, appended to its input. */
class Draw extends Layer.define({
  rng: field<RandomEffect>(),
  count: field<number>({ static: true }),
}) {
  call(previous: (readonly [number, number])[]): (readonly [number, number])[] {
    const out = [...previous];
    for (let i = 0; i < this.count; i++) out.push(this.rng.nextKey().words);
    return out;
  }
}

const draw = (count = 1, rng: RandomEffect = new RandomRequest()) => new Draw({ rng, count });
const words = (k: RandomKey) => k.words;

describe("RandomRequest and TaggedRandomRequest", () => {
  it("fail unhandled with the handlers to use", () => {
    expect(() => draw().call([])).toThrow(UnhandledEffectError);
    expect(() => draw().call([])).toThrow(/WithRandomKeyFromArg\.handling\(model\)/);
    expect(new RandomRequest().equals(new RandomRequest())).toBe(true);
    expect(new RandomRequest().treescopeColor()).toBe("#df982b");
    expect(() => new TaggedRandomRequest({ tag: "d" }).nextKey()).toThrow(/r\.tag === 'd'/);
  });
});

describe("WithRandomKeyFromArg", () => {
  it("gives keys foldIn(key, 0), foldIn(key, 1), ... in call order across layers", () => {
    const handled = WithRandomKeyFromArg.handling(new Chain({ sublayers: [draw(2), draw(1)] }));
    const key = random.key(42);
    const out = handled.call([[], key]);
    expect(out).toEqual([0, 1, 2].map((i) => words(random.foldIn(key, i))));
    // same key, same keys; another key, other keys
    expect(handled.call([[], key])).toEqual(out);
    expect(handled.call([[], random.key(43)])).not.toEqual(out);
  });

  it("handles untagged requests by default and tagged ones through holePredicate", () => {
    const model = new Chain({
      sublayers: [draw(1), draw(1, new TaggedRandomRequest({ tag: "dropout" }))],
    });
    const untagged = WithRandomKeyFromArg.handling(model);
    expect(freeEffectTypes(untagged)).toEqual([RandomEffect]);
    const all = WithRandomKeyFromArg.handling(model, { holePredicate: () => true });
    expect(freeEffectTypes(all)).toEqual([]);
    expect(all.call([[], random.key(0)])).toHaveLength(2);
    const onlyTagged = WithRandomKeyFromArg.handling(model, {
      holePredicate: (r) => r instanceof TaggedRandomRequest && r.tag === "dropout",
    });
    expect(((onlyTagged.body as Chain).sublayers[1] as Draw).rng).toEqual(
      new HandledRandomRef({ handlerId: onlyTagged.handlerId }),
    );
    expect(((onlyTagged.body as Chain).sublayers[0] as Draw).rng).toBeInstanceOf(RandomRequest);
  });

  it("rejects a wrong argument", () => {
    const handled = WithRandomKeyFromArg.handling(draw());
    expect(() => handled.call([[], 3] as never)).toThrow(RandomKeyError);
    expect(() => handled.call([[], 3] as never)).toThrow(
      /expects a RandomKey, but got 3.*random\.key\(seed\)/s,
    );
    expect(() => handled.call([[]] as never)).toThrow(StructureMismatchError);
  });

  it("expires its stream when the call ends, so escaped implementations stop working", () => {
    let escaped: RandomEffect | undefined;
    class Leak extends Layer.define({ rng: field<RandomEffect>() }) {
      call(x: unknown) {
        escaped = this.rng;
        return x;
      }
    }
    WithRandomKeyFromArg.handling(new Leak({ rng: new RandomRequest() })).call([1, random.key(0)]);
    expect(escaped).toBeInstanceOf(RandomEffectImpl);
    expect(() => escaped!.nextKey()).toThrow(/has expired/);
  });
});

describe("WithStatefulRandomKey", () => {
  it("splits its stored key on every call, through handleLocalStates", () => {
    const key = random.key(7);
    const stateful = WithStatefulRandomKey.handling(draw(1), key);
    expect(stateful.randomState).toEqual(
      new FrozenLocalStateRequest({ state: key, category: "random" }),
    );
    const [handled, states] = handleLocalStates(stateful, "random");
    expect(Object.keys(states)).toEqual(["WithStatefulRandomKey.randomState"]);
    const [out1, s1] = handled.call([[], states]);
    const [bodyKey, nextKey] = random.split(key, 2);
    expect(out1).toEqual([words(random.foldIn(bodyKey!, 0))]);
    expect((s1["WithStatefulRandomKey.randomState"] as RandomKey).equals(nextKey)).toBe(true);
    const [out2] = handled.call([[], s1]);
    expect(out2).not.toEqual(out1);
    expect(out2).toEqual([words(random.foldIn(random.split(nextKey!, 2)[0]!, 0))]);
  });

  it("uses its frozen key when not handled as state, and checks the initial key", () => {
    const stateful = WithStatefulRandomKey.handling(draw(1), random.key(1));
    expect(() => stateful.call([])).toThrow(/'set' of LocalStateEffect/);
    expect(() => WithStatefulRandomKey.handling(draw(), 5 as never)).toThrow(RandomKeyError);
    expect(
      WithStatefulRandomKey.handling(draw(), random.key(1), { stateCategory: "rng" }).randomState,
    ).toEqual(new FrozenLocalStateRequest({ state: random.key(1), category: "rng" }));
  });
});

describe("WithFrozenRandomState", () => {
  it("gives the same keys on every call, from its starting offset", () => {
    const key = random.key(3);
    const frozen = WithFrozenRandomState.handling(draw(2), key, { startingOffset: 10 });
    const expected = [10, 11].map((i) => words(random.foldIn(key, i)));
    expect(frozen.call([])).toEqual(expected);
    expect(frozen.call([])).toEqual(expected);
    expect(WithFrozenRandomState.handling(draw(1), key).call([])).toEqual([
      words(random.foldIn(key, 0)),
    ]);
    expect(() => WithFrozenRandomState.handling(draw(), key, { startingOffset: -1 })).toThrow(
      /startingOffset/,
    );
    expect(() => WithFrozenRandomState.handling(draw(), "k" as never)).toThrow(RandomKeyError);
  });

  it("gives bitwise-known keys for a fixed seed (the same in Node and browsers)", () => {
    const frozen = WithFrozenRandomState.handling(draw(1), random.key(0));
    expect(frozen.call([])).toEqual([words(random.foldIn(random.key(0), 0))]);
    expect(
      frozen.call([])[0]!.every((w: number) => Number.isInteger(w) && w >= 0 && w < 2 ** 32),
    ).toBe(true);
  });
});

describe("RandomEffectImpl", () => {
  it("draws from its stream", () => {
    const key = random.key(9);
    const out = RandomStream.run(key, (stream) => {
      const impl = new RandomEffectImpl(stream, "h");
      expect(impl.handlerId()).toBe("h");
      expect(impl.effectProtocol()).toBe(RandomEffect);
      return [impl.nextKey(), impl.nextKey()];
    });
    expect(out.map(words)).toEqual([0, 1].map((i) => words(random.foldIn(key, i))));
  });
});

describe("types", () => {
  it("requests and implementations are RandomEffects returning RandomKeys", () => {
    expectTypeOf(new RandomRequest()).toMatchTypeOf<RandomEffect>();
    expectTypeOf(new TaggedRandomRequest({ tag: "x" })).toMatchTypeOf<RandomEffect>();
    expectTypeOf<RandomEffect["nextKey"]>().returns.toEqualTypeOf<RandomKey>();
  });
});
