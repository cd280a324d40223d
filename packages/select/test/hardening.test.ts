import {
  field,
  keystr,
  MAX_TREE_DEPTH,
  Struct,
  TreeCycleError,
  TreeDepthError,
} from "@saikei/struct";
import { afterEach, describe, expect, it } from "vitest";
import { LeafHandle, select } from "../src/index.js";
import { Foo } from "./helpers.js";

const objectProtoNames = Object.getOwnPropertyNames(Object.prototype).sort();
const arrayProtoNames = Object.getOwnPropertyNames(Array.prototype).sort();
const mapProtoNames = Object.getOwnPropertyNames(Map.prototype).sort();
const fooProtoNames = Object.getOwnPropertyNames(Foo.prototype).sort();
const functionProtoNames = Object.getOwnPropertyNames(Function.prototype).sort();

afterEach(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoNames);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayProtoNames);
  expect(Object.getOwnPropertyNames(Map.prototype).sort()).toEqual(mapProtoNames);
  expect(Object.getOwnPropertyNames(Foo.prototype).sort()).toEqual(fooProtoNames);
  expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(functionProtoNames);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

/** Runs `write` on the stand-in of `tree` inside an accessor, swallowing what it throws. */
function tryWrite(tree: unknown, write: (t: any) => void): void {
  select(tree).at((t) => {
    try {
      write(t);
    } catch {
      // A refusal is fine; what matters is that no prototype changed.
    }
    return t;
  });
}

describe("accessor stand-ins do not reach real prototypes", () => {
  const trees = () => ({
    object: { a: 1, b: [2, 3] },
    array: [1, { x: 2 }],
    struct: new Foo({ a: 1, b: [2] }),
    map: { m: new Map([["k", 1]]) },
  });

  it("t.__proto__, t.constructor.prototype and Object.getPrototypeOf(t) lead nowhere", () => {
    for (const tree of Object.values(trees())) {
      const seen: unknown[] = [];
      select(tree).at((t: any) => {
        seen.push(t.__proto__, t.constructor, Object.getPrototypeOf(t));
        return t;
      });
      expect(seen).toEqual([undefined, undefined, null]);
      tryWrite(tree, (t) => {
        t.__proto__.polluted = 1;
      });
      tryWrite(tree, (t) => {
        t.constructor.prototype.polluted = 1;
      });
      tryWrite(tree, (t) => {
        Object.getPrototypeOf(t).polluted = 1;
      });
    }
  });

  it("children, leaf handles and methods handed out do not either", () => {
    const { object, array, struct, map } = trees();
    tryWrite(object, (t) => {
      t.b.__proto__.polluted = 1;
    });
    tryWrite(array, (t) => {
      Object.getPrototypeOf(t[1]).polluted = 1;
    });
    tryWrite(object, (t) => {
      t.a.__proto__.polluted = 1;
    });
    tryWrite(object, (t) => {
      Object.getPrototypeOf(Object.getPrototypeOf(t.a)).polluted = 1;
    });
    tryWrite(object, (t) => {
      t.a.constructor.prototype.polluted = 1;
    });
    tryWrite(array, (t) => {
      t.find.__proto__.polluted = 1;
    });
    tryWrite(array, (t) => {
      t.map.constructor.prototype.polluted = 1;
    });
    tryWrite(struct, (t) => {
      t.kind.__proto__.polluted = 1;
    });
    tryWrite(map, (t) => {
      t.m.get.__proto__.polluted = 1;
    });
    tryWrite(map, (t) => {
      Object.getPrototypeOf(t.m).polluted = 1;
    });
    const handle = (() => {
      let h: unknown;
      select(object).at((t) => {
        h = t.a;
        return t.a;
      });
      return h as LeafHandle;
    })();
    expect(handle).toBeInstanceOf(LeafHandle);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(handle))).toBe(null);
    expect((handle as any).constructor).toBeUndefined();
  });

  it("keys named __proto__ and constructor are children", () => {
    const tree = JSON.parse('{"__proto__": {"x": 1}, "constructor": [2]}') as Record<
      string,
      unknown
    >;
    const out = select(tree)
      .at((t: any) => t.__proto__.x)
      .set(10) as Record<string, any>;
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")!.value).toEqual({ x: 10 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    const out2 = select(tree)
      .at((t: any) => t.constructor[0])
      .set(20) as Record<string, any>;
    expect(out2.constructor).toEqual([20]);
  });

  it("methods, getters, array methods and Map#get still work", () => {
    const { struct, map } = trees();
    expect(
      select([struct, struct])
        .at((t) => t.find((x) => x.kind() === "foo")!.b)
        .getKeypaths()
        .map(keystr),
    ).toEqual(["[0].b"]);
    expect(
      select(map)
        .at((t) => t.m.get("k")!)
        .set(5)
        .m.get("k"),
    ).toBe(5);
    expect(
      select([1, 2, 3])
        .at((t) => [...t].slice(1), { multiple: true })
        .set(0),
    ).toEqual([1, 0, 0]);
  });
});

class Node extends Struct.define({ children: field<unknown[]>() }) {}

describe("cycles and depth in selection walks", () => {
  it("atInstancesOf and atSubtreesWhere on a cyclic tree raise TreeCycleError with the path", () => {
    const kids: unknown[] = [1];
    const root = { node: new Node({ children: kids }) };
    kids.push(root);
    for (const fn of [
      () => select(root).atInstancesOf(String),
      () => select(root).atSubtreesWhere((x) => typeof x === "string"),
      () => select(root).atSubtreesWhere((x) => typeof x === "string", { innermost: true }),
    ]) {
      let e: unknown;
      try {
        fn();
      } catch (caught) {
        e = caught;
      }
      expect(e).toBeInstanceOf(TreeCycleError);
      expect(keystr((e as TreeCycleError).path)).toBe("['node'].children[1]");
      expect((e as TreeCycleError).ancestorPath).toEqual([]);
    }
  });

  it("the remainder of a selection in a cyclic tree raises TreeCycleError", () => {
    const t: any = { a: 1, b: {} };
    t.b.up = t;
    expect(() => select(t).at((r) => r.a).remainder).toThrow(TreeCycleError);
  });

  it("a 20,000-deep tree raises TreeDepthError", () => {
    let t: unknown = 1;
    for (let i = 0; i < 20_000; i++) t = [t];
    expect(() => select(t).atInstancesOf(String)).toThrow(TreeDepthError);
    expect(() => select(t).atSubtreesWhere(() => false, { withKeypath: true })).toThrow(
      TreeDepthError,
    );
    let depth = 0;
    try {
      select(t).atInstancesOf(String);
    } catch (e) {
      depth = (e as TreeDepthError).path.length;
    }
    expect(depth).toBe(MAX_TREE_DEPTH + 1);
  });
});
