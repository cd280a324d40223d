/** The examples of docs/struct.md, run. */
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import {
  field,
  GetAttrKey,
  LeafCountError,
  registerPytreeNode,
  Struct,
  StructConstructionError,
  TreeStructureMismatchError,
  tree,
} from "../src/index.js";

describe("docs/struct.md examples", () => {
  it("trees and leaves", () => {
    expect(tree.leaves({ b: [1, 2], a: 3 })).toEqual([3, 1, 2]);
    expect(tree.leaves([1, null, undefined, new Float32Array(3)])).toEqual([
      1,
      new Float32Array(3),
    ]);
    expect(tree.structure({ b: [1, 2], a: null }).toString()).toBe('{"a": null, "b": [*, *]}');
  });

  it("flatten, unflatten and structures", () => {
    const [leaves, def] = tree.flatten({ w: [1, 2], b: 3 });
    expect(leaves).toEqual([3, 1, 2]);
    expect(def.numLeaves).toBe(3);
    expect(def.toString()).toBe('{"b": *, "w": [*, *]}');
    expect(tree.unflatten(def, [30, 10, 20])).toEqual({ b: 30, w: [10, 20] });
    expect(() => tree.unflatten(def, [1])).toThrow(LeafCountError);
    expect(tree.structure({ a: 1, b: 2 }).equals(tree.structure({ b: 0, a: 0 }))).toBe(true);
    expect(tree.structure([1, 2]).equals(tree.structure([1, [2]]))).toBe(false);
  });

  it("key paths", () => {
    const model = { layers: [{ w: 1 }, { w: 2 }] };
    const [pairs] = tree.flattenWithPath(model);
    expect(pairs.map(([path, leaf]) => `${tree.keystr(path)}=${leaf}`)).toEqual([
      "['layers'][0]['w']=1",
      "['layers'][1]['w']=2",
    ]);
    expect(tree.getAtPath(model, pairs[1]![0])).toBe(2);

    class Linear extends Struct.define({ weights: field<number[]>() }) {}
    class Sequential extends Struct.define({ sublayers: field<unknown[]>() }) {}
    const net = new Sequential({ sublayers: [new Linear({ weights: [1] })] });
    const [[first]] = tree.flattenWithPath(net);
    const firstPath = first![0];
    expect(tree.keystr(firstPath)).toBe(".sublayers[0].weights[0]");
    expect(tree.prettyKeystr(firstPath, net)).toBe("Sequential.sublayers[0]/Linear.weights[0]");
  });

  it("map and mapWithPath", () => {
    expect(tree.map((x: number) => x * 2, { a: [1, 2] })).toEqual({ a: [2, 4] });
    expect(tree.map((x: number, y: number) => x + y, [1, 2], [10, 20])).toEqual([11, 22]);
    expect(
      tree.map(
        (xs: number[]) => xs.length,
        { a: [1, 2], b: [3] },
        tree.options({ isLeaf: Array.isArray }),
      ),
    ).toEqual({ a: 2, b: 1 });
    expect(tree.mapWithPath((path, x) => `${tree.keystr(path)}:${x}`, { a: 1 })).toEqual({
      a: "['a']:1",
    });
    expect(() => tree.map((x: number, y: number) => x + y, { a: [1, 2] }, { a: [1] })).toThrow(
      TreeStructureMismatchError,
    );
    expect(() => tree.map((x: number, y: number) => x + y, { a: [1, 2] }, { a: [1] })).toThrow(
      "tree.map: tree 1 does not have tree 0's structure at ['a']: tree 0 has a node […, …] there, tree 1 has a node […].\n" +
        '  tree 0 structure: {"a": [*, *]}\n' +
        '  tree 1 structure: {"a": [*]}\n' +
        "Make tree 1 match tree 0 at ['a'] (same node kinds, keys, static fields and child counts), or extend it only where the first has leaves.",
    );
  });

  it("structs", () => {
    class Point extends Struct.define({
      x: field<number>(),
      y: field<number>({ default: 0 }),
      label: field<string>({ static: true, default: "" }),
    }) {
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const p = new Point({ x: 3, y: 4 });
    expect(p.norm()).toBe(5);
    expect(String(p)).toBe("Point(x=3, y=4, label='')");
    expect(tree.leaves(p)).toEqual([3, 4]);
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => new Point({ y: 1 } as never)).toThrow(StructConstructionError);

    class Point3 extends Point.define({ z: field<number>() }) {}
    const q = new Point3({ x: 1, y: 2, z: 3 });
    expect(q.attributesDict()).toEqual({ x: 1, y: 2, label: "", z: 3 });
    expect(tree.structure(q).toString()).toBe("Point3(x=*, y=*, z=*, label='')");
    expect(Point3.fromAttributes({ x: 1, y: 2, label: "", z: 3 }).equals(q)).toBe(true);
    expect(q.replace({ z: 30 }).z).toBe(30);

    class Plain extends Struct.define({ foo: field<number>() }) {
      override keyForField(name: string) {
        return name;
      }
    }
    expect(tree.keystr(tree.flattenWithPath(new Plain({ foo: 1 }))[0][0]![0])).toBe("foo");

    const moved = produce(p, (draft) => {
      (draft as { x: number }).x = 6;
    });
    expect(moved instanceof Point).toBe(true);
    expect(moved.norm()).toBe(Math.hypot(6, 4));
    expect(p.x).toBe(3);
  });

  it("registering other classes", () => {
    class Pair {
      constructor(
        readonly first: unknown,
        readonly second: unknown,
      ) {}
    }
    registerPytreeNode(Pair, {
      flattenWithKeys: (pair) => ({
        children: [
          [new GetAttrKey("first"), pair.first],
          [new GetAttrKey("second"), pair.second],
        ],
        aux: null,
      }),
      unflatten: (_aux, [first, second]) => new Pair(first, second),
    });
    expect(tree.leaves(new Pair(1, [2, 3]))).toEqual([1, 2, 3]);
  });
});
