import { produce } from "immer";
import { describe, expect, it } from "vitest";
import {
  DictKey,
  field,
  flatten,
  flattenWithPath,
  GetAttrKey,
  isStruct,
  isStructClass,
  keystr,
  type PathKey,
  reprValue,
  SequenceKey,
  Struct,
  StructConstructionError,
  StructDefinitionError,
  setStructReprHook,
  structFields,
  structure,
  unflatten,
} from "../src/index.js";

class Point extends Struct.define({ x: field<number>(), y: field<number>() }) {
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Point3 extends Point.define({ z: field<number>() }) {}

class Labeled extends Struct.define({
  value: field<number>(),
  label: field<string>({ static: true }),
  scale: field<number>({ default: 1 }),
}) {}

describe("Struct construction", () => {
  it("assigns props and freezes the instance", () => {
    const p = new Point({ x: 3, y: 4 });
    expect(p.x).toBe(3);
    expect(p.y).toBe(4);
    expect(p.norm()).toBe(5);
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => {
      (p as { x: number }).x = 1;
    }).toThrow(TypeError);
  });

  it("fills defaults for omitted props and keeps given ones", () => {
    expect(new Labeled({ value: 2, label: "a" }).scale).toBe(1);
    expect(new Labeled({ value: 2, label: "a", scale: 3 }).scale).toBe(3);
  });

  it("allows omitting the props object when every field has a default", () => {
    class Defaults extends Struct.define({ a: field<number>({ default: 7 }) }) {}
    expect(new Defaults().a).toBe(7);
    class Empty extends Struct.define({}) {}
    expect(new Empty().attributesDict()).toEqual({});
  });

  it("rejects missing props with a message naming them and the call to write", () => {
    expect(() => new Point({ x: 1 } as never)).toThrow(StructConstructionError);
    expect(() => new Point({ x: 1 } as never)).toThrow(
      "Point: missing required field(s) y. Its fields are: x, y (? marks optional). Call it as new Point({ x: …, y: … }).",
    );
  });

  it("rejects unknown props", () => {
    expect(() => new Point({ x: 1, y: 2, w: 3 } as never)).toThrow(/unknown field\(s\) w/);
  });

  it("rejects a non-object props argument", () => {
    expect(() => new Point(3 as never)).toThrow(
      "Point expects its fields as one object, like new Point({ x, y }), but got 3.",
    );
  });

  it("cannot instantiate Struct itself", () => {
    const Abstract = Struct as unknown as new () => Struct;
    expect(() => new Abstract()).toThrow(StructConstructionError);
    expect(() => new Abstract()).toThrow(/Struct is abstract/);
  });

  it("inheritance adds fields after the parent's and keeps methods", () => {
    const p = new Point3({ x: 1, y: 2, z: 3 });
    expect(p.attributesDict()).toEqual({ x: 1, y: 2, z: 3 });
    expect(Object.keys(p.attributesDict())).toEqual(["x", "y", "z"]);
    expect(p).toBeInstanceOf(Point);
    expect(p.norm()).toBeCloseTo(Math.sqrt(5));
    expect(flatten(p)[0]).toEqual([1, 2, 3]);
    expect(structFields(Point3).map((f) => f.name)).toEqual(["x", "y", "z"]);
  });

  it("a subclass without define has its parent's fields and its own name", () => {
    class Named extends Point {
      get label(): string {
        return `(${this.x}, ${this.y})`;
      }
    }
    const n = new Named({ x: 1, y: 2 });
    expect(n.label).toBe("(1, 2)");
    expect(String(n)).toBe("Named(x=1, y=2)");
    expect(() => new Named({ x: 1 } as never)).toThrow(/^Named: missing required field\(s\) y/);
  });

  it("supports abstract struct classes whose concrete subclasses add fields", () => {
    abstract class Shape extends Struct.define({ name: field<string>({ static: true }) }) {
      abstract area(): number;
    }
    class Square extends Shape.define({ side: field<number>() }) {
      area(): number {
        return this.side ** 2;
      }
    }
    const s = new Square({ name: "sq", side: 3 });
    expect(s.area()).toBe(9);
    expect(s).toBeInstanceOf(Shape);
    expect(flatten(s)[0]).toEqual([3]);
    expect(structure(s).toString()).toBe("Square(side=*, name='sq')");
  });

  it("a class extending Struct directly (no define) is a childless node", () => {
    abstract class Base extends Struct {
      abstract call(x: number): number;
    }
    class Double extends Base {
      call(x: number): number {
        return 2 * x;
      }
    }
    const d = new Double();
    expect(d.call(2)).toBe(4);
    const [leaves, def] = flatten({ layer: d });
    expect(leaves).toEqual([]);
    expect(def.toString()).toBe('{"layer": Double()}');
    expect(unflatten(def, [])).toEqual({ layer: d });
  });
});

describe("Struct.define errors", () => {
  it("rejects wrong field options", () => {
    expect(() => field({ statc: true } as never)).toThrow(
      'field() options are { static?: boolean, default?: value }, but got {"statc": true}. ' +
        "Remove the other keys, and pass static as true or false.",
    );
    expect(() => field({ static: "yes" } as never)).toThrow(StructDefinitionError);
    expect(() => field(5 as never)).toThrow(StructDefinitionError);
  });

  it("rejects reserved field names", () => {
    expect(() => Struct.define({ replace: field<number>() })).toThrow(StructDefinitionError);
    expect(() => Struct.define({ constructor: field<number>() } as never)).toThrow(
      'Struct.define: "constructor" cannot be a field name because Struct uses it. Rename the field.',
    );
  });

  it("rejects a field the parent already declares", () => {
    expect(() => Point.define({ x: field<number>() })).toThrow(
      /field "x" is already declared by Point/,
    );
  });

  it("rejects fields not made with field()", () => {
    expect(() => Struct.define({ a: 3 } as never)).toThrow(
      'Struct.define: field "a" must be declared with field<T>(), like { a: field<number>() }.',
    );
  });
});

describe("fromAttributes", () => {
  it("builds an instance without calling the constructor", () => {
    let calls = 0;
    class Counted extends Struct.define({
      a: field<number>(),
      b: field<string>({ static: true }),
    }) {
      constructor(props: { a: number; b: string }) {
        super(props);
        calls++;
      }
    }
    const c = Counted.fromAttributes({ a: 1, b: "s" });
    expect(calls).toBe(0);
    expect(c).toBeInstanceOf(Counted);
    expect(c.a).toBe(1);
    expect(c.b).toBe("s");
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("rejects missing fields, naming expected and given sets", () => {
    expect(() => Labeled.fromAttributes({ value: 1, label: "a" } as never)).toThrow(
      "Incorrect fields provided to Labeled.fromAttributes: expected {value, label, scale}, got {value, label} (missing scale). " +
        "Pass every field, static ones included, exactly once; attributesDict() of an instance gives a complete set.",
    );
  });

  it("rejects extra fields", () => {
    expect(() => Point.fromAttributes({ x: 1, y: 2, q: 3 } as never)).toThrow(
      /expected \{x, y\}, got \{x, y, q\} \(unexpected q\)/,
    );
  });

  it("rejects a non-object", () => {
    expect(() => Point.fromAttributes(null as never)).toThrow(StructConstructionError);
  });

  it("round-trips with attributesDict, static fields included", () => {
    const l = new Labeled({ value: 2, label: "w", scale: 5 });
    const dict = l.attributesDict();
    expect(dict).toEqual({ value: 2, label: "w", scale: 5 });
    const back = Labeled.fromAttributes(dict);
    expect(back.equals(l)).toBe(true);
    expect(back).not.toBe(l);
  });
});

describe("treeFlatten / treeFlattenWithKeys / treeUnflatten", () => {
  it("splits children and static fields", () => {
    const l = new Labeled({ value: 2, label: "w" });
    expect(l.treeFlatten()).toEqual([
      [2, 1],
      { childFieldNames: ["value", "scale"], staticFields: { label: "w" } },
    ]);
    const [withKeys] = l.treeFlattenWithKeys();
    expect(withKeys.map(([k, v]) => [String(k), v])).toEqual([
      [".value", 2],
      [".scale", 1],
    ]);
  });

  it("treeUnflatten rebuilds without the constructor", () => {
    const l = new Labeled({ value: 2, label: "w" });
    const [children, aux] = l.treeFlatten();
    const back = Labeled.treeUnflatten(
      aux,
      children.map((c) => (c as number) * 10),
    );
    expect(back.attributesDict()).toEqual({ value: 20, label: "w", scale: 10 });
    expect(Object.isFrozen(back)).toBe(true);
  });
});

describe("keyForField", () => {
  it("defaults to GetAttrKey", () => {
    expect(new Point({ x: 1, y: 2 }).keyForField("x")).toEqual(new GetAttrKey("x"));
  });

  it("can be overridden, here with plain strings as in penzai's test", () => {
    class Custom extends Struct.define({ foo: field<number>(), bar: field<number[]>() }) {
      override keyForField(name: string): PathKey {
        return name;
      }
    }
    const c = new Custom({ foo: 1, bar: [2] });
    const [pairs] = flattenWithPath(c);
    expect(pairs.map(([p, v]) => [p, v])).toEqual([
      [["foo"], 1],
      [["bar", new SequenceKey(0)], 2],
    ]);
    expect(keystr(pairs[1]![0])).toBe("bar[0]");
    expect(c.treeFlattenWithKeys()[0]).toEqual([
      ["foo", 1],
      ["bar", [2]],
    ]);
  });
});

describe("replace", () => {
  it("returns a new frozen instance with some fields changed", () => {
    const p = new Point({ x: 1, y: 2 });
    const q = p.replace({ y: 5 });
    expect(q).toBeInstanceOf(Point);
    expect(q.attributesDict()).toEqual({ x: 1, y: 5 });
    expect(p.y).toBe(2);
    expect(Object.isFrozen(q)).toBe(true);
  });

  it("can change a static field", () => {
    const l = new Labeled({ value: 1, label: "a" }).replace({ label: "b" });
    expect(l.label).toBe("b");
    expect(structure(l).toString()).toBe("Labeled(value=*, scale=*, label='b')");
  });

  it("rejects unknown fields and non-objects", () => {
    const p = new Point({ x: 1, y: 2 });
    expect(() => p.replace({ w: 1 } as never)).toThrow(
      "Point.replace: unknown field(s) w. Its fields are: x, y.",
    );
    expect(() => p.replace(3 as never)).toThrow(StructConstructionError);
  });
});

describe("equals", () => {
  it("compares class, static fields and children", () => {
    const a = new Labeled({ value: 1, label: "a" });
    expect(a.equals(new Labeled({ value: 1, label: "a" }))).toBe(true);
    expect(a.equals(new Labeled({ value: 2, label: "a" }))).toBe(false);
    expect(a.equals(new Labeled({ value: 1, label: "b" }))).toBe(false);
    expect(new Point({ x: 1, y: 2 }).equals(new Point3({ x: 1, y: 2, z: 3 }))).toBe(false);
    expect(new Point({ x: 1, y: 2 }).equals({ x: 1, y: 2 })).toBe(false);
  });

  it("compares typed-array leaves element-wise", () => {
    class Holder extends Struct.define({ data: field<Float32Array>() }) {}
    const a = new Holder({ data: new Float32Array([1, 2]) });
    expect(a.equals(new Holder({ data: new Float32Array([1, 2]) }))).toBe(true);
    expect(a.equals(new Holder({ data: new Float32Array([1, 3]) }))).toBe(false);
  });
});

describe("toString", () => {
  it("renders every field in declaration order", () => {
    expect(String(new Labeled({ value: 2, label: "w" }))).toBe(
      "Labeled(value=2, label='w', scale=1)",
    );
    class Nest extends Struct.define({ inner: field<unknown>() }) {}
    expect(
      new Nest({
        inner: [new Point({ x: 1, y: 2 }), { b: null, a: "s" }, new Float32Array(3)],
      }).toString(),
    ).toBe(`Nest(inner=[Point(x=1, y=2), {"b": null, "a": 's'}, Float32Array(3)])`);
  });

  it("uses the installed repr hook and restores the built-in one", () => {
    const p = new Point({ x: 1, y: 2 });
    setStructReprHook((v) => `<${(v as object).constructor.name}>`);
    try {
      expect(p.toString()).toBe("<Point>");
    } finally {
      setStructReprHook(undefined);
    }
    expect(p.toString()).toBe("Point(x=1, y=2)");
  });

  it("reprValue renders functions, maps, nested depth and unknown objects", () => {
    expect(reprValue(function named() {})).toBe("<function named>");
    expect(reprValue(new Map([["k", 1]]))).toBe('Map{"k" => 1}');
    expect(reprValue(new (class Opaque {})())).toBe("<Opaque>");
    expect(reprValue([[[[[[[[1]]]]]]]])).toBe("[[[[[[[…]]]]]]]");
  });
});

describe("isStruct / isStructClass / structFields", () => {
  it("recognises instances and classes", () => {
    expect(isStruct(new Point({ x: 1, y: 2 }))).toBe(true);
    expect(isStruct({ x: 1 })).toBe(false);
    expect(isStructClass(Point)).toBe(true);
    expect(isStructClass(Struct)).toBe(true);
    expect(isStructClass(Map)).toBe(false);
    expect(isStructClass(new Point({ x: 1, y: 2 }))).toBe(false);
  });

  it("lists fields with their kinds", () => {
    expect(structFields(Labeled)).toEqual([
      { name: "value", isStatic: false, hasDefault: false, defaultValue: undefined },
      { name: "label", isStatic: true, hasDefault: false, defaultValue: undefined },
      { name: "scale", isStatic: false, hasDefault: true, defaultValue: 1 },
    ]);
  });
});

describe("structs in trees", () => {
  it("children are non-static fields in declaration order, keyed by GetAttrKey", () => {
    const [pairs, def] = flattenWithPath(new Labeled({ value: 2, label: "w", scale: 3 }));
    expect(pairs).toEqual([
      [[new GetAttrKey("value")], 2],
      [[new GetAttrKey("scale")], 3],
    ]);
    expect(def.toString()).toBe("Labeled(value=*, scale=*, label='w')");
  });

  it("static fields are part of the structure", () => {
    const a = structure(new Labeled({ value: 1, label: "a" }));
    expect(a.equals(structure(new Labeled({ value: 9, label: "a" })))).toBe(true);
    expect(a.equals(structure(new Labeled({ value: 1, label: "b" })))).toBe(false);
  });

  it("static fields compare by value, not identity", () => {
    class Axes extends Struct.define({ axes: field<Record<string, number>>({ static: true }) }) {}
    const a = structure(new Axes({ axes: { a: 1, b: 2 } }));
    expect(a.equals(structure(new Axes({ axes: { b: 2, a: 1 } })))).toBe(true);
    expect(a.equals(structure(new Axes({ axes: { a: 1, b: 3 } })))).toBe(false);
    class Ordered extends Struct.define({ axes: field<Map<string, number>>({ static: true }) }) {}
    const m = structure(
      new Ordered({
        axes: new Map([
          ["a", 1],
          ["b", 2],
        ]),
      }),
    );
    expect(
      m.equals(
        structure(
          new Ordered({
            axes: new Map([
              ["a", 1],
              ["b", 2],
            ]),
          }),
        ),
      ),
    ).toBe(true);
    expect(
      m.equals(
        structure(
          new Ordered({
            axes: new Map([
              ["b", 2],
              ["a", 1],
            ]),
          }),
        ),
      ),
    ).toBe(false);
  });

  it("unflatten rebuilds frozen instances of the same class without the constructor", () => {
    let calls = 0;
    class Tracked extends Struct.define({
      a: field<number>(),
      tag: field<string>({ static: true }),
    }) {
      constructor(props: { a: number; tag: string }) {
        super(props);
        calls++;
      }
    }
    const t = new Tracked({ a: 1, tag: "t" });
    expect(calls).toBe(1);
    const [leaves, def] = flatten([t]);
    const [back] = unflatten<[Tracked]>(
      def,
      leaves.map((x) => (x as number) + 1),
    );
    expect(calls).toBe(1);
    expect(back).toBeInstanceOf(Tracked);
    expect(Object.isFrozen(back)).toBe(true);
    expect(back.attributesDict()).toEqual({ a: 2, tag: "t" });
  });
});

describe("immer", () => {
  it("produce returns a new frozen struct of the same class", () => {
    class Model extends Struct.define({
      weights: field<number[]>(),
      name: field<string>({ static: true }),
      inner: field<Point>(),
    }) {}
    const m = new Model({ weights: [1, 2], name: "m", inner: new Point({ x: 1, y: 2 }) });
    const next = produce(m, (draft) => {
      draft.weights.push(3);
      (draft.inner as { x: number }).x = 10;
    });
    expect(next).not.toBe(m);
    expect(next).toBeInstanceOf(Model);
    expect(next.inner).toBeInstanceOf(Point);
    expect(Object.isFrozen(next)).toBe(true);
    expect(Object.isFrozen(next.inner)).toBe(true);
    expect(next.weights).toEqual([1, 2, 3]);
    expect(next.inner.x).toBe(10);
    expect(next.inner.norm()).toBeCloseTo(Math.hypot(10, 2));
    expect(m.weights).toEqual([1, 2]);
    expect(m.inner.x).toBe(1);
    expect(structure(next).toString()).toBe(
      "Model(weights=[*, *, *], inner=Point(x=*, y=*), name='m')",
    );
  });

  it("produce without changes returns the same instance", () => {
    const p = new Point({ x: 1, y: 2 });
    expect(produce(p, () => {})).toBe(p);
  });
});

describe("DictKey inside structs", () => {
  it("paths through struct fields holding objects", () => {
    class Holder extends Struct.define({ table: field<Record<string, number>>() }) {}
    const [pairs] = flattenWithPath(new Holder({ table: { b: 2, a: 1 } }));
    expect(pairs).toEqual([
      [[new GetAttrKey("table"), new DictKey("a")], 1],
      [[new GetAttrKey("table"), new DictKey("b")], 2],
    ]);
  });
});
