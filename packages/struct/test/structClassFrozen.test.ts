/**
 * A struct class whose prototype is frozen cannot hold its class record; the walks then compare
 * prototypes instead of trusting records. Kept in a file of its own: the first such class switches
 * every later walk in the process to the comparing mode.
 */
import { describe, expect, it } from "vitest";
import { field, flatten, flattenWithPath, keystr, map, Struct, unflatten } from "../src/index.js";

class Parent extends Struct.define({ a: field<unknown>() }) {}
class Frozen extends Parent {}

describe("a struct class with a frozen prototype", () => {
  it("keeps its own class through flatten and unflatten after its parent was recorded", () => {
    const parent = new Parent({ a: 1 });
    expect(Object.getPrototypeOf(unflatten(...swap(flatten(parent))))).toBe(Parent.prototype);
    Object.freeze(Frozen.prototype);
    const frozen = new Frozen({ a: new Parent({ a: 2 }) });
    const [leaves, def] = flatten(frozen);
    expect(leaves).toEqual([2]);
    expect(String(def)).toBe("Frozen(a=Parent(a=*))");
    const rebuilt = unflatten(def, [3]) as Frozen;
    expect(Object.getPrototypeOf(rebuilt)).toBe(Frozen.prototype);
    expect(Object.getPrototypeOf(rebuilt.a)).toBe(Parent.prototype);
    expect(flattenWithPath(frozen)[0].map(([p, v]) => [keystr(p), v])).toEqual([[".a.a", 2]]);
    expect(Object.getPrototypeOf(map((x) => x, frozen))).toBe(Frozen.prototype);
    expect(flatten(rebuilt)[1].equals(def)).toBe(true);
    expect(flatten(parent)[1].equals(def)).toBe(false);
  });
});

function swap<A, B>([a, b]: [A, B]): [B, A] {
  return [b, a];
}
