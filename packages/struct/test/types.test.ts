import { describe, expectTypeOf, it } from "vitest";
import {
  type AttributesOf,
  className,
  type DefineOptions,
  type Field,
  type FieldsOf,
  field,
  type KeyPath,
  type PathKey,
  type PropsOf,
  Struct,
  type StructStaticMetadata,
  type TreeDef,
  tree,
} from "../src/index.js";

/** Type-level checks only: the body is compiled (and must fail where marked) but never run. */
function notRun(_body: () => void): void {}

class Point extends Struct.define({
  x: field<number>(),
  y: field<number>({ default: 0 }),
  label: field<string>({ static: true }),
  unit: field<string>({ static: true, default: "m" }),
}) {
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Point3 extends Point.define({ z: field<number>() }) {}

abstract class Shape extends Struct.define({ name: field<string>() }) {
  abstract area(): number;
}
class Square extends Shape.define({ side: field<number>() }) {
  area(): number {
    return this.side ** 2;
  }
}

describe("field types", () => {
  it("field<T>() carries the value type and the static / default flags", () => {
    expectTypeOf(field<number>()).toEqualTypeOf<Field<number, false, false>>();
    expectTypeOf(field<number>({ default: 1 })).toEqualTypeOf<Field<number, false, true>>();
    expectTypeOf(field<string>({ static: true })).toEqualTypeOf<Field<string, true, false>>();
    expectTypeOf(field<string>({ static: true, default: "a" })).toEqualTypeOf<
      Field<string, true, true>
    >();
  });

  it("PropsOf makes fields with defaults optional, static or not", () => {
    type Spec = {
      a: Field<number, false, false>;
      b: Field<string, true, true>;
      c: Field<boolean, true, false>;
    };
    expectTypeOf<PropsOf<Spec>>().toEqualTypeOf<{ a: number; c: boolean; b?: string }>();
    expectTypeOf<FieldsOf<Spec>>().toEqualTypeOf<{
      readonly a: number;
      readonly b: string;
      readonly c: boolean;
    }>();
  });
});

describe("Struct.define props and fields", () => {
  it("constructor props: required, default and static fields", () => {
    expectTypeOf<ConstructorParameters<typeof Point>[0]>().toEqualTypeOf<{
      x: number;
      label: string;
      y?: number;
      unit?: string;
    }>();
    new Point({ x: 1, label: "p" });
    new Point({ x: 1, y: 2, label: "p", unit: "cm" });
    notRun(() => {
      // @ts-expect-error missing required field x
      new Point({ label: "p" });
    });
    notRun(() => {
      // @ts-expect-error missing required static field label
      new Point({ x: 1 });
    });
    notRun(() => {
      // @ts-expect-error wrong field type
      new Point({ x: "1", label: "p" });
    });
    notRun(() => {
      // @ts-expect-error unknown field
      new Point({ x: 1, label: "p", w: 3 });
    });
  });

  it("instances have readonly typed fields and the class's methods", () => {
    const p = new Point({ x: 1, label: "p" });
    expectTypeOf(p.x).toEqualTypeOf<number>();
    expectTypeOf(p.y).toEqualTypeOf<number>();
    expectTypeOf(p.label).toEqualTypeOf<string>();
    expectTypeOf(p.norm).toEqualTypeOf<() => number>();
    expectTypeOf(p).toMatchTypeOf<Struct>();
    notRun(() => {
      // @ts-expect-error fields are readonly
      p.x = 2;
    });
  });

  it("inherited fields via Point.define", () => {
    expectTypeOf<ConstructorParameters<typeof Point3>[0]>().toEqualTypeOf<{
      x: number;
      label: string;
      z: number;
      y?: number;
      unit?: string;
    }>();
    const p = new Point3({ x: 1, z: 3, label: "q" });
    expectTypeOf(p.z).toEqualTypeOf<number>();
    expectTypeOf(p.x).toEqualTypeOf<number>();
    expectTypeOf(p).toMatchTypeOf<Point>();
    expectTypeOf(p.norm()).toEqualTypeOf<number>();
    notRun(() => {
      // @ts-expect-error z is required
      new Point3({ x: 1, label: "q" });
    });
  });

  it("props are optional when every field has a default", () => {
    class Defaults extends Struct.define({ a: field<number>({ default: 1 }) }) {}
    new Defaults();
    new Defaults({ a: 2 });
    expectTypeOf<ConstructorParameters<typeof Defaults>>().toEqualTypeOf<
      [props?: { a?: number }]
    >();
  });

  it("abstract struct classes cannot be instantiated; their subclasses can", () => {
    notRun(() => {
      // @ts-expect-error Shape is abstract
      new Shape({ name: "s" });
    });
    const s = new Square({ name: "s", side: 2 });
    expectTypeOf(s.area()).toEqualTypeOf<number>();
    expectTypeOf(s.name).toEqualTypeOf<string>();
    expectTypeOf(s).toMatchTypeOf<Shape>();
  });
});

describe("fromAttributes / attributesDict / replace types", () => {
  it("fromAttributes takes every field and returns the class", () => {
    const p = Point.fromAttributes({ x: 1, y: 2, label: "p", unit: "m" });
    expectTypeOf(p).toEqualTypeOf<Point>();
    const q = Point3.fromAttributes({ x: 1, y: 2, label: "p", unit: "m", z: 3 });
    expectTypeOf(q).toEqualTypeOf<Point3>();
    notRun(() => {
      // @ts-expect-error defaults are not filled in by fromAttributes: every field is required
      Point.fromAttributes({ x: 1, label: "p" });
    });
    notRun(() => {
      // @ts-expect-error wrong field type
      Point.fromAttributes({ x: "1", y: 2, label: "p", unit: "m" });
    });
  });

  it("attributesDict returns every field with its type", () => {
    const p = new Point({ x: 1, label: "p" });
    expectTypeOf(p.attributesDict()).toEqualTypeOf<{
      x: number;
      y: number;
      label: string;
      unit: string;
    }>();
    expectTypeOf<AttributesOf<Point3>>().toEqualTypeOf<{
      x: number;
      y: number;
      label: string;
      unit: string;
      z: number;
    }>();
  });

  it("replace takes a partial set of fields and returns the same class", () => {
    const p = new Point({ x: 1, label: "p" });
    expectTypeOf(p.replace({ y: 3 })).toEqualTypeOf<Point>();
    notRun(() => {
      // @ts-expect-error wrong type in replace
      p.replace({ y: "3" });
    });
  });

  it("treeFlatten / treeUnflatten / keyForField", () => {
    const p = new Point({ x: 1, label: "p" });
    expectTypeOf(p.treeFlatten()).toEqualTypeOf<[unknown[], StructStaticMetadata]>();
    expectTypeOf(p.treeFlattenWithKeys()).toEqualTypeOf<
      [[PathKey, unknown][], StructStaticMetadata]
    >();
    expectTypeOf(Point.treeUnflatten(p.treeFlatten()[1], [1, 2])).toEqualTypeOf<Point>();
    expectTypeOf(p.keyForField("x")).toEqualTypeOf<PathKey>();
  });
});

describe("tree function types", () => {
  it("flatten, flattenWithPath, unflatten and map", () => {
    expectTypeOf(tree.flatten({})).toEqualTypeOf<[unknown[], TreeDef]>();
    expectTypeOf(tree.flattenWithPath({})).toEqualTypeOf<[[KeyPath, unknown][], TreeDef]>();
    expectTypeOf(tree.unflatten<number[]>(tree.structure([1]), [1])).toEqualTypeOf<number[]>();
    expectTypeOf(tree.map<{ a: string }>((x: number) => String(x), { a: 1 })).toEqualTypeOf<{
      a: string;
    }>();
    expectTypeOf(tree.keystr).parameter(0).toEqualTypeOf<KeyPath>();
  });
});

describe("recorded class names", () => {
  it("define takes an optional { name } and keeps the class type", () => {
    class Named extends Struct.define({ x: field<number>() }, { name: "Named" }) {}
    expectTypeOf(new Named({ x: 1 }).x).toEqualTypeOf<number>();
    class Renamed extends Named.define({}, { name: "Renamed" }) {}
    expectTypeOf<ConstructorParameters<typeof Renamed>>().toEqualTypeOf<[props: { x: number }]>();
    expectTypeOf<DefineOptions>().toEqualTypeOf<{ readonly name?: string }>();
    expectTypeOf(className).parameters.toEqualTypeOf<[cls: Function | null | undefined]>();
    expectTypeOf(className).returns.toEqualTypeOf<string>();
    notRun(() => {
      // @ts-expect-error the name is a string
      Struct.define({}, { name: 1 });
      // @ts-expect-error define takes no other options
      Struct.define({}, { label: "X" });
    });
  });
});
