import { afterEach, describe, expect, it } from "vitest";
import {
  DictKey,
  flatten,
  flattenWithPath,
  getAtPath,
  keystr,
  map,
  mapWithPath,
  structure,
  treeEquals,
  unflatten,
} from "../src/index.js";

const objectProtoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const arrayProtoKeys = Object.getOwnPropertyNames(Array.prototype).sort();

function assertPrototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoKeys);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayProtoKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

afterEach(assertPrototypesUntouched);

describe("prototype safety", () => {
  const hostile = () =>
    JSON.parse(
      '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "prototype": [3], "x": 4}',
    ) as Record<string, unknown>;

  it("keys __proto__, constructor and prototype are ordinary children", () => {
    const t = hostile();
    const [pairs] = flattenWithPath(t);
    expect(pairs.map(([p, v]) => [keystr(p), v])).toEqual([
      ["['__proto__']['polluted']", 1],
      ["['constructor']['prototype']['polluted']", 2],
      ["['prototype'][0]", 3],
      ["['x']", 4],
    ]);
    expect(structure(t).toString()).toBe(
      '{"__proto__": {"polluted": *}, "constructor": {"prototype": {"polluted": *}}, "prototype": [*], "x": *}',
    );
  });

  it("unflatten rebuilds them as own data properties", () => {
    const [leaves, def] = flatten(hostile());
    const back = unflatten<Record<string, any>>(
      def,
      leaves.map((x) => (x as number) * 10),
    );
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")!.value).toEqual({ polluted: 10 });
    expect(back.constructor).toEqual({ prototype: { polluted: 20 } });
    expect(back.prototype).toEqual([30]);
    expect(back.polluted).toBeUndefined();
    expect(
      treeEquals(
        back,
        map((x: number) => x * 10, hostile()),
      ),
    ).toBe(true);
  });

  it("map and mapWithPath round-trip the data", () => {
    const t = hostile();
    const mapped = map((x: number) => x + 1, t) as Record<string, any>;
    expect(Object.getOwnPropertyDescriptor(mapped, "__proto__")!.value).toEqual({ polluted: 2 });
    expect(Object.getPrototypeOf(mapped)).toBe(Object.prototype);
    const withPaths = mapWithPath((p: readonly unknown[]) => p.length, t, t) as Record<string, any>;
    expect(Object.getOwnPropertyDescriptor(withPaths, "__proto__")!.value).toEqual({ polluted: 2 });
    expect(map((x: number) => x, t)).toEqual(t);
  });

  it("getAtPath follows a __proto__ key as data", () => {
    expect(getAtPath(hostile(), [new DictKey("__proto__"), new DictKey("polluted")])).toBe(1);
  });

  it("Maps with hostile keys keep them as keys", () => {
    const m = new Map<string, number>([
      ["__proto__", 1],
      ["constructor", 2],
    ]);
    const back = unflatten<Map<string, number>>(structure(m), [3, 4]);
    expect([...back]).toEqual([
      ["__proto__", 3],
      ["constructor", 4],
    ]);
  });

  it("null-prototype objects with a __proto__ key stay null-prototype", () => {
    const o = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(o, "__proto__", {
      value: 1,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const back = unflatten<Record<string, unknown>>(structure(o), [2]);
    expect(Object.getPrototypeOf(back)).toBe(null);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")!.value).toBe(2);
  });
});
