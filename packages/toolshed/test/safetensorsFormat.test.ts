import { nx, ready } from "@saikei/named";
import { UnknownOptionError } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  decodeSafetensorsTensor,
  parseSafetensors,
  parseSafetensorsWithMetadata,
  readSafetensorsHeader,
  SafetensorsCyclicTreeError,
  SafetensorsDtypeError,
  SafetensorsDuplicateKeyError,
  SafetensorsError,
  SafetensorsHeaderJsonError,
  SafetensorsHeaderLengthError,
  SafetensorsInvalidMetadataError,
  SafetensorsInvalidNameError,
  SafetensorsShapeSizeError,
  SafetensorsUnsupportedTensorError,
  saveSafetensors,
  serializeSafetensors,
} from "../src/index.js";

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

/** A safetensors file from header text (or object) and buffer bytes, without validation. */
function rawFile(header: unknown, buffer: Uint8Array = new Uint8Array()): Uint8Array {
  const text =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.byteLength + buffer.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(buffer, 8 + text.byteLength);
  return out;
}

const caught = (f: () => unknown): Error => {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
};

describe("the reader is strict", () => {
  const four = new Uint8Array(new Float32Array([1.5]).buffer);

  it("rejects a UTF-8 byte order mark before the header", () => {
    const header = new TextEncoder().encode(
      JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }),
    );
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...header]);
    const plain = parseSafetensors(rawFile(header, four));
    expect(Array.from(plain.w!.dataSync())).toEqual([1.5]);
    tf.dispose(Object.values(plain));
    const error = caught(() => parseSafetensors(rawFile(withBom, four)));
    expect(error).toBeInstanceOf(SafetensorsHeaderJsonError);
    expect(error.message).toMatch(/byte order mark/);
  });

  it("rejects a tensor declared twice (once I32, once F32)", () => {
    const text =
      '{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},' +
      '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const error = caught(() => parseSafetensors(rawFile(text, four)));
    expect(error).toBeInstanceOf(SafetensorsDuplicateKeyError);
    expect(error.message).toMatch(/the key "w" twice/);
  });

  it("rejects a field declared twice inside an entry, also when escaped differently", () => {
    const text = '{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4],"dtyp\\u0065":"F32"}}';
    const error = caught(() => parseSafetensors(rawFile(text, four)));
    expect(error).toBeInstanceOf(SafetensorsDuplicateKeyError);
    expect(error.message).toMatch(/the key "dtype" twice inside "w"/);
  });

  it("rejects a metadata key declared twice", () => {
    const text =
      '{"__metadata__":{"a":"1","a":"2"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(() => parseSafetensors(rawFile(text, four))).toThrow(
      /the key "a" twice inside "__metadata__"/,
    );
  });

  it("accepts the same key in different objects, and keys inside strings", () => {
    const text =
      '{"__metadata__":{"dtype":"x\\"dtype\\":"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { tensors, metadata } = parseSafetensorsWithMetadata(rawFile(text, four));
    expect(metadata.dtype).toBe('x"dtype":');
    expect(Array.from(tensors.w!.dataSync())).toEqual([1.5]);
    tf.dispose(Object.values(tensors));
  });

  it("returns prototype-free records for tensors and metadata", () => {
    const text =
      '{"__metadata__":{"constructor":"c","__proto__":"p"},"toString":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { tensors, metadata } = parseSafetensorsWithMetadata(rawFile(text, four));
    expect(Object.getPrototypeOf(tensors)).toBe(null);
    expect(Object.getPrototypeOf(metadata)).toBe(null);
    expect(Object.keys(metadata)).toEqual(["constructor", "__proto__"]);
    expect(Object.keys(tensors)).toEqual(["toString"]);
    tf.dispose(Object.values(tensors));
  });
});

describe("the writer accepts only what the reader accepts", () => {
  it("rejects metadata that is not a string map (the issue's { step: 300 })", () => {
    const w = tf.tensor([1]);
    const error = caught(() =>
      saveSafetensors({ w }, { metadata: { step: 300 } as unknown as Record<string, string> }),
    );
    expect(error).toBeInstanceOf(SafetensorsInvalidMetadataError);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toMatch(/"step" is the number 300.*\{ "step": "300" \}/);
    expect(() => serializeSafetensors({ w }, [] as unknown as Record<string, string>)).toThrow(
      SafetensorsInvalidMetadataError,
    );
    expect(() => saveSafetensors({ w }, { metadata: { "saikei.named_axes": "{}" } })).toThrow(
      /reserved/,
    );
    const bytes = saveSafetensors({ w }, { metadata: { step: "300", __proto__x: "y" } });
    expect({ ...readSafetensorsHeader(bytes).metadata }).toEqual({ step: "300", __proto__x: "y" });
    w.dispose();
  });

  it("rejects empty names, non-tensors and disposed tensors with named errors", () => {
    const w = tf.tensor([1]);
    expect(() => serializeSafetensors({ "": w })).toThrow(SafetensorsInvalidNameError);
    expect(() => saveSafetensors(w)).toThrow(/wrap it, as in saveSafetensors\(\{ w: tensor \}\)/);
    expect(() => saveSafetensors({ w }, { nameOf: () => "" })).toThrow(SafetensorsInvalidNameError);
    expect(() => serializeSafetensors({ x: [1, 2] as unknown as tf.Tensor })).toThrow(
      SafetensorsUnsupportedTensorError,
    );
    const gone = tf.tensor([2]);
    gone.dispose();
    expect(() => serializeSafetensors({ gone })).toThrow(/has been disposed/);
    w.dispose();
  });

  it("a tensor named __proto__, constructor, toString or valueOf round-trips", () => {
    const names = ["__proto__", "constructor", "toString", "valueOf"];
    const tensors = new Map(names.map((n, i) => [n, tf.tensor([i])]));
    const parsed = parseSafetensors(serializeSafetensors(tensors));
    expect(Object.keys(parsed).sort()).toEqual([...names].sort());
    for (const [i, n] of names.entries()) expect(Array.from(parsed[n]!.dataSync())).toEqual([i]);
    tf.dispose([...tensors.values(), ...Object.values(parsed)]);
  });

  it("a cyclic tree raises SafetensorsCyclicTreeError naming where the cycle closes", () => {
    const w = nx.wrap(tf.ones([2]), "a");
    const tree: { w: unknown; inner: { list: unknown[] } } = { w, inner: { list: [] } };
    tree.inner.list.push(tree.inner);
    const error = caught(() => saveSafetensors(tree));
    expect(error).toBeInstanceOf(SafetensorsCyclicTreeError);
    expect(error.message).toMatch(
      /the value at \['inner'\]\['list'\]\[0\] is the same object as its ancestor at \['inner'\]/,
    );
    const root: Record<string, unknown> = { w };
    root.self = root;
    expect(() => saveSafetensors(root)).toThrow(
      /at \['self'\] is the same object as its ancestor at the root/,
    );
    w.dataArray.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random mutations of valid files parse correctly or raise a SafetensorsError.

const TF_DTYPE: Record<string, string> = {
  F64: "float32",
  F32: "float32",
  F16: "float32",
  BF16: "float32",
  I64: "int32",
  I32: "int32",
  I16: "int32",
  I8: "int32",
  U8: "int32",
  BOOL: "bool",
};
const SIZE: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** What a correct reader must return for one entry: decoded straight from the bytes. */
function expectedValues(view: DataView, begin: number, dtype: string, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = begin + i * SIZE[dtype]!;
    switch (dtype) {
      case "F64":
        out.push(Math.fround(view.getFloat64(o, true)));
        break;
      case "F32":
        out.push(view.getFloat32(o, true));
        break;
      case "F16": {
        const h = view.getUint16(o, true);
        const f = new Float32Array(1);
        const e = (h >> 10) & 0x1f;
        const m = h & 0x3ff;
        const s = h & 0x8000 ? -1 : 1;
        f[0] =
          e === 0
            ? s * m * 2 ** -24
            : e === 31
              ? m
                ? Number.NaN
                : s * Infinity
              : s * (1024 + m) * 2 ** (e - 25);
        out.push(f[0]);
        break;
      }
      case "BF16":
        out.push(new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!);
        break;
      case "I64":
        out.push(Number(view.getBigInt64(o, true)));
        break;
      case "I32":
        out.push(view.getInt32(o, true));
        break;
      case "I16":
        out.push(view.getInt16(o, true));
        break;
      case "I8":
        out.push(view.getInt8(o));
        break;
      case "U8":
        out.push(view.getUint8(o));
        break;
      case "BOOL":
        out.push(view.getUint8(o) === 0 ? 0 : 1);
        break;
    }
  }
  return out;
}

/** Checks a successful parse against the header as JSON.parse reads it and the raw bytes. */
function checkAgainstBytes(bytes: Uint8Array, tensors: Record<string, tf.Tensor>): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  // A valid header starts with '{' (no byte order mark) and declares each entry once: every
  // "dtype" in the text belongs to a distinct entry (metadata strings here are too short to hold one).
  expect(bytes[8]).toBe(0x7b);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  expect(text.split('"dtype"').length - 1).toBe(names.length);
  expect(Object.keys(tensors).sort()).toEqual(names.sort());
  for (const name of names) {
    const { dtype, shape, data_offsets } = header[name]!;
    const t = tensors[name]!;
    expect(t.dtype).toBe(TF_DTYPE[dtype]);
    expect(t.shape).toEqual(shape);
    const count = shape.reduce((a, b) => a * b, 1);
    expect(data_offsets[1] - data_offsets[0]).toBe(count * SIZE[dtype]!);
    const want = expectedValues(view, 8 + n + data_offsets[0], dtype, count);
    expect(Array.from(t.dataSync())).toEqual(want);
  }
}

/** Small valid files covering every dtype, as the mutations' starting points. */
function baseFiles(): Uint8Array[] {
  const files: Uint8Array[] = [];
  const a = tf.tensor([1.5, -2, 3], [3]);
  const b = tf.tensor([[7, -8]], [1, 2], "int32");
  const c = tf.tensor([true, false], [2], "bool");
  files.push(serializeSafetensors({ a, b, c }, { format: "pt" }));
  const s = tf.scalar(4);
  files.push(serializeSafetensors({ s }));
  tf.dispose([a, b, c, s]);
  const buffer = new Uint8Array(8 + 4 + 2 + 2 + 8 + 2 + 1 + 1 + 2);
  const v = new DataView(buffer.buffer);
  v.setFloat64(0, 0.1, true);
  v.setUint16(8, 0x3c00, true); // F16 1.0
  v.setUint16(10, 0xc000, true); // F16 -2.0
  v.setUint16(12, 0x3f80, true); // BF16 1.0
  v.setUint16(14, 0x8000, true); // BF16 -0
  v.setBigInt64(16, -5n, true);
  v.setInt16(24, -300, true);
  v.setInt8(26, -7);
  v.setUint8(27, 200);
  v.setUint8(28, 1);
  v.setUint8(29, 0);
  files.push(
    rawFile(
      {
        d: { dtype: "F64", shape: [1], data_offsets: [0, 8] },
        h: { dtype: "F16", shape: [2], data_offsets: [8, 12] },
        bf: { dtype: "BF16", shape: [2], data_offsets: [12, 16] },
        l: { dtype: "I64", shape: [1, 1], data_offsets: [16, 24] },
        i: { dtype: "I16", shape: [], data_offsets: [24, 26] },
        j: { dtype: "I8", shape: [1], data_offsets: [26, 27] },
        u: { dtype: "U8", shape: [1], data_offsets: [27, 28] },
        z: { dtype: "BOOL", shape: [2], data_offsets: [28, 30] },
        e: { dtype: "F32", shape: [0, 3], data_offsets: [30, 30] },
      },
      buffer,
    ),
  );
  return files;
}

type Mutation =
  | { kind: "flip"; at: number; value: number }
  | { kind: "headerLength"; delta: number }
  | { kind: "truncate"; at: number }
  | { kind: "append"; extra: number[] }
  | {
      kind: "field";
      entry: number;
      field: "dtype" | "shape" | "data_offsets" | "drop";
      value: unknown;
    }
  | { kind: "shiftOffsets"; entry: number; begin: number; end: number }
  | { kind: "metadata"; value: unknown }
  | { kind: "duplicate"; entry: number }
  | { kind: "bom" };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("headerLength" as const),
    delta: fc.integer({ min: -24, max: 24 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("append" as const),
    extra: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9 }),
  }),
  fc.record({
    kind: fc.constant("field" as const),
    entry: fc.nat(),
    field: fc.constantFrom(
      "dtype" as const,
      "shape" as const,
      "data_offsets" as const,
      "drop" as const,
    ),
    value: fc.oneof(
      fc.constantFrom(...Object.keys(SIZE), "U64", "Q7", ""),
      fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 3 }),
      fc.array(fc.integer({ min: -4, max: 40 }), { minLength: 2, maxLength: 2 }),
      fc.constantFrom(null, 1.5, "x", {}, [1e300, 2], [2 ** 53, 2 ** 53 + 8]),
    ),
  }),
  fc.record({
    kind: fc.constant("shiftOffsets" as const),
    entry: fc.nat(),
    begin: fc.integer({ min: -8, max: 8 }),
    end: fc.integer({ min: -8, max: 8 }),
  }),
  fc.record({
    kind: fc.constant("metadata" as const),
    value: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
      fc.constantFrom(null, 3, "s", [], { a: 1 }, { "saikei.named_axes": "[" }),
    ),
  }),
  fc.record({ kind: fc.constant("duplicate" as const), entry: fc.nat() }),
  fc.constant({ kind: "bom" as const }),
);

function headerOf(bytes: Uint8Array): { json: Record<string, any>; n: number } | undefined {
  if (bytes.byteLength < 8) return undefined;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return json !== null && typeof json === "object" && !Array.isArray(json)
      ? { json, n }
      : undefined;
  } catch {
    return undefined;
  }
}

function withHeaderText(bytes: Uint8Array, n: number, text: string | Uint8Array): Uint8Array {
  const encoded = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return rawFile(encoded, bytes.subarray(8 + n));
}

function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const out = bytes.slice();
  switch (m.kind) {
    case "flip":
      if (out.byteLength > 0) out[m.at % out.byteLength] = m.value;
      return out;
    case "headerLength": {
      if (out.byteLength < 8) return out;
      const view = new DataView(out.buffer);
      const n = view.getBigUint64(0, true) + BigInt(m.delta);
      view.setBigUint64(0, n < 0n ? 0n : n, true);
      return out;
    }
    case "truncate":
      return out.subarray(0, m.at % (out.byteLength + 1));
    case "append":
      return new Uint8Array([...out, ...m.extra]);
    case "bom": {
      const h = headerOf(out);
      if (h === undefined) return out;
      const text = out.subarray(8, 8 + h.n);
      return withHeaderText(out, h.n, new Uint8Array([0xef, 0xbb, 0xbf, ...text]));
    }
    case "metadata": {
      const h = headerOf(out);
      if (h === undefined) return out;
      h.json.__metadata__ = m.value;
      return withHeaderText(out, h.n, JSON.stringify(h.json));
    }
    default: {
      const h = headerOf(out);
      if (h === undefined) return out;
      const names = Object.keys(h.json).filter((k) => k !== "__metadata__");
      if (names.length === 0) return out;
      const name = names[m.entry % names.length]!;
      const entry = h.json[name];
      if (m.kind === "duplicate") {
        // Splice a second copy of the entry (with a changed dtype) into the header text.
        const copy = JSON.stringify({
          [name]: { ...entry, dtype: entry?.dtype === "I32" ? "F32" : "I32" },
        });
        const text = JSON.stringify(h.json);
        return withHeaderText(out, h.n, `${copy.slice(0, -1)},${text.slice(1)}`);
      }
      if (entry === null || typeof entry !== "object") return out;
      if (m.kind === "shiftOffsets") {
        const [b, e] = Array.isArray(entry.data_offsets) ? entry.data_offsets : [0, 0];
        entry.data_offsets = [b + m.begin, e + m.end];
      } else if (m.field === "drop") delete entry[m.value === null ? "shape" : "dtype"];
      else entry[m.field] = m.value;
      return withHeaderText(out, h.n, JSON.stringify(h.json));
    }
  }
}

describe("random mutations of valid files (property)", () => {
  it("each parses to the correct result or raises a SafetensorsError, leaving nothing allocated", () => {
    const bases = baseFiles();
    const outcomes = { parsed: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (which, mutations) => {
          const bytes = mutations.reduce(applyMutation, bases[which]!);
          const before = tf.memory().numTensors;
          let tensors: Record<string, tf.Tensor>;
          try {
            tensors = parseSafetensors(bytes);
          } catch (error) {
            if (!(error instanceof SafetensorsError)) throw error;
            expect(tf.memory().numTensors).toBe(before);
            outcomes.rejected++;
            return;
          }
          try {
            expect(tf.memory().numTensors).toBe(before + Object.keys(tensors).length);
            checkAgainstBytes(bytes, tensors);
            outcomes.parsed++;
          } finally {
            tf.dispose(Object.values(tensors));
          }
        },
      ),
      { numRuns: 10_000 },
    );
    // Both outcomes occur, so the property exercises the reader's success path as well.
    expect(outcomes.parsed).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(1000);
  });
});

describe("reading a file one tensor at a time", () => {
  it("decodes each tensor from its own bytes, after reading the header from a prefix", () => {
    const a = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tf.tensor1d([7, 8], "int32");
    const bytes = serializeSafetensors({ a, b }, undefined, { floatFormat: "BF16" });
    tf.dispose([a, b]);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = readSafetensorsHeader(bytes.subarray(0, 8 + headerLength), bytes.byteLength);
    expect(header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      ["a", "BF16", [2, 3]],
      ["b", "I32", [2]],
    ]);
    const decoded = header.entries.map((e) =>
      decodeSafetensorsTensor(
        e,
        bytes.subarray(
          header.bufferStart + e.dataOffsets[0],
          header.bufferStart + e.dataOffsets[1],
        ),
      ),
    );
    expect(decoded.map((t) => [t.dtype, t.arraySync()])).toEqual([
      [
        "float32",
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ],
      ["int32", [7, 8]],
    ]);
    tf.dispose(decoded);
  });

  it("says how many bytes a too-short prefix lacks, and rejects data of the wrong length", () => {
    const w = tf.ones([4]);
    const bytes = serializeSafetensors({ w });
    w.dispose();
    expect(() => readSafetensorsHeader(bytes.subarray(0, 12), bytes.byteLength)).toThrow(
      SafetensorsHeaderLengthError,
    );
    expect(() => readSafetensorsHeader(bytes.subarray(0, 12), bytes.byteLength)).toThrow(
      /Pass at least the first \d+ bytes/,
    );
    const header = readSafetensorsHeader(bytes);
    expect(() => decodeSafetensorsTensor(header.entries[0]!, new Uint8Array(15))).toThrow(
      SafetensorsShapeSizeError,
    );
  });
});

describe("serializeSafetensors stores float32 as F16 or BF16", () => {
  const bitsOf = (bytes: Uint8Array) => {
    const header = readSafetensorsHeader(bytes);
    const [begin, end] = header.entries[0]!.dataOffsets;
    return Array.from(
      new Uint16Array(bytes.slice(header.bufferStart + begin, header.bufferStart + end).buffer),
    );
  };

  it("rounds to nearest even, as PyTorch's .bfloat16() and .half() do (hand-computed bits)", () => {
    const x = tf.tensor1d([
      1,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      -2,
      0.1,
      65520,
      2 ** -25,
      3 * 2 ** -25,
    ]);
    // bf16: 1 → 3F80; 1 + 2^-8 is halfway between 1 and 1 + 2^-7 → even 1 (3F80);
    // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 → 3F82; -2 → C000;
    // 0.1 = 0x3DCCCCCD → 3DCD; 65520 = 0x477FF000 → 4780; 2^-25 → 3300; 3·2^-25 = 0x33C00000 → 33C0 (exact).
    expect(bitsOf(serializeSafetensors({ x }, undefined, { floatFormat: "BF16" }))).toEqual([
      0x3f80, 0x3f80, 0x3f82, 0xc000, 0x3dcd, 0x4780, 0x3300, 0x33c0,
    ]);
    // f16: 1 → 3C00; f16's ulp at 1 is 2^-10, so 1 + 2^-8 and 1 + 3·2^-8 are exact: 3C04, 3C0C; -2 → C000; 0.1 → 2E66; 65520 is halfway between
    // 65504 (the largest half) and 65536 → even → infinity 7C00; 2^-25 is half the smallest
    // subnormal → even → 0; 3·2^-25 = 1.5 subnormal ulps → even → 2 ulps (0002).
    expect(bitsOf(serializeSafetensors({ x }, undefined, { floatFormat: "F16" }))).toEqual([
      0x3c00, 0x3c04, 0x3c0c, 0xc000, 0x2e66, 0x7c00, 0x0000, 0x0002,
    ]);
    x.dispose();
  });

  it("stores every 16-bit value read from F16 and BF16 files back with the same bits", () => {
    for (const format of ["F16", "BF16"] as const) {
      const patterns = new Uint16Array(65536).map((_, i) => i);
      const isNaN16 = (b: number) =>
        format === "F16"
          ? (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0
          : (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
      const kept = patterns.filter((b) => !isNaN16(b));
      const header = JSON.stringify({
        v: { dtype: format, shape: [kept.length], data_offsets: [0, kept.length * 2] },
      }).padEnd(64, " ");
      const file = new Uint8Array(8 + header.length + kept.length * 2);
      new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
      file.set(new TextEncoder().encode(header), 8);
      file.set(new Uint8Array(kept.buffer), 8 + header.length);
      const tensors = parseSafetensors(file);
      const again = serializeSafetensors(tensors, undefined, { floatFormat: format });
      tf.dispose(Object.values(tensors));
      expect(bitsOf(again)).toEqual(Array.from(kept));
    }
  });

  it("checks its options", () => {
    const x = tf.ones([1]);
    expect(() => serializeSafetensors({ x }, undefined, { floatFormat: "F8" as never })).toThrow(
      SafetensorsDtypeError,
    );
    expect(() => serializeSafetensors({ x }, undefined, { format: "F16" } as never)).toThrow(
      UnknownOptionError,
    );
    x.dispose();
  });
});
