import {
  DictKey,
  findOutermost,
  GetAttrKey,
  getAtPath,
  keyPathEquals,
  rewriteOutermost,
  SequenceKey,
  TreeCycleError,
  treeEquals,
} from "@saikei/struct";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { select } from "../src/index.js";
import { Bar, Foo } from "./helpers.js";

// Selections find and rewrite nodes with @saikei/struct's findOutermost / rewriteAt: the results of
// a query-and-edit through a selection and through the struct primitive are the same.

const leaf = fc.oneof(fc.constantFrom(0, 1, 2), fc.constantFrom("x", "y"), fc.constant(null));
const { node: arbTree } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: "tree" },
    leaf,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "c"), tie("node"), { maxKeys: 3 }),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => new Foo({ a, b })),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => new Bar({ a, b })),
  ),
}));

const predicates: ((x: unknown) => boolean)[] = [
  (x) => typeof x === "number",
  (x) => x instanceof Foo,
  (x) => Array.isArray(x),
  (x) => x === null,
];

describe("selections and struct's rewrite engine", () => {
  it("atSubtreesWhere(p).apply(f) equals rewriteOutermost(tree, p, f), sharing the same subtrees", () => {
    fc.assert(
      fc.property(arbTree, fc.constantFrom(...predicates), (t, p) => {
        const f = (x: unknown) => ({ was: x });
        const viaSelect = select(t).atSubtreesWhere(p).apply(f);
        const viaStruct = rewriteOutermost(t, p, f);
        expect(treeEquals(viaSelect, viaStruct)).toBe(true);
        const selection = select(t).atSubtreesWhere(p);
        const found = findOutermost(t, p);
        expect(selection.count()).toBe(found.length);
        selection.getKeypaths().forEach((k, i) => {
          expect(keyPathEquals(k, found[i]!.keyPath)).toBe(true);
        });
        // Subtrees outside the matches are the same objects in both results.
        const outside = findOutermost(t, (x) => p(x) || findOutermost(x, p).length === 0);
        for (const o of outside.filter((q) => !p(q.value))) {
          expect(getAtPath(viaSelect, o.keyPath)).toBe(o.value);
          expect(getAtPath(viaStruct, o.keyPath)).toBe(o.value);
        }
      }),
    );
  });

  it("atKeypaths follows keys by keyEquals: a subclass of a key kind names the same step", () => {
    class Field extends GetAttrKey {}
    const t = { list: [new Foo({ a: 1, b: 2 })] };
    const path = [new DictKey("list"), new SequenceKey(0), new Field("b")];
    expect(select(t).atKeypaths([path]).set(20)).toEqual({ list: [new Foo({ a: 1, b: 20 })] });
    expect(getAtPath(t, path)).toBe(2);
  });

  it("atSubtreesWhere with relative key paths inside nested selected nodes", () => {
    const t = { x: [1, "a"], y: { z: [2] } };
    const sel = select(t)
      .atChildren()
      .atSubtreesWhere((path, v) => typeof v === "number" && path.length === 1, {
        withKeypath: true,
      });
    expect(sel.getSequence()).toEqual([1]);
    const abs = select(t)
      .atChildren()
      .atSubtreesWhere((path, v) => typeof v === "number" && path.length === 3, {
        withKeypath: true,
        absoluteKeypath: true,
      });
    expect(abs.getSequence()).toEqual([2]);
  });

  it("a cycle inside a selected node is reported with the absolute key path", () => {
    const inner: Record<string, unknown> = { v: 1 };
    inner.self = inner;
    const t = { keep: 0, deep: [inner] };
    let e: unknown;
    try {
      select(t)
        .at((r) => r.deep)
        .atInstancesOf(String);
    } catch (caught) {
      e = caught;
    }
    expect(e).toBeInstanceOf(TreeCycleError);
    expect(String((e as TreeCycleError).path.join(""))).toBe("['deep'][0]['self']");
  });
});
