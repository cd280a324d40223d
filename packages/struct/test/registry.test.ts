import { describe, expect, it } from "vitest";
import {
  FlattenedIndexKey,
  flatten,
  flattenWithPath,
  GetAttrKey,
  getAtPath,
  isRegisteredPytreeNode,
  keystr,
  map,
  NODE_TYPE,
  type NodeType,
  prettyKeystr,
  RegistrationError,
  registerPytreeNode,
  SequenceKey,
  Struct,
  safeString,
  structure,
  unflatten,
} from "../src/index.js";

class Pair {
  constructor(
    readonly first: unknown,
    readonly second: unknown,
    readonly label = "",
  ) {}
}

registerPytreeNode(Pair, {
  flattenWithKeys: (p) => ({
    children: [
      [new GetAttrKey("first"), p.first],
      [new GetAttrKey("second"), p.second],
    ],
    aux: p.label,
  }),
  unflatten: (label, [first, second]) => new Pair(first, second, label),
});

describe("registerPytreeNode", () => {
  it("makes instances nodes with keyed children", () => {
    const t = [new Pair(1, [2, 3], "p")];
    const [pairs, def] = flattenWithPath(t);
    expect(pairs.map(([p, v]) => [keystr(p), v])).toEqual([
      ["[0].first", 1],
      ["[0].second[0]", 2],
      ["[0].second[1]", 3],
    ]);
    expect(def.toString()).toBe('[Pair("p", [*, [*, *]])]');
    const back = unflatten<Pair[]>(def, ["a", "b", "c"]);
    expect(back[0]).toBeInstanceOf(Pair);
    expect(back[0]).toEqual(new Pair("a", ["b", "c"], "p"));
    expect(isRegisteredPytreeNode(Pair)).toBe(true);
  });

  it("a node whose flattenWithKeys flattens another tree leaves the outer walk intact", () => {
    class Summary {
      constructor(readonly parts: unknown) {}
    }
    registerPytreeNode(Summary, {
      flattenWithKeys: (s) => ({
        // A nested flatten of a struct tree while the outer walk is in progress.
        children: [[new GetAttrKey("parts"), flatten(s.parts)[0]]],
        aux: null,
      }),
      unflatten: (_aux, [parts]) => new Summary(parts),
    });
    const inner = [new Pair(7, 8), new Float32Array([9])];
    const t = [1, new Summary(inner), [new Float32Array([2]), null, 3]];
    const [ls, def] = flatten(t);
    expect(ls).toEqual([1, 7, 8, new Float32Array([9]), new Float32Array([2]), 3]);
    expect(def.toString()).toBe("[*, Summary([[*, *, *]]), [*, null, *]]");
  });

  it("keeps aux data in the structure, compared by value", () => {
    expect(structure(new Pair(1, 2, "a")).equals(structure(new Pair(3, 4, "a")))).toBe(true);
    expect(structure(new Pair(1, 2, "a")).equals(structure(new Pair(1, 2, "b")))).toBe(false);
    expect(structure(new Pair(1, 2)).toString()).toBe('Pair("", [*, *])');
  });

  it("works with map, getAtPath and prettyKeystr", () => {
    expect(map((x: number) => x + 1, new Pair(1, 2, "q"))).toEqual(new Pair(2, 3, "q"));
    const t = { p: new Pair(1, 2) };
    expect(getAtPath(t, flattenWithPath(t)[0][1]![0])).toBe(2);
    expect(prettyKeystr(flattenWithPath(t)[0][1]![0], t)).toBe("['p']/Pair.second");
  });

  it("registers exactly one class: subclasses stay leaves, as in JAX", () => {
    class SubPair extends Pair {}
    const sub = new SubPair(1, 2);
    expect(flatten(sub)[0]).toEqual([sub]);
    expect(isRegisteredPytreeNode(SubPair)).toBe(false);
  });

  it("rejects double registration, built-ins, structs and non-classes", () => {
    const noop = { flattenWithKeys: () => ({ children: [], aux: null }), unflatten: () => ({}) };
    expect(() => registerPytreeNode(Pair, noop as never)).toThrow(
      "Pair is already registered as a pytree node. Register each class once, at module load.",
    );
    expect(() => registerPytreeNode(Map, noop as never)).toThrow(
      "Map is a built-in pytree node kind and cannot be registered again.",
    );
    expect(() => registerPytreeNode(Array, noop as never)).toThrow(RegistrationError);
    expect(() => registerPytreeNode(Float32Array, noop as never)).toThrow(
      "Float32Array is a typed array, and typed arrays are always leaves (trees are never walked element by element). " +
        "Wrap the data in a struct or a registered class instead.",
    );
    expect(() => registerPytreeNode(DataView, noop as never)).toThrow(RegistrationError);
    class S extends Struct.define({}) {}
    expect(() => registerPytreeNode(S, noop as never)).toThrow(/S is already a pytree node/);
    expect(() => registerPytreeNode(5 as never, noop as never)).toThrow(
      "registerPytreeNode expects a class as its first argument, but got 5.",
    );
  });

  it("reports a flattenWithKeys that returns the wrong shape", () => {
    class Broken {}
    registerPytreeNode(Broken, {
      flattenWithKeys: () => null as never,
      unflatten: () => new Broken(),
    });
    expect(() => flatten([new Broken()])).toThrow(
      "The flattenWithKeys of Broken returned null; it must return { children: [[key, child], ...], aux }.",
    );
  });

  it("uses a custom auxEquals", () => {
    class Tol {
      constructor(
        readonly v: number,
        readonly eps: number,
      ) {}
    }
    registerPytreeNode(Tol, {
      flattenWithKeys: (t) => ({ children: [[new GetAttrKey("v"), t.v]], aux: t.eps }),
      unflatten: (eps, [v]) => new Tol(v as number, eps),
      auxEquals: (a, b) => Math.abs(a - b) < 0.1,
    });
    expect(structure(new Tol(1, 0.5)).equals(structure(new Tol(1, 0.55)))).toBe(true);
    expect(structure(new Tol(1, 0.5)).equals(structure(new Tol(1, 0.9)))).toBe(false);
  });
});

describe("NODE_TYPE", () => {
  it("a node type attached to a prototype applies to its instances; missing keys become flat indices", () => {
    class Bag {
      constructor(readonly items: unknown[]) {}
    }
    const bagType: NodeType<Bag, null> = {
      name: "Bag",
      flatten: (b) => [b.items.slice(), null],
      keys: () => [],
      unflatten: (_aux, children) => new Bag(children),
      auxEquals: () => true,
      render: (_aux, children) => `Bag(${children.join(", ")})`,
    };
    Object.defineProperty(Bag.prototype, NODE_TYPE, { value: bagType });
    const [pairs, def] = flattenWithPath(new Bag([1, [2]]));
    expect(pairs).toEqual([
      [[new FlattenedIndexKey(0)], 1],
      [[new FlattenedIndexKey(1), new SequenceKey(0)], 2],
    ]);
    expect(def.toString()).toBe("Bag(*, [*])");
    expect(unflatten(def, [5, 6])).toEqual(new Bag([5, [6]]));
    expect(getAtPath(new Bag([1, 9]), [new FlattenedIndexKey(1)])).toBe(9);
    expect(prettyKeystr([new FlattenedIndexKey(1)], new Bag([1, 9]))).toBe("Bag[<flat index 1>]");
  });
});

describe("safeString", () => {
  it("never throws", () => {
    expect(safeString("a")).toBe('"a"');
    expect(safeString(3)).toBe("3");
    expect(safeString(Object.create(null))).toBe("[object Object]");
    expect(
      safeString({
        toString() {
          throw new Error("no");
        },
      }),
    ).toBe("[object Object]");
  });
});
