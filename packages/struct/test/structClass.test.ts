/**
 * The walks read a struct's class from a record on its prototype (registry's `STRUCT_CLASS`).
 * These tests build instances every way the package offers, across subclasses that share one
 * `define`, and check that flatten records the exact class and unflatten rebuilds it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  field,
  flatten,
  flattenWithPath,
  keystr,
  LEAF,
  leaves,
  map,
  nodeTypeOf,
  Struct,
  structure,
  TreeDef,
  unflatten,
} from "../src/index.js";

class Base extends Struct.define({ a: field<unknown>(), tag: field<string>({ static: true }) }) {}
class Child extends Base {}
class GrandChild extends Child {}
class Other extends Base.define({ b: field<unknown>() }) {}

const classes = [Base, Child, GrandChild] as const;

/** The ways an instance comes to exist: the constructor, `fromAttributes`, `replace`, unflatten. */
function make(cls: (typeof classes)[number], how: number, a: unknown): Base {
  switch (how) {
    case 0:
      return new cls({ a, tag: "t" });
    case 1:
      return cls.fromAttributes({ a, tag: "t" });
    case 2:
      return cls.fromAttributes({ a: 0, tag: "t" }).replace({ a });
    default:
      return unflatten(structure(cls.fromAttributes({ a: 0, tag: "t" })), [a]) as Base;
  }
}

describe("struct class records", () => {
  it("a subclass that shares its parent's define keeps its own class through flatten", () => {
    // The parent is constructed first, so its prototype holds a record before the subclass has one.
    const parent = new Base({ a: 1, tag: "p" });
    const child = Child.fromAttributes({ a: 2, tag: "c" });
    const [, defParent] = flatten(parent);
    const [childLeaves, defChild] = flatten(child);
    expect(defParent.equals(defChild)).toBe(false);
    const rebuilt = unflatten(defChild, childLeaves);
    expect(Object.getPrototypeOf(rebuilt)).toBe(Child.prototype);
    expect(rebuilt).toEqual(child);
    expect(String(defChild)).toBe("Child(a=*, tag='c')");
  });

  it("a structure written by hand for a class never instantiated rebuilds that class", () => {
    class Fresh extends Base {}
    const def = new TreeDef(
      nodeTypeOf(new Base({ a: 0, tag: "" })),
      [Fresh.prototype, "x"],
      [LEAF],
    );
    const built = unflatten(def, [5]) as Base;
    expect(Object.getPrototypeOf(built)).toBe(Fresh.prototype);
    expect(built.a).toBe(5);
    expect(built.tag).toBe("x");
    const [again, defAgain] = flatten(built);
    expect(defAgain.equals(def)).toBe(true);
    expect(Object.getPrototypeOf(unflatten(defAgain, again))).toBe(Fresh.prototype);
  });

  it("flatten, flattenWithPath, leaves and map agree on every class and every way of building", () => {
    const instance = fc
      .tuple(fc.constantFrom(...classes), fc.integer({ min: 0, max: 3 }), fc.integer())
      .map(([cls, how, a]) => make(cls, how, a));
    const tree = fc.array(
      fc.oneof(
        instance,
        instance.map((x) => new Other({ a: x, b: [x], tag: "o" })),
      ),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(tree, (t) => {
        const [ls, def] = flatten(t);
        const back = unflatten(def, ls) as unknown[];
        const [pairs, defWithPath] = flattenWithPath(t);
        expect(defWithPath.equals(def)).toBe(true);
        expect(pairs.map(([, v]) => v)).toEqual(ls);
        expect(leaves(t)).toEqual(ls);
        const protosOf = (xs: unknown[]) => xs.map((x) => Object.getPrototypeOf(x));
        expect(protosOf(back)).toEqual(protosOf(t));
        expect(protosOf(map((v) => v, t) as unknown[])).toEqual(protosOf(t));
        expect(pairs.map(([p]) => keystr(p))).toEqual(
          t.flatMap((x, i) =>
            x instanceof Other ? [`[${i}].a.a`, `[${i}].b[0].a`] : [`[${i}].a`],
          ),
        );
      }),
    );
  });
});
