import { describe, expect, it } from "vitest";
import {
  ARRAY_NODE,
  childKeys,
  DictKey,
  deepEqualStatic,
  FlattenedIndexKey,
  field,
  flatten,
  flattenOneLevel,
  flattenUpTo,
  flattenWithPath,
  GetAttrKey,
  getAtPath,
  type KeyPath,
  KeyPathError,
  keystr,
  LEAF,
  LeafCountError,
  leaves,
  MAP_NODE,
  map,
  mapWithPath,
  NONE_NODE,
  nodeTypeOf,
  OBJECT_NODE,
  options,
  prettyKeystr,
  SequenceKey,
  Struct,
  structure,
  TreeDef,
  TreeStructureMismatchError,
  tree,
  treeEquals,
  unflatten,
} from "../src/index.js";

class Point extends Struct.define({ x: field<number>(), y: field<number>() }) {}
class Tagged extends Struct.define({ v: field<unknown>(), tag: field<string>({ static: true }) }) {}

const paths = (t: unknown) => flattenWithPath(t)[0].map(([p, v]) => [keystr(p), v]);

describe("node kinds", () => {
  it("plain object children come in sorted key order", () => {
    expect(flatten({ foo: 1, bar: 2, baz: 3 })[0]).toEqual([2, 3, 1]);
    expect(paths({ b: [1, 2], a: 3 })).toEqual([
      ["['a']", 3],
      ["['b'][0]", 1],
      ["['b'][1]", 2],
    ]);
    // Integer-like keys sort as strings, as Python sorts string keys.
    expect(flatten({ 10: "ten", 2: "two", a: "a" })[0]).toEqual(["ten", "two", "a"]);
  });

  it("the structure does not depend on literal key order", () => {
    expect(structure({ a: 1, b: 2 }).equals(structure({ b: 2, a: 1 }))).toBe(true);
  });

  it("Map children come in insertion order, and order is part of the structure", () => {
    const m = new Map<unknown, number>([
      ["z", 1],
      ["a", 2],
      [3, 3],
    ]);
    expect(paths(m)).toEqual([
      ["['z']", 1],
      ["['a']", 2],
      ["[3]", 3],
    ]);
    const reordered = new Map<unknown, number>([
      ["a", 2],
      ["z", 1],
      [3, 3],
    ]);
    expect(structure(m).equals(structure(reordered))).toBe(false);
    const back = unflatten<Map<unknown, number>>(structure(m), [10, 20, 30]);
    expect([...back]).toEqual([
      ["z", 10],
      ["a", 20],
      [3, 30],
    ]);
  });

  it("null and undefined are nodes with no children, distinct from each other", () => {
    expect(flatten(null)[0]).toEqual([]);
    expect(flatten(undefined)[0]).toEqual([]);
    expect(flatten([1, null, undefined, 2])[0]).toEqual([1, 2]);
    expect(structure(null).toString()).toBe("null");
    expect(structure(null).isLeaf).toBe(false);
    expect(structure(null).equals(structure(undefined))).toBe(false);
    expect(unflatten(structure([null, undefined]), [])).toEqual([null, undefined]);
  });

  it("empty containers are childless nodes", () => {
    expect(structure([]).toString()).toBe("[]");
    expect(structure({}).toString()).toBe("{}");
    expect(structure(new Map()).toString()).toBe("Map{}");
    expect(structure([]).equals(structure({}))).toBe(false);
    expect(flatten([[], {}, new Map()])[0]).toEqual([]);
  });

  it("everything else is a leaf: numbers, strings, booleans, functions, typed arrays, class instances", () => {
    class Opaque {
      constructor(readonly inner: number[]) {}
    }
    const fn = () => 1;
    const typed = new Float32Array([1, 2, 3]);
    const opaque = new Opaque([1, 2]);
    const date = new Date(0);
    const [ls, def] = flatten([1, "s", true, fn, typed, opaque, 10n, date, Symbol.for("s")]);
    expect(ls).toEqual([1, "s", true, fn, typed, opaque, 10n, date, Symbol.for("s")]);
    expect(ls[4]).toBe(typed);
    expect(ls[5]).toBe(opaque);
    expect(def.toString()).toBe("[*, *, *, *, *, *, *, *, *]");
    expect(structure(5)).toBe(LEAF);
    expect(structure(typed).isLeaf).toBe(true);
  });

  it("objects with a null prototype are plain objects and keep their prototype", () => {
    const o = Object.create(null) as Record<string, number>;
    o.b = 1;
    o.a = 2;
    const [ls, def] = flatten(o);
    expect(ls).toEqual([2, 1]);
    const back = unflatten<Record<string, number>>(def, [3, 4]);
    expect(Object.getPrototypeOf(back)).toBe(null);
    expect({ ...back }).toEqual({ a: 3, b: 4 });
    expect(def.equals(structure({ a: 1, b: 2 }))).toBe(false);
  });

  it("nodeTypeOf names the built-in kinds", () => {
    expect(nodeTypeOf([1])).toBe(ARRAY_NODE);
    expect(nodeTypeOf({ a: 1 })).toBe(OBJECT_NODE);
    expect(nodeTypeOf(new Map())).toBe(MAP_NODE);
    expect(nodeTypeOf(null)).toBe(NONE_NODE);
    expect(nodeTypeOf(undefined)).toBe(NONE_NODE);
    expect(nodeTypeOf(3)).toBeUndefined();
    expect(nodeTypeOf(new Float32Array(1))).toBeUndefined();
    expect(nodeTypeOf(new (class extends Map {})())).toBeUndefined();
    expect(nodeTypeOf(new Point({ x: 1, y: 2 }))?.name).toBe("Struct");
  });

  it("ARRAY_NODE.flatten returns a copy, so callers cannot mutate the tree", () => {
    const arr = [1, 2];
    const [children] = ARRAY_NODE.flatten(arr);
    children[0] = 9;
    expect(arr).toEqual([1, 2]);
  });

  it("childKeys gives the keys of each child", () => {
    expect(childKeys(ARRAY_NODE, [5, 6], null, 2)).toEqual([
      new SequenceKey(0),
      new SequenceKey(1),
    ]);
    const [children, aux] = OBJECT_NODE.flatten({ b: 1, a: 2 });
    expect(childKeys(OBJECT_NODE, { b: 1, a: 2 }, aux, children.length)).toEqual([
      new DictKey("a"),
      new DictKey("b"),
    ]);
  });
});

describe("flatten / flattenWithPath / leaves / structure", () => {
  const sample = { b: [1, new Point({ x: 2, y: 3 })], a: new Map([["k", 4]]), c: null };

  it("visit leaves in pre-order, left to right", () => {
    expect(leaves(sample)).toEqual([4, 1, 2, 3]);
    expect(paths(sample)).toEqual([
      ["['a']['k']", 4],
      ["['b'][0]", 1],
      ["['b'][1].x", 2],
      ["['b'][1].y", 3],
    ]);
  });

  it("structure renders node kinds with * for leaves", () => {
    expect(structure(sample).toString()).toBe(
      '{"a": Map{"k" => *}, "b": [*, Point(x=*, y=*)], "c": null}',
    );
  });

  it("isLeaf stops the walk, and may look at the key path", () => {
    expect(flatten([[1, 2], [3]], (x) => Array.isArray(x) && x.length === 1)[0]).toEqual([
      1,
      2,
      [3],
    ]);
    const seen: string[] = [];
    const [ls] = flatten({ a: { deep: 1 }, b: { deep: 2 } }, (_x, path) => {
      seen.push(keystr(path));
      return keystr(path) === "['a']";
    });
    expect(ls).toEqual([{ deep: 1 }, 2]);
    expect(seen).toEqual(["", "['a']", "['b']", "['b']['deep']"]);
    const [pairs] = flattenWithPath([new Point({ x: 1, y: 2 })], (x) => x instanceof Point);
    expect(pairs).toEqual([[[new SequenceKey(0)], new Point({ x: 1, y: 2 })]]);
    expect(structure([[1], 2], (x) => Array.isArray(x) && x.length === 1).toString()).toBe(
      "[*, *]",
    );
    expect(leaves({ a: [1] }, (x) => Array.isArray(x))).toEqual([[1]]);
  });

  it("an isLeaf that matches the root makes the whole tree one leaf", () => {
    const t = { a: 1 };
    const [ls, def] = flatten(t, () => true);
    expect(ls).toEqual([t]);
    expect(def).toBe(LEAF);
  });

  it("paths of different leaves are distinct arrays", () => {
    const [pairs] = flattenWithPath([[1, 2]]);
    expect(pairs[0]![0]).not.toBe(pairs[1]![0]);
    expect(pairs[0]![0]).toEqual([new SequenceKey(0), new SequenceKey(0)]);
  });
});

describe("TreeDef", () => {
  const def = structure({ a: [1, 2], b: new Point({ x: 1, y: 2 }), c: 3 });

  it("counts leaves and nodes", () => {
    expect(def.numLeaves).toBe(5);
    expect(def.numNodes).toBe(8);
    expect(LEAF.numLeaves).toBe(1);
    expect(LEAF.numNodes).toBe(1);
    expect(structure(null).numLeaves).toBe(0);
  });

  it("exposes the root's kind, static data and child structures", () => {
    expect(def.nodeType).toBe(OBJECT_NODE);
    expect(def.aux).toEqual({ keys: ["a", "b", "c"], nullPrototype: false });
    expect(def.isLeaf).toBe(false);
    expect(def.children.map(String)).toEqual(["[*, *]", "Point(x=*, y=*)", "*"]);
    expect(def.children.map((c) => c.numLeaves)).toEqual([2, 2, 1]);
    expect(def.children[0]!.children).toEqual([LEAF, LEAF]);
    expect(def.children[2]).toBe(LEAF);
    expect(def.children).toBe(def.children);
    expect(Object.isFrozen(def)).toBe(true);
  });

  it("child structures unflatten on their own", () => {
    expect(def.children[1]!.unflatten([7, 8])).toEqual(new Point({ x: 7, y: 8 }));
    expect(def.children[1]!.equals(structure(new Point({ x: 0, y: 0 })))).toBe(true);
  });

  it("can be built from a kind, static data and children", () => {
    const built = new TreeDef(ARRAY_NODE, null, [LEAF, structure({ k: 1 })]);
    expect(built.toString()).toBe('[*, {"k": *}]');
    expect(built.equals(structure([0, { k: 0 }]))).toBe(true);
    expect(built.numLeaves).toBe(2);
    expect(built.numNodes).toBe(4);
    expect(built.unflatten(["a", "b"])).toEqual(["a", { k: "b" }]);
  });

  it("equals compares kinds, static data and child counts everywhere", () => {
    expect(structure([1, [2, 3]]).equals(structure(["a", ["b", "c"]]))).toBe(true);
    expect(structure([1, [2, 3]]).equals(structure([1, [2]]))).toBe(false);
    expect(structure([1, 2]).equals(structure({ 0: 1, 1: 2 }))).toBe(false);
    expect(structure({ a: 1 }).equals(structure({ b: 1 }))).toBe(false);
    expect(structure([1, [2]]).equals(structure([[1], 2]))).toBe(false);
    expect(
      structure(new Tagged({ v: 1, tag: "a" })).equals(structure(new Tagged({ v: 1, tag: "b" }))),
    ).toBe(false);
  });

  it("unflatten throws LeafCountError with the structure and how to fix it", () => {
    const d = structure([1, 2]);
    expect(() => d.unflatten([1])).toThrow(LeafCountError);
    expect(() => unflatten(d, [1, 2, 3])).toThrow(
      "unflatten expected 2 leaves for the structure [*, *], but got 3. Pass exactly one leaf per '*' in the structure, in flatten order.",
    );
    expect(() => unflatten(d, "ab" as never)).toThrow(/but got a string instead of an array/);
    expect(() => unflatten({} as never, [])).toThrow(TypeError);
  });

  it("unflatten rebuilds every node kind", () => {
    const t = {
      a: [1, null],
      b: new Map([["m", 2]]),
      c: new Tagged({ v: 3, tag: "t" }),
      d: undefined,
    };
    const [ls, d] = flatten(t);
    expect(ls).toEqual([1, 2, 3]);
    const back = unflatten<typeof t>(d, ["x", "y", "z"]);
    expect(back.a).toEqual(["x", null]);
    expect([...back.b]).toEqual([["m", "y"]]);
    expect(back.c).toBeInstanceOf(Tagged);
    expect(back.c.attributesDict()).toEqual({ v: "z", tag: "t" });
    expect("d" in back).toBe(true);
    expect(back.d).toBeUndefined();
  });
});

describe("map / mapWithPath", () => {
  it("maps one tree", () => {
    expect(map((x: number) => x * 2, { b: [1, 2], a: new Point({ x: 3, y: 4 }) })).toEqual({
      a: new Point({ x: 6, y: 8 }),
      b: [2, 4],
    });
  });

  it("maps several trees of the same structure", () => {
    expect(map((a: number, b: number) => a + b, [1, { x: 2 }], [10, { x: 20 }])).toEqual([
      11,
      { x: 22 },
    ]);
    expect(map((a: number, b: number, c: number) => a + b + c, [1], [2], [3])).toEqual([6]);
  });

  it("passes subtrees where the first tree has leaves (prefix)", () => {
    expect(map((a: number, b: unknown) => [a, b], [1, 2], [{ k: 1 }, [3, 4]])).toEqual([
      [1, { k: 1 }],
      [2, [3, 4]],
    ]);
  });

  it("throws TreeStructureMismatchError with both structures and the first differing path", () => {
    let error: unknown;
    try {
      map((a: number, b: number) => a + b, { a: [1, 2], b: 3 }, { a: [1], b: 3 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TreeStructureMismatchError);
    const mismatch = error as TreeStructureMismatchError;
    expect(mismatch.path).toEqual([new DictKey("a")]);
    expect(mismatch.message).toBe(
      "tree.map: tree 1 does not have tree 0's structure at ['a']: tree 0 has a node […, …] there, tree 1 has a node […].\n" +
        '  tree 0 structure: {"a": [*, *], "b": *}\n' +
        '  tree 1 structure: {"a": [*], "b": *}\n' +
        "Make tree 1 match tree 0 at ['a'] (same node kinds, keys, static fields and child counts), or extend it only where the first has leaves.",
    );
  });

  it("reports a leaf where a node was expected, and differing static fields", () => {
    expect(() => map((a: unknown) => a, [[1]], [5])).toThrow(
      /at the root|at \[0\]: tree 0 has a node \[…\] there, tree 1 has a leaf \(number\)/,
    );
    try {
      map((a: unknown) => a, [new Tagged({ v: 1, tag: "a" })], [new Tagged({ v: 1, tag: "b" })]);
      expect.unreachable();
    } catch (e) {
      expect((e as TreeStructureMismatchError).path).toEqual([new SequenceKey(0)]);
      expect((e as Error).message).toContain(
        "tree 0 has a node Tagged(v=…, tag='a') there, tree 1 has a node Tagged(v=…, tag='b')",
      );
    }
    try {
      map((a: unknown) => a, { x: { p: 1, q: 2 } }, { x: { p: 1, r: 2 } });
      expect.unreachable();
    } catch (e) {
      expect(keystr((e as TreeStructureMismatchError).path)).toBe("['x']");
    }
  });

  it("accepts an isLeaf option as the final argument", () => {
    const isLeaf = (x: unknown) => Array.isArray(x);
    expect(map((x: number[]) => x.length, { a: [1, 2], b: [3] }, options({ isLeaf }))).toEqual({
      a: 2,
      b: 1,
    });
    expect(
      map(
        (x: number[], y: number[]) => x.length + y.length,
        { a: [1, 2] },
        { a: [1] },
        options({ isLeaf }),
      ),
    ).toEqual({ a: 3 });
    const byPath = options({ isLeaf: (_x, path) => keystr(path) === "['a']" });
    expect(map((x: unknown) => JSON.stringify(x), { a: [1], b: [2] }, byPath)).toEqual({
      a: "[1]",
      b: ["2"],
    });
  });

  it("mapWithPath passes each leaf's key path first", () => {
    expect(
      mapWithPath((path: KeyPath, x: number) => `${keystr(path)}=${x}`, { a: 1, b: [2] }),
    ).toEqual({
      a: "['a']=1",
      b: ["['b'][0]=2"],
    });
    expect(mapWithPath((_p: KeyPath, a: number, b: number) => a * b, [2, 3], [4, 5])).toEqual([
      8, 15,
    ]);
    expect(() => mapWithPath((_p: KeyPath, a: number) => a, [1], [1, 2])).toThrow(
      /^tree\.mapWithPath: tree 1 does not have tree 0's structure at the root/,
    );
  });

  it("identity map returns an equal tree with frozen structs rebuilt", () => {
    const t = [new Point({ x: 1, y: 2 }), { a: null }];
    const back = map((x: unknown) => x, t);
    expect(back).toEqual(t);
    expect(back).not.toBe(t);
  });
});

describe("flattenUpTo", () => {
  it("returns whole subtrees at the leaves of the structure", () => {
    expect(flattenUpTo(structure([1, 2]), [{ a: 1 }, [3]])).toEqual([{ a: 1 }, [3]]);
    expect(flattenUpTo(structure({ a: 1, b: [2] }), { b: [[9]], a: "x" })).toEqual(["x", [9]]);
  });

  it("throws with both structures and the first differing path", () => {
    expect(() => flattenUpTo(structure({ a: [1] }), { a: { b: 1 } })).toThrow(
      "flattenUpTo: the tree does not have the structure's structure at ['a']: the structure has a node […] there, " +
        'the tree has a node {"b": …}.\n' +
        '  the structure structure: {"a": [*]}\n' +
        '  the tree structure: {"a": {"b": *}}\n' +
        "Make the tree match the structure at ['a'] (same node kinds, keys, static fields and child counts), or extend it only where the first has leaves.",
    );
  });
});

describe("flattenOneLevel", () => {
  it("flattens exactly one level (penzai's example)", () => {
    const [children, def] = flattenOneLevel({ a: [1, 2], b: [3, 4] })!;
    expect(children).toEqual([
      [new DictKey("a"), [1, 2]],
      [new DictKey("b"), [3, 4]],
    ]);
    expect(def.unflatten(["x", "y"])).toEqual({ a: "x", b: "y" });
  });

  it("returns undefined for a leaf and an empty list for childless nodes", () => {
    expect(flattenOneLevel(42)).toBeUndefined();
    expect(flattenOneLevel(new Float32Array(2))).toBeUndefined();
    for (const empty of [null, undefined, [], {}, new Map()])
      expect(flattenOneLevel(empty)![0]).toEqual([]);
    class NoFields extends Struct.define({}) {}
    expect(flattenOneLevel(new NoFields())![0]).toEqual([]);
  });

  it("gives struct children with their keys", () => {
    const [children] = flattenOneLevel(new Point({ x: [1], y: 2 } as never))!;
    expect(children).toEqual([
      [new GetAttrKey("x"), [1]],
      [new GetAttrKey("y"), 2],
    ]);
  });
});

describe("getAtPath", () => {
  const t = { a: [10, new Point({ x: 1, y: 2 })], m: new Map([[1, "one"]]) };

  it("follows each kind of step", () => {
    expect(getAtPath(t, [])).toBe(t);
    expect(getAtPath(t, [new DictKey("a"), new SequenceKey(0)])).toBe(10);
    expect(getAtPath(t, [new DictKey("a"), new SequenceKey(1), new GetAttrKey("y")])).toBe(2);
    expect(getAtPath(t, [new DictKey("m"), new DictKey(1)])).toBe("one");
  });

  it("throws KeyPathError naming the missing step", () => {
    expect(() => getAtPath(t, [new DictKey("a"), new SequenceKey(5)])).toThrow(KeyPathError);
    expect(() => getAtPath(t, [new DictKey("a"), new SequenceKey(5)])).toThrow(
      "Cannot follow the key path ['a'][5]: the node at ['a'] (a node […, …]) has no child [5].",
    );
    expect(() => getAtPath(5, [new SequenceKey(0)])).toThrow(
      "Cannot follow the key path [0]: the node at the root (a leaf (number)) has no child [0].",
    );
    expect(() => getAtPath(t, [new GetAttrKey("a")])).toThrow(KeyPathError);
  });

  it("follows flat-index keys of registered nodes without named children", () => {
    expect(getAtPath([1, 2], [new SequenceKey(1)])).toBe(2);
    expect(() => getAtPath([1, 2], [new FlattenedIndexKey(1)])).toThrow(KeyPathError);
  });
});

describe("prettyKeystr", () => {
  class Sequential extends Struct.define({ sublayers: field<unknown[]>() }) {}
  class MyStatefulLayer extends Struct.define({ some_unnamed_state: field<unknown>() }) {}
  class WithConstantSideInputs extends Struct.define({ body: field<unknown>() }) {}
  class WithStatefulRandomKey extends Struct.define({ random_state: field<unknown>() }) {}
  class IdentityWithExtraPayload extends Struct.define({ payload: field<unknown>() }) {}

  const pretty = (t: unknown) => flattenWithPath(t)[0].map(([p]) => prettyKeystr(p, t));

  it("inserts the type of each struct before attribute steps (penzai's examples)", () => {
    expect(
      pretty(
        new Sequential({
          sublayers: [new MyStatefulLayer({ some_unnamed_state: { baz: { qux: 1 } } })],
        }),
      ),
    ).toEqual(["Sequential.sublayers[0]/MyStatefulLayer.some_unnamed_state['baz']['qux']"]);
    expect(pretty({ a: new WithConstantSideInputs({ body: { y: 1 } }) })).toEqual([
      "['a']/WithConstantSideInputs.body['y']",
    ]);
    expect(pretty(new WithStatefulRandomKey({ random_state: 0 }))).toEqual([
      "WithStatefulRandomKey.random_state",
    ]);
    expect(pretty(new IdentityWithExtraPayload({ payload: { baz: 1 } }))).toEqual([
      "IdentityWithExtraPayload.payload['baz']",
    ]);
  });

  it("leaves plain string keys from keyForField without a type", () => {
    class Custom extends Struct.define({ foo: field<number>() }) {
      override keyForField(name: string) {
        return name;
      }
    }
    const c = new Custom({ foo: 1 });
    expect(prettyKeystr(flattenWithPath(c)[0][0]![0], c)).toBe("foo");
    expect(prettyKeystr([], c)).toBe("");
  });

  it("throws KeyPathError for a path the tree does not have", () => {
    expect(() =>
      prettyKeystr([new GetAttrKey("nope")], new WithStatefulRandomKey({ random_state: 0 })),
    ).toThrow(KeyPathError);
  });
});

describe("treeEquals", () => {
  it("compares structures and leaves", () => {
    expect(treeEquals({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(treeEquals({ a: [1, 2] }, { a: [1, 3] })).toBe(false);
    expect(treeEquals({ a: [1, 2] }, { a: [1, [2]] })).toBe(false);
    expect(
      treeEquals([new Float32Array([1, Number.NaN])], [new Float32Array([1, Number.NaN])]),
    ).toBe(true);
    expect(treeEquals([new Float32Array([1])], [new Float64Array([1])])).toBe(false);
    expect(treeEquals([new Float32Array([1])], [new Float32Array([1, 2])])).toBe(false);
  });

  it("takes a leaf comparison", () => {
    expect(
      treeEquals([1.0001], [1], (a, b) => Math.abs((a as number) - (b as number)) < 1e-3),
    ).toBe(true);
  });
});

describe("deepEqualStatic", () => {
  it("compares by value", () => {
    expect(deepEqualStatic({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(deepEqualStatic({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqualStatic({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
    expect(deepEqualStatic([1, 2], [1, 2, 3])).toBe(false);
    expect(deepEqualStatic(new Int32Array([1, 2]), new Int32Array([1, 2]))).toBe(true);
    expect(deepEqualStatic(new Int32Array([1, 2]), new Int32Array([1, 3]))).toBe(false);
    expect(deepEqualStatic(new Map([["a", 1]]), new Map([["a", 1]]))).toBe(true);
    expect(
      deepEqualStatic(
        new Map([
          ["a", 1],
          ["b", 2],
        ]),
        new Map([
          ["b", 2],
          ["a", 1],
        ]),
      ),
    ).toBe(false);
    expect(deepEqualStatic(new Point({ x: 1, y: 2 }), new Point({ x: 1, y: 2 }))).toBe(true);
    expect(deepEqualStatic(1, "1")).toBe(false);
    expect(deepEqualStatic(Number.NaN, Number.NaN)).toBe(true);
    class Opaque {}
    expect(deepEqualStatic(new Opaque(), new Opaque())).toBe(false);
    expect(deepEqualStatic([1], { 0: 1 })).toBe(false);
  });
});

describe("the tree namespace", () => {
  it("exposes the tree utilities under JAX-like names", () => {
    expect(tree.flatten).toBe(flatten);
    expect(tree.unflatten).toBe(unflatten);
    expect(tree.map).toBe(map);
    expect(tree.mapWithPath).toBe(mapWithPath);
    expect(tree.leaves).toBe(leaves);
    expect(tree.structure).toBe(structure);
    expect(tree.flattenWithPath).toBe(flattenWithPath);
    expect(tree.flattenUpTo).toBe(flattenUpTo);
    expect(tree.equals).toBe(treeEquals);
    expect(tree.keystr).toBe(keystr);
    expect(tree.prettyKeystr).toBe(prettyKeystr);
    expect(tree.GetAttrKey).toBe(GetAttrKey);
    expect(tree.SequenceKey).toBe(SequenceKey);
    expect(tree.DictKey).toBe(DictKey);
    expect(tree.getAtPath).toBe(getAtPath);
    expect(tree.flattenOneLevel).toBe(flattenOneLevel);
  });
});

describe("reentrancy", () => {
  it("flatten can be called from inside an isLeaf predicate", () => {
    const inner: number[] = [];
    const [ls, def] = flatten({ a: [1, 2], b: { c: 3 } }, (x) => {
      if (Array.isArray(x)) inner.push(flatten({ z: x })[0].length);
      return false;
    });
    expect(ls).toEqual([1, 2, 3]);
    expect(inner).toEqual([2]);
    expect(def.toString()).toBe('{"a": [*, *], "b": {"c": *}}');
    const [pairs, def2] = flattenWithPath([{ q: 1 }], (x) => structure(x).numLeaves === 0);
    expect(pairs.map(([p]) => keystr(p))).toEqual(["[0]['q']"]);
    expect(def2.toString()).toBe('[{"q": *}]');
  });

  it("a throwing isLeaf leaves the next flatten unaffected", () => {
    expect(() =>
      flatten([1, [2]], (x) => {
        if (Array.isArray(x) && x.length === 1) throw new Error("boom");
        return false;
      }),
    ).toThrow("boom");
    const [ls, def] = flatten([5, [6]]);
    expect(ls).toEqual([5, 6]);
    expect(def.toString()).toBe("[*, [*]]");
  });
});
