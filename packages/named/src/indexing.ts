/**
 * Indexing named arrays by axis name (`{ seq: 3, batch: slice(0, 2) }`) or by position
 * (`[0, slice(1, null)]`), with NumPy / penzai semantics, lowered to `tf.slice`, `tf.gather` and
 * one flat gather for advanced (integer-array) indices.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { NamedIndexError } from "./errors.js";
import {
  type AxisName,
  checkAxisName,
  describeNamedShape,
  fromLayout,
  type NamedArrayBase,
  nameRecord,
} from "./namedArray.js";
import { tidy } from "./tidy.js";

/**
 * A Python-style slice `start:stop:step`; `null` bounds mean "from the start" / "to the end".
 * Build it with {@link slice}.
 */
export class Slice {
  /** First index (negative counts from the end), or null. */
  readonly start: number | null;
  /** End index, exclusive (negative counts from the end), or null. */
  readonly stop: number | null;
  /** Step (not 0), or null for 1. */
  readonly step: number | null;

  /** Use {@link slice} instead. */
  constructor(start: number | null, stop: number | null, step: number | null) {
    if (step === 0)
      throw new NamedIndexError("slice step cannot be zero; use 1 for every element.");
    for (const [label, v] of [
      ["start", start],
      ["stop", stop],
      ["step", step],
    ] as const) {
      if (v !== null && !Number.isInteger(v)) {
        throw new NamedIndexError(
          `slice ${label} must be an integer or null, but got ${String(v)}.`,
        );
      }
    }
    this.start = start;
    this.stop = stop;
    this.step = step;
    Object.freeze(this);
  }

  /**
   * Resolves the slice for an axis of `length`, like Python's `slice.indices`.
   *
   * @returns the concrete indices selected, in order.
   * @example
   * slice(null, null, -1).indicesFor(3) // [2, 1, 0]
   */
  indicesFor(length: number): number[] {
    const step = this.step ?? 1;
    const clampBound = (v: number | null, dflt: number, lo: number, hi: number) => {
      if (v === null) return dflt;
      const w = v < 0 ? v + length : v;
      return Math.min(Math.max(w, lo), hi);
    };
    const out: number[] = [];
    if (step > 0) {
      const start = clampBound(this.start, 0, 0, length);
      const stop = clampBound(this.stop, length, 0, length);
      for (let i = start; i < stop; i += step) out.push(i);
    } else {
      const start = clampBound(this.start, length - 1, -1, length - 1);
      const stop = clampBound(this.stop, -1, -1, length - 1);
      for (let i = start; i > stop; i += step) out.push(i);
    }
    return out;
  }

  /** `start:stop:step`, as Python prints it. */
  toString(): string {
    const f = (v: number | null) => (v === null ? "" : String(v));
    return `${f(this.start)}:${f(this.stop)}${this.step === null ? "" : `:${this.step}`}`;
  }
}

/**
 * Builds a slice: `slice(stop)`, `slice(start, stop)` or `slice(start, stop, step)`, with `null`
 * for an open bound, as Python's `slice`.
 *
 * @example
 * x.index({ seq: slice(1, null, 2) }) // every other position from 1
 */
export function slice(start?: number | null, stop?: number | null, step?: number | null): Slice {
  if (stop === undefined && step === undefined) return new Slice(null, start ?? null, null);
  return new Slice(start ?? null, stop ?? null, step ?? null);
}

/** One index entry: an integer, a slice, an integer array (nested arrays or an int32 tensor), or null (new axis). */
export type IndexEntry =
  | number
  | Slice
  | readonly number[]
  | readonly (readonly number[])[]
  | tf.Tensor
  | null;

/** `index` argument: entries by axis name, or entries for the positional axes in order. */
export type IndexSpec = Readonly<Record<AxisName, IndexEntry>> | readonly IndexEntry[];

type Classified =
  | { kind: "slice"; slice: Slice }
  | { kind: "index"; values: IndexEntry }
  | { kind: "new" };

function classify(entry: unknown, where: string): Classified {
  if (entry === null) return { kind: "new" };
  if (entry instanceof Slice) return { kind: "slice", slice: entry };
  if (typeof entry === "number") {
    if (!Number.isInteger(entry))
      throw new NamedIndexError(`${where}: index ${entry} is not an integer.`);
    return { kind: "index", values: entry };
  }
  if (Array.isArray(entry)) return { kind: "index", values: entry };
  if (entry instanceof tf.Tensor) {
    if (entry.dtype !== "int32") {
      throw new NamedIndexError(
        `${where}: index tensors must have dtype int32, but got ${entry.dtype}.`,
      );
    }
    return { kind: "index", values: entry };
  }
  throw new NamedIndexError(
    `Unsupported index for ${where}: expected a slice(...), an integer, an integer array, or null, but got ` +
      `${Object.prototype.toString.call(entry)} (${String(entry)}). To index with a NamedArray of indices, use nmap.`,
  );
}

function indexTensor(values: IndexEntry, size: number): tf.Tensor {
  const t =
    values instanceof tf.Tensor ? values : tf.tensor(values as tf.TensorLike, undefined, "int32");
  // JAX gathers wrap negative indices once and clamp out-of-range ones.
  const wrapped = tf.where(tf.less(t, 0), tf.add(t, tf.scalar(size, "int32")), t);
  // tf.clipByValue is float-only on wasm; clamp with integer minimum/maximum.
  return tf.minimum(
    tf.maximum(wrapped, tf.scalar(0, "int32")),
    tf.scalar(Math.max(0, size - 1), "int32"),
  );
}

interface Gathered {
  data: tf.Tensor;
  /** Rank of the advanced-index block placed at the front of `data`. */
  advancedRank: number;
  /** New data axis of each old data axis; -1 for removed (indexed) axes. */
  newAxis: number[];
}

/** Applies slices and advanced indices to data axes. Advanced dims go to the front. */
function gatherData(
  data: tf.Tensor,
  slices: ReadonlyMap<number, Slice>,
  indexed: readonly [number, IndexEntry][],
): Gathered {
  let t = data;
  for (const [axis, s] of slices) {
    const idx = s.indicesFor(t.shape[axis]!);
    const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1);
    if (contiguous) {
      const begin = t.shape.map((_, d) => (d === axis ? (idx[0] ?? 0) : 0));
      const size = t.shape.map((sz, d) => (d === axis ? idx.length : sz));
      t = tf.slice(t, begin, size);
    } else {
      t = tf.gather(t, tf.tensor1d(idx, "int32"), axis);
    }
  }
  const rank = t.rank;
  if (indexed.length === 0)
    return { data: t, advancedRank: 0, newAxis: Array.from({ length: rank }, (_, i) => i) };
  const axes = indexed.map(([a]) => a);
  const rest = Array.from({ length: rank }, (_, i) => i).filter((d) => !axes.includes(d));
  const idx = indexed.map(([a, v]) => indexTensor(v, t.shape[a]!));
  let shape: number[] = [];
  for (const i of idx) shape = tf.broadcast_util.assertAndGetBroadcastShape(shape, i.shape);
  let linear: tf.Tensor = tf.zeros(shape, "int32");
  let stride = 1;
  for (let j = axes.length - 1; j >= 0; j--) {
    linear = tf.add(linear, tf.mul(idx[j]!, tf.scalar(stride, "int32")));
    stride *= t.shape[axes[j]!]!;
  }
  const moved = tf.transpose(t, [...axes, ...rest]);
  const flat = tf.reshape(moved, [stride, ...rest.map((d) => t.shape[d]!)]);
  const gathered = tf.gather(flat, tf.reshape(linear, [-1]), 0);
  const out = tf.reshape(gathered, [...shape, ...rest.map((d) => t.shape[d]!)]);
  const newAxis = new Array<number>(rank).fill(-1);
  rest.forEach((d, i) => {
    newAxis[d] = shape.length + i;
  });
  return { data: out, advancedRank: shape.length, newAxis };
}

/**
 * Indexes a named array (the engine behind `NamedArrayBase.index`).
 *
 * Dict-style: integers and integer arrays remove the named axis (arrays add positional axes at
 * the front of the result's positional shape), slices keep it, `null` adds a new named axis of
 * size 1. Positional (array) style: NumPy basic and advanced indexing of the positional axes,
 * vectorized over the named axes.
 *
 * @throws NamedIndexError for an unsupported entry, an unknown name, or too many entries.
 * @example
 * indexArray(nx.arange("i", 0, 5), { i: [4, 0] }).unwrap() // [4, 0]
 */
export function indexArray(x: NamedArrayBase, indexer: IndexSpec): NamedArrayBase {
  x.checkValid();
  const { data, logical, names, nameAxis } = x.layout();
  if (Array.isArray(indexer)) return indexPositional(x, indexer as readonly IndexEntry[]);
  if (
    indexer === null ||
    typeof indexer !== "object" ||
    indexer instanceof tf.Tensor ||
    indexer instanceof Slice
  ) {
    throw new NamedIndexError(
      `index expects { name: entry } for named axes or [entry, ...] for positional axes, but got ${String(indexer)}.`,
    );
  }
  const slices = new Map<number, Slice>();
  const indexed: [number, IndexEntry][] = [];
  const introduced: string[] = [];
  for (const [name, entry] of Object.entries(indexer as Record<string, IndexEntry>)) {
    const c = classify(entry, `named axis "${name}"`);
    if (c.kind === "new") {
      checkAxisName(name, "index");
      if (Object.hasOwn(nameAxis, name)) {
        throw new NamedIndexError(
          `index: null introduces a new axis, but "${name}" already exists in named shape ${describeNamedShape(x.namedShape)}.`,
        );
      }
      introduced.push(name);
      continue;
    }
    if (!Object.hasOwn(nameAxis, name)) {
      throw new NamedIndexError(
        `index: axis name "${name}" is not present in the array, whose named shape is ${describeNamedShape(x.namedShape)}.`,
      );
    }
    if (c.kind === "slice") slices.set(nameAxis[name]!, c.slice);
    else indexed.push([nameAxis[name]!, c.values]);
  }
  return tidy(() => {
    const g = gatherData(data, slices, indexed);
    let out = g.data;
    const newLogical = [
      ...Array.from({ length: g.advancedRank }, (_, i) => i),
      ...logical.map((d) => g.newAxis[d]!),
    ];
    const newNames: Record<string, number> = nameRecord();
    for (const n of names)
      if (g.newAxis[nameAxis[n]!]! >= 0) newNames[n] = g.newAxis[nameAxis[n]!]!;
    for (const n of introduced) {
      newNames[n] = out.rank;
      out = tf.expandDims(out, out.rank);
    }
    return fromLayout(out, newLogical, newNames);
  });
}

function indexPositional(x: NamedArrayBase, entries: readonly IndexEntry[]): NamedArrayBase {
  const { data, logical, names, nameAxis } = x.layout();
  const classified = entries.map((e, i) => classify(e, `positional index ${i}`));
  const consumed = classified.filter((c) => c.kind !== "new").length;
  if (consumed > logical.length) {
    throw new NamedIndexError(
      `index: too many positional indices (${consumed}) for positional shape [${x.positionalShape.join(", ")}]. ` +
        "Use { name: index } to index named axes.",
    );
  }
  const slices = new Map<number, Slice>();
  const indexed: [number, IndexEntry][] = [];
  type Item = { kind: "axis"; axis: number } | { kind: "new" } | { kind: "advanced" };
  const items: Item[] = [];
  let p = 0;
  for (const c of classified) {
    if (c.kind === "new") {
      items.push({ kind: "new" });
      continue;
    }
    const axis = logical[p++]!;
    if (c.kind === "slice") {
      slices.set(axis, c.slice);
      items.push({ kind: "axis", axis });
    } else {
      indexed.push([axis, c.values]);
      items.push({ kind: "advanced" });
    }
  }
  for (; p < logical.length; p++) items.push({ kind: "axis", axis: logical[p]! });
  const advancedPositions = items.flatMap((it, i) => (it.kind === "advanced" ? [i] : []));
  const contiguous = advancedPositions.every(
    (v, i) => i === 0 || v === advancedPositions[i - 1]! + 1,
  );
  return tidy(() => {
    const g = gatherData(data, slices, indexed);
    let out = g.data;
    const advancedAxes = Array.from({ length: g.advancedRank }, (_, i) => i);
    const newLogical: number[] = [];
    let placed = false;
    if (!contiguous) {
      newLogical.push(...advancedAxes);
      placed = true;
    }
    for (const it of items) {
      if (it.kind === "axis") newLogical.push(g.newAxis[it.axis]!);
      else if (it.kind === "new") {
        newLogical.push(out.rank);
        out = tf.expandDims(out, out.rank);
      } else if (!placed) {
        newLogical.push(...advancedAxes);
        placed = true;
      }
    }
    const newNames: Record<string, number> = nameRecord();
    for (const n of names) newNames[n] = g.newAxis[nameAxis[n]!]!;
    return fromLayout(out, newLogical, newNames);
  });
}
