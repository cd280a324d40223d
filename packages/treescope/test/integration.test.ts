import { NamedArray, ready } from "@saikei/named";
import { renderSelectionText, select, setSelectionRenderer } from "@saikei/select";
import { GetAttrKey, SequenceKey } from "@saikei/struct";
import {
  installTreescopeHooks,
  oneLine,
  renderSelectionHTML,
  renderToHTML,
  renderToText,
  summarizeArray,
} from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Linear, Parameter, Sequential } from "./fixtures.js";

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
  c?: NodeData[];
  f?: 1;
  s?: 1;
}

function dataOf(html: string): NodeData {
  return JSON.parse(
    /<script type="application\/json" id="[^"]+-data">(.*?)<\/script>/s.exec(html)![1]!,
  );
}

function flags(node: NodeData, prefix = ""): [string, string][] {
  // the data leaves out a field's step `.name` where the label `name=` gives it
  const here = prefix + (node.p ?? (node.l ? `.${node.l.slice(0, -1)}` : ""));
  const mine: [string, string][] =
    node.s || node.f ? [[here, `${node.s ? "s" : ""}${node.f ? "f" : ""}`]] : [];
  return [...mine, ...(node.c ?? []).flatMap((c) => flags(c, here))];
}

describe("@saikei/named arrays", () => {
  it("renders NamedArray and NamedArrayView with positional and named shapes", () => {
    const data = tf.zeros([2, 4]);
    const x = new NamedArray({ namedAxes: { seq: 4 }, dataArray: data });
    const tagged = NamedArray.wrap(data, "batch", "seq");
    const view = x.asNamedArrayView();
    expect(oneLine(x)).toBe("<NamedArray float32(2 | seq:4)>");
    expect(oneLine(tagged)).toBe("<NamedArray float32(| batch:2, seq:4)>");
    expect(oneLine(view)).toBe("<NamedArrayView float32(2 | seq:4)>");
    expect(summarizeArray(view, { heatMap: false })).toMatchObject({
      typeName: "NamedArrayView",
      shape: [2],
      namedShape: [["seq", 4]],
      stats: { min: 0, max: 0, mean: 0, nanCount: 0, infCount: 0 },
    });
    data.dispose();
  });

  it("shows a few values of small named arrays", () => {
    const x = NamedArray.wrap(tf.tensor1d([1.5, -2], "float32"), "features");
    expect(oneLine(x)).toBe("<NamedArray float32(| features:2) [1.5, -2]>");
    x.dataArray.dispose();
  });
});

describe("@saikei/select selections", () => {
  const model = new Sequential({
    sublayers: [
      new Linear({ weights: new Parameter({ value: 1, name: "a" }) }),
      "relu",
      new Linear({ weights: new Parameter({ value: 2, name: "b" }) }),
    ],
  });

  it("renderToHTML of a Selection highlights its nodes and opens the way to them", () => {
    const html = renderToHTML(select(model).atInstancesOf(Linear), { expandDepth: 0 });
    expect(flags(dataOf(html))).toEqual([
      ["", "f"],
      [".sublayers", "f"],
      [".sublayers[0]", "s"],
      [".sublayers[2]", "s"],
    ]);
  });

  it("showSelection returns treescope HTML with the selection highlighted", () => {
    const html = select(model).atInstancesOf(Parameter).showSelection();
    expect(html.startsWith("<style>")).toBe(true);
    const marked = flags(dataOf(html)).filter(([, f]) => f.includes("s"));
    expect(marked.map(([p]) => p)).toEqual([".sublayers[0].weights", ".sublayers[2].weights"]);
  });

  it("showValue opens the way to the selection without highlighting it", () => {
    const html = select(model).atInstancesOf(Parameter).showValue();
    const all = flags(dataOf(html));
    expect(all.filter(([, f]) => f.includes("s"))).toEqual([]);
    expect(all.map(([p]) => p)).toContain(".sublayers[2]");
  });

  it("renderSelectionHTML maps the renderer input onto highlight and reveal", () => {
    const input = {
      tree: { a: [1, 2] },
      selected: [{ keyPath: [new GetAttrKey("a"), new SequenceKey(1)], value: 2 }],
      trie: undefined as never,
      visibleSelection: true,
    };
    // GetAttrKey(".a") does not match the object's ['a'] child: nothing is highlighted
    expect(flags(dataOf(renderSelectionHTML(input))).filter(([, f]) => f.includes("s"))).toEqual(
      [],
    );
  });

  it("installTreescopeHooks can be called again and the built-in renderer restored", () => {
    installTreescopeHooks();
    expect(
      select([1])
        .at((r) => r[0]!)
        .showSelection(),
    ).toContain("skts-root");
    setSelectionRenderer(undefined);
    try {
      expect(
        select([1])
          .at((r) => r[0]!)
          .showSelection(),
      ).toBe(
        renderSelectionText({
          tree: [1],
          selected: [{ keyPath: [new SequenceKey(0)], value: 1 }],
          trie: (select([1]).at((r) => r[0]!) as unknown as { trie(): never }).trie(),
          visibleSelection: true,
        }),
      );
    } finally {
      installTreescopeHooks();
    }
  });
});

describe("selections as text", () => {
  it("marks the selected nodes of a Selection with « »", () => {
    const tree = { a: [1, 2], b: new Parameter({ value: 3, name: "p" }) };
    const selection = select(tree).atInstancesOf(Parameter);
    expect(renderToText(selection, { color: false })).toBe(
      `{"a": [1, 2], "b": «Parameter(value=3, name='p')»}`,
    );
    expect(
      renderToText(
        select(tree).at((t) => t.a[1]!),
        { multiline: true, width: 12, color: false },
      ),
    ).toBe(
      [
        "{",
        `  "a": [`,
        "    1,",
        "    «2»,",
        "  ],",
        `  "b": Parameter(`,
        "    value=3,",
        "    name='p',",
        "  ),",
        "}",
      ].join("\n"),
    );
  });

  it("marks key paths given as highlight", () => {
    expect(
      renderToText([1, [2, 3]], {
        color: false,
        highlight: [[new SequenceKey(1), new SequenceKey(0)]],
      }),
    ).toBe("[1, [«2», 3]]");
  });
});
