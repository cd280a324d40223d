import { NamedArray, ready } from "@saikei/named";
import {
  ArrayInputError,
  type ArraySpec,
  arrayLayout,
  arraySpec,
  DEFAULT_MAX_VALUES,
  displayArray,
  displayTokens,
  RenderOptionError,
  readArray,
  renderArray,
  renderToHTML,
  subsampleSteps,
} from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let baseline = 0;
beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

/** The view description embedded in a rendering. */
function specOf(html: string): ArraySpec {
  const match = /<script type="application\/json" id="[\w-]+-data">(.*?)<\/script>/s.exec(html);
  return JSON.parse(match![1]!) as ArraySpec;
}

/** The embedded values, decoded as the page decodes them. */
function valuesOf(spec: ArraySpec): number[] {
  const bytes = Buffer.from(spec.data, "base64");
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const typed =
    spec.encoding === "f32"
      ? new Float32Array(buffer)
      : spec.encoding === "f64"
        ? new Float64Array(buffer)
        : spec.encoding === "i32"
          ? new Int32Array(buffer)
          : new Uint8Array(buffer);
  return Array.from(typed);
}

/** {batch: 2, heads: 3, seq: 4, kv_seq: 5} with value 1000 b + 100 h + 10 s + k. */
function attention(): NamedArray {
  const values = [];
  for (let b = 0; b < 2; b++)
    for (let h = 0; h < 3; h++)
      for (let s = 0; s < 4; s++)
        for (let k = 0; k < 5; k++) values.push(1000 * b + 100 * h + 10 * s + k);
  return NamedArray.wrap(tf.tensor(values, [2, 3, 4, 5])).tag("batch", "heads", "seq", "kv_seq");
}

describe("reading arrays", () => {
  it("reads positional axes first, then named axes, from NamedArray and NamedArrayView alike", () => {
    const a = attention();
    const view = a.untag("heads"); // a NamedArrayView: the positional axis lives at data axis 1
    try {
      const input = readArray(a, "test");
      expect(input.axes.map((x) => [x.name, x.named, x.size])).toEqual([
        ["batch", true, 2],
        ["heads", true, 3],
        ["seq", true, 4],
        ["kv_seq", true, 5],
      ]);
      const v = readArray(view, "test");
      expect(v.axes.map((x) => [x.name, x.named, x.size])).toEqual([
        ["0", false, 3],
        ["batch", true, 2],
        ["seq", true, 4],
        ["kv_seq", true, 5],
      ]);
      // both embed the same values for the same logical index
      const spec = arraySpec(view, { rows: ["seq"], columns: ["kv_seq"] }, "test");
      const values = valuesOf(spec);
      // logical order [heads(positional), batch, seq, kv_seq]: index (h=2, b=1, s=3, k=4) is last
      expect(values[values.length - 1]).toBe(1000 + 200 + 30 + 4);
      // (h=1, b=0, s=0, k=0) is at offset 1 * (2*4*5)
      expect(values[40]).toBe(100);
    } finally {
      a.dataArray.dispose();
    }
  });

  it("reads nested arrays as floats or booleans, and typed arrays as 1-D floats or integers", () => {
    expect(readArray([[1, 2.5]], "t")).toMatchObject({ kind: "float", dtype: "float64" });
    // JavaScript numbers are doubles: whole numbers too
    expect(readArray([[1, 2]], "t")).toMatchObject({ kind: "float", dtype: "float64" });
    expect(readArray(new Int32Array([1, 2]), "t")).toMatchObject({ kind: "int", dtype: "int" });
    expect(readArray(new Float32Array([1, 2]), "t")).toMatchObject({
      kind: "float",
      dtype: "float32",
    });
    expect(readArray([true, false], "t")).toMatchObject({ kind: "bool" });
    expect(readArray(new Int32Array([1, 2, 3]), "t").axes.map((a) => a.size)).toEqual([3]);
  });

  it("names what it cannot read and how to fix it", () => {
    expect(() => renderArray("abc")).toThrow(ArrayInputError);
    expect(() => renderArray("abc")).toThrow(
      'renderArray: expected a tf.Tensor, a NamedArray or NamedArrayView, a typed array or a nested array of numbers, but got "abc".',
    );
    expect(() => renderArray([[1, 2], [3]])).toThrow(
      "renderArray: the nested array is ragged: element [1] should be an array of 2 elements, like the first one at that depth, but is an array of 1.",
    );
    expect(() => renderArray([1, "x"])).toThrow(/element \[1\] is "x", not a number or a boolean/);
    expect(() => renderArray([true, 1])).toThrow(/mixes booleans and numbers/);
    const disposed = tf.tensor([1, 2]);
    disposed.dispose();
    expect(() => renderArray(disposed)).toThrow(/the tensor is disposed/);
    const strings = tf.tensor(["a", "b"]);
    try {
      expect(() => renderArray(strings)).toThrow(/cannot show a string array as colours/);
    } finally {
      strings.dispose();
    }
  });
});

describe("layout", () => {
  const input = () => readArray(new Float32Array(0), "t");
  it("places the last two unplaced axes as pixels and the rest as sliders", () => {
    const a = attention();
    try {
      const x = readArray(a, "t");
      // axes: 0 batch, 1 heads, 2 seq, 3 kv_seq
      expect(arrayLayout(x, {})).toEqual({ rows: [2], columns: [3], sliders: [0, 1] });
      expect(arrayLayout(x, { rows: ["heads"], columns: ["batch"] })).toEqual({
        rows: [1, 2],
        columns: [0, 3],
        sliders: [],
      });
      expect(arrayLayout(x, { rows: ["kv_seq"], columns: ["seq"] })).toEqual({
        rows: [3],
        columns: [2],
        sliders: [0, 1],
      });
      expect(arrayLayout(x, { sliders: ["kv_seq"] })).toEqual({
        rows: [2],
        columns: [],
        sliders: [3, 0, 1],
      });
    } finally {
      a.dataArray.dispose();
    }
    expect(arrayLayout(input(), {})).toEqual({ rows: [], columns: [0], sliders: [] });
  });

  it("takes positional axes by number", () => {
    const x = readArray([[[1, 2]]], "t");
    expect(arrayLayout(x, { rows: [2], columns: [0], sliders: [1] })).toEqual({
      rows: [2],
      columns: [0],
      sliders: [1],
    });
    // left out, the axis before the last becomes the innermost row
    expect(arrayLayout(x, { rows: [2], columns: [0] })).toEqual({
      rows: [2, 1],
      columns: [0],
      sliders: [],
    });
  });

  it("rejects unknown axes and axes placed twice, listing the axes", () => {
    const a = attention();
    try {
      expect(() => renderArray(a, { rows: ["head"] })).toThrow(
        'renderArray option `rows`: "head" is not an axis of this array. Its axes are "batch", ' +
          '"heads", "seq", "kv_seq" (named axes by name, positional axes by number).',
      );
      expect(() => renderArray(a, { rows: [0] })).toThrow(RenderOptionError);
      expect(() => renderArray(a, { rows: ["seq"], sliders: ["seq"] })).toThrow(
        "renderArray option `sliders`: axis seq is already placed in rows. Place each axis once, " +
          "in rows, columns or sliders.",
      );
      expect(() => renderArray(a, { rows: "seq" as never })).toThrow(/is not a list of axes/);
    } finally {
      a.dataArray.dispose();
    }
  });
});

describe("summarising large arrays", () => {
  it("halves the longest axes until the values fit", () => {
    expect(subsampleSteps([4, 1024], 1024)).toEqual([1, 4]);
    expect(subsampleSteps([4, 8, 128, 128], DEFAULT_MAX_VALUES)).toEqual([1, 1, 1, 1]);
    expect(subsampleSteps([4, 8, 256, 128], DEFAULT_MAX_VALUES)).toEqual([1, 1, 2, 1]);
    expect(subsampleSteps([3, 3], 1)).toEqual([4, 4]);
  });

  it("keeps at most maxValues values, every axis at least one index (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 100_000 }),
        (sizes, maxValues) => {
          const steps = subsampleSteps(sizes, maxValues);
          const kept = sizes.map((n, i) => Math.ceil(n / steps[i]!));
          const total = kept.reduce((a, b) => a * b, 1);
          const whole = sizes.reduce((a, b) => a * b, 1);
          return (
            total <= maxValues &&
            kept.every((k) => k >= 1) &&
            steps.every((s) => Number.isInteger(Math.log2(s))) &&
            (whole > maxValues || steps.every((s) => s === 1))
          );
        },
      ),
    );
  });

  it("embeds, at each kept index, the value at that index of the array (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 400 }),
        (shape, maxValues) => {
          // nested arrays whose value is the row-major flat index
          let next = 0;
          const build = (depth: number): unknown =>
            depth === shape.length
              ? next++
              : Array.from({ length: shape[depth]! }, () => build(depth + 1));
          const spec = arraySpec(build(0), { maxValues }, "test");
          const steps = spec.axes.map((a) => a.step);
          const kept = shape.map((n, i) => Math.ceil(n / steps[i]!));
          const values = valuesOf(spec);
          return values.every((value, k) => {
            let rest = k;
            let flat = 0;
            let stride = 1;
            const index: number[] = [];
            for (let axis = shape.length - 1; axis >= 0; axis--) {
              index[axis] = (rest % kept[axis]!) * steps[axis]!;
              rest = Math.floor(rest / kept[axis]!);
            }
            for (let axis = shape.length - 1; axis >= 0; axis--) {
              flat += index[axis]! * stride;
              stride *= shape[axis]!;
            }
            return value === flat;
          });
        },
      ),
    );
  });

  it("embeds every step-th index and says so above the picture", () => {
    const x = Array.from({ length: 8 }, (_, r) => Array.from({ length: 8 }, (_, c) => 10 * r + c));
    const spec = specOf(renderArray(x, { maxValues: 16 }));
    expect(spec.axes.map((a) => a.step)).toEqual([2, 2]);
    expect(valuesOf(spec)).toEqual([0, 2, 4, 6, 20, 22, 24, 26, 40, 42, 44, 46, 60, 62, 64, 66]);
    expect(spec.note).toBe(
      "Summarised: 16 of 64 values shown (every 2nd axis 0 index, every 2nd axis 1 index); raise maxValues to see more.",
    );
    expect(specOf(renderArray(x)).note).toBeUndefined();
    expect(() => renderArray(x, { maxValues: 0 })).toThrow(
      "renderArray option `maxValues`: 0 is not a whole number from 1 to 67108864. Pass one, like renderArray(x, { maxValues: 4096 }), or leave it out.",
    );
  });
});

describe("the embedded view", () => {
  it("describes a NamedArray's axes, layout, values and colour scale", () => {
    const a = attention();
    try {
      const spec = specOf(renderArray(a, { rows: ["heads"], columns: ["batch"] }));
      expect(spec.title).toBe("NamedArray float32(| batch:2, heads:3, seq:4, kv_seq:5)");
      expect(spec.axes).toEqual([
        { name: "batch", named: true, size: 2, step: 1 },
        { name: "heads", named: true, size: 3, step: 1 },
        { name: "seq", named: true, size: 4, step: 1 },
        { name: "kv_seq", named: true, size: 5, step: 1 },
      ]);
      expect([spec.rows, spec.columns, spec.sliders]).toEqual([[1, 2], [0, 3], []]);
      expect(spec.encoding).toBe("f32");
      expect(valuesOf(spec).slice(0, 6)).toEqual([0, 1, 2, 3, 4, 10]);
      expect(spec.scale).toMatchObject({ lo: 0, hi: 1234 });
      expect(spec.counts).toEqual({ nan: 0, posInf: 0, negInf: 0, masked: 0 });
      // 3 row facets of 4 rows = 12 rows; 720 / 12 = 60, capped at 24 pixels
      expect(spec.cellSize).toBe(24);
    } finally {
      a.dataArray.dispose();
    }
  });

  it("counts NaN, infinities and masked cells, and masks by broadcasting named axes", () => {
    const x = NamedArray.wrap(
      tf.tensor2d([
        [1, Number.NaN, 3],
        [Number.POSITIVE_INFINITY, 5, Number.NEGATIVE_INFINITY],
      ]),
    ).tag("seq", "kv_seq");
    const causal = NamedArray.wrap(
      tf.tensor2d(
        [
          [1, 0, 0],
          [1, 1, 0],
        ],
        [2, 3],
        "bool",
      ),
    ).tag("seq", "kv_seq");
    const perKey = NamedArray.wrap(tf.tensor1d([1, 1, 0], "bool")).tag("kv_seq");
    const other = NamedArray.wrap(tf.ones([2])).tag("batch");
    try {
      const spec = specOf(renderArray(x, { valid: causal }));
      expect(valuesOf({ ...spec, data: spec.valid!, encoding: "u8" })).toEqual([1, 0, 0, 1, 1, 0]);
      // masked cells do not count as NaN or infinite, nor towards the limits
      expect(spec.counts).toEqual({ nan: 0, posInf: 1, negInf: 0, masked: 3 });
      expect(spec.scale).toMatchObject({ lo: 1, hi: 5 });
      const broadcast = specOf(renderArray(x, { valid: perKey }));
      expect(valuesOf({ ...broadcast, data: broadcast.valid!, encoding: "u8" })).toEqual([
        1, 1, 0, 1, 1, 0,
      ]);
      expect(() => renderArray(x, { valid: other })).toThrow(
        'renderArray option `valid`: the mask\'s axis "batch" is not an axis of the array. Pass a ' +
          "mask whose named axes are axes of the array (of the same size, or 1) and whose " +
          "positional axes match the array's last positional axes, like nx.greaterEqual(seq, kvSeq).",
      );
    } finally {
      tf.dispose([x.dataArray, causal.dataArray, perKey.dataArray, other.dataArray]);
    }
  });

  it("aligns a mask's positional axes with the array's last positional axes", () => {
    const spec = specOf(
      renderArray(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { valid: [true, false, true] },
      ),
    );
    expect(valuesOf({ ...spec, data: spec.valid!, encoding: "u8" })).toEqual([1, 0, 1, 1, 0, 1]);
    expect(spec.scale).toMatchObject({ lo: 1, hi: 6 });
    expect(() => renderArray([[1, 2, 3]], { valid: [true, false] })).toThrow(
      /the mask's axis 0 has size 2, the array's 3/,
    );
    expect(() => renderArray([1, 2], { valid: [[true, false]] })).toThrow(
      /the mask has 2 positional axes, the array only 1/,
    );
  });

  it("escapes axis names everywhere: in the JSON data and in the text shown without scripts", () => {
    const evil = "</script><img src=x onerror=alert(1)>";
    const a = NamedArray.wrap(tf.ones([2, 2])).tag(evil, "b\u202ec");
    try {
      const html = renderArray(a, { title: "</title><script>alert(2)</script>" });
      expect(html.match(/<\/script>/g)).toHaveLength(2); // the two script elements' own ends
      expect(html).not.toContain("<img");
      expect(html).not.toContain("\u202e");
      expect(html).toContain(
        "<title>&#60;/title&#62;&#60;script&#62;alert(2)&#60;/script&#62;</title>",
      );
      expect(specOf(html).axes.map((x) => x.name)).toEqual([evil, "b\\u202ec"]);
      // axes can still be placed by their real names
      expect(specOf(renderArray(a, { columns: ["b\u202ec"], rows: [evil] })).rows).toEqual([0]);
    } finally {
      a.dataArray.dispose();
    }
  });

  it("is a complete page with a Content-Security-Policy, or a fragment; light or dark", () => {
    const page = renderArray([1, 2], { id: "v1" });
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain("default-src 'none'");
    const fragment = renderArray([1, 2], { id: "v1", fragment: true, theme: "dark" });
    expect(fragment.startsWith("<style>")).toBe(true);
    expect(fragment).toContain('class="skts-root skts-array-root skts-dark" id="v1"');
    expect(() => renderArray([1], { theme: "blue" as "dark" })).toThrow(
      'renderArray option `theme`: "blue" is not a theme. Use "light" or "dark".',
    );
    expect(() => renderArray([1], { id: "a b" })).toThrow(/renderArray option `id`/);
    expect(() => renderArray([1], { cellSize: 0.5 })).toThrow(
      /`cellSize`: 0.5 is not a whole number/,
    );
  });

  it("encodes integers and booleans exactly and picks categories for them", () => {
    const intTensor = tf.tensor1d([2 ** 30, 7, 7], "int32");
    const ints = specOf(renderArray(intTensor));
    intTensor.dispose();
    expect(ints.encoding).toBe("i32");
    expect(valuesOf(ints)).toEqual([2 ** 30, 7, 7]);
    expect("categories" in ints.scale && ints.scale.categories.map((c) => c.value)).toEqual([
      7,
      2 ** 30,
    ]);
    const unsigned = specOf(renderArray(new Uint32Array([2 ** 32 - 1, 0])));
    expect(valuesOf(unsigned)).toEqual([2 ** 32 - 1, 0]);
    expect("categories" in unsigned.scale).toBe(true);
    const bools = specOf(renderArray([[true, false]]));
    expect(bools.encoding).toBe("u8");
    expect("categories" in bools.scale && bools.scale.categories.map((c) => c.label)).toEqual([
      "false",
      "true",
    ]);
  });

  it("reads tensors without disposing them", () => {
    const t = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const before = tf.memory().numTensors;
    renderArray(t);
    renderArray(t, { around: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });

  it("displayArray prints the one-line summary where HTML cannot be shown", () => {
    const lines: string[] = [];
    const t = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    try {
      displayArray(t, { write: (line) => lines.push(line), around: 0 });
      expect(lines).toEqual(["<tf.Tensor float32[2,2] [1, 2, 3, 4]>"]);
      expect(() => displayArray(t, { write: () => {}, rows: ["x"] })).toThrow(RenderOptionError);
    } finally {
      t.dispose();
    }
  });
});

describe("displayArray and displayTokens in notebooks", () => {
  it("send the fragment to the display API of tslab's kernel", () => {
    const shown: string[] = [];
    const g = globalThis as { __tslab__?: unknown };
    g.__tslab__ = { require: () => ({ display: { html: (h: string) => shown.push(h) } }) };
    try {
      displayArray([[1, 2]], { around: 0, id: "in-tslab" });
      displayTokens([1, 2], { vocabulary: ["a", "b", "c"], id: "tokens-in-tslab" });
    } finally {
      delete g.__tslab__;
    }
    expect(shown).toHaveLength(2);
    expect(shown[0]!.startsWith("<style>")).toBe(true);
    expect(shown[0]).toContain('id="in-tslab"');
    expect(specOf(shown[0]!).scale).toMatchObject({ lo: -2, hi: 2, around: 0 });
    expect(shown[1]).toContain('id="tokens-in-tslab"');
    expect(shown[1]).toContain(">b</span>");
  });

  it("send an HTML and text bundle to Deno's Jupyter kernel", () => {
    const bundles: Record<string, string>[] = [];
    const g = globalThis as { Deno?: unknown };
    g.Deno = { jupyter: { display: (b: Record<string, string>) => bundles.push(b) } };
    try {
      displayTokens([1, 2], { vocabulary: ["a", "b", "c"] });
      displayArray([1, 2]);
    } finally {
      delete g.Deno;
    }
    expect(bundles.map((b) => b["text/plain"])).toEqual(["|b|c|", "[1, 2]"]);
    expect(bundles.every((b) => b["text/html"]!.startsWith("<style>"))).toBe(true);
  });
});

describe("array leaves of renderToHTML", () => {
  it("carry an array view, within a per-page budget of values", () => {
    const leaves = Array.from({ length: 20 }, () => tf.zeros([64, 64]));
    const big = tf.zeros([128, 128]);
    const small3 = tf.tensor1d([1, 2, 3]);
    try {
      const html = renderToHTML({ a_small: small3, many: leaves });
      const data = JSON.parse(
        /<script type="application\/json" id="[\w-]+-data">(.*?)<\/script>/s.exec(html)![1]!,
      );
      type Node = { c?: Node[]; a?: { v?: ArraySpec & { b: [number, number] } } };
      const small = (data as Node).c!.find((n) => n.a?.v?.axes[0]?.size === 3);
      expect(small?.a?.v?.title).toBe("tf.Tensor float32[3]");
      // the view's values travel in the page's bulk text, the same bytes renderArray embeds
      const bulk = /<script type="text\/plain" id="[\w-]+-bulk">([A-Za-z0-9+/=_-]*)<\/script>/.exec(
        html,
      )![1]!;
      const [offset, length] = small!.a!.v!.b;
      const values = bulk.slice(offset, offset + length);
      expect(values).toBe(specOf(renderArray(small3)).data);
      expect(valuesOf({ ...small!.a!.v!, data: values })).toEqual([1, 2, 3]);
      expect(small!.a!.v!).not.toHaveProperty("data");
      const many = (data as Node).c!.find((n) => n.c !== undefined)!;
      const views = many.c!.map((n) => n.a?.v);
      // 4096 values each; the page holds 32,768, of which the small tensor took 3
      expect(views.filter((v) => v !== undefined)).toHaveLength(7);
      const more = JSON.parse(
        /<script type="application\/json" id="[\w-]+-data">(.*?)<\/script>/s.exec(
          renderToHTML(leaves, { arrayViewValues: 20 * 4096 }),
        )![1]!,
      ) as Node;
      expect(more.c!.filter((n) => n.a?.v !== undefined)).toHaveLength(20);
      const none = renderToHTML(leaves, { arrayViewValues: 0 });
      expect(none).not.toContain('"v":{');
      expect(() => renderToHTML(leaves, { arrayViewValues: -1 })).toThrow(
        "renderToHTML option `arrayViewValues`: -1 is not a number of values. Pass a whole number " +
          "from 0 (no array views) up, like renderToHTML(tree, { arrayViewValues: 100_000 }), or " +
          "leave it out.",
      );
      expect(views[0]!.note).toBeUndefined();
      // a larger leaf is subsampled to 4096 values
      const bigData = JSON.parse(
        /<script type="application\/json" id="[\w-]+-data">(.*?)<\/script>/s.exec(
          renderToHTML(big),
        )![1]!,
      ) as { a: { v: ArraySpec } };
      expect(bigData.a.v.axes.map((a) => a.step)).toEqual([2, 2]);
      expect(bigData.a.v.note).toBe(
        "Summarised: 4,096 of 16,384 values shown (every 2nd axis 0 index, every 2nd axis 1 index); raise maxValues to see more.",
      );
    } finally {
      tf.dispose([...leaves, big, small3]);
    }
  });
});
