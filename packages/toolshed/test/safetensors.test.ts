import { readFileSync } from "node:fs";
import { nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  loadSafetensors,
  MAX_HEADER_BYTES,
  NAMED_AXES_METADATA_KEY,
  parseSafetensors,
  parseSafetensorsWithMetadata,
  readNamedAxes,
  readSafetensorsHeader,
  SafetensorsBufferGapError,
  SafetensorsDtypeError,
  SafetensorsDuplicateNameError,
  SafetensorsError,
  SafetensorsHeaderJsonError,
  SafetensorsHeaderLengthError,
  SafetensorsHeaderTooLargeError,
  SafetensorsIntegerRangeError,
  SafetensorsMissingTensorError,
  SafetensorsNamedAxesError,
  SafetensorsOffsetOutOfRangeError,
  SafetensorsOverlappingOffsetsError,
  SafetensorsShapeSizeError,
  SafetensorsTemplateMismatchError,
  SafetensorsUnexpectedTensorError,
  SafetensorsUnsupportedTensorError,
  saveSafetensors,
  serializeSafetensors,
} from "../src/index.js";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

interface ExpectedEntry {
  source_dtype: string;
  dtype: string;
  shape: number[];
  values: (number | boolean | string)[];
}

function decodeExpected(v: number | boolean | string): number | boolean {
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return v as number | boolean;
}

/** Builds a safetensors file from a header object and a byte buffer, without validation. */
function rawFile(
  header: unknown,
  buffer: Uint8Array = new Uint8Array(),
  headerLength?: bigint,
): Uint8Array {
  const text = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + text.byteLength + buffer.byteLength);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(buffer, 8 + text.byteLength);
  return out;
}

let baseline = 0;
beforeAll(async () => {
  await ready();
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

describe("parseSafetensors reads files written from PyTorch", () => {
  it("recovers every dtype with PyTorch's values", () => {
    const bytes = new Uint8Array(readFileSync(fixture("dtypes.safetensors")));
    const expected = JSON.parse(readFileSync(fixture("dtypes.expected.json"), "utf8")) as {
      metadata: Record<string, string>;
      tensors: Record<string, ExpectedEntry>;
    };
    const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
    expect({ ...metadata }).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    const sources = new Set<string>();
    for (const [name, entry] of Object.entries(expected.tensors)) {
      const t = tensors[name]!;
      sources.add(entry.source_dtype);
      expect(t.dtype, name).toBe(entry.dtype);
      expect(t.shape, name).toEqual(entry.shape);
      const got = Array.from(t.dataSync() as ArrayLike<number>);
      const want = entry.values.map(decodeExpected);
      if (entry.dtype === "bool") expect(got.map(Boolean), name).toEqual(want);
      else expect(got, name).toEqual(want);
    }
    expect([...sources].sort()).toEqual(["BF16", "BOOL", "F16", "F32", "I32", "I64"]);
    for (const t of Object.values(tensors)) t.dispose();
  });

  it("converts float16 extremes exactly", () => {
    const tensors = parseSafetensors(new Uint8Array(readFileSync(fixture("dtypes.safetensors"))));
    const special = Array.from(tensors.f16_special!.dataSync());
    expect(special.slice(0, 3)).toEqual([65504, 2 ** -14, 2 ** -24]);
    expect(Object.is(special[4], -0)).toBe(true);
    expect(special[5]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(special[7])).toBe(true);
    for (const t of Object.values(tensors)) t.dispose();
  });

  it("reads the header without decoding data", () => {
    const header = readSafetensorsHeader(
      new Uint8Array(readFileSync(fixture("dtypes.safetensors"))),
    );
    const i64 = header.entries.find((e) => e.name === "i64")!;
    expect(i64.dtype).toBe("I64");
    expect(i64.shape).toEqual([2, 3]);
    expect(i64.dataOffsets[1] - i64.dataOffsets[0]).toBe(48);
    expect(header.metadata.format).toBe("pt");
  });

  it("reads F64, I16, I8 and U8 as float32 / int32", () => {
    const f64 = new Float64Array([1.5, -2]);
    const i16 = new Int16Array([-300, 300]);
    const buffer = new Uint8Array(16 + 4 + 2 + 2);
    buffer.set(new Uint8Array(f64.buffer), 0);
    buffer.set(new Uint8Array(i16.buffer), 16);
    buffer.set([0xff, 0x01], 20);
    buffer.set([0xff, 0x01], 22);
    const bytes = rawFile(
      {
        a: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
        b: { dtype: "I16", shape: [2], data_offsets: [16, 20] },
        c: { dtype: "I8", shape: [2], data_offsets: [20, 22] },
        d: { dtype: "U8", shape: [2], data_offsets: [22, 24] },
      },
      buffer,
    );
    const t = parseSafetensors(bytes);
    expect([t.a!.dtype, t.b!.dtype, t.c!.dtype, t.d!.dtype]).toEqual([
      "float32",
      "int32",
      "int32",
      "int32",
    ]);
    expect(Array.from(t.a!.dataSync())).toEqual([1.5, -2]);
    expect(Array.from(t.b!.dataSync())).toEqual([-300, 300]);
    expect(Array.from(t.c!.dataSync())).toEqual([-1, 1]);
    expect(Array.from(t.d!.dataSync())).toEqual([255, 1]);
    for (const x of Object.values(t)) x.dispose();
  });
});

describe("malformed files are rejected with a specific error and nothing allocated", () => {
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const ok = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const corpus: [string, Uint8Array, new (...args: any[]) => SafetensorsError, RegExp][] = [
    ["empty file", new Uint8Array(0), SafetensorsHeaderLengthError, /0 bytes long/],
    ["7-byte file", new Uint8Array(7), SafetensorsHeaderLengthError, /8-byte header length/],
    [
      "header length past the end",
      rawFile(ok, f32(2), 1000n),
      SafetensorsHeaderLengthError,
      /truncated/,
    ],
    [
      "header over 100 MB",
      rawFile(ok, f32(2), BigInt(MAX_HEADER_BYTES + 1)),
      SafetensorsHeaderTooLargeError,
      /100 MB/,
    ],
    [
      "header length 2^64-1",
      rawFile(ok, f32(2), 2n ** 64n - 1n),
      SafetensorsHeaderTooLargeError,
      /over the limit/,
    ],
    [
      "invalid JSON",
      rawFile('{"w": {"dtype": "F32",', f32(2)),
      SafetensorsHeaderJsonError,
      /not valid JSON/,
    ],
    ["not an object", rawFile("[1, 2]", f32(2)), SafetensorsHeaderJsonError, /starting with '\{'/],
    [
      "invalid UTF-8",
      rawFile("{}", new Uint8Array(), undefined).map((b, i) => (i === 8 ? 0xff : b)),
      SafetensorsHeaderJsonError,
      /UTF-8/,
    ],
    [
      "entry not an object",
      rawFile({ w: 3 }, f32(2)),
      SafetensorsHeaderJsonError,
      /"w" must be an object/,
    ],
    [
      "missing shape",
      rawFile({ w: { dtype: "F32", data_offsets: [0, 8] } }, f32(2)),
      SafetensorsHeaderJsonError,
      /shape/,
    ],
    [
      "negative dimension",
      rawFile({ w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, f32(2)),
      SafetensorsHeaderJsonError,
      /non-negative/,
    ],
    [
      "bad offsets",
      rawFile({ w: { dtype: "F32", shape: [2], data_offsets: [0] } }, f32(2)),
      SafetensorsHeaderJsonError,
      /data_offsets/,
    ],
    [
      "metadata not strings",
      rawFile({ ...ok, __metadata__: { a: 1 } }, f32(2)),
      SafetensorsHeaderJsonError,
      /must be strings/,
    ],
    [
      "unknown dtype",
      rawFile({ w: { dtype: "Q7", shape: [2], data_offsets: [0, 8] } }, f32(2)),
      SafetensorsDtypeError,
      /"Q7"/,
    ],
    [
      "unsupported dtype U64",
      rawFile({ w: { dtype: "U64", shape: [1], data_offsets: [0, 8] } }, f32(2)),
      SafetensorsDtypeError,
      /Supported/,
    ],
    [
      "offset past the buffer",
      rawFile({ w: { dtype: "F32", shape: [2], data_offsets: [0, 12] } }, f32(2)),
      SafetensorsOffsetOutOfRangeError,
      /outside the 8-byte buffer/,
    ],
    [
      "begin after end",
      rawFile({ w: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, f32(2)),
      SafetensorsOffsetOutOfRangeError,
      /\[8, 4\]/,
    ],
    [
      "overlapping tensors",
      rawFile(
        {
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        },
        f32(3),
      ),
      SafetensorsOverlappingOffsetsError,
      /"a".*"b".*overlap/,
    ],
    [
      "hole between tensors",
      rawFile(
        {
          a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
          b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
        },
        f32(3),
      ),
      SafetensorsBufferGapError,
      /unused bytes 4\.\.8/,
    ],
    ["trailing bytes", rawFile(ok, f32(3)), SafetensorsBufferGapError, /trailing/],
    [
      "shape and size disagree",
      rawFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(2)),
      SafetensorsShapeSizeError,
      /need 12 bytes/,
    ],
    [
      "F16 size disagrees",
      rawFile({ w: { dtype: "F16", shape: [2], data_offsets: [0, 8] } }, f32(2)),
      SafetensorsShapeSizeError,
      /F16/,
    ],
    [
      "I64 out of int32 range",
      rawFile(
        { w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } },
        new Uint8Array(new BigInt64Array([2n ** 40n]).buffer),
      ),
      SafetensorsIntegerRangeError,
      /1099511627776/,
    ],
  ];

  for (const [label, bytes, ErrorClass, message] of corpus) {
    it(`${label} → ${ErrorClass.name}`, () => {
      let caught: unknown;
      try {
        parseSafetensors(bytes);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ErrorClass);
      expect(caught).toBeInstanceOf(SafetensorsError);
      expect((caught as Error).name).toBe(ErrorClass.name);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it("a late bad tensor leaves the earlier good ones unallocated", () => {
    const buffer = new Uint8Array(8 + 8);
    new DataView(buffer.buffer).setBigInt64(8, -(2n ** 33n), true);
    const bytes = rawFile(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        z: { dtype: "I64", shape: [1], data_offsets: [8, 16] },
      },
      buffer,
    );
    expect(() => parseSafetensors(bytes)).toThrow(SafetensorsIntegerRangeError);
  });

  it("random byte strings never crash with an unnamed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const t = parseSafetensors(bytes);
          for (const x of Object.values(t)) x.dispose();
        } catch (error) {
          expect(error).toBeInstanceOf(SafetensorsError);
        }
      }),
    );
  });
});

describe("saveSafetensors / loadSafetensors", () => {
  it("stores tensors by keystr of their path", () => {
    const tree = { layers: [{ w: tf.tensor([1, 2]) }], b: tf.tensor([3], [1], "int32") };
    const bytes = saveSafetensors(tree, { metadata: { note: "hi" } });
    const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
    expect(Object.keys(tensors).sort()).toEqual(["['b']", "['layers'][0]['w']"]);
    expect(Array.from(tensors["['layers'][0]['w']"]!.dataSync())).toEqual([1, 2]);
    expect(metadata.note).toBe("hi");
    for (const t of [...Object.values(tensors), tree.layers[0]!.w, tree.b]) t.dispose();
  });

  it("pads the header to a multiple of 8 bytes", () => {
    const w = tf.tensor([1]);
    const bytes = saveSafetensors({ w });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    w.dispose();
  });

  it("round-trips a tree with a real NamedArray and keeps non-tensor leaves from the template", () => {
    const tree = {
      named: nx.wrap(tf.tensor([[1, 2, 3]]), "batch", "features"),
      mask: tf.tensor([true, false], [2], "bool"),
      label: "not a tensor",
      step: 7,
    };
    const bytes = saveSafetensors(tree);
    const header = readSafetensorsHeader(bytes);
    expect(JSON.parse(header.metadata[NAMED_AXES_METADATA_KEY]!)).toEqual({
      "['named']": ["batch", "features"],
    });
    const template = { ...tree, label: "from template", step: 0 };
    const loaded = loadSafetensors(bytes, template);
    expect(loaded.named.constructor.name).toBe("NamedArray");
    expect(loaded.named.namedShape).toEqual({ batch: 1, features: 3 });
    expect(loaded.named.dataArray).not.toBe(tree.named.dataArray);
    expect(Array.from(loaded.named.dataArray.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(loaded.mask.dataSync())).toEqual([1, 0]);
    expect(loaded.label).toBe("from template");
    expect(loaded.step).toBe(0);
    for (const t of [tree.named.dataArray, tree.mask, loaded.named.dataArray, loaded.mask])
      t.dispose();
  });

  it("round-trips random trees of tensors (property)", () => {
    const tensorArb = fc.oneof(
      fc
        .array(fc.float({ noNaN: true }), { maxLength: 6 })
        .map((v) => ({ dtype: "float32" as const, v })),
      fc
        .array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 6 })
        .map((v) => ({ dtype: "int32" as const, v })),
      fc
        .array(fc.boolean(), { maxLength: 6 })
        .map((v) => ({ dtype: "bool" as const, v: v.map(Number) })),
    );
    const { tree: treeArb } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: "small" }, tensorArb, tie("array"), tie("object")),
      array: fc.array(tie("tree"), { maxLength: 3 }),
      object: fc.dictionary(fc.string({ maxLength: 4 }), tie("tree"), { maxKeys: 3 }),
    }));
    const build = (spec: any): unknown => {
      if (Array.isArray(spec)) return spec.map(build);
      if (
        spec !== null &&
        typeof spec === "object" &&
        "dtype" in spec &&
        "v" in spec &&
        Array.isArray(spec.v)
      ) {
        return tf.tensor(spec.v, [spec.v.length], spec.dtype);
      }
      return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, build(v)]));
    };
    fc.assert(
      fc.property(treeArb, (spec) => {
        // Wrapped, since a tensor at the root would have the empty name, which is rejected.
        const tree = { root: build(spec) };
        const before = tf.memory().numTensors;
        const loaded = loadSafetensors(saveSafetensors(tree), tree);
        const a = flattenTensors(tree);
        const b = flattenTensors(loaded);
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++) {
          expect(b[i]!.dtype).toBe(a[i]!.dtype);
          expect(b[i]!.shape).toEqual(a[i]!.shape);
          expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(a[i]!.dataSync()));
        }
        expect(tf.memory().numTensors).toBe(before + b.length);
        for (const t of [...a, ...b]) t.dispose();
      }),
      { numRuns: 60 },
    );
  });

  it("rejects a missing tensor and leaves nothing allocated", () => {
    const w = tf.tensor([1, 2]);
    const bytes = saveSafetensors({ w });
    const extra = tf.tensor([3]);
    expect(() => loadSafetensors(bytes, { w, v: extra })).toThrow(SafetensorsMissingTensorError);
    expect(() => loadSafetensors(bytes, { w, v: extra })).toThrow(/named "\['v'\]"/);
    w.dispose();
    extra.dispose();
  });

  it("rejects shape and dtype mismatches against the template", () => {
    const w = tf.tensor([1, 2]);
    const bytes = saveSafetensors({ w });
    const wrongShape = tf.zeros([3]);
    const wrongDtype = tf.zeros([2], "int32");
    expect(() => loadSafetensors(bytes, { w: wrongShape })).toThrow(
      SafetensorsTemplateMismatchError,
    );
    expect(() => loadSafetensors(bytes, { w: wrongDtype })).toThrow(/float32\[2\]/);
    for (const t of [w, wrongShape, wrongDtype]) t.dispose();
  });

  it("rejects extra tensors unless strict is false", () => {
    const w = tf.tensor([1, 2]);
    const v = tf.tensor([3]);
    const bytes = saveSafetensors({ w, v });
    expect(() => loadSafetensors(bytes, { w })).toThrow(SafetensorsUnexpectedTensorError);
    const loaded = loadSafetensors(bytes, { w }, { strict: false });
    expect(Array.from(loaded.w.dataSync())).toEqual([1, 2]);
    for (const t of [w, v, loaded.w]) t.dispose();
  });

  it("uses a custom namer on both sides", () => {
    const w = tf.tensor([1, 2]);
    const nameOf = (path: readonly unknown[]) =>
      path
        .map(String)
        .join("")
        .replace(/[[\]']/g, "");
    const bytes = saveSafetensors({ w }, { nameOf });
    expect(Object.keys(parseSafetensorsKeysOnly(bytes))).toEqual(["w"]);
    const loaded = loadSafetensors(bytes, { w }, { nameOf });
    expect(Array.from(loaded.w.dataSync())).toEqual([1, 2]);
    w.dispose();
    loaded.w.dispose();
  });

  it("rejects duplicate names and unsupported dtypes when saving", () => {
    const w = tf.tensor([1]);
    expect(() => saveSafetensors({ a: w, b: w }, { nameOf: () => "same" })).toThrow(
      SafetensorsDuplicateNameError,
    );
    const c = tf.tensor(["text"]);
    expect(() => serializeSafetensors({ c })).toThrow(SafetensorsUnsupportedTensorError);
    expect(() => serializeSafetensors({ __metadata__: w })).toThrow(/reserved/);
    w.dispose();
    c.dispose();
  });

  it("handles a tensor named __proto__ without touching prototypes", () => {
    const w = tf.tensor([5]);
    const bytes = serializeSafetensors(new Map([["__proto__", w]]));
    const tensors = parseSafetensors(bytes);
    expect(Object.hasOwn(tensors, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    const proto = Object.getOwnPropertyDescriptor(tensors, "__proto__")!.value as tf.Tensor;
    expect(Array.from(proto.dataSync())).toEqual([5]);
    proto.dispose();
    w.dispose();
  });

  it("has typed signatures", () => {
    expectTypeOf(loadSafetensors<{ w: tf.Tensor }>).returns.toEqualTypeOf<{ w: tf.Tensor }>();
    expectTypeOf(parseSafetensors).returns.toEqualTypeOf<Record<string, tf.Tensor>>();
    expectTypeOf(saveSafetensors).returns.toEqualTypeOf<Uint8Array>();
  });
});

function parseSafetensorsKeysOnly(bytes: Uint8Array): Record<string, unknown> {
  return Object.fromEntries(readSafetensorsHeader(bytes).entries.map((e) => [e.name, e.shape]));
}

function flattenTensors(tree: unknown): tf.Tensor[] {
  if (tree instanceof tf.Tensor) return [tree];
  if (Array.isArray(tree)) return tree.flatMap(flattenTensors);
  if (tree !== null && typeof tree === "object") {
    return Object.keys(tree)
      .sort()
      .flatMap((k) => flattenTensors((tree as Record<string, unknown>)[k]));
  }
  return [];
}

describe("readNamedAxes", () => {
  it("reads the labels by tensor name, and an empty map when the entry is missing", () => {
    const axes = readNamedAxes({ [NAMED_AXES_METADATA_KEY]: '{"w":["in","out"],"v":[0,"seq"]}' });
    expect([...axes]).toEqual([
      ["w", ["in", "out"]],
      ["v", [0, "seq"]],
    ]);
    expect(readNamedAxes({}).size).toBe(0);
  });

  it("rejects a malformed entry with SafetensorsNamedAxesError", () => {
    for (const raw of [
      "not json",
      "3",
      '{"w":"in"}',
      '{"w":["a","a"]}',
      '{"w":[1]}',
      '{"w":[""]}',
    ]) {
      expect(() => readNamedAxes({ [NAMED_AXES_METADATA_KEY]: raw }), raw).toThrow(
        SafetensorsNamedAxesError,
      );
    }
  });
});
