import { field, type KeyPath, Struct } from "@saikei/struct";
import type * as O from "fp-ts/lib/Option.js";
import { describe, expectTypeOf, it } from "vitest";
import { type Selection, type SelectionOption, select } from "../src/index.js";
import { Bar, Foo } from "./helpers.js";

class Leaf extends Struct.define({ w: field<number>() }) {}
class Body extends Struct.define({ sublayers: field<Leaf[]>() }) {}
class Model extends Struct.define({ body: field<Body>(), name: field<string>({ static: true }) }) {}

const model = new Model({
  body: new Body({ sublayers: [new Leaf({ w: 1 }), new Leaf({ w: 2 })] }),
  name: "m",
});

describe("public types", () => {
  it("select and struct.select type the root", () => {
    expectTypeOf(select(model)).toEqualTypeOf<Selection<Model, Model>>();
    expectTypeOf(model.select()).toEqualTypeOf<Selection<Model, Model>>();
    expectTypeOf(select({ a: 1 }).deselect()).toEqualTypeOf<{ a: number }>();
  });

  it("at has the accessor's return type; multiple the element type", () => {
    const s = select(model).at((m) => m.body.sublayers[1]!);
    expectTypeOf(s).toEqualTypeOf<Selection<Leaf, Model>>();
    expectTypeOf(s.get()).toEqualTypeOf<Leaf>();
    expectTypeOf(s.at((l) => l.w).get()).toEqualTypeOf<number>();
    const m = select(model).at((x) => [x.body.sublayers[0]!, x.body.sublayers[1]!.w], {
      multiple: true,
    });
    expectTypeOf(m).toEqualTypeOf<Selection<Leaf | number, Model>>();
    expectTypeOf(select(model).at((x) => x.body)).toEqualTypeOf<Selection<Body, Model>>();
  });

  it("atInstancesOf gives instance types, primitives for Number and String", () => {
    expectTypeOf(select(model).atInstancesOf(Leaf)).toEqualTypeOf<Selection<Leaf, Model>>();
    expectTypeOf(select([1]).atInstancesOf([Foo, Bar]).getSequence()).toEqualTypeOf<
      readonly (Foo | Bar)[]
    >();
    expectTypeOf(select([1]).atInstancesOf(Number).get()).toEqualTypeOf<number>();
    expectTypeOf(select([1]).atInstancesOf([Number, String]).get()).toEqualTypeOf<
      number | string
    >();
  });

  it("edits return the root type; keepSelected returns a selection", () => {
    expectTypeOf(select(model).atInstancesOf(Leaf).set(0)).toEqualTypeOf<Model>();
    expectTypeOf(
      select(model)
        .atInstancesOf(Leaf)
        .apply((l) => l.w),
    ).toEqualTypeOf<Model>();
    expectTypeOf(
      select(model)
        .atInstancesOf(Leaf)
        .apply((l) => l.w, { keepSelected: true }),
    ).toEqualTypeOf<Selection<number, Model>>();
    expectTypeOf(
      select(model)
        .atInstancesOf(Leaf)
        .apply((p, l) => [p, l] as const, { withKeypath: true, keepSelected: true }),
    ).toEqualTypeOf<Selection<readonly [KeyPath, Leaf], Model>>();
    expectTypeOf(
      select(model).atInstancesOf(Leaf).insertAfter(3, { andSelect: true }),
    ).toEqualTypeOf<Selection<number, Model>>();
  });

  it("get, getOption and getByPath are typed by the selection", () => {
    const s = select(model).atInstancesOf(Leaf).pickNthSelected(0);
    expectTypeOf(s.getOption()).toEqualTypeOf<SelectionOption<Leaf>>();
    expectTypeOf(s.firstOption()).toEqualTypeOf<SelectionOption<Leaf>>();
    // Plain TypeScript in the signature, and still fp-ts's Option for those who use fp-ts.
    expectTypeOf<SelectionOption<Leaf>>().toEqualTypeOf<O.Option<Leaf>>();
    expectTypeOf(s.getByPath()).toEqualTypeOf<ReadonlyMap<KeyPath, Leaf>>();
    expectTypeOf(s.partition()).toEqualTypeOf<[unknown, unknown]>();
  });
});
