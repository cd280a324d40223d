import { describe, expect, it } from "vitest";
import { combine, NotInThisPartition, PartitionCombineError, select } from "../src/index.js";
import { Foo } from "./helpers.js";

const N = () => new NotInThisPartition();

describe("partition", () => {
  const obj = { a: { a1: 1, a2: 2 }, b: { b1: 3, b2: 4 }, c: { c1: 5, c2: 6 } };
  const selection = select(obj).at((r) => [r.a, r.b.b1], { multiple: true });

  it("splits at the selected nodes", () => {
    const [left, right] = selection.partition();
    expect(left).toStrictEqual({ a: { a1: 1, a2: 2 }, b: { b1: 3, b2: N() }, c: N() });
    expect(right).toStrictEqual({ a: N(), b: { b1: N(), b2: 4 }, c: { c1: 5, c2: 6 } });
    expect((left as typeof obj).a).toBe(obj.a);
  });

  it("splits at the leaves with atLeaves", () => {
    const [left, right] = selection.partition({ atLeaves: true });
    expect(left).toStrictEqual({
      a: { a1: 1, a2: 2 },
      b: { b1: 3, b2: N() },
      c: { c1: N(), c2: N() },
    });
    expect(right).toStrictEqual({
      a: { a1: N(), a2: N() },
      b: { b1: N(), b2: 4 },
      c: { c1: 5, c2: 6 },
    });
  });

  it("NotInThisPartition is childless, orange and equal to any other instance", () => {
    expect(N().equals(N())).toBe(true);
    expect(N().treescopeColor()).toBe("orange");
    expect(select(N()).atChildren().count()).toBe(0);
  });
});

describe("combine", () => {
  it("combines partitions of the same structure", () => {
    const left = { a: { a1: N(), a2: N() }, b: { b1: N(), b2: 4 }, c: { c1: 5, c2: 6 } };
    const right = { a: { a1: 1, a2: 2 }, b: { b1: 3, b2: N() }, c: { c1: N(), c2: N() } };
    expect(combine(left, right)).toStrictEqual({
      a: { a1: 1, a2: 2 },
      b: { b1: 3, b2: 4 },
      c: { c1: 5, c2: 6 },
    });
  });

  it("combines partitions that are compatible but not prefixes", () => {
    const left = { a: N(), b: { b1: N(), b2: 4 }, c: { c1: 5, c2: 6 } };
    const right = { a: { a1: 1, a2: 2 }, b: { b1: 3, b2: N() }, c: N() };
    expect(combine(left, right)).toStrictEqual({
      a: { a1: 1, a2: 2 },
      b: { b1: 3, b2: 4 },
      c: { c1: 5, c2: 6 },
    });
  });

  it("leaves parts missing from every partition as NotInThisPartition", () => {
    const left = { a: N(), b: { b1: N(), b2: 4 }, c: { c1: N(), c2: 6 }, d: N() };
    const right = { a: { a1: 1, a2: N() }, b: { b1: 3, b2: N() }, c: N(), d: N() };
    expect(combine(left, right)).toStrictEqual({
      a: { a1: 1, a2: N() },
      b: { b1: 3, b2: 4 },
      c: { c1: N(), c2: 6 },
      d: N(),
    });
  });

  it("combines three partitions and zero", () => {
    expect(
      combine({ a: 1, b: N(), c: N() }, { a: N(), b: 2, c: N() }, { a: N(), b: N(), c: 3 }),
    ).toStrictEqual({
      a: 1,
      b: 2,
      c: 3,
    });
    expect(combine()).toStrictEqual(N());
  });

  it("rebuilds structs as their classes", () => {
    const out = combine(new Foo({ a: 1, b: N() }), new Foo({ a: N(), b: 2 }));
    expect(out).toStrictEqual(new Foo({ a: 1, b: 2 }));
    expect(Object.isFrozen(out)).toBe(true);
  });

  it("fails with the key path where two partitions both have values", () => {
    expect(() => combine({ a: [1, 2] }, { a: [N(), 3] })).toThrow(PartitionCombineError);
    expect(() => combine({ a: [1, 2] }, { a: [N(), 3] })).toThrow(
      /disagree at \['a'\]\[1\]: one has 2 and another has 3/,
    );
    expect(() => combine({ a: [1] }, { a: { x: 1 } })).toThrow(/disagree at \['a'\]/);
  });
});
