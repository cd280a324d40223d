import {
  DictKey,
  FlattenedIndexKey,
  keystr,
  registerPytreeNode,
  SequenceKey,
} from "@saikei/struct";
import { describe, expect, it } from "vitest";
import { LeafHandle, SelectionAccessorError, select } from "../src/index.js";
import { Bar, Foo } from "./helpers.js";

/** A registered node whose children have no property names (flat-index keys). */
class Pair {
  constructor(
    readonly left: unknown,
    readonly right: unknown,
  ) {}
}
registerPytreeNode(Pair, {
  flattenWithKeys: (p: Pair) => ({
    children: [
      [new FlattenedIndexKey(0), p.left],
      [new FlattenedIndexKey(1), p.right],
    ],
    aux: null,
  }),
  unflatten: (_aux, [l, r]) => new Pair(l, r),
});

const keys = (s: { getKeypaths(): readonly (readonly unknown[])[] }) =>
  s.getKeypaths().map((p) => keystr(p as never));

/** A registered node whose unflatten only accepts numbers. */
class Strict {
  constructor(readonly values: number[]) {}
}
registerPytreeNode(Strict, {
  flattenWithKeys: (p: Strict) => ({
    children: p.values.map((v, i) => [new FlattenedIndexKey(i), v] as [FlattenedIndexKey, unknown]),
    aux: null,
  }),
  unflatten: (_aux, children) => {
    if (!children.every((c) => typeof c === "number"))
      throw new TypeError("Strict holds numbers only");
    return new Strict(children as number[]);
  },
});

describe("accessor stand-ins", () => {
  it("explains nodes whose unflatten rejects stand-ins or holes", () => {
    const t = { s: new Strict([1, 2]) };
    expect(() => select(t).at((r) => r.s)).toThrow(
      /could not show the Strict at \['s'\] to the accessor.*Strict holds numbers only.*atKeypaths/,
    );
    const inside = select(t).atKeypaths([[new DictKey("s"), new FlattenedIndexKey(1)]]);
    expect(inside.set(5).s.values).toEqual([1, 5]);
    expect(() => inside.remainder).toThrow(/could not put SelectionHole markers into the tree/);
  });

  it("stand-ins keep Array.isArray, array methods and struct methods, not prototypes", () => {
    const t = { layers: ["relu", new Foo({ a: 1, b: 2 }), new Bar({ a: 3, b: 4 })] };
    const s = select(t).at((r) => r.layers.find((l) => (l as Partial<Bar>).kind?.() === "bar")!);
    expect(keys(s)).toEqual(["['layers'][2]"]);
    // Stand-ins show fields, not the class: instanceof needs the real prototype chain.
    let isInstance: boolean | undefined;
    select(t).at((r) => {
      isInstance = r.layers[2] instanceof Bar;
      return r;
    });
    expect(isInstance).toBe(false);
    let sawArray = false;
    select(t).at((r) => {
      sawArray = Array.isArray(r.layers);
      return r.layers;
    });
    expect(sawArray).toBe(true);
  });

  it("reading the same leaf twice gives the same handle; leaves are LeafHandles", () => {
    let first: unknown;
    let second: unknown;
    select({ a: 1 }).at((r) => {
      first = r.a;
      second = r.a;
      return r.a;
    });
    expect(first).toBe(second);
    expect(first).toBeInstanceOf(LeafHandle);
    expect((first as LeafHandle).value).toBe(1);
  });

  it("Object.keys, spread and `in` see the children", () => {
    const seen: unknown[] = [];
    select({ b: 2, a: 1 }).at((r) => {
      seen.push(Object.keys(r), "a" in r, "z" in r, { ...r }.b === r.b);
      return r;
    });
    expect(seen).toEqual([["a", "b"], true, false, true]);
  });

  it("registered nodes without property names are copied one level with stand-in children", () => {
    const t = [new Pair(1, [2, 3])];
    const s = select(t).at((r) => (r[0]!.right as number[])[1]!);
    expect(keys(s)).toEqual(["[0][<flat index 1>][1]"]);
    const out = s.set(30);
    expect(out[0]).toBeInstanceOf(Pair);
    expect(out[0]!.right).toEqual([2, 30]);
    expect(out[0]!.left).toBe(1);
  });

  it("atKeypaths and atChildren work through Maps and registered nodes", () => {
    const t = {
      m: new Map<unknown, unknown>([
        [1, "one"],
        ["k", [5]],
      ]),
    };
    expect(
      select(t)
        .atKeypaths([[new DictKey("m"), new DictKey("k"), new SequenceKey(0)]])
        .set(6)
        .m.get("k"),
    ).toEqual([6]);
    expect(select(new Pair("x", "y")).atChildren().getSequence()).toEqual(["x", "y"]);
  });

  it("innermost with key paths passes relative paths bottom-up", () => {
    const seen: string[] = [];
    const s = select({ a: [[1], 2] }).atSubtreesWhere(
      (p, v) => {
        seen.push(keystr(p));
        return Array.isArray(v);
      },
      { withKeypath: true, innermost: true },
    );
    expect(keys(s)).toEqual(["['a'][0]"]);
    // Leaves are never tested, and ancestors of a match are not tested either.
    expect(seen).toEqual(["['a'][0]"]);
  });

  it("errors are SelectionAccessorErrors that name the selected node", () => {
    const err = (() => {
      try {
        select([{ x: 1 }, { x: 2 }])
          .atChildren()
          .at((r: any) => (r.x.value === 1 ? r.x : {}));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SelectionAccessorError);
    expect(err!.message).toContain("selected at [1]");
  });
});
