/**
 * The safetensors file format (https://github.com/huggingface/safetensors#format), read and
 * written without any dependency: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (`{name: {dtype, shape, data_offsets}}` plus an optional `__metadata__` string map), then the
 * byte buffer every tensor points into.
 *
 * Parsing validates the whole file before it creates a single tensor, so a malformed file throws
 * one of the named errors below and leaves nothing allocated.
 *
 * @module
 */

import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  SafetensorsBufferGapError,
  SafetensorsDtypeError,
  SafetensorsDuplicateKeyError,
  SafetensorsError,
  SafetensorsHeaderJsonError,
  SafetensorsHeaderLengthError,
  SafetensorsHeaderTooLargeError,
  SafetensorsIntegerRangeError,
  SafetensorsInvalidMetadataError,
  SafetensorsInvalidNameError,
  SafetensorsOffsetOutOfRangeError,
  SafetensorsOverlappingOffsetsError,
  SafetensorsShapeSizeError,
  SafetensorsUnsupportedTensorError,
} from "./errors.js";

/** The largest header this reader accepts (the limit of the reference implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The metadata entry of a safetensors header: free-form string pairs. */
export type SafetensorsMetadata = Record<string, string>;

/**
 * The safetensors element types this reader understands, with how tfjs stores them: floats become
 * `float32`, integers `int32` (64-bit values are range-checked), `BOOL` stays `bool`.
 */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

const ITEM_BYTES: Record<SafetensorsDtype, number> = {
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

/** One tensor entry of a parsed header. */
export interface SafetensorsEntry {
  /** The tensor's name in the file. */
  readonly name: string;
  /** Its element type in the file. */
  readonly dtype: SafetensorsDtype;
  /** Its shape (row-major). */
  readonly shape: readonly number[];
  /** `[begin, end)` byte offsets relative to the start of the byte buffer. */
  readonly dataOffsets: readonly [number, number];
}

/** A validated header: the entries in file order of their offsets, and the metadata. */
export interface SafetensorsHeader {
  /** Every tensor entry, sorted by `dataOffsets[0]`. */
  readonly entries: readonly SafetensorsEntry[];
  /** The `__metadata__` map, or `{}` when the file has none. */
  readonly metadata: SafetensorsMetadata;
  /** Where the byte buffer starts in the file (8 + header length). */
  readonly bufferStart: number;
}

const HOW_TO_FIX =
  "The file is not a valid safetensors file: re-export it with the official `safetensors` library " +
  "(safetensors.torch.save_file) or with saikei's saveSafetensors.";

function quote(name: string): string {
  return JSON.stringify(name);
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Reads and validates the header of a safetensors file without touching tensor data.
 *
 * @param bytes the whole file, or (with `fileLength`) its beginning, holding at least the header.
 * @param fileLength the length of the whole file when `bytes` is only its beginning (to read a
 *   large file tensor by tensor: read the 8-byte length, then the header, then each tensor's bytes
 *   with {@link decodeSafetensorsTensor}). Default `bytes.byteLength`.
 * @returns the entries (sorted by offset), the metadata and where the byte buffer starts.
 * @throws one of the {@link SafetensorsError} subclasses, naming the entry and the rule it breaks.
 * @example
 * const header = readSafetensorsHeader(bytes);
 * header.entries.map((e) => e.name); // ["bias", "weight"]
 */
export function readSafetensorsHeader(bytes: Uint8Array, fileLength?: number): SafetensorsHeader {
  const total = fileLength ?? bytes.byteLength;
  if (bytes.byteLength < 8) {
    throw new SafetensorsHeaderLengthError(
      `Safetensors file is ${bytes.byteLength} bytes long; it must start with an 8-byte header length. ${HOW_TO_FIX}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsHeaderTooLargeError(
      `Safetensors header length is ${headerLength} bytes, over the limit of ${MAX_HEADER_BYTES} bytes ` +
        `(100 MB). Such a header is either corrupt or hostile; ${HOW_TO_FIX}`,
    );
  }
  const n = Number(headerLength);
  if (8 + n > total) {
    throw new SafetensorsHeaderLengthError(
      `Safetensors header length is ${n} bytes, but the file has only ${total - 8} bytes after ` +
        `the length field. The file is truncated or its first 8 bytes are not a little-endian length. ${HOW_TO_FIX}`,
    );
  }
  if (8 + n > bytes.byteLength) {
    throw new SafetensorsHeaderLengthError(
      `readSafetensorsHeader was given the first ${bytes.byteLength} bytes of a ${total}-byte file, but its ` +
        `header ends at byte ${8 + n}. Pass at least the first ${8 + n} bytes.`,
    );
  }
  if (n >= 3 && bytes[8] === 0xef && bytes[9] === 0xbb && bytes[10] === 0xbf) {
    throw new SafetensorsHeaderJsonError(
      "Safetensors header starts with a UTF-8 byte order mark (bytes EF BB BF at offset 8); the format " +
        `requires the JSON object to start right after the length field. ${HOW_TO_FIX}`,
    );
  }
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text (never silently dropped), so the '{' check below sees it.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + n),
    );
  } catch {
    throw new SafetensorsHeaderJsonError(
      `Safetensors header (bytes 8..${8 + n}) is not valid UTF-8. ${HOW_TO_FIX}`,
    );
  }
  if (!text.startsWith("{")) {
    throw new SafetensorsHeaderJsonError(
      `Safetensors header must be a JSON object starting with '{'; it starts with ${quote(text.slice(0, 20))}. ${HOW_TO_FIX}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsHeaderJsonError(
      `Safetensors header is not valid JSON (${(error as Error).message}). ${HOW_TO_FIX}`,
    );
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SafetensorsHeaderJsonError(`Safetensors header must be a JSON object. ${HOW_TO_FIX}`);
  }
  checkNoDuplicateKeys(text);
  const bufferStart = 8 + n;
  const bufferLength = total - bufferStart;
  let metadata: SafetensorsMetadata = Object.create(null);
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(raw);
      continue;
    }
    entries.push(parseEntry(name, raw, bufferLength));
  }
  entries.sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let covered = 0;
  let previous: SafetensorsEntry | undefined;
  for (const entry of entries) {
    const [begin, end] = entry.dataOffsets;
    if (previous !== undefined && begin < covered) {
      throw new SafetensorsOverlappingOffsetsError(
        `Safetensors tensors ${quote(previous.name)} (bytes ${previous.dataOffsets[0]}..${previous.dataOffsets[1]}) ` +
          `and ${quote(entry.name)} (bytes ${begin}..${end}) overlap. Each tensor must own its bytes. ${HOW_TO_FIX}`,
      );
    }
    if (begin > covered) {
      throw new SafetensorsBufferGapError(
        `Safetensors byte buffer has unused bytes ${covered}..${begin} before tensor ${quote(entry.name)}; ` +
          `the format requires tensors to cover the buffer without holes. ${HOW_TO_FIX}`,
      );
    }
    covered = Math.max(covered, end);
    previous = entry;
  }
  if (covered !== bufferLength) {
    throw new SafetensorsBufferGapError(
      `Safetensors byte buffer is ${bufferLength} bytes, but its tensors cover only bytes 0..${covered}; ` +
        `the format forbids trailing bytes. ${HOW_TO_FIX}`,
    );
  }
  return { entries, metadata, bufferStart };
}

/**
 * Throws {@link SafetensorsDuplicateKeyError} when any object of `text` (valid JSON, already
 * parsed) repeats a key. `JSON.parse` keeps the last copy silently, so the keys are re-scanned
 * here: one pass over the text with a stack of the open containers, no recursion.
 */
function checkNoDuplicateKeys(text: string): void {
  // Per open container: the keys seen so far (an object) or null (an array).
  const stack: (Set<string> | null)[] = [];
  // path[d]: how the container at depth d + 1 was reached from the one at depth d (for messages).
  const path: string[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.at(-1) === null) path[stack.length - 1] = "[…]";
      stack.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack.at(-1) instanceof Set;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = stack.at(-1) as Set<string>;
        const depth = stack.length - 1;
        if (keys.has(key)) {
          const where = depth > 0 ? ` inside ${path.slice(0, depth).map(quote).join(" → ")}` : "";
          throw new SafetensorsDuplicateKeyError(
            `Safetensors header has the key ${quote(key)} twice${where}. JSON readers disagree on which ` +
              `copy wins, so the file is ambiguous. ${HOW_TO_FIX}`,
          );
        }
        keys.add(key);
        path[depth] = key;
        expectKey = false;
      }
      i = j;
    }
  }
}

function parseMetadata(raw: unknown): SafetensorsMetadata {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SafetensorsHeaderJsonError(
      `Safetensors "__metadata__" must be an object of string values. ${HOW_TO_FIX}`,
    );
  }
  const out: SafetensorsMetadata = Object.create(null);
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== "string") {
      throw new SafetensorsHeaderJsonError(
        `Safetensors "__metadata__" entry ${quote(key)} is ${JSON.stringify(value)}; metadata values must be strings. ${HOW_TO_FIX}`,
      );
    }
    out[key] = value;
  }
  return out;
}

function parseEntry(name: string, raw: unknown, bufferLength: number): SafetensorsEntry {
  const where = `Safetensors tensor ${quote(name)}`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SafetensorsHeaderJsonError(
      `${where} must be an object {"dtype", "shape", "data_offsets"}, got ${JSON.stringify(raw)}. ${HOW_TO_FIX}`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string") {
    throw new SafetensorsHeaderJsonError(`${where} has no string "dtype". ${HOW_TO_FIX}`);
  }
  if (!Object.hasOwn(ITEM_BYTES, dtype)) {
    throw new SafetensorsDtypeError(
      `${where} has dtype ${quote(dtype)}, which saikei cannot read. Supported: ${Object.keys(ITEM_BYTES).join(", ")}. ` +
        "Convert the tensor before saving it (for example tensor.float() or tensor.int() in PyTorch).",
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new SafetensorsHeaderJsonError(
      `${where} has shape ${JSON.stringify(shape)}; a shape must be an array of non-negative integers. ${HOW_TO_FIX}`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isNonNegativeInteger(offsets[0]) ||
    !isNonNegativeInteger(offsets[1])
  ) {
    throw new SafetensorsHeaderJsonError(
      `${where} has data_offsets ${JSON.stringify(offsets)}; they must be two non-negative integers [begin, end]. ${HOW_TO_FIX}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > bufferLength) {
    throw new SafetensorsOffsetOutOfRangeError(
      `${where} has data_offsets [${begin}, ${end}], outside the ${bufferLength}-byte buffer ` +
        `(offsets must satisfy 0 <= begin <= end <= ${bufferLength}). The file is truncated or corrupt. ${HOW_TO_FIX}`,
    );
  }
  const typed = dtype as SafetensorsDtype;
  let elements = 1;
  for (const d of shape as number[]) elements *= d;
  const expectedBytes = elements * ITEM_BYTES[typed];
  if (expectedBytes !== end - begin) {
    throw new SafetensorsShapeSizeError(
      `${where} has shape [${(shape as number[]).join(", ")}] and dtype ${typed}, which need ${expectedBytes} bytes, ` +
        `but its data_offsets [${begin}, ${end}] cover ${end - begin} bytes. ${HOW_TO_FIX}`,
    );
  }
  return Object.freeze({
    name,
    dtype: typed,
    shape: Object.freeze((shape as number[]).slice()),
    dataOffsets: Object.freeze([begin, end]) as readonly [number, number],
  });
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Converts IEEE half-precision bit patterns to float32 values. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

let halfValues: Float32Array | undefined;

/** The float32 value of every half-precision bit pattern (256 KB, built on first use). */
function halfTable(): Float32Array {
  if (halfValues === undefined) {
    halfValues = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfValues[bits] = halfToFloat(bits);
  }
  return halfValues;
}

/** The decoded values of one entry, ready for `tf.tensor`. */
interface DecodedEntry {
  readonly entry: SafetensorsEntry;
  readonly values: Float32Array | Int32Array | Uint8Array;
  readonly tfDtype: "float32" | "int32" | "bool";
}

function decodeEntry(
  bytes: Uint8Array,
  bufferStart: number,
  entry: SafetensorsEntry,
): DecodedEntry {
  const [begin, end] = entry.dataOffsets;
  const start = bytes.byteOffset + bufferStart + begin;
  const length = end - begin;
  const view = new DataView(bytes.buffer, start, length);
  const copy = (): ArrayBuffer => bytes.buffer.slice(start, start + length) as ArrayBuffer;
  switch (entry.dtype) {
    case "F32":
      if (HOST_IS_LITTLE_ENDIAN)
        return { entry, values: new Float32Array(copy()), tfDtype: "float32" };
      return {
        entry,
        values: readFloats(view, 4, (o) => view.getFloat32(o, true)),
        tfDtype: "float32",
      };
    case "F64":
      return {
        entry,
        values: readFloats(view, 8, (o) => view.getFloat64(o, true)),
        tfDtype: "float32",
      };
    case "F16": {
      const table = halfTable();
      return {
        entry,
        values: readFloats(view, 2, (o) => table[view.getUint16(o, true)]!),
        tfDtype: "float32",
      };
    }
    case "BF16": {
      const out = new Float32Array(length / 2);
      const bits = new Uint32Array(out.buffer);
      if (HOST_IS_LITTLE_ENDIAN && start % 2 === 0) {
        // An aligned view reads the halves several times faster than DataView calls.
        const halves = new Uint16Array(bytes.buffer, start, out.length);
        for (let i = 0; i < out.length; i++) bits[i] = halves[i]! << 16;
      } else {
        for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      }
      return { entry, values: out, tfDtype: "float32" };
    }
    case "I64": {
      const out = new Int32Array(length / 8);
      for (let i = 0; i < out.length; i++) {
        const value = view.getBigInt64(8 * i, true);
        if (value > 2147483647n || value < -2147483648n) {
          throw new SafetensorsIntegerRangeError(
            `Safetensors tensor ${quote(entry.name)} (I64) holds ${value} at flat index ${i}, outside the int32 range ` +
              "that tfjs tensors can hold. Store it as float (tensor.double() / tensor.float()) or reduce its values.",
          );
        }
        out[i] = Number(value);
      }
      return { entry, values: out, tfDtype: "int32" };
    }
    case "I32":
      if (HOST_IS_LITTLE_ENDIAN) return { entry, values: new Int32Array(copy()), tfDtype: "int32" };
      return { entry, values: readInts(view, 4, (o) => view.getInt32(o, true)), tfDtype: "int32" };
    case "I16":
      return { entry, values: readInts(view, 2, (o) => view.getInt16(o, true)), tfDtype: "int32" };
    case "I8":
      return { entry, values: readInts(view, 1, (o) => view.getInt8(o)), tfDtype: "int32" };
    case "U8":
      return { entry, values: readInts(view, 1, (o) => view.getUint8(o)), tfDtype: "int32" };
    case "BOOL": {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = view.getUint8(i) === 0 ? 0 : 1;
      return { entry, values: out, tfDtype: "bool" };
    }
  }
}

/**
 * Decodes one tensor of a safetensors file from its own bytes (those at `entry.dataOffsets` of
 * the byte buffer), converting as {@link parseSafetensors} does: floats to `float32`, integers to
 * `int32`. With {@link readSafetensorsHeader} this reads a large file one tensor at a time.
 *
 * @param entry the tensor's header entry.
 * @param data exactly the tensor's bytes.
 * @returns a new tensor; the caller owns it.
 * @throws SafetensorsShapeSizeError when `data` is not the entry's length;
 *   SafetensorsIntegerRangeError for I64 values outside the int32 range.
 * @example
 * const header = readSafetensorsHeader(prefix, fileSize);
 * const [begin, end] = entry.dataOffsets;
 * const tensor = decodeSafetensorsTensor(entry, fileBytes.subarray(header.bufferStart + begin, header.bufferStart + end));
 */
export function decodeSafetensorsTensor(entry: SafetensorsEntry, data: Uint8Array): tf.Tensor {
  const [begin, end] = entry.dataOffsets;
  if (data.byteLength !== end - begin) {
    throw new SafetensorsShapeSizeError(
      `Safetensors tensor ${quote(entry.name)} covers ${end - begin} bytes, but ${data.byteLength} bytes were ` +
        "given to decode it. Pass exactly the bytes at its data_offsets.",
    );
  }
  const { values, tfDtype } = decodeEntry(data, -begin, entry);
  return tf.tensor(values, entry.shape as number[], tfDtype);
}

/** The float formats {@link serializeSafetensors} can store float32 tensors in. */
export type SafetensorsFloatFormat = "F32" | "F16" | "BF16";

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** IEEE half-precision bits of a float32 value, rounded to nearest even (as PyTorch's `.half()`). */
function floatToHalfBits(value: number): number {
  scratchFloat[0] = value;
  const x = scratchBits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the right rounding (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** bfloat16 bits of float32 bits, rounded to nearest even (as PyTorch's `.bfloat16()`). */
function floatBitsToBfloat16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff; // NaN stays NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The bytes of float32 values stored as `format` (little-endian). */
function encodeFloats(values: Float32Array, format: SafetensorsFloatFormat): Uint8Array {
  if (format === "F32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (format === "BF16") {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < out.length; i++) out[i] = floatBitsToBfloat16(bits[i]!);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = floatToHalfBits(values[i]!);
  }
  const bytes = new Uint8Array(out.buffer);
  if (!HOST_IS_LITTLE_ENDIAN) {
    for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1]!, bytes[i]!];
  }
  return bytes;
}

function readFloats(view: DataView, size: number, read: (offset: number) => number): Float32Array {
  const out = new Float32Array(view.byteLength / size);
  for (let i = 0; i < out.length; i++) out[i] = read(i * size);
  return out;
}

function readInts(view: DataView, size: number, read: (offset: number) => number): Int32Array {
  const out = new Int32Array(view.byteLength / size);
  for (let i = 0; i < out.length; i++) out[i] = read(i * size);
  return out;
}

/** The result of {@link parseSafetensorsWithMetadata}. */
export interface ParsedSafetensors {
  /** The tensors by name (a prototype-less record). The caller owns and disposes them. */
  readonly tensors: Record<string, tf.Tensor>;
  /** The file's `__metadata__`, or `{}`. */
  readonly metadata: SafetensorsMetadata;
}

/**
 * Parses a safetensors file into tensors and its metadata. The whole file is validated and
 * decoded before any tensor is created, so on error nothing is allocated.
 *
 * @param bytes the file's bytes.
 * @returns the tensors by name and the metadata.
 * @throws a {@link SafetensorsError} subclass for a malformed file.
 * @example
 * const { tensors, metadata } = parseSafetensorsWithMetadata(bytes);
 */
export function parseSafetensorsWithMetadata(bytes: Uint8Array): ParsedSafetensors {
  const header = readSafetensorsHeader(bytes);
  const decoded = header.entries.map((entry) => decodeEntry(bytes, header.bufferStart, entry));
  const tensors: Record<string, tf.Tensor> = Object.create(null);
  const created: tf.Tensor[] = [];
  try {
    for (const { entry, values, tfDtype } of decoded) {
      const tensor = tf.tensor(values, entry.shape as number[], tfDtype);
      created.push(tensor);
      tensors[entry.name] = tensor;
    }
  } catch (error) {
    for (const t of created) t.dispose();
    throw error;
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Parses a safetensors file into a record of tfjs tensors by name. `F32`, `F16`, `BF16` and
 * `F64` become `float32`; `I64`, `I32`, `I16`, `I8`, `U8` become `int32` (64-bit values outside
 * the int32 range are rejected); `BOOL` stays `bool`.
 *
 * @param bytes the file's bytes (for example `fs.readFileSync(path)`).
 * @returns the tensors by name; the caller owns them (dispose them when done).
 * @throws a {@link SafetensorsError} subclass for a malformed file; nothing is allocated then.
 * @example
 * const tensors = parseSafetensors(new Uint8Array(readFileSync("model.safetensors")));
 * tensors["layers.0.weight"].shape; // [3, 4]
 */
export function parseSafetensors(bytes: Uint8Array): Record<string, tf.Tensor> {
  return parseSafetensorsWithMetadata(bytes).tensors;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== "object" && typeof value !== "function")
    return `the ${typeof value} ${String(value)}`;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === "string" && ctor.name !== "" ? `a ${ctor.name}` : "an object";
}

/**
 * Checks a name a tensor will be stored under: a non-empty string. Any other string is fine, including
 * `__proto__` or `constructor`, since every record keyed by names is prototype-free.
 *
 * @param name the name to check.
 * @param where the function asking, for the message.
 * @throws SafetensorsInvalidNameError for an empty name or a non-string.
 * @example
 * checkTensorName("layers.0.weight", "myWriter"); // ok
 */
export function checkTensorName(name: unknown, where: string): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw new SafetensorsInvalidNameError(
      `${where}: a tensor name must be a non-empty string, got ${name === "" ? "the empty string" : describeValue(name)}. ` +
        "Give every tensor (or parameter) a name, for example with addParameterPrefix, or pass a nameOf option.",
    );
  }
}

/**
 * Validates metadata to be written and copies it into a prototype-free record: a plain object
 * (or Map) of string keys and string values, as the format allows and every reader expects.
 *
 * @param metadata the metadata, or undefined for none.
 * @param where the function asking, for the message.
 * @returns a prototype-free copy.
 * @throws SafetensorsInvalidMetadataError naming the first bad entry.
 * @example
 * checkMetadata({ step: "300" }, "save"); // { step: "300" }
 * checkMetadata({ step: 300 }, "save"); // throws: use String(300)
 */
export function checkMetadata(metadata: unknown, where: string): SafetensorsMetadata {
  const out: SafetensorsMetadata = Object.create(null);
  if (metadata === undefined) return out;
  const entries =
    metadata instanceof Map
      ? [...metadata.entries()]
      : metadata !== null && typeof metadata === "object" && !Array.isArray(metadata)
        ? Object.entries(metadata)
        : undefined;
  if (entries === undefined) {
    throw new SafetensorsInvalidMetadataError(
      `${where}: metadata must be an object of string values like { step: "300" }, got ${describeValue(metadata)}.`,
    );
  }
  for (const [key, value] of entries) {
    if (typeof key !== "string") {
      throw new SafetensorsInvalidMetadataError(
        `${where}: metadata keys must be strings, got ${describeValue(key)}.`,
      );
    }
    if (typeof value !== "string") {
      const shown =
        typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
      throw new SafetensorsInvalidMetadataError(
        `${where}: metadata entry ${quote(key)} is ${describeValue(value)}; the safetensors format stores ` +
          `string values only (readers reject anything else). Convert it: { ${quote(key)}: ${
            shown !== undefined ? quote(shown) : "JSON.stringify(value)"
          } }.`,
      );
    }
    out[key] = value;
  }
  return out;
}

const DTYPE_FOR_TF: Partial<Record<tf.DataType, SafetensorsDtype>> = {
  float32: "F32",
  int32: "I32",
  bool: "BOOL",
};

/** Options of {@link serializeSafetensors}. */
export interface SerializeSafetensorsOptions {
  /**
   * How float32 tensors are stored: `"F32"` (default, exact), or `"F16"` / `"BF16"` (rounded to
   * nearest even, half the bytes; values that came from such a file are stored exactly).
   */
  floatFormat?: SafetensorsFloatFormat;
}

/**
 * Serialises named tensors to safetensors bytes (tensors sorted by name, header padded to a
 * multiple of 8 bytes as the reference writer does). Reads tensor data synchronously.
 *
 * @param tensors tensors by name (a record or a Map); they are not disposed.
 * @param metadata optional `__metadata__` string pairs.
 * @param options `floatFormat`: how float32 tensors are stored (default `"F32"`).
 * @returns the file's bytes.
 * @throws SafetensorsUnsupportedTensorError for `string` or `complex64` tensors, disposed tensors
 *   and values that are not tensors; SafetensorsInvalidNameError for an empty name;
 *   SafetensorsInvalidMetadataError for metadata that is not string pairs. Nothing is written
 *   before every check passes.
 * @example
 * const bytes = serializeSafetensors({ w: tf.ones([2, 2]) }, { format: "pt" });
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, tf.Tensor>> | ReadonlyMap<string, tf.Tensor>,
  metadata?: Readonly<SafetensorsMetadata> | ReadonlyMap<string, string>,
  options: SerializeSafetensorsOptions = {},
): Uint8Array {
  checkOptions("serializeSafetensors", options, ["floatFormat"]);
  const floatFormat = options.floatFormat ?? "F32";
  if (!["F32", "F16", "BF16"].includes(floatFormat)) {
    throw new SafetensorsDtypeError(
      `serializeSafetensors: floatFormat is ${JSON.stringify(floatFormat)}; it must be "F32", "F16" or "BF16".`,
    );
  }
  const pairs: [string, tf.Tensor][] =
    tensors instanceof Map
      ? [...tensors.entries()]
      : Object.entries(tensors as Record<string, tf.Tensor>);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [name, tensor] of pairs) {
    checkTensorName(name, "serializeSafetensors");
    if (!(tensor instanceof tf.Tensor)) {
      throw new SafetensorsUnsupportedTensorError(
        `Cannot save ${quote(name)}: it is ${describeValue(tensor)}, not a tf.Tensor. Pass tensors only ` +
          "(to save a whole tree of tensors, NamedArrays and other leaves use saveSafetensors).",
      );
    }
    if (tensor.isDisposed) {
      throw new SafetensorsUnsupportedTensorError(
        `Cannot save tensor ${quote(name)}: it has been disposed. Save before disposing it, or keep it ` +
          "alive (tf.keep) while saving.",
      );
    }
    if (DTYPE_FOR_TF[tensor.dtype] === undefined) {
      throw new SafetensorsUnsupportedTensorError(
        `Cannot save tensor ${quote(name)} of dtype ${tensor.dtype} as safetensors: only float32, int32 and bool ` +
          "tensors can be written. Cast it first (tensor.cast('float32')) or leave it out of the saved tree.",
      );
    }
    if (name === "__metadata__") {
      throw new SafetensorsUnsupportedTensorError(
        'Cannot save a tensor named "__metadata__": the name is reserved by the safetensors format. Rename it.',
      );
    }
  }
  const checkedMetadata = checkMetadata(metadata, "serializeSafetensors");
  const header: Record<string, unknown> = Object.create(null);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of pairs) {
    const data = tensor.dataSync();
    const float = tensor.dtype === "float32";
    const bytes =
      tensor.dtype === "bool"
        ? Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0))
        : float
          ? encodeFloats(data as Float32Array, floatFormat)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: float ? floatFormat : DTYPE_FOR_TF[tensor.dtype],
      shape: tensor.shape,
      data_offsets: [offset, offset + bytes.byteLength],
    };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  if (Object.keys(checkedMetadata).length > 0) header.__metadata__ = checkedMetadata;
  let text = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (text.byteLength % 8)) % 8;
  if (padding > 0) {
    const padded = new Uint8Array(text.byteLength + padding).fill(0x20);
    padded.set(text);
    text = padded;
  }
  const out = new Uint8Array(8 + text.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  let position = 8 + text.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.byteLength;
  }
  return out;
}
