import {
  DictKey,
  field,
  GetAttrKey,
  type KeyPath,
  keystr,
  SequenceKey,
  Struct,
  tree,
} from "@saikei/struct";
import * as O from "fp-ts/lib/Option.js";
import { describe, expect, it, vi } from "vitest";
import {
  InlineError,
  Selection,
  SelectionCountError,
  SelectionError,
  SelectionHole,
  SelectionQuote,
  select,
} from "../src/index.js";
import { Bar, CustomLeaf, Foo, Marked, makeExampleObject, mark } from "./helpers.js";

const paths = (s: Selection<unknown, unknown>) => s.getKeypaths().map((p) => keystr(p));

describe("select", () => {
  it("selects the whole tree with a hole at the root of the remainder", () => {
    const t = makeExampleObject();
    const s = select(t);
    expect(s.count()).toBe(1);
    expect(s.get()).toBe(t);
    expect(paths(s)).toEqual([""]);
    expect(s.remainder).toStrictEqual(new SelectionHole({ path: [] }));
    expect(s).toBeInstanceOf(Selection);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("deselect returns the original tree object", () => {
    const t = makeExampleObject();
    expect(select(t).atInstancesOf(Number).deselect()).toBe(t);
  });
});

describe("at", () => {
  it("selects a child by accessor (penzai example 1) and apply marks it", () => {
    const t = makeExampleObject();
    const s = select(t).at((root) => root.c);
    expect(paths(s)).toEqual(["['c']"]);
    expect(s.get()).toBe(t.c);
    expect(s.remainder).toStrictEqual({
      a: 1,
      b: t.b,
      c: new SelectionHole({ path: [new DictKey("c")] }),
    });
    const out = s.apply(mark);
    expect(out).toStrictEqual({ a: 1, b: t.b, c: mark(t.c) });
    expect(out.b).toBe(t.b);
  });

  it("selects a deep leaf (penzai example 2)", () => {
    const t = makeExampleObject();
    const out = select(t)
      .at((root) => root.c[1]!.value)
      .apply(mark);
    expect(out).toStrictEqual({
      a: 1,
      b: t.b,
      c: [t.c[0], { value: mark(t.c[1]!.value) }, t.c[2]],
    });
    expect(out.c[0]).toBe(t.c[0]);
    expect(out.c[2]).toBe(t.c[2]);
  });

  it("selects several nodes with multiple and chains", () => {
    const t = makeExampleObject();
    const out = select(t)
      .at((root) => [root.c[0]!, root.c[1]!], { multiple: true })
      .at((sub) => sub.value)
      .apply(mark);
    expect(out.c).toStrictEqual([
      { value: mark(t.c[0]!.value) },
      { value: mark(t.c[1]!.value) },
      { value: 3 },
    ]);
  });

  it("selects a returned collection without multiple, with a one-time warning", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const t = makeExampleObject();
    const out = select(t)
      .at((root) => [root.c[0], root.c[1]] as const as never)
      .apply(mark) as typeof t;
    expect(out.c).toStrictEqual([mark(t.c[0]), mark(t.c[1]), t.c[2]]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain("without { multiple: true }");
    select(t).at((root) => [root.a, root.b] as never);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });

  it("fails with multiple: false when the accessor returns a collection", () => {
    const t = makeExampleObject();
    expect(() =>
      select(t).at((root) => [root.c[0], root.c[1]] as never, { multiple: false }),
    ).toThrow(/returned \[.*\], which is not a node or leaf of that node/);
  });

  it("selects equal leaves at the right place", () => {
    const t = [0, 0, 0, { x: 0 }];
    const out = select(t)
      .at((r) => r[2])
      .set(9);
    expect(out).toStrictEqual([0, 0, 9, { x: 0 }]);
    expect(out[3]).toBe(t[3]);
  });

  it("can select null and empty arrays (singletons) by position", () => {
    const t = [null, null, null, null, [], [], [], []];
    const out = select(t)
      .at((r) => [r[1], r[2], r[5], r[7]], { multiple: true })
      .apply(mark);
    expect(out).toStrictEqual([null, mark(null), mark(null), null, [], mark([]), [], mark([])]);
  });

  it("rebuilds structs as frozen instances of their classes and keeps other fields ===", () => {
    const inner = new Foo({ a: [1, 2], b: "keep" });
    const outer = new Bar({ a: inner, b: { deep: [inner] } });
    const out = outer
      .select()
      .at((o) => (o.a as Foo).a as number[])
      .set("new");
    expect(out).toBeInstanceOf(Bar);
    expect(out.a).toBeInstanceOf(Foo);
    expect(Object.isFrozen(out)).toBe(true);
    expect(Object.isFrozen(out.a)).toBe(true);
    expect((out.a as Foo).a).toBe("new");
    expect((out.a as Foo).b).toBe("keep");
    expect(out.b).toBe(outer.b);
    expect(outer.a).toBe(inner);
    expect(inner.a).toEqual([1, 2]);
  });

  it("lets accessors call methods and getters of structs", () => {
    class WithGetter extends Foo.define({}) {
      get first(): unknown {
        return (this.a as unknown[])[0];
      }
    }
    const t = new WithGetter({ a: [5, 6], b: 7 });
    expect(
      t
        .select()
        .at((x) => x.first)
        .set(50),
    ).toStrictEqual(WithGetter.fromAttributes({ a: [50, 6], b: 7 }));
  });

  it("supports array methods inside the accessor", () => {
    const t = { xs: [1, 2, 3, 4] };
    const out = select(t)
      .at((r) => r.xs.filter((_, i) => i % 2 === 1), { multiple: true })
      .set(0);
    expect(out).toStrictEqual({ xs: [1, 0, 3, 0] });
  });

  it("selects Map values through Map#get", () => {
    const m = new Map<string, unknown>([
      ["w", [1, 2]],
      ["b", 3],
    ]);
    const out = select({ m })
      .at((r) => r.m.get("b"))
      .set(30);
    expect(out.m).toBeInstanceOf(Map);
    expect([...out.m.entries()]).toEqual([
      ["w", [1, 2]],
      ["b", 30],
    ]);
    expect(out.m.get("w")).toBe(m.get("w"));
  });

  it("throws SelectionAccessorError for values that are not part of the argument", () => {
    const t = { a: { b: 1 } };
    const elsewhere = { b: 1 };
    expect(() => select(t).at(() => elsewhere)).toThrow(
      /accessor of Selection\.at \(applied to the node selected at the root\) returned \{"b": 1\}, which is not a node or leaf/,
    );
    expect(() => select(t).at((r) => r.a.b + 1)).toThrow(/returned 2/);
    try {
      select(t)
        .at((r) => r.a)
        .at(() => 5);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).name).toBe("SelectionAccessorError");
      expect((e as Error).message).toContain("selected at ['a']");
    }
  });

  it("explains that static fields cannot be selected", () => {
    class Named extends Foo.define({ label: field<string>({ static: true }) }) {}
    const n = new Named({ a: 1, b: 2, label: "x" });
    expect(() => n.select().at((x) => x.label)).toThrow(
      /returned 'x'.*Static struct fields are part of the tree's structure/,
    );
  });

  it("rejects repeated and nested results", () => {
    const t = { a: { b: 1 } };
    expect(() => select(t).at((r) => [r.a, r.a], { multiple: true })).toThrow(
      /returned the node at \['a'\] twice/,
    );
    expect(() => select(t).at((r) => [r.a, r.a.b], { multiple: true })).toThrow(
      /the node at \['a'\] and its descendant at \['a'\]\['b'\]/,
    );
  });

  it("refuses accessors that modify their argument", () => {
    const t = { a: [1] };
    expect(() =>
      select(t).at((r) => {
        (r as { a: unknown }).a = 3;
        return r.a;
      }),
    ).toThrow(/tried to modify the tree/);
  });

  it("selects relative to each selected node", () => {
    const t = [new Foo({ a: 1, b: 2 }), new Foo({ a: 3, b: 4 })];
    const s = select(t)
      .atInstancesOf(Foo)
      .at((f) => f.b);
    expect(paths(s)).toEqual(["[0].b", "[1].b"]);
    expect(s.getSequence()).toEqual([2, 4]);
  });
});

describe("atInstancesOf / atSubtreesWhere / atEqualTo", () => {
  it("atInstancesOf(Number) selects number leaves (penzai example 1)", () => {
    const t = makeExampleObject();
    expect(select(t).atInstancesOf(Number).apply(mark)).toStrictEqual({
      a: mark(1),
      b: t.b,
      c: [t.c[0], t.c[1], { value: mark(3) }],
    });
  });

  it("atInstancesOf(Array) selects the outer array (example 2)", () => {
    const t = makeExampleObject();
    expect(select(t).atInstancesOf(Array).apply(mark)).toStrictEqual({
      a: 1,
      b: t.b,
      c: mark(t.c),
    });
  });

  it("atInstancesOf(Object) selects the root (example 3)", () => {
    const t = makeExampleObject();
    expect(select(t).atInstancesOf(Object).apply(mark)).toStrictEqual(mark(t));
  });

  it("atInstancesOf accepts several classes and innermost", () => {
    const t = [new Foo({ a: new Foo({ a: 1, b: 2 }), b: new Bar({ a: 3, b: 4 }) }), "s", 5];
    expect(paths(select(t).atInstancesOf([Foo, Bar]))).toEqual(["[0]"]);
    expect(paths(select(t).atInstancesOf([Foo, Bar], { innermost: true }))).toEqual([
      "[0].a",
      "[0].b",
    ]);
    expect(paths(select(t).atInstancesOf([String, Number]))).toEqual([
      "[0].a.a",
      "[0].a.b",
      "[0].b.a",
      "[0].b.b",
      "[1]",
      "[2]",
    ]);
  });

  it("atSubtreesWhere selects outermost matches", () => {
    const t = makeExampleObject();
    const out = select(t)
      .atSubtreesWhere((node) => node instanceof CustomLeaf && node.tag <= 10)
      .apply(mark);
    expect(out).toStrictEqual({ a: 1, b: mark(t.b), c: t.c });
  });

  it("atSubtreesWhere with keypath sees relative or absolute paths", () => {
    const t = makeExampleObject();
    const seen: string[] = [];
    const filter = (path: KeyPath, node: unknown) => {
      if (node instanceof CustomLeaf) {
        seen.push(keystr(path));
        return true;
      }
      return false;
    };
    const s = select(t)
      .at((r) => r.c)
      .atSubtreesWhere(filter, { withKeypath: true });
    expect(seen).toEqual(["[0]['value']", "[1]['value']"]);
    expect(paths(s)).toEqual(["['c'][0]['value']", "['c'][1]['value']"]);
    seen.length = 0;
    select(t)
      .at((r) => r.c)
      .atSubtreesWhere(filter, { withKeypath: true, absoluteKeypath: true });
    expect(seen).toEqual(["['c'][0]['value']", "['c'][1]['value']"]);
    expect(
      paths(
        select(t).atSubtreesWhere((p: KeyPath, n) => n instanceof CustomLeaf && p.length === 3, {
          withKeypath: true,
        }),
      ),
    ).toEqual(["['c'][0]['value']", "['c'][1]['value']"]);
  });

  it("atSubtreesWhere innermost selects the innermost plain objects", () => {
    const t = makeExampleObject();
    const s = select(t).atSubtreesWhere(
      (n) => n !== null && Object.getPrototypeOf(n) === Object.prototype,
      {
        innermost: true,
      },
    );
    expect(paths(s)).toEqual(["['c'][0]", "['c'][1]", "['c'][2]"]);
  });

  it("atSubtreesWhere innermost never selects leaves (penzai's quirk)", () => {
    expect(
      select([1, [2]])
        .atSubtreesWhere(() => true, { innermost: true })
        .getSequence(),
    ).toEqual([[2]]);
  });

  it("atSubtreesWhere rejects non-boolean filter results with the key path", () => {
    expect(() =>
      select({ a: [1] }).atSubtreesWhere((n) => (Array.isArray(n) ? 1 : false) as never),
    ).toThrow(/returned 1 \(a number\) for the node at \['a'\]/);
    expect(() =>
      select({ a: [1] }).atSubtreesWhere((n) => (Array.isArray(n) ? 1 : false) as never),
    ).toThrow(SelectionError);
  });

  it("atEqualTo matches structurally", () => {
    const t = makeExampleObject();
    expect(select(t).atEqualTo(1).apply(mark)).toStrictEqual({ ...t, a: mark(1) });
    const t2 = { foo: "foo", bar: [1, 2, 3] };
    expect(select(t2).atEqualTo([1, 2, 3]).apply(mark)).toStrictEqual({
      bar: mark([1, 2, 3]),
      foo: "foo",
    });
  });

  it("atEqualTo refuses array templates and skips typed arrays", () => {
    expect(() => select([1]).atEqualTo(new Float32Array(2))).toThrow(/cannot look for a tensor/);
    expect(
      select([new Float32Array([1]), [1]])
        .atEqualTo([1])
        .count(),
    ).toBe(1);
  });
});

describe("other queries", () => {
  it("atKeypaths selects by relative key paths, prefix wins", () => {
    const t = makeExampleObject();
    const out = select(t)
      .atKeypaths([
        [new DictKey("c"), new SequenceKey(2), new DictKey("value")],
        [new DictKey("c"), new SequenceKey(0)],
        [new DictKey("c"), new SequenceKey(0), new DictKey("value")],
        [new DictKey("nope")],
      ])
      .apply(mark);
    expect(out).toStrictEqual({ a: 1, b: t.b, c: [mark(t.c[0]), t.c[1], { value: mark(3) }] });
  });

  it("atChildren selects direct children", () => {
    const t = makeExampleObject();
    expect(select(t).atChildren().apply(mark)).toStrictEqual({
      a: mark(1),
      b: mark(t.b),
      c: mark(t.c),
    });
    expect(select(5).atChildren().count()).toBe(0);
  });

  it("atPytreeLeaves skips childless nodes, atChildless selects them", () => {
    const t = [1, 2, [], 3, null, 4, { a: 5, b: {} }];
    expect(select(t).atPytreeLeaves().apply(mark)).toStrictEqual([
      mark(1),
      mark(2),
      [],
      mark(3),
      null,
      mark(4),
      { a: mark(5), b: {} },
    ]);
    expect(select(t).atChildless().apply(mark)).toStrictEqual([
      mark(1),
      mark(2),
      mark([]),
      mark(3),
      mark(null),
      mark(4),
      { a: mark(5), b: mark({}) },
    ]);
  });

  it("where filters selected nodes, optionally by key path", () => {
    const t = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(
      select(t)
        .atInstancesOf(Number)
        .where((x) => x % 2 === 0)
        .apply(mark),
    ).toStrictEqual(t.map((x) => (x % 2 === 0 ? mark(x) : x)));
    expect(
      select(t)
        .atInstancesOf(Number)
        .where((p: KeyPath) => (p[0] as SequenceKey).idx < 2, { withKeypath: true })
        .getSequence(),
    ).toEqual([0, 1]);
  });

  it("pickNthSelected keeps the n-th, wraps negatives and ignores out-of-range", () => {
    const t = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const evens = select(t)
      .atInstancesOf(Number)
      .where((x) => x % 2 === 0);
    expect(evens.pickNthSelected(2).apply(mark)).toStrictEqual([
      0,
      1,
      2,
      3,
      mark(4),
      5,
      6,
      7,
      8,
      9,
    ]);
    expect(select(t).atInstancesOf(Number).pickNthSelected(-2).getSequence()).toEqual([8]);
    expect(select([0, 1, 2]).atInstancesOf(Number).pickNthSelected(5).apply(mark)).toStrictEqual([
      0, 1, 2,
    ]);
    expect(select(t).atInstancesOf(Number).pickNthSelected([0, -1]).getSequence()).toEqual([0, 9]);
  });

  it("invert selects the complement (penzai examples)", () => {
    const t = makeExampleObject();
    expect(
      select(t)
        .atSubtreesWhere((n) => n instanceof CustomLeaf && n.tag <= 10)
        .invert()
        .apply(mark),
    ).toStrictEqual({ a: mark(1), b: t.b, c: mark(t.c) });
    expect(
      select([1, "a", 2, "b", 3, "c", 4, "d"])
        .atInstancesOf(Number)
        .pickNthSelected(2)
        .invert()
        .apply(mark),
    ).toStrictEqual([mark(1), mark("a"), mark(2), mark("b"), 3, mark("c"), mark(4), mark("d")]);
    expect(select([1]).invert().count()).toBe(0);
  });

  it("refine selects a field per class", () => {
    const t = [
      new Foo({ a: 1, b: 2 }),
      new Bar({ a: 3, b: 4 }),
      new Foo({ a: 5, b: 6 }),
      new Bar({ a: 7, b: 8 }),
      null,
    ];
    const out = select(t)
      .atInstancesOf([Foo, Bar])
      .refine((v) => (v instanceof Foo ? v.select().at((x) => x.a) : v.select().at((x) => x.b)))
      .apply(mark);
    expect(out).toStrictEqual([
      new Foo({ a: mark(1), b: 2 }),
      new Bar({ a: 3, b: mark(4) }),
      new Foo({ a: mark(5), b: 6 }),
      new Bar({ a: 7, b: mark(8) }),
      null,
    ]);
  });

  it("flattenSelectedSelections rejects values that are not selections", () => {
    expect(() => select({ a: 1 }).atChildren().flattenSelectedSelections()).toThrow(
      /node selected at \['a'\] is number, not a Selection/,
    );
  });
});

describe("reading and writing", () => {
  it("count, length and isEmpty", () => {
    const s1 = select([1, 2]).atInstancesOf(Number);
    expect([s1.count(), s1.length, s1.isEmpty()]).toEqual([2, 2, false]);
    const s2 = select([1, 2]).atInstancesOf(String);
    expect([s2.count(), s2.length, s2.isEmpty()]).toEqual([0, 0, true]);
  });

  it("get, getOption and firstOption", () => {
    const t = makeExampleObject();
    expect(
      select(t)
        .at((r) => r.c[0])
        .get(),
    ).toBe(t.c[0]);
    expect(() => select(t).atInstancesOf(CustomLeaf).get()).toThrow(SelectionCountError);
    expect(() => select(t).atInstancesOf(CustomLeaf).get()).toThrow(
      /needs exactly one selected node, but 3 are selected \(at \['b'\], \['c'\]\[0\]\['value'\], \['c'\]\[1\]\['value'\]\)/,
    );
    expect(select(t).atInstancesOf(String).getOption()).toEqual(O.none);
    expect(
      select(t)
        .at((r) => r.a)
        .getOption(),
    ).toEqual(O.some(1));
    expect(select(t).atInstancesOf(CustomLeaf).firstOption()).toEqual(O.some(t.b));
    expect(select(t).atInstancesOf(String).firstOption()).toEqual(O.none);
  });

  it("getSequence and getByPath", () => {
    const t = makeExampleObject();
    const s = select(t).atInstancesOf(CustomLeaf);
    expect(s.getSequence()).toEqual([t.b, t.c[0]!.value, t.c[1]!.value]);
    const byPath = s.getByPath();
    expect([...byPath.keys()].map(keystr)).toEqual([
      "['b']",
      "['c'][0]['value']",
      "['c'][1]['value']",
    ]);
    expect(s.getByPath()).toBe(byPath);
    expect(s.selectedByPath).toBe(byPath);
  });

  it("set inserts the same object everywhere", () => {
    const t = makeExampleObject();
    expect(select(t).atInstancesOf(CustomLeaf).set("REPLACED")).toStrictEqual({
      a: 1,
      b: "REPLACED",
      c: [{ value: "REPLACED" }, { value: "REPLACED" }, { value: 3 }],
    });
  });

  it("setSequence replaces in order and checks the count", () => {
    const t = makeExampleObject();
    const s = select(t).atInstancesOf(CustomLeaf);
    expect(s.setSequence(["R1", "R2", "R3"])).toStrictEqual({
      a: 1,
      b: "R1",
      c: [{ value: "R2" }, { value: "R3" }, { value: 3 }],
    });
    expect(() => s.setSequence(["R1"])).toThrow(/got 1 value\(s\) for 3 selected node\(s\)/);
    expect(() => s.setSequence(["1", "2", "3", "4"])).toThrow(SelectionCountError);
  });

  it("setByPath with a map (same or equal keys) or a function", () => {
    const t = makeExampleObject();
    const s = select(t).atInstancesOf(CustomLeaf);
    const byPath = new Map([...s.getByPath()].map(([k, v]) => [k, `tag=${(v as CustomLeaf).tag}`]));
    const expected = {
      a: 1,
      b: "tag=10",
      c: [{ value: "tag=12" }, { value: "tag=13" }, { value: 3 }],
    };
    expect(s.setByPath(byPath)).toStrictEqual(expected);
    const equalKeys = new Map([...byPath].map(([k, v]) => [[...k] as KeyPath, v]));
    expect(s.setByPath(equalKeys)).toStrictEqual(expected);
    expect(s.setByPath((p) => `R: ${keystr(p)}`)).toStrictEqual({
      a: 1,
      b: "R: ['b']",
      c: [{ value: "R: ['c'][0]['value']" }, { value: "R: ['c'][1]['value']" }, { value: 3 }],
    });
    expect(() => s.setByPath(new Map())).toThrow(/no replacement for the selected node at \['b'\]/);
  });

  it("selectAndSetByPath sets relative paths from the root", () => {
    const t = makeExampleObject();
    const s = select(t).atInstancesOf(CustomLeaf);
    const values = new Map([...s.getByPath()].map(([k, v]) => [k, `tag=${(v as CustomLeaf).tag}`]));
    expect(select(makeExampleObject()).selectAndSetByPath(values)).toStrictEqual({
      a: 1,
      b: "tag=10",
      c: [{ value: "tag=12" }, { value: "tag=13" }, { value: 3 }],
    });
  });

  it("apply with keypath, keepSelected and selected index", () => {
    const t = makeExampleObject();
    const ints = select(t).atInstancesOf(Number);
    expect(ints.apply((x) => x + 1000)).toStrictEqual({
      ...t,
      a: 1001,
      c: [t.c[0], t.c[1], { value: 1003 }],
    });
    expect(ints.apply((x) => x + 1000, { keepSelected: true }).apply(mark)).toStrictEqual({
      ...t,
      a: mark(1001),
      c: [t.c[0], t.c[1], { value: mark(1003) }],
    });
    expect(
      ints.apply((p, v) => `path=${keystr(p)}, value=${v}`, { withKeypath: true }),
    ).toStrictEqual({
      ...t,
      a: "path=['a'], value=1",
      c: [t.c[0], t.c[1], { value: "path=['c'][2]['value'], value=3" }],
    });
    expect(
      ints
        .apply((p, v) => `${keystr(p)}=${v}`, { withKeypath: true, keepSelected: true })
        .getSequence(),
    ).toEqual(["['a']=1", "['c'][2]['value']=3"]);
    expect(ints.applyWithSelectedIndex((i, v) => `index=${i}, value=${v}`)).toStrictEqual({
      ...t,
      a: "index=0, value=1",
      c: [t.c[0], t.c[1], { value: "index=1, value=3" }],
    });
    expect(ints.applyWithSelectedIndex((i) => i, { keepSelected: true }).apply(mark)).toStrictEqual(
      {
        ...t,
        a: mark(0),
        c: [t.c[0], t.c[1], { value: mark(1) }],
      },
    );
  });

  it("assertCountIs returns the selection or throws", () => {
    const s = select([1, 2]).atInstancesOf(Number);
    expect(s.assertCountIs(2)).toBe(s);
    expect(() => s.assertCountIs(3)).toThrow(
      /Expected 3 selected node\(s\) but the selection has 2 \(at \[0\], \[1\]\)/,
    );
  });
});

describe("inline edits", () => {
  const tree = () => ({
    a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    b: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  });
  const multiplesOf4 = () =>
    select(tree())
      .atInstancesOf(Number)
      .where((x) => x % 4 === 0);

  it("insertBefore", () => {
    const B = "before";
    expect(multiplesOf4().insertBefore(B)).toStrictEqual({
      a: [B, 0, 1, 2, 3, B, 4, 5, 6, 7, B, 8, 9],
      b: [10, 11, B, 12, 13, 14, 15, B, 16, 17, 18, 19],
    });
  });

  it("insertAfter", () => {
    const A = "after";
    expect(multiplesOf4().insertAfter(A)).toStrictEqual({
      a: [0, A, 1, 2, 3, 4, A, 5, 6, 7, 8, A, 9],
      b: [10, 11, 12, A, 13, 14, 15, 16, A, 17, 18, 19],
    });
  });

  it("insertAfter and insertBefore with andSelect select the inserted values", () => {
    const s = multiplesOf4().insertAfter("X", { andSelect: true });
    expect(s.getKeypaths().map(keystr)).toEqual([
      "['a'][1]",
      "['a'][6]",
      "['a'][11]",
      "['b'][3]",
      "['b'][8]",
    ]);
    expect(s.set("Y").a).toEqual([0, "Y", 1, 2, 3, 4, "Y", 5, 6, 7, 8, "Y", 9]);
    const nested = select([1, [2, 3]])
      .atInstancesOf(Number)
      .where((x) => x !== 3);
    const before = nested.insertBefore(0, { andSelect: true });
    expect(before.getKeypaths().map(keystr)).toEqual(["[0]", "[2][0]"]);
    expect(before.deselect()).toEqual([0, 1, [0, 2, 3]]);
  });

  it("removeFromParent", () => {
    expect(multiplesOf4().removeFromParent()).toStrictEqual({
      a: [1, 2, 3, 5, 6, 7, 9],
      b: [10, 11, 13, 14, 15, 17, 18, 19],
    });
  });

  it("applyAndInline flat-maps, with or without key path", () => {
    expect(
      multiplesOf4().applyAndInline((x) => ["before", `the value was ${x}`, "after"]).a,
    ).toEqual([
      "before",
      "the value was 0",
      "after",
      1,
      2,
      3,
      "before",
      "the value was 4",
      "after",
      5,
      6,
      7,
      "before",
      "the value was 8",
      "after",
      9,
    ]);
    expect(
      select([1, 2])
        .atInstancesOf(Number)
        .applyAndInline((p, x) => [keystr(p), x], { withKeypath: true }),
    ).toEqual(["[0]", 1, "[1]", 2]);
  });

  it("keeps unchanged arrays ===", () => {
    const t = tree();
    const out = select(t)
      .at((r) => r.a[0])
      .removeFromParent();
    expect(out.b).toBe(t.b);
  });

  it("removeFromParent fails on the root and outside arrays", () => {
    expect(() => select([1]).removeFromParent()).toThrow(InlineError);
    expect(() => select([1]).removeFromParent()).toThrow(/the root itself is selected/);
    expect(() =>
      select({ a: { b: 1 } })
        .at((r) => r.a.b)
        .removeFromParent(),
    ).toThrow(/the node at \['a'\]\['b'\] is in a Object/);
    expect(() =>
      select(new Foo({ a: 1, b: 2 }))
        .at((r) => r.a)
        .insertAfter(0),
    ).toThrow(/the node at \.a is in a Foo/);
  });
});

class Level1 extends Struct.define({ value: field<unknown>() }) {}
class Level2 extends Struct.define({ value: field<unknown>() }) {}
class Level3 extends Struct.define({ value: field<unknown>() }) {}
const Levels = [undefined, Level1, Level2, Level3];

describe("selections are trees", () => {
  it("a selection of a selection of a selection deselects back (penzai meta-meta test)", () => {
    const meta = select(
      select(select(makeExampleObject()).atInstancesOf(CustomLeaf)).at(
        (s) => (s as unknown as { remainder: { c: unknown } }).remainder.c,
      ),
    ).atInstancesOf(Number);
    expect(meta.deselect().deselect().deselect()).toStrictEqual(makeExampleObject());
    const inner = meta.deselect() as Selection<unknown, Selection>;
    expect(inner.getKeypaths().map(keystr)).toEqual([".remainder['c']"]);
    const remainder3 = ((meta.remainder as Selection).remainder as Selection).remainder as Record<
      string,
      unknown
    >;
    expect(remainder3).toStrictEqual({
      a: new SelectionHole({
        path: [new GetAttrKey("remainder"), new GetAttrKey("remainder"), new DictKey("a")],
      }),
      b: new SelectionQuote({
        quoted: new SelectionQuote({ quoted: new SelectionHole({ path: [new DictKey("b")] }) }),
      }),
      c: new SelectionQuote({
        quoted: new SelectionHole({ path: [new GetAttrKey("remainder"), new DictKey("c")] }),
      }),
    });
    const level = (n: number) => (value: unknown) => new Levels[n]!({ value });
    const applied = ((meta.apply(level(1)) as Selection).apply(level(2)) as Selection).apply(
      level(3),
    );
    expect(applied).toStrictEqual({
      a: new Level1({ value: 1 }),
      b: new Level3({ value: new CustomLeaf(10) }),
      c: new Level2({
        value: [
          { value: new Level3({ value: new CustomLeaf(12) }) },
          { value: new Level3({ value: new CustomLeaf(13) }) },
          { value: new Level1({ value: 3 }) },
        ],
      }),
    });
  });

  it("holes with equal key paths are equal", () => {
    const a = new SelectionHole({ path: [new DictKey("a"), new SequenceKey(0)] });
    expect(a.equals(new SelectionHole({ path: [new DictKey("a"), new SequenceKey(0)] }))).toBe(
      true,
    );
    expect(a.equals(new SelectionHole({ path: [new DictKey("a")] }))).toBe(false);
    expect(String(a)).toBe("SelectionHole(['a'][0])");
  });

  it("the remainder quotes holes that were already in the tree", () => {
    const hole = new SelectionHole({ path: [new DictKey("x")] });
    const s = select({ h: hole, v: 1 }).at((r) => r.v);
    expect(s.remainder).toStrictEqual({
      h: new SelectionQuote({ quoted: hole }),
      v: new SelectionHole({ path: [new DictKey("v")] }),
    });
  });

  it("tree.map over a selection maps selected values and the remainder", () => {
    const s = select({ a: 1, b: 2 }).at((r) => r.a);
    const mapped = tree.map((x: unknown) => (typeof x === "number" ? x * 10 : x), s) as Selection<
      number,
      unknown
    >;
    expect(mapped).toBeInstanceOf(Selection);
    expect(mapped.get()).toBe(10);
    expect(mapped.deselect()).toEqual({ a: 10, b: 20 });
    expect(tree.leaves(s)).toEqual([1, 2]);
  });

  it("struct.select is non-enumerable and keys use GetAttrKey", () => {
    const f = new Foo({ a: 1, b: 2 });
    expect(Object.keys(Object.getPrototypeOf(Object.getPrototypeOf(f)))).not.toContain("select");
    expect(
      f
        .select()
        .at((x) => x.b)
        .getKeypaths(),
    ).toEqual([[new GetAttrKey("b")]]);
    expect(f.select().getKeypaths()).toEqual([[]]);
    expect(String(select([1, 2]).atInstancesOf(Number))).toBe("Selection(2 selected: [0], [1])");
  });
});

describe("Marked fixture", () => {
  it("is a struct", () => {
    expect(mark(1)).toBeInstanceOf(Marked);
  });
});
