import { ready } from "@saikei/named";
import { DictKey, field, Struct } from "@saikei/struct";
import {
  defaultColor,
  escapeControls,
  MAX_RENDER_DEPTH,
  oneLine,
  quoteString,
  renderToText,
} from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  Empty,
  Linear,
  NamedArray,
  named,
  Parameter,
  Point,
  SideInputRequest,
} from "./fixtures.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
});

const plain = { color: false } as const;

describe("one-line form", () => {
  it("renders a struct like the built-in toString: fields in declaration order, statics included", () => {
    expect(renderToText(new Point({ x: 3, y: 4, label: "p" }), plain)).toBe(
      "Point(x=3, y=4, label='p')",
    );
  });

  it("is what Struct#toString returns once treescope is imported", () => {
    expect(String(new Point({ x: 3, y: 4, label: "p" }))).toBe("Point(x=3, y=4, label='p')");
    expect(`${new Empty()}`).toBe("Empty()");
  });

  it("renders primitives, arrays, objects in sorted key order, Maps and null", () => {
    expect(oneLine([1, -0, 2.5, "a", true, null, undefined, 3n])).toBe(
      "[1, -0, 2.5, 'a', true, null, undefined, 3n]",
    );
    expect(oneLine({ b: [1, 2], a: "x" })).toBe(`{"a": 'x', "b": [1, 2]}`);
    expect(
      oneLine(
        new Map<unknown, unknown>([
          ["k", 1],
          [2, [3]],
        ]),
      ),
    ).toBe(`Map{"k" => 1, 2 => [3]}`);
    expect(oneLine([[], {}, new Map()])).toBe("[[], {}, Map{}]");
  });

  it("renders functions, typed arrays and unregistered class instances as leaves", () => {
    function relu() {}
    class Opaque {}
    class WithToString {
      toString() {
        return "custom!";
      }
    }
    expect(oneLine([relu, new Float32Array(3), new Opaque(), new WithToString()])).toBe(
      "[<function relu>, Float32Array(3), <Opaque>, custom!]",
    );
  });

  it("quotes strings like Python's repr", () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString("a\\b\nc\u0001")).toBe("'a\\\\b\\nc\\x01'");
    expect(oneLine({ "odd key": "x'y" })).toBe(`{"odd key": 'x\\'y'}`);
  });

  it("renders tensors by dtype and shape, with values when they have at most 5 elements", () => {
    const t = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const s = tf.scalar(0.5);
    const small = tf.tensor1d([1, Number.NaN, 3], "float32");
    const b = tf.tensor1d([1, 0], "bool");
    const i = tf.tensor1d([7, 8], "int32");
    expect(oneLine({ t, s, small, b, i })).toBe(
      "{" +
        `"b": <tf.Tensor bool[2] [true, false]>, ` +
        `"i": <tf.Tensor int32[2] [7, 8]>, ` +
        `"s": <tf.Tensor float32[] 0.5>, ` +
        `"small": <tf.Tensor float32[3] [1, NaN, 3]>, ` +
        `"t": <tf.Tensor float32[2,3]>}`,
    );
    tf.dispose([t, s, small, b, i]);
  });

  it("says when a tensor is disposed instead of throwing", () => {
    const t = tf.zeros([2, 2]);
    t.dispose();
    expect(oneLine([t])).toBe("[<tf.Tensor float32[2,2] disposed>]");
  });

  it("renders named arrays with their positional and named shape", () => {
    const x = named(tf.zeros([3, 4, 6]), { batch: 4, features: 6 });
    expect(oneLine(x)).toBe("<NamedArray float32(3 | batch:4, features:6)>");
    const y = named(tf.zeros([2, 5]), { batch: 2, features: 5 });
    expect(oneLine(new Parameter({ value: y, name: "w" }))).toBe(
      "Parameter(value=<NamedArray float32(| batch:2, features:5)>, name='w')",
    );
    tf.dispose([x.dataArray, y.dataArray]);
  });

  it("marks cycles instead of recursing forever", () => {
    const a: unknown[] = [1];
    a.push(a);
    expect(oneLine(a)).toBe("[1, <cycle>]");
  });
});

describe("multi-line form", () => {
  it("keeps nodes that fit on one line and breaks the others with trailing commas", () => {
    const tree = {
      weights: new Parameter({ value: [1, 2, 3], name: "linear.weights" }),
      mask: new SideInputRequest({ tag: "attn_mask" }),
      empty: [],
    };
    expect(renderToText(tree, { multiline: true, width: 44, color: false })).toBe(
      [
        "{",
        `  "empty": [],`,
        `  "mask": SideInputRequest(tag='attn_mask'),`,
        `  "weights": Parameter(`,
        "    value=[1, 2, 3],",
        "    name='linear.weights',",
        "  ),",
        "}",
      ].join("\n"),
    );
  });

  it("equals the one-line form when everything fits", () => {
    const p = new Point({ x: 1, y: 2, label: "q" });
    expect(renderToText(p, { multiline: true, color: false })).toBe("Point(x=1, y=2, label='q')");
    expect(renderToText(p, { multiline: true, width: 10, color: false })).toBe(
      "Point(\n  x=1,\n  y=2,\n  label='q',\n)",
    );
  });

  it("adds array statistics: min, max, mean over finite values, NaN and infinity counts", () => {
    const t = tf.tensor2d([
      [1, 2, Number.NaN],
      [3, Number.POSITIVE_INFINITY, 6],
    ]);
    expect(renderToText({ t }, { multiline: true, color: false })).toBe(
      `{"t": <tf.Tensor float32[2,3] min=1 max=6 mean=3 nan=1 inf=1>}`,
    );
    t.dispose();
  });
});

describe("colours", () => {
  it("colours struct names with their treescopeColor and values by kind when asked", () => {
    const layer = new Linear({ weights: new Parameter({ value: 1.5, name: "w" }) });
    expect(renderToText(layer, { color: true })).toBe(
      "\x1b[1;38;2;235;168;117mLinear\x1b[0m(weights=" +
        "\x1b[1;38;2;147;204;225mParameter\x1b[0m(value=\x1b[34m1.5\x1b[0m, name=\x1b[32m'w'\x1b[0m))",
    );
  });

  it("uses bold for structs without a colour and never colours when color is false", () => {
    expect(renderToText(new Empty(), { color: true })).toBe("\x1b[1mEmpty\x1b[0m()");
    expect(renderToText([null, true], { color: true })).toBe(
      "[\x1b[35mnull\x1b[0m, \x1b[35mtrue\x1b[0m]",
    );
    expect(renderToText(new Empty(), { color: false })).toBe("Empty()");
  });

  it("defaults to no colour when NO_COLOR is set or stdout is not a TTY", () => {
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = "1";
    try {
      expect(defaultColor()).toBe(false);
      expect(renderToText(new Empty())).toBe("Empty()");
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
    if (process.env.NO_COLOR === undefined || process.env.NO_COLOR === "") {
      expect(defaultColor()).toBe(process.stdout.isTTY === true);
    }
  });
});

// JSON-like trees without tensors, with keys sorted so that JSON and treescope agree on order.
const jsonLike = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom("a", "b c", "q"),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("tree"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("tree"), { maxKeys: 3 }),
  ),
})).tree;

describe("laws", () => {
  it("the one-line form never contains a newline and multi-line with unlimited width equals it", () => {
    fc.assert(
      fc.property(jsonLike, (tree) => {
        const line = renderToText(tree, plain);
        expect(line.includes("\n")).toBe(false);
        expect(
          renderToText(tree, { multiline: true, width: Number.POSITIVE_INFINITY, color: false }),
        ).toBe(line);
      }),
    );
  });

  it("the multi-line form is the one-line form with line breaks, indentation and trailing commas", () => {
    fc.assert(
      fc.property(jsonLike, fc.integer({ min: 1, max: 60 }), (tree, width) => {
        const text = renderToText(tree, { multiline: true, width, color: false });
        const squashed = text
          .split("\n")
          .map((l) => l.trim())
          .join("")
          .replace(/,([\]})])/g, "$1")
          .replace(/([[{(])/g, "$1")
          .replace(/,(?=\S)/g, ", ");
        expect(squashed).toBe(renderToText(tree, plain));
      }),
    );
  });

  it("for numbers, booleans, null and plain-letter strings the one-line form is JSON with single quotes", () => {
    fc.assert(
      fc.property(jsonLike, (tree) => {
        const json = JSON.stringify(tree, (_k, v) =>
          v !== null && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(
                Object.keys(v)
                  .sort()
                  .map((k) => [k, v[k]]),
              )
            : v,
        )
          .replace(/,/g, ", ")
          .replace(/":/g, '": ');
        const expected = json.replace(/"(a|b c|q)"(?!: )/g, "'$1'");
        expect(renderToText(tree, plain)).toBe(expected);
      }),
    );
  });

  it("rendering never creates tensors", () => {
    const t = tf.ones([4, 4]);
    const before = tf.memory().numTensors;
    renderToText({ t, n: named(t, { a: 4, b: 4 }) }, { multiline: true, color: false });
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });
});

describe("types", () => {
  it("renderToText takes any value and options and returns a string", () => {
    expectTypeOf(renderToText).parameter(0).toEqualTypeOf<unknown>();
    expectTypeOf(renderToText).returns.toEqualTypeOf<string>();
    expectTypeOf<Parameters<typeof renderToText>[1]>().toEqualTypeOf<
      import("@saikei/treescope").TextOptions | undefined
    >();
  });
});

describe("custom keys", () => {
  it("labels struct fields by name even when keyForField changes the path step", () => {
    class Keyed extends Struct.define({ a: field<number>() }) {
      override keyForField(name: string) {
        return new DictKey(name);
      }
    }
    expect(oneLine(new Keyed({ a: 1 }))).toBe("Keyed(a=1)");
  });
});

describe("hostile names and strings", () => {
  class Evil extends Struct.define({ v: field<number>() }) {}
  Object.defineProperty(Evil, "name", { value: "Evil\x1b[2J" });

  it("escapes control and bidirectional characters in class, field, key and axis names and strings", () => {
    class Fields extends Struct.define({ ["a\u202eb"]: field<number>() }) {}
    function f() {}
    Object.defineProperty(f, "name", { value: "run\u2066" });
    const x = named(tf.zeros([2]), { "\x1b]0;title\x07": 2 });
    const axis = oneLine(x);
    x.dataArray.dispose();
    expect(axis).toBe("<NamedArray float32(| \\x1b]0;title\\x07:2) [0, 0]>");
    expect(oneLine(new Evil({ v: 1 }))).toBe("Evil\\x1b[2J(v=1)");
    expect(oneLine(new Fields({ ["a\u202eb"]: 1 } as never))).toBe("Fields(a\\u202eb=1)");
    expect(oneLine({ "k\x1b[31m": 1, "\u202e": 2 })).toBe(`{"k\\u001b[31m": 1, "\\u202e": 2}`);
    expect(oneLine(new Map([["\u200f", 1]]))).toBe(`Map{"\\u200f" => 1}`);
    expect(oneLine(["\u202eevil\u2069", "\x9b2J", "a\u2028b", "\u061c"])).toBe(
      "['\\u202eevil\\u2069', '\\x9b2J', 'a\\u2028b', '\\u061c']",
    );
    expect(oneLine([f, Symbol("\x1b")])).toBe("[<function run\\u2066>, Symbol(\\x1b)]");
  });

  it("keeps a name with a newline on one line of the multi-line layout", () => {
    class Two extends Struct.define({ ["line\nbreak"]: field<number>() }) {}
    Object.defineProperty(Two, "name", { value: "A\nB" });
    expect(
      renderToText(new Two({ ["line\nbreak"]: 1 } as never), {
        multiline: true,
        width: 5,
        color: false,
      }),
    ).toBe("A\\nB(\n  line\\nbreak=1,\n)");
  });

  it("keeps its own colour codes and escapes the ones a name carries", () => {
    expect(renderToText(new Evil({ v: 1 }), { color: true })).toBe(
      "\x1b[1mEvil\\x1b[2J\x1b[0m(v=\x1b[34m1\x1b[0m)",
    );
  });

  it("no name or string can put a control or bidirectional character into the output", () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: treescope's own colour codes
    const ownCodes = /\x1b\[[0-9;]*m/g;
    const text = fc.string({ unit: "binary", maxLength: 8 });
    fc.assert(
      fc.property(text, text, text, (key, value, name) => {
        class Named extends Struct.define({ v: field<unknown>() }) {}
        Object.defineProperty(Named, "name", { value: name });
        const tree = { [key]: [value, new Named({ v: new Map([[key, value]]) })] };
        for (const options of [{ color: false }, { color: true }]) {
          const out = renderToText(tree, options).replace(ownCodes, "");
          expect(escapeControls(out)).toBe(out);
          const multi = renderToText(tree, { ...options, multiline: true, width: 10 });
          const lines = multi.replace(ownCodes, "").split("\n");
          for (const line of lines) expect(escapeControls(line)).toBe(line);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("deep trees", () => {
  class Nest extends Struct.define({ inner: field<unknown>() }) {}

  function chain(depth: number, wrap: (inner: unknown) => unknown): unknown {
    let tree: unknown = 0;
    for (let i = 0; i < depth; i++) tree = wrap(tree);
    return tree;
  }

  it("renders a 20,000-level tree, showing the nodes at MAX_RENDER_DEPTH as Name(…)", () => {
    const n = MAX_RENDER_DEPTH;
    expect(oneLine(chain(20_000, (a) => ({ a })))).toBe(
      `${'{"a": '.repeat(n)}{\u2026}${"}".repeat(n)}`,
    );
    expect(oneLine(chain(20_000, (a) => [a]))).toBe(`${"[".repeat(n)}[\u2026]${"]".repeat(n)}`);
    const struct = chain(20_000, (inner) => new Nest({ inner }));
    expect(String(struct)).toBe(`${"Nest(inner=".repeat(n)}Nest(\u2026)${")".repeat(n)}`);
    const lines = renderToText(struct, { multiline: true, color: false }).split("\n");
    expect(lines).toHaveLength(2 * n + 1);
    expect(lines[n]).toBe(`${" ".repeat(2 * n)}inner=Nest(\u2026),`);
  });

  it("stops at the depth a tree has when it is shallower than the limit", () => {
    expect(oneLine(chain(3, (a) => [a]))).toBe("[[[0]]]");
  });
});

afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

void NamedArray;
