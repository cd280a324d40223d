/** The examples of docs/select.md, run. */
import { field, keystr, Struct } from "@saikei/struct";
import { pipe } from "fp-ts/lib/function.js";
import * as O from "fp-ts/lib/Option.js";
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { combine, NotInThisPartition, select } from "../src/index.js";

class Linear extends Struct.define({ weights: field<number[]>(), bias: field<number>() }) {}
class Sequential extends Struct.define({ sublayers: field<unknown[]>() }) {}

const model = new Sequential({
  sublayers: [
    new Linear({ weights: [1, 2], bias: 0 }),
    "relu",
    new Linear({ weights: [3], bias: 1 }),
  ],
});

describe("docs/select.md examples", () => {
  it("the introduction", () => {
    const edited = select(model)
      .at((m) => m.sublayers[2] as Linear)
      .at((l) => l.bias)
      .set(5);
    expect(edited.sublayers[2]).toStrictEqual(new Linear({ weights: [3], bias: 5 }));
    expect(String(edited.sublayers[2])).toBe("Linear(weights=[3], bias=5)");
    expect(edited.sublayers[0]).toBe(model.sublayers[0]);
    const zeroed = model
      .select()
      .atInstancesOf(Linear)
      .apply((l) => l.replace({ bias: 0 }));
    expect(zeroed.sublayers.map((l) => (l instanceof Linear ? l.bias : l))).toEqual([0, "relu", 0]);
    expect(
      select(model)
        .atInstancesOf(Linear)
        .getKeypaths()
        .map((p) => keystr(p)),
    ).toEqual([".sublayers[0]", ".sublayers[2]"]);
  });

  it("how .at finds nodes", () => {
    expect(
      select({ a: 0, b: [0, 0] })
        .at((t) => t.b[1])
        .set(9),
    ).toStrictEqual({ a: 0, b: [0, 9] });
    expect(
      select({ a: 1, b: 2, c: 3 })
        .at((t) => [t.a, t.c], { multiple: true })
        .set(0),
    ).toStrictEqual({ a: 0, b: 2, c: 0 });
    const indexed = { layers: ["p", "q", "r"], index: 1 };
    expect(
      select(indexed)
        .at((m) => m.layers[m.index]!)
        .set("Q"),
    ).toStrictEqual({ layers: ["p", "Q", "r"], index: 1 });
  });

  it("reading and editing", () => {
    const t = { a: [0, 1, 2, 3], b: "x" };
    expect(
      select(t)
        .atInstancesOf(Number)
        .where((x) => x % 2 === 1)
        .removeFromParent(),
    ).toStrictEqual({ a: [0, 2], b: "x" });
    expect(
      select(t)
        .atInstancesOf(Number)
        .where((x) => x === 0)
        .insertAfter(-1),
    ).toStrictEqual({ a: [0, -1, 1, 2, 3], b: "x" });
    const [selected, rest] = select(t)
      .at((r) => r.b)
      .partition();
    expect(selected).toStrictEqual({ a: new NotInThisPartition(), b: "x" });
    expect(rest).toStrictEqual({ a: [0, 1, 2, 3], b: new NotInThisPartition() });
    expect(combine(selected, rest)).toStrictEqual(t);
  });

  it("the immer recipe", () => {
    const a = produce(model, (draft) => {
      (draft.sublayers[0] as { bias: number }).bias = 7;
    });
    expect((a.sublayers[0] as Linear).bias).toBe(7);
    expect(a.sublayers[0]).toBeInstanceOf(Linear);
    const b = select(model)
      .atInstancesOf(Linear)
      .apply((l) =>
        produce(l, (draft) => {
          (draft as { bias: number }).bias += 1;
        }),
      );
    expect(b.sublayers.map((l) => (l instanceof Linear ? l.bias : l))).toEqual([1, "relu", 2]);
    expect(Object.isFrozen(b.sublayers[2])).toBe(true);
  });

  it("selections that may be empty", () => {
    const first = select(model).atInstancesOf(Linear).firstOption();
    expect(first._tag === "Some" ? first.value.bias : undefined).toBe(0);
    expect(select(model).atInstancesOf(Map).firstOption()).toEqual({ _tag: "None" });
    expect(select(model).atInstancesOf(Linear).pickNthSelected(1).getOption()).toEqual({
      _tag: "Some",
      value: select(model).atInstancesOf(Linear).getSequence()[1],
    });
    expect(
      pipe(
        select(model).atInstancesOf(Linear).firstOption(),
        O.map((l) => l.bias),
      ),
    ).toEqual(O.some(0));
    expect(select(model).atInstancesOf(Map).firstOption()).toEqual(O.none);
  });
});
