import { ready } from "@saikei/named";
import { DictKey, field, flattenWithPath, SequenceKey, Struct } from "@saikei/struct";
import {
  colorFromString,
  display,
  displayable,
  displayTarget,
  type HTMLOptions,
  isCSSColor,
  MAX_RENDER_DEPTH,
  oklchColor,
  parseColor,
  RenderOptionError,
  renderToHTML,
  renderToText,
  summarizeArray,
  TreescopeError,
  treescopeColorOf,
} from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { Empty, Linear, named, Parameter, Point, transformerLike } from "./fixtures.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

interface NodeData {
  l?: string;
  p?: string;
  o?: string;
  y?: string;
  x?: string;
  c?: NodeData[];
  v?: string;
  f?: 1;
  s?: 1;
  z?: 1;
  k?: string;
  a?: { t?: string; n?: number; f?: number; h?: { r: number; c: number; m: string; o: number } };
  i?: string;
  u?: string;
  g?: 1;
}

function dataOf(html: string): NodeData {
  const m = /<script type="application\/json" id="[^"]+-data">(.*?)<\/script>/s.exec(html);
  if (m === null) throw new Error("no embedded data");
  return JSON.parse(m[1]!);
}

/** The bulk text (heat map cells and array view values) that the data refers to by offset. */
function bulkOf(html: string): string {
  const m = /<script type="text\/plain" id="[^"]+-bulk">([A-Za-z0-9+/=_-]*)<\/script>/.exec(html);
  if (m === null) throw new Error("no bulk text");
  return m[1]!;
}

/** Every node's full path (the concatenated code steps) with its data. */
function paths(node: NodeData, prefix = ""): [string, NodeData][] {
  // the data leaves out a field's step `.name` where the label `name=` gives it
  const here = prefix + (node.p ?? (node.l ? `.${node.l.slice(0, -1)}` : ""));
  return [[here, node], ...(node.c ?? []).flatMap((c) => paths(c, here))];
}

describe("renderToHTML", () => {
  it("emits a complete page by default and a fragment on request", () => {
    const page = renderToHTML([1], { id: "t1" });
    expect(page.startsWith('<!doctype html><html><head><meta charset="utf-8">')).toBe(true);
    expect(page.endsWith("</body></html>")).toBe(true);
    const fragment = renderToHTML([1], { id: "t1", fragment: true });
    expect(fragment.startsWith("<style>")).toBe(true);
    expect(fragment).toContain('<div class="skts-root" id="t1">');
    expect(fragment).toContain("<script>(function (id) {");
    expect(fragment.endsWith('("t1");</script>')).toBe(true);
  });

  it("starts in the dark theme on request and escapes the page title", () => {
    const html = renderToHTML([1], { id: "d", theme: "dark", title: "<model>\u202e" });
    expect(html).toContain('<div class="skts-root skts-dark" id="d">');
    expect(html).toContain("<title>&#60;model&#62;\\u202e</title>");
  });

  it("is self-contained: no external URL, stylesheet link or module import", () => {
    const html = renderToHTML(new Point({ x: 1, y: 2, label: "p" }));
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link|\ssrc=|import\s*\(/);
  });

  it("gives every rendering its own id so several fit on one page", () => {
    const a = renderToHTML(1, { fragment: true });
    const b = renderToHTML(1, { fragment: true });
    const idA = /id="(skts-[0-9a-f]{16})"/.exec(a)![1];
    const idB = /id="(skts-[0-9a-f]{16})"/.exec(b)![1];
    expect(idA).not.toBe(idB);
  });

  it("describes a struct with labels, path steps, colours and static fields", () => {
    const html = renderToHTML(
      new Linear({ weights: new Parameter({ value: [1, "a"], name: "broken" }) }),
      { id: "x" },
    );
    expect(html).toContain('style="--skts-color-Linear:#eba875;--skts-color-Parameter:#93cce1"');
    const data = dataOf(html);
    // A struct's brackets (`Linear(` … `)`), its field count, a colour variable named after its
    // type (`v: 1`) and field steps (`.value` for `value=`) are left to the client, which makes
    // them from `y`, the children and the label; other nodes carry theirs.
    expect(data).toEqual({
      y: "Linear",
      v: 1,
      f: 1,
      i: `{"input": 'ArraySpec(features=4)'}`,
      u: "\u26a0 MisconfiguredLayerError: weights and bias disagree on 'features'",
      c: [
        {
          l: "weights=",
          y: "Parameter",
          v: 1,
          f: 1,
          c: [
            {
              l: "value=",
              o: "[",
              e: "]",
              n: "2 items",
              c: [
                { x: "1", k: "number", p: "[0]" },
                { x: "'a'", k: "string", p: "[1]" },
              ],
            },
            { x: "'broken'", k: "string", l: "name=", z: 1 },
          ],
        },
      ],
    });
    expect(paths(data).map(([path]) => path)).toEqual([
      "",
      ".weights",
      ".weights.value",
      ".weights.value[0]",
      ".weights.value[1]",
      ".weights.name",
    ]);
  });

  it("opens nodes above expandDepth and leaves deeper ones collapsed", () => {
    const tree = { a: { b: { c: { d: 1 } } } };
    const open = (depth: number) =>
      paths(dataOf(renderToHTML(tree, { expandDepth: depth })))
        .filter(([, n]) => n.f === 1)
        .map(([p]) => p);
    expect(open(0)).toEqual([]);
    expect(open(2)).toEqual(["", "['a']"]);
    expect(open(9)).toEqual(["", "['a']", "['a']['b']", "['a']['b']['c']"]);
  });

  it("summarises arrays with statistics, NaN and infinity counts and a heat map", () => {
    const t = tf.tensor2d([
      [0, 1],
      [2, Number.NaN],
    ]);
    const html = renderToHTML({ t });
    const data = dataOf(html);
    try {
      // the heat map's cells, one character each, start at offset `o` of the bulk text
      expect(bulkOf(html).slice(0, 4)).toBe("0V-_");
      expect(data.c![0]).toEqual({
        l: `"t": `,
        p: "['t']",
        // shown as <tf.Tensor …>: the client adds the brackets of an array leaf (kind "t")
        x: "tf.Tensor float32[2,2] [0, 1, 2, NaN]",
        k: "t",
        a: {
          t: "min=0 max=2 mean=1",
          n: 1,
          h: { r: 2, c: 2, m: "s", o: 0 },
          // the array view opened by "show array" (see arrayView.test.ts)
          v: expect.objectContaining({
            title: "tf.Tensor float32[2,2]",
            rows: [0],
            columns: [1],
            counts: { nan: 1, posInf: 0, negInf: 0, masked: 0 },
          }),
        },
      });
    } finally {
      t.dispose();
    }
  });

  it("highlights the selected paths and opens their ancestors", () => {
    const model = { layers: [{ w: 1 }, { w: 2 }, { w: 3 }] };
    const html = renderToHTML(model, {
      expandDepth: 0,
      highlight: [[new DictKey("layers"), new SequenceKey(2)]],
    });
    const byPath = new Map(paths(dataOf(html)));
    expect(byPath.get("['layers'][2]")!.s).toBe(1);
    expect(byPath.get("['layers'][1]")!.s).toBeUndefined();
    expect(byPath.get("")!.f).toBe(1);
    expect(byPath.get("['layers']")!.f).toBe(1);
  });

  it("renders a selection-like value as its whole tree with the selected nodes highlighted", () => {
    const tree = { a: [1, 2], b: 3 };
    const selection = {
      deselect: () => tree,
      getKeypaths: () => [[new DictKey("a"), new SequenceKey(1)]],
    };
    const byPath = new Map(paths(dataOf(renderToHTML(selection))));
    expect([...byPath].filter(([, n]) => n.s === 1).map(([p]) => p)).toEqual(["['a'][1]"]);
    expect(byPath.get("['b']")!.x).toBe("3");
  });

  it("escapes data so no value can close the script element", () => {
    const html = renderToHTML({ evil: "</script><script>alert(1)</script>" });
    expect(html.match(/<\/script>/g)!.length).toBe(2);
    expect(dataOf(html).c![0]!.x).toBe("'</script><script>alert(1)</script>'");
  });

  it("escapes line and paragraph separators, which end a line in old script parsers", () => {
    const html = renderToHTML({ ["k\u2028"]: "a\u2028b\u2029c" });
    expect(html.includes("\u2028") || html.includes("\u2029")).toBe(false);
    // and shows them as escapes, as the text form does
    expect(dataOf(html).c![0]!.x).toBe("'a\\u2028b\\u2029c'");
    expect(dataOf(html).c![0]!.l).toBe('"k\\u2028": ');
  });

  it("copy-path code reaches each node: evaluating it on the root gives the node", () => {
    const leafValue = fc.oneof(fc.integer(), fc.constantFrom("x", "y z"), fc.boolean());
    const keyName = fc.constantFrom("a", "b", "with space", "0", "__proto__x");
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leafValue,
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(keyName, tie("node"), { maxKeys: 3 }),
        fc
          .array(fc.tuple(fc.oneof(keyName, fc.integer({ min: 0, max: 5 })), tie("node")), {
            maxLength: 3,
          })
          .map((entries) => new Map<unknown, unknown>(entries)),
        fc
          .tuple(tie("node"), tie("node"))
          .map(([x, y]) => new Point({ x: x as number, y: y as number, label: "l" })),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (root) => {
        const data = dataOf(renderToHTML(root, { id: "p" }));
        // Leaves in display order (declaration order, sorted object keys) are the tree's leaves.
        const shownLeaves = paths(data).filter(
          ([, n]) =>
            n.c === undefined &&
            !n.z &&
            (n.k === "number" || n.k === "string" || n.x === "true" || n.x === "false"),
        );
        const [leaves] = flattenWithPath(root);
        expect(shownLeaves.length).toBe(leaves.length);
        shownLeaves.forEach(([code], i) => {
          expect(new Function("t", `return t${code}`)(root)).toBe(leaves[i]![1]);
        });
      }),
      { numRuns: 60 },
    );
  });

  it("lists layer structures only when a layer declares them", () => {
    const plain = dataOf(renderToHTML(new Empty()));
    expect(plain).toEqual({ y: "Empty", x: "Empty()", k: "other" });
  });

  it("creates no tensors while summarising a model", () => {
    const model = transformerLike(1, 4);
    const before = tf.memory().numTensors;
    renderToHTML(model);
    expect(tf.memory().numTensors).toBe(before);
    for (const [, leaf] of flattenWithPath(model)[0]) if (leaf instanceof tf.Tensor) leaf.dispose();
  });

  it("has typed options", () => {
    expectTypeOf<HTMLOptions["theme"]>().toEqualTypeOf<"light" | "dark" | undefined>();
    expectTypeOf(renderToHTML).returns.toEqualTypeOf<string>();
  });
});

/** The text inside the static `<pre>` of a rendering, with character references decoded. */
function staticText(html: string): string {
  const m = /<pre class="skts-text">(.*?)<\/pre>/s.exec(html);
  if (m === null) throw new Error("no static text");
  return m[1]!.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
}

class Nest extends Struct.define({ inner: field<unknown>() }) {}

describe("renderToHTML with hostile input", () => {
  const pwn = "</script><script>window.__pwned=1</script>";

  it("refuses an id that is not a safe element id with a RenderOptionError that says what to pass", () => {
    let error: unknown;
    try {
      renderToHTML([1], { id: pwn });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderOptionError);
    expect(error).toBeInstanceOf(TreescopeError);
    expect((error as RenderOptionError).option).toBe("id");
    expect((error as Error).message).toBe(
      'renderToHTML option `id`: "</script><script>window.__pwned=1</script>" is not a safe ' +
        'element id. Use a letter followed by letters, digits, "-" or "_" (at most 100 ' +
        'characters), like renderToHTML(tree, { id: "model-view" }), or leave id out for a fresh ' +
        "random id.",
    );
    for (const bad of ["", "1abc", "a b", 'a"b', "a\u2028", "x".repeat(101), 7]) {
      expect(() => renderToHTML([1], { id: bad as string }), String(bad)).toThrow(
        RenderOptionError,
      );
    }
    for (const good of ["model-view", "a_1", "Z", `a${"x".repeat(99)}`]) {
      expect(renderToHTML([1], { id: good, fragment: true })).toContain(`id="${good}"`);
    }
  });

  it("refuses an expandDepth that is not a number of levels", () => {
    expect(() => renderToHTML([1], { expandDepth: "2" as unknown as number })).toThrow(
      'renderToHTML option `expandDepth`: "2" is not a number of levels. Pass a number of levels',
    );
    expect(() => renderToHTML([1], { expandDepth: -1 })).toThrow(RenderOptionError);
    expect(() => renderToHTML([1], { expandDepth: Number.NaN })).toThrow(RenderOptionError);
    expect(dataOf(renderToHTML([[1]], { expandDepth: Number.POSITIVE_INFINITY })).f).toBe(1);
  });

  it("writes <, > and & in script data as escapes, so the data cannot end its element", () => {
    const html = renderToHTML({ [pwn]: "a>b&c<!--" }, { id: "t", fragment: true });
    const data = /<script type="application\/json" id="t-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(data).not.toMatch(/[<>&]/);
    expect(data).toContain("\\u003c/script\\u003e");
    expect(dataOf(html).c![0]).toMatchObject({ l: `${JSON.stringify(pwn)}: `, x: "'a>b&c<!--'" });
    expect(html.endsWith(`("t");</script>`)).toBe(true);
  });

  it("lets only colours in CSS colour syntax into the page", () => {
    class Hostile extends Struct.define({ v: field<number>() }) {
      treescopeColor(): string {
        return "red;background-image:url(http://127.0.0.1:9/x)";
      }
    }
    class HostileLayer extends Hostile {
      call(x: unknown): unknown {
        return x;
      }
    }
    const html = renderToHTML([new Hostile({ v: 1 }), new HostileLayer({ v: 2 })], { id: "c" });
    expect(html).not.toContain("url(");
    expect(html).not.toContain("background-image");
    // the data struct stays uncoloured; the layer gets the colour of its name, as without a method
    expect(html).toContain(`style="--skts-color-HostileLayer:${colorFromString("HostileLayer")}"`);
    expect(treescopeColorOf(new Hostile({ v: 1 }))).toBe("transparent");
  });

  it("gives a complete page a Content-Security-Policy that allows its own script only", () => {
    const html = renderToHTML([1], { id: "p" });
    const csp =
      /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? "";
    const nonce = /'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; ` +
        "base-uri 'none'; form-action 'none'",
    );
    // the policy comes before anything it governs; the one executable script carries the nonce
    expect(html.indexOf("Content-Security-Policy")).toBeLessThan(html.indexOf("<style>"));
    expect(html.match(/<script(?! type="application\/json")[^>]*>/g)).toEqual([
      `<script nonce="${nonce}">`,
    ]);
    // with arrays, their heat maps and values travel in a data element, which never runs
    const t = tf.tensor1d([1, 2]);
    const withArrays = renderToHTML({ t }, { id: "p" });
    t.dispose();
    const arrayNonce = /'nonce-([0-9a-f]{32})'/.exec(withArrays)![1];
    expect(withArrays.match(/<script[^>]*>/g)).toEqual([
      '<script type="application/json" id="p-data">',
      '<script type="text/plain" id="p-bulk">',
      `<script nonce="${arrayNonce}">`,
    ]);
    const again = /'nonce-([0-9a-f]{32})'/.exec(renderToHTML([1], { id: "p" }))![1];
    expect(again).not.toBe(nonce);
    // a fragment lives in someone else's page: no policy of its own, no nonce
    const fragment = renderToHTML([1], { id: "p", fragment: true });
    expect(fragment).not.toContain("Content-Security-Policy");
    expect(fragment).not.toContain("nonce");
  });

  it("shows the multi-line text form, escaped, where scripts do not run", () => {
    const tree = {
      weights: new Parameter({ value: [1, 2, 3], name: "<b>w</b>" }),
      [pwn]: new Linear({ weights: new Parameter({ value: 1, name: "w" }) }),
    };
    const html = renderToHTML(tree, { fragment: true, id: "s" });
    expect(html).toContain('<div class="skts-root" id="s"');
    expect(staticText(html)).toBe(
      renderToText(tree, { multiline: true, color: false, width: 100 }),
    );
    expect(html).not.toContain("<b>");
    // a selection's nodes are marked as in the text form
    const marked = renderToHTML(tree, { highlight: [[new DictKey("weights")]] });
    expect(staticText(marked)).toContain(
      `"weights": «Parameter(value=[1, 2, 3], name='<b>w</b>')»`,
    );
  });

  it("cuts the static text after 400 lines or 40,000 characters, saying so", () => {
    const cut = "\u2026 (cut here: the interactive view shows the whole tree where scripts run)";
    const tree = Array.from({ length: 1000 }, (_, i) => ({ i }));
    const lines = staticText(renderToHTML(tree)).split("\n");
    expect(lines).toEqual([
      ...renderToText(tree, { multiline: true, color: false, width: 100 })
        .split("\n")
        .slice(0, 400),
      cut,
    ]);
    expect(lines[399]).toBe(`  {"i": 398},`);
    // exactly 400 lines are not cut
    const fits = Array.from({ length: 398 }, (_, i) => i);
    const text = renderToText(fits, { multiline: true, color: false, width: 100 });
    expect(text.split("\n")).toHaveLength(400);
    expect(staticText(renderToHTML(fits))).toBe(text);
    // one line more is
    const over = [...fits, 398];
    expect(staticText(renderToHTML(over))).toBe(
      `${renderToText(over, { multiline: true, color: false, width: 100 }).split("\n").slice(0, 400).join("\n")}\n${cut}`,
    );
    const long = staticText(renderToHTML("x".repeat(100_000)));
    expect(long).toBe(`'${"x".repeat(39_999)}\n${cut}`);
  });

  it("renders trees 20,000 levels deep, showing nodes below MAX_RENDER_DEPTH as Name(…)", () => {
    let object: unknown = 0;
    let array: unknown = 0;
    let struct: unknown = 0;
    for (let i = 0; i < 20_000; i++) {
      object = { a: object };
      array = [array];
      struct = new Nest({ inner: struct });
    }
    expect(MAX_RENDER_DEPTH).toBe(1000);
    for (const [tree, elided] of [
      [object, "{\u2026}"],
      [array, "[\u2026]"],
      [struct, "Nest(\u2026)"],
    ] as const) {
      let node = dataOf(renderToHTML(tree, { expandDepth: 0 }));
      let depth = 0;
      while (node.c !== undefined) {
        node = node.c[0]!;
        depth++;
      }
      expect(depth).toBe(MAX_RENDER_DEPTH);
      expect(node).toMatchObject({ x: elided, k: "other", g: 1 });
    }
  });
});

describe("colours", () => {
  it("converts OKLCH to sRGB hex", () => {
    expect(oklchColor(1, 0, 0)).toBe("#ffffff");
    expect(oklchColor(0, 0, 0)).toBe("#000000");
    expect(oklchColor(0.6279554, 0.2576833, 29.2338851)).toBe("#ff0000");
  });

  it("derives a stable pastel colour from a name", () => {
    expect(colorFromString("Linear")).toBe(colorFromString("Linear"));
    expect(colorFromString("Linear")).not.toBe(colorFromString("AddBias"));
    expect(colorFromString("Linear")).toMatch(/^#[0-9a-f]{6}$/);
  });

  it("reads treescopeColor, colours other layers by name and leaves data transparent", () => {
    expect(treescopeColorOf(new Parameter({ value: 1, name: "w" }))).toBe("#93cce1");
    class Unnamed extends Empty {
      call(x: unknown) {
        return x;
      }
    }
    expect(treescopeColorOf(new Unnamed())).toBe(colorFromString("Unnamed"));
    expect(treescopeColorOf(new Point({ x: 1, y: 2, label: "p" }))).toBe("transparent");
    expect(
      treescopeColorOf({
        treescopeColor: () => {
          throw new Error("broken");
        },
      }),
    ).toBe("transparent");
  });

  it("accepts colours in CSS colour syntax only", () => {
    for (const good of [
      "#93cce1",
      "#abc",
      "#abcd",
      "#93cce180",
      "red",
      "transparent",
      "rgb(1, 2, 3)",
      "rgba(1 2 3 / 50%)",
      "hsl(120deg 50% 50%)",
      "oklch(0.785 0.103 40)",
      "color(display-p3 1 0 0)",
    ]) {
      expect(isCSSColor(good), good).toBe(true);
    }
    for (const bad of [
      "red;background-image:url(http://127.0.0.1:9/x)",
      "url(http://127.0.0.1:9/x)",
      "var(--x)",
      "rgb(var(--x))",
      "expression(alert(1))",
      "red}*{color:blue",
      "#12345",
      "</style>",
      "red ",
      "",
      `rgb(${"1 ".repeat(60)})`,
      42,
    ]) {
      expect(isCSSColor(bad), String(bad)).toBe(false);
    }
  });

  it("parses the CSS colours penzai uses", () => {
    expect(parseColor("#eba875")).toEqual([235, 168, 117]);
    expect(parseColor("#abc")).toEqual([170, 187, 204]);
    expect(parseColor("orange")).toEqual([255, 165, 0]);
    expect(parseColor("rgb(1, 2, 3)")).toEqual([1, 2, 3]);
    expect(parseColor("oklch(100% 0 0)")).toEqual([255, 255, 255]);
    expect(parseColor("transparent")).toBeUndefined();
    expect(parseColor("no-such-colour")).toBeUndefined();
  });
});

describe("summarizeArray", () => {
  it("computes statistics over finite values and counts NaN and infinities", () => {
    const t = tf.tensor1d([1, 2, Number.NaN, Number.NEGATIVE_INFINITY, 6]);
    expect(summarizeArray(t, { heatMap: false })).toEqual({
      typeName: "tf.Tensor",
      dtype: "float32",
      shape: [5],
      namedShape: [],
      size: 5,
      disposed: false,
      stats: { min: 1, max: 6, mean: 3, nanCount: 1, infCount: 1, finiteCount: 3 },
    });
    t.dispose();
  });

  it("builds sequential and diverging heat maps", () => {
    const seq = tf.tensor2d([
      [0, 1],
      [2, 3],
    ]);
    const div = tf.tensor1d([-2, 0, 1, 2]);
    expect(summarizeArray(seq)!.heatMap).toEqual({
      rows: 2,
      cols: 2,
      scale: "sequential",
      cells: new Uint8Array([0, 85, 169, 254]),
    });
    expect(summarizeArray(div)!.heatMap).toEqual({
      rows: 1,
      cols: 4,
      scale: "diverging",
      cells: new Uint8Array([0, 127, 191, 254]),
    });
    tf.dispose([seq, div]);
  });

  it("downsamples large arrays to at most 32 x 64 cells by averaging", () => {
    const t = tf.tensor2d(
      Array.from({ length: 128 }, (_, i) => i),
      [1, 128],
    );
    const h = summarizeArray(t)!.heatMap!;
    expect([h.rows, h.cols]).toEqual([1, 64]);
    expect(h.cells[0]).toBe(1);
    expect(h.cells[63]).toBe(253);
    t.dispose();
  });

  it("reads named arrays through their data array", () => {
    const x = named(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      { seq: 2 },
    );
    expect(summarizeArray(x, { heatMap: false })).toMatchObject({
      typeName: "NamedArray",
      shape: [3],
      namedShape: [["seq", 2]],
      stats: { min: 1, max: 6, mean: 3.5 },
    });
    x.dataArray.dispose();
  });

  it("returns undefined for non-arrays and skips statistics of disposed tensors", () => {
    expect(summarizeArray([1, 2])).toBeUndefined();
    const t = tf.zeros([3]);
    t.dispose();
    expect(summarizeArray(t)).toEqual({
      typeName: "tf.Tensor",
      dtype: "float32",
      shape: [3],
      namedShape: [],
      size: 3,
      disposed: true,
    });
  });
});

describe("display", () => {
  it("prints multi-line text where no HTML host exists", () => {
    const lines: string[] = [];
    const write = (t: string) => lines.push(t);
    expect(displayTarget({ write })).toBe("text");
    expect(display(new Point({ x: 1, y: 2, label: "p" }), { write })).toBeUndefined();
    expect(lines).toEqual(["Point(x=1, y=2, label='p')"]);
  });

  it("sends HTML to tslab's $$.html when it is present", () => {
    const shown: string[] = [];
    const g = globalThis as { $$?: unknown };
    g.$$ = { html: (h: string) => shown.push(h) };
    try {
      expect(displayTarget()).toBe("tslab");
      display([1, 2]);
    } finally {
      delete g.$$;
    }
    expect(shown).toHaveLength(1);
    expect(shown[0]!.startsWith("<style>")).toBe(true);
  });

  it("sends HTML to the display API of tslab's kernel (__tslab__.require)", () => {
    const shown: string[] = [];
    const g = globalThis as { __tslab__?: unknown };
    const requested: string[] = [];
    g.__tslab__ = {
      require: (id: string) => {
        requested.push(id);
        return { display: { html: (h: string) => shown.push(h) } };
      },
    };
    try {
      expect(displayTarget()).toBe("tslab");
      expect(display({ a: 1 })).toBeUndefined();
    } finally {
      delete g.__tslab__;
    }
    expect(requested).toContain("tslab");
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain("skts-root");
  });

  it("sends a MIME bundle to Deno's Jupyter kernel", () => {
    const bundles: Record<string, string>[] = [];
    const g = globalThis as { Deno?: unknown };
    g.Deno = {
      jupyter: {
        display: (b: Record<string, string>, o: { raw: boolean }) => {
          expect(o).toEqual({ raw: true });
          bundles.push(b);
        },
      },
    };
    try {
      expect(displayTarget()).toBe("deno-jupyter");
      display({ a: 1 });
    } finally {
      delete g.Deno;
    }
    expect(bundles[0]!["text/plain"]).toBe(`{"a": 1}`);
    expect(bundles[0]!["text/html"]).toContain("skts-root");
  });

  it("makes values displayable through Symbol.for('Jupyter.display')", () => {
    const bundle = displayable([1])[
      Symbol.for("Jupyter.display") as never
    ] as unknown as () => Record<string, string>;
    expect(Object.keys(bundle())).toEqual(["text/html", "text/plain"]);
    expect(bundle()["text/plain"]).toBe("[1]");
  });
});
