/**
 * Indexing and indexed updates of named arrays, on layouts: penzai's `x[indexer]` and
 * `x.at[indexer].get / set / add / ...`. Positional indexers follow NumPy (basic and advanced
 * indexing of the positional axes, vectorized over the named axes); index arrays may be named
 * arrays, whose names are vectorized over and appear in the result. Dict indexers address named
 * axes and are rewritten to positional ones as penzai does (`untagPrefix`, index, `tagPrefix`).
 *
 * Every gather is one `tf.gather` over a flat view of the indexed axes; every update one
 * `tf.tensorScatterUpdate` (set, and mul / min / max / apply per round of repeated indices) or one
 * `tf.unsortedSegmentSum` (add).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { isTaping } from "./engineState.js";
import { NamedIndexError, NamedShapeMismatchError } from "./errors.js";
import {
  type AxisName,
  checkAxisName,
  describeNamedShape,
  describePositionalShape,
  internalRecord,
  type Layout,
  layoutOf,
  namedShapeOf,
  positionalShapeOf,
  sizeOf,
  transposeIfNeeded,
} from "./layout.js";
import { broadcastShapes, reshapeIfNeeded, toBool, toFloat, unionOfLayouts } from "./layoutOps.js";
import { broadcastFast } from "./lowering.js";
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

/**
 * One resolved entry of an indexer: a slice, a new size-1 axis (`null`), a static integer, or an
 * int32 index array given as a layout (its named axes are vectorized over; its positional axes
 * are the advanced-index axes NumPy adds).
 */
export type IndexItem =
  | { readonly kind: "slice"; readonly slice: Slice }
  | { readonly kind: "new" }
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "array"; readonly index: Layout };

/** A resolved indexer: positional items in order, or items by axis name. */
export type ResolvedIndexer =
  | { readonly style: "positional"; readonly items: readonly IndexItem[] }
  | { readonly style: "dict"; readonly items: readonly (readonly [AxisName, IndexItem])[] };

/**
 * Out-of-bounds behaviour of a gather: `"clip"` clamps indices into range (the default, as JAX's
 * indexing), `"fill"` returns `fillValue` there, `"promise_in_bounds"` skips the bounds handling.
 * Negative indices count from the end in every mode.
 */
export type GatherMode = "clip" | "fill" | "promise_in_bounds";

/**
 * Out-of-bounds behaviour of an update: `"drop"` ignores those updates (the default, as JAX),
 * `"clip"` clamps indices into range, `"promise_in_bounds"` skips the bounds handling.
 */
export type UpdateMode = "drop" | "clip" | "promise_in_bounds";

/** Options of `get`. */
export interface GatherOptions {
  /** Out-of-bounds behaviour; default `"clip"`. */
  readonly mode?: GatherMode;
  /**
   * The value where an index is out of bounds with `mode: "fill"`. Default: NaN for floats, the
   * smallest int32 for int32, `true` for bool (JAX's defaults).
   */
  readonly fillValue?: number | boolean;
}

/** Options of the update methods (`set`, `add`, `mul`, `min`, `max`, `apply`). */
export interface UpdateOptions {
  /** Out-of-bounds behaviour; default `"drop"`. */
  readonly mode?: UpdateMode;
}

/** The combining operations of indexed updates. */
export type UpdateOp = "set" | "add" | "mul" | "div" | "power" | "min" | "max" | "apply";

/** One dimension of the indexed region, by what it is in the result. */
interface RegionDim {
  readonly size: number;
  /** Axis name in the result, for named dims. */
  readonly name?: AxisName;
  /** Positional axis index in the result, for positional dims. */
  readonly pos?: number;
}

/** A new size-1 axis of the result: positional (`pos`) or named (`name`). */
type NewAxis =
  | { readonly pos: number; readonly name?: undefined }
  | { readonly name: AxisName; readonly pos?: undefined };

/** An advanced index on one data axis. */
interface AdvancedEntry {
  readonly axis: number;
  readonly index: number | Layout | { readonly iota: AxisName };
}

/** How an indexer applies to a layout. */
interface Plan {
  readonly x: Layout;
  /** Sliced data axes and the static indices each keeps. */
  readonly sliced: ReadonlyMap<number, readonly number[]>;
  readonly advanced: readonly AdvancedEntry[];
  readonly advNames: readonly AxisName[];
  readonly advNameSizes: readonly number[];
  readonly advPositional: readonly number[];
  /** Data axes that are not advanced-indexed, in region order. */
  readonly rest: readonly number[];
  /** Region dims: advanced names, advanced positional dims, then `rest`. */
  readonly region: readonly RegionDim[];
  /** Every new (`null`) axis of the result: its positional index, or its name (dict style). */
  readonly newAxes: readonly NewAxis[];
  /** Result positional rank. */
  readonly resultRank: number;
}

/**
 * Wraps a static integer index into `[0, size)` or reports it out of bounds.
 *
 * @returns the wrapped index and whether it is in bounds.
 */
function wrapStatic(value: number, size: number): { index: number; inBounds: boolean } {
  const w = value < 0 ? value + size : value;
  return { index: w, inBounds: w >= 0 && w < size };
}

/** Builds the plan of a positional indexer on `x`. `restOrder` "data" keeps data order. */
function planPositional(
  x: Layout,
  items: readonly IndexItem[],
  restOrder: "data" | "slicedFirst",
): Plan {
  const P = x.logical.length;
  const rank = x.data.rank;
  let consumed = 0;
  const arrays: Layout[] = [];
  for (const it of items) {
    if (it.kind !== "new") consumed++;
    if (it.kind === "array") arrays.push(it.index);
  }
  if (consumed > P) {
    throw new NamedIndexError(
      `index: too many positional indices (${consumed}) for positional shape ${describePositionalShape(positionalShapeOf(x))}. ` +
        "Use { name: index } to index named axes.",
    );
  }
  const sizes =
    arrays.length === 0
      ? internalRecord()
      : unionOfLayouts([x, ...arrays], "index", [
          "array",
          ...arrays.map((_, i) => `indices[${i}]`),
        ]);
  const advNames: AxisName[] = [];
  for (const a of arrays) for (const n of a.names) if (!advNames.includes(n)) advNames.push(n);
  const advPositional =
    arrays.length === 0 ? [] : broadcastShapes(arrays.map(positionalShapeOf), "index");
  const sliced = new Map<number, readonly number[]>();
  const advanced: AdvancedEntry[] = [];
  // What each positional item (and each untouched positional axis after them) becomes: a data
  // axis that is kept (>= 0), a new axis (-1), or part of the advanced block (-2).
  const walk: number[] = [];
  let p = 0;
  for (const it of items) {
    if (it.kind === "new") {
      walk.push(-1);
      continue;
    }
    const axis = x.logical[p++]!;
    if (it.kind === "slice") {
      sliced.set(axis, it.slice.indicesFor(x.data.shape[axis]!));
      walk.push(axis);
    } else {
      advanced.push({ axis, index: it.kind === "int" ? it.value : it.index });
      walk.push(-2);
    }
  }
  for (; p < P; p++) walk.push(x.logical[p]!);
  for (const n of advNames) {
    if (Object.hasOwn(x.nameAxis, n)) advanced.push({ axis: x.nameAxis[n]!, index: { iota: n } });
  }
  const isAdvanced = new Array<boolean>(rank).fill(false);
  for (const e of advanced) isAdvanced[e.axis] = true;
  const rest: number[] = [];
  if (restOrder === "slicedFirst") {
    for (let d = 0; d < rank; d++) if (!isAdvanced[d] && sliced.has(d)) rest.push(d);
    for (let d = 0; d < rank; d++) if (!isAdvanced[d] && !sliced.has(d)) rest.push(d);
  } else {
    for (let d = 0; d < rank; d++) if (!isAdvanced[d]) rest.push(d);
  }
  let first = -1;
  let last = -1;
  let count = 0;
  walk.forEach((w, i) => {
    if (w !== -2) return;
    if (first < 0) first = i;
    last = i;
    count++;
  });
  // NumPy: the advanced block goes where its indices are when they are adjacent, else in front.
  const contiguous = count === 0 || last - first + 1 === count;
  const q = advPositional.length;
  const resultOf = new Array<number>(rank).fill(-1);
  const advPos: number[] = [];
  const newAxes: NewAxis[] = [];
  let next = 0;
  let placed = false;
  if (!contiguous) {
    for (let j = 0; j < q; j++) advPos.push(next++);
    placed = true;
  }
  for (const w of walk) {
    if (w >= 0) resultOf[w] = next++;
    else if (w === -1) newAxes.push({ pos: next++ });
    else if (!placed) {
      for (let j = 0; j < q; j++) advPos.push(next++);
      placed = true;
    }
  }
  const xNameOf = new Array<AxisName | undefined>(rank);
  for (const n of x.names) xNameOf[x.nameAxis[n]!] = n;
  const region: RegionDim[] = [];
  const advNameSizes: number[] = [];
  for (const n of advNames) {
    region.push({ size: sizes[n]!, name: n });
    advNameSizes.push(sizes[n]!);
  }
  for (let i = 0; i < q; i++) region.push({ size: advPositional[i]!, pos: advPos[i]! });
  for (const d of rest) {
    const size = sliced.get(d)?.length ?? x.data.shape[d]!;
    const name = xNameOf[d];
    region.push(name === undefined ? { size, pos: resultOf[d]! } : { size, name });
  }
  return {
    x,
    sliced,
    advanced,
    advNames,
    advNameSizes,
    advPositional,
    rest,
    region,
    newAxes,
    resultRank: next,
  };
}

/** The layout with names `names` moved to the front of the positional axes (penzai's `untag_prefix`). */
function untagPrefixLayout(x: Layout, names: readonly AxisName[]): Layout {
  const nameAxis: Record<string, number> = internalRecord();
  for (const n of x.names) if (!names.includes(n)) nameAxis[n] = x.nameAxis[n]!;
  return layoutOf(x.data, [...names.map((n) => x.nameAxis[n]!), ...x.logical], nameAxis);
}

/** A dict indexer rewritten as penzai does: the axes to untag, the positional items, the names to tag. */
interface DictRewrite {
  readonly untag: readonly AxisName[];
  readonly items: readonly IndexItem[];
  readonly tag: readonly AxisName[];
}

function rewriteDict(x: Layout, entries: readonly (readonly [AxisName, IndexItem])[]): DictRewrite {
  const introduced: AxisName[] = [];
  const sliced: [AxisName, IndexItem][] = [];
  const indexed: [AxisName, IndexItem][] = [];
  for (const [name, item] of entries) {
    if (item.kind === "new") {
      checkAxisName(name, "index");
      if (Object.hasOwn(x.nameAxis, name)) {
        throw new NamedIndexError(
          `index: null introduces a new axis, but "${name}" already exists in named shape ${describeNamedShape(namedShapeOf(x))}.`,
        );
      }
      introduced.push(name);
      continue;
    }
    if (!Object.hasOwn(x.nameAxis, name)) {
      throw new NamedIndexError(
        `index: axis name "${name}" is not present in the array, whose named shape is ${describeNamedShape(namedShapeOf(x))}. ` +
          "Use null to introduce a new axis.",
      );
    }
    (item.kind === "slice" ? sliced : indexed).push([name, item]);
  }
  return {
    untag: [...sliced, ...indexed].map(([n]) => n),
    items: [
      ...introduced.map((): IndexItem => ({ kind: "new" })),
      ...sliced.map(([, it]) => it),
      ...indexed.map(([, it]) => it),
    ],
    tag: [...introduced, ...sliced.map(([n]) => n)],
  };
}

/** Rewrites a plan's positional result dims `< k` as the names `tag` (the dict-style result). */
function relabel(plan: Plan, tag: readonly AxisName[]): Plan {
  const k = tag.length;
  if (k === 0) return plan;
  const region: RegionDim[] = [];
  for (const dim of plan.region) {
    if (dim.pos === undefined) region.push(dim);
    else if (dim.pos < k) region.push({ size: dim.size, name: tag[dim.pos]! });
    else region.push({ size: dim.size, pos: dim.pos - k });
  }
  const newAxes: NewAxis[] = [];
  for (const a of plan.newAxes) {
    if (a.pos === undefined) newAxes.push(a);
    else if (a.pos < k) newAxes.push({ name: tag[a.pos]! });
    else newAxes.push({ pos: a.pos - k });
  }
  return { ...plan, region, newAxes, resultRank: plan.resultRank - k };
}

/** Where the prepared advanced indices stand. */
interface PreparedIndices {
  /** Linear index into the flattened indexed axes, shaped like the advanced region. */
  readonly linear: tf.Tensor | undefined;
  /** In-bounds mask of the same shape (undefined when every index is statically in bounds). */
  readonly valid: tf.Tensor | undefined;
  /** Whether some static index is out of bounds (the whole region is then out of bounds). */
  readonly staticOutOfBounds: boolean;
  /** Product of the indexed axes' sizes. */
  readonly flatSize: number;
}

/** An index tensor aligned to the advanced region `[...advNames, ...advPositional]`. */
function alignIndex(index: Layout, plan: Plan): tf.Tensor {
  const present = plan.advNames.filter((n) => Object.hasOwn(index.nameAxis, n));
  const t = transposeIfNeeded(index.data, [
    ...present.map((n) => index.nameAxis[n]!),
    ...index.logical,
  ]);
  const q = plan.advPositional.length;
  const shape = [
    ...plan.advNames.map((n, i) => (Object.hasOwn(index.nameAxis, n) ? plan.advNameSizes[i]! : 1)),
    ...new Array<number>(q - index.logical.length).fill(1),
    ...positionalShapeOf(index),
  ];
  return reshapeIfNeeded(t.dtype === "int32" ? t : tf.cast(t, "int32"), shape);
}

function iotaFor(name: AxisName, plan: Plan): tf.Tensor {
  const i = plan.advNames.indexOf(name);
  const size = plan.advNameSizes[i]!;
  const shape = [
    ...plan.advNames.map((_, j) => (j === i ? size : 1)),
    ...plan.advPositional.map(() => 1),
  ];
  return tf.reshape(tf.range(0, size, 1, "int32"), shape);
}

/** Combines the advanced indices into one linear index, handling negative and out-of-range values. */
function prepareIndices(plan: Plan, bounds: "clip" | "mask" | "none"): PreparedIndices {
  const { x, advanced } = plan;
  let linear: tf.Tensor | undefined;
  let valid: tf.Tensor | undefined;
  let staticOutOfBounds = false;
  let stride = 1;
  for (let j = advanced.length - 1; j >= 0; j--) {
    const { axis, index } = advanced[j]!;
    const size = x.data.shape[axis]!;
    let t: tf.Tensor;
    if (typeof index === "number") {
      const w = wrapStatic(index, size);
      if (!w.inBounds) staticOutOfBounds = true;
      const v = bounds === "clip" ? Math.min(Math.max(w.index, 0), Math.max(size - 1, 0)) : w.index;
      t = tf.scalar(v, "int32");
    } else if ("iota" in index) {
      t = iotaFor(index.iota, plan);
    } else {
      t = alignIndex(index, plan);
      if (bounds !== "none") {
        const sizeT = tf.scalar(size, "int32");
        t = tf.where(tf.less(t, tf.scalar(0, "int32")), tf.add(t, sizeT), t);
        if (bounds === "mask") {
          const ok = tf.logicalAnd(tf.greaterEqual(t, tf.scalar(0, "int32")), tf.less(t, sizeT));
          valid = valid === undefined ? ok : tf.logicalAnd(valid, ok);
        }
        // tf.clipByValue is float-only on wasm; clamp with integer minimum / maximum.
        t = tf.minimum(
          tf.maximum(t, tf.scalar(0, "int32")),
          tf.scalar(Math.max(0, size - 1), "int32"),
        );
      }
    }
    const term = stride === 1 ? t : tf.mul(t, tf.scalar(stride, "int32"));
    linear = linear === undefined ? term : tf.add(linear, term);
    stride *= size;
  }
  if (bounds === "clip") staticOutOfBounds = false;
  return { linear, valid, staticOutOfBounds, flatSize: stride };
}

function applySlices(data: tf.Tensor, sliced: ReadonlyMap<number, readonly number[]>): tf.Tensor {
  let t = data;
  for (const [axis, idx] of sliced) {
    const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1);
    if (contiguous) {
      const begin = t.shape.map((_, d) => (d === axis ? (idx[0] ?? 0) : 0));
      const size = t.shape.map((sz, d) => (d === axis ? idx.length : sz));
      t = tf.slice(t, begin, size);
    } else {
      t = tf.gather(t, tf.tensor1d(idx as number[], "int32"), axis);
    }
  }
  return t;
}

/** The fill value of `mode: "fill"` for a dtype, as JAX. */
function defaultFill(dtype: tf.DataType): number | boolean {
  if (dtype === "int32") return -(2 ** 31);
  if (dtype === "bool") return true;
  return Number.NaN;
}

/** The result layout of a plan, over data laid out as the region followed by the new axes. */
function resultLayout(plan: Plan, data: tf.Tensor): Layout {
  const logical = new Array<number>(plan.resultRank);
  const nameAxis: Record<string, number> = internalRecord();
  plan.region.forEach((dim, i) => {
    if (dim.name !== undefined) nameAxis[dim.name] = i;
    else logical[dim.pos!] = i;
  });
  plan.newAxes.forEach((a, i) => {
    if (a.name !== undefined) nameAxis[a.name] = plan.region.length + i;
    else logical[a.pos] = plan.region.length + i;
  });
  return layoutOf(data, logical, nameAxis);
}

function gatherPlan(plan: Plan, options: GatherOptions): Layout {
  const mode = options.mode ?? "clip";
  const { x } = plan;
  {
    const t = applySlices(x.data, plan.sliced);
    let out: tf.Tensor;
    if (plan.advanced.length === 0) {
      out = transposeIfNeeded(t, plan.rest);
    } else {
      const bounds = mode === "clip" ? "clip" : mode === "fill" ? "mask" : "none";
      const prep = prepareIndices(plan, bounds);
      const advShape = [...plan.advNameSizes, ...plan.advPositional];
      const tail = plan.rest.map((d) => t.shape[d]!);
      const moved = transposeIfNeeded(t, [...plan.advanced.map((e) => e.axis), ...plan.rest]);
      const flat = reshapeIfNeeded(moved, [prep.flatSize, ...tail]);
      const linear = broadcastFast(prep.linear!, advShape);
      out = reshapeIfNeeded(tf.gather(flat, reshapeIfNeeded(linear, [linear.size]), 0), [
        ...advShape,
        ...tail,
      ]);
      if (mode === "fill")
        out = fillOutOfBounds(out, prep, advShape, tail.length, options.fillValue);
    }
    for (let i = 0; i < plan.newAxes.length; i++) out = tf.expandDims(out, out.rank);
    return resultLayout(plan, out);
  }
}

function fillOutOfBounds(
  out: tf.Tensor,
  prep: PreparedIndices,
  advShape: readonly number[],
  tailRank: number,
  fillValue: number | boolean | undefined,
): tf.Tensor {
  const fill = tf.scalar(fillValue ?? defaultFill(out.dtype), out.dtype);
  if (prep.staticOutOfBounds) return tf.broadcastTo(fill, out.shape);
  if (prep.valid === undefined) return out;
  const mask = tf.reshape(broadcastFast(prep.valid, advShape), [
    ...advShape,
    ...new Array<number>(tailRank).fill(1),
  ]);
  return tf.where(tf.broadcastTo(mask, out.shape), out, tf.broadcastTo(fill, out.shape));
}

/** The plan of an indexer (dict indexers rewritten to positional ones), and the dict names to tag. */
function planOf(x: Layout, indexer: ResolvedIndexer, restOrder: "data" | "slicedFirst"): Plan {
  if (indexer.style === "positional") return planPositional(x, indexer.items, restOrder);
  const dict = rewriteDict(x, indexer.items);
  const plan = planPositional(untagPrefixLayout(x, dict.untag), dict.items, restOrder);
  return relabel(plan, dict.tag);
}

/**
 * Gathers `x[indexer]` (penzai's `x[indexer]` / `x.at[indexer].get()`). Run it inside a tidy
 * scope: the intermediate tensors it makes are left to the caller's scope.
 *
 * @throws NamedIndexError for an unknown name, a clashing new name or too many indices.
 */
export function gatherLayout(
  x: Layout,
  indexer: ResolvedIndexer,
  options: GatherOptions = {},
): Layout {
  return gatherPlan(planOf(x, indexer, "data"), options);
}

/** A value given to an update: a layout, a scalar, or (for `apply`) a function. */
export type UpdateValue = Layout | number | boolean | ((values: tf.Tensor) => tf.Tensor);

/**
 * `x` with the names of `value` that `x` lacks (and the index does not introduce) added as
 * broadcast axes, as nmap would vectorize `x` over them.
 */
function broadcastForValue(x: Layout, value: Layout, introduced: ReadonlySet<AxisName>): Layout {
  const extra = value.names.filter((n) => !Object.hasOwn(x.nameAxis, n) && !introduced.has(n));
  if (extra.length === 0) return x;
  const sizes = namedShapeOf(value);
  const shape = [...x.data.shape, ...extra.map((n) => sizes[n]!)];
  const data = broadcastFast(tf.reshape(x.data, [...x.data.shape, ...extra.map(() => 1)]), shape);
  const nameAxis: Record<string, number> = Object.assign(internalRecord(), x.nameAxis);
  extra.forEach((n, i) => {
    nameAxis[n] = x.data.rank + i;
  });
  return layoutOf(data, x.logical, nameAxis);
}

/**
 * Lays `value` out as the update region: one data axis per region dim, broadcast (NumPy rules
 * for positional axes, right-aligned to the result's positional shape; by name for named axes).
 */
function arrangeValue(
  value: Layout,
  plan: Plan,
  newNames: ReadonlySet<AxisName>,
  where: string,
): tf.Tensor {
  const regionShape: number[] = [];
  for (const d of plan.region) regionShape.push(d.size);
  const offset = plan.resultRank - value.logical.length;
  if (offset < 0) throw updateShapeError(value, plan, where);
  const present: number[] = [];
  const targetShape: number[] = [];
  for (const dim of plan.region) {
    const a = valueAxisFor(value, dim, offset);
    if (a === undefined) targetShape.push(1);
    else {
      const s = value.data.shape[a]!;
      if (s !== dim.size && s !== 1) throw updateShapeError(value, plan, where);
      present.push(a);
      targetShape.push(s);
    }
  }
  // Axes of the value that fall on new (size-1) axes of the result must have size 1.
  const dropped: number[] = [];
  for (let d = 0; d < value.data.rank; d++) if (!present.includes(d)) dropped.push(d);
  for (const d of dropped) {
    const p = value.logical.indexOf(d);
    const isNewPos = p >= 0 && plan.newAxes.some((a) => a.pos === p + offset);
    const isNewName = value.names.some((n) => value.nameAxis[n] === d && newNames.has(n));
    if (value.data.shape[d] !== 1 || !(isNewPos || isNewName)) {
      throw updateShapeError(value, plan, where);
    }
  }
  const t =
    dropped.length === 0
      ? transposeIfNeeded(value.data, present)
      : transposeIfNeeded(value.data, [...present, ...dropped]);
  return broadcastFast(reshapeIfNeeded(t, targetShape), regionShape);
}

/** The value's data axis for a region dim (positional axes right-aligned), if it has one. */
function valueAxisFor(value: Layout, dim: RegionDim, offset: number): number | undefined {
  if (dim.name !== undefined) {
    return Object.hasOwn(value.nameAxis, dim.name) ? value.nameAxis[dim.name] : undefined;
  }
  const i = dim.pos! - offset;
  return i >= 0 ? value.logical[i] : undefined;
}

function updateShapeError(value: Layout, plan: Plan, where: string): NamedShapeMismatchError {
  const resultPositional = new Array<number>(plan.resultRank).fill(1);
  for (const d of plan.region) if (d.pos !== undefined) resultPositional[d.pos] = d.size;
  const resultNames = plan.region
    .filter((d) => d.name !== undefined)
    .map((d) => `${d.name}: ${d.size}`)
    .join(", ");
  return new NamedShapeMismatchError(
    `${where}: cannot provide updates with positional shape ${describePositionalShape(positionalShapeOf(value))} ` +
      `and named shape ${describeNamedShape(namedShapeOf(value))} for an index whose result has positional shape ` +
      `${describePositionalShape(resultPositional)} and named shape {${resultNames}}. The update's positional ` +
      "shape must be a suffix of the result's (or broadcast to it), and its named axes must have the result's sizes.",
  );
}

function valueLayout(value: Layout | number | boolean, dtype: tf.DataType): Layout {
  if (typeof value === "object") return value;
  return layoutOf(tf.scalar(value, dtype), [], internalRecord());
}

/**
 * `tf.tensorScatterUpdate` with a gradient (tfjs registers none): the array's gradient is `dy`
 * with the updated rows zeroed, the values' gradient is `dy` gathered at the indices. The
 * indices are handed to the tape (`save`), which keeps them alive after this call's tidy scope.
 */
function scatterSet(flat: tf.Tensor, indices: tf.Tensor, values: tf.Tensor): tf.Tensor {
  if (!isTaping()) return tf.tensorScatterUpdate(flat, indices, values);
  const valueShape = values.shape;
  const withGradient = tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)([indices]);
    return {
      value: tf.tensorScatterUpdate(a as tf.Tensor, indices, b as tf.Tensor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.tensorScatterUpdate(dy, saved[0]!, tf.zeros(valueShape, dy.dtype)),
        tf.gatherND(dy, saved[0]!),
      ],
    };
  });
  return withGradient(flat, values);
}

/** Occurrence rounds of repeated indices: round r holds the positions of each index's r-th use. */
function rounds(linear: Int32Array): number[][] {
  const seen = new Map<number, number>();
  const out: number[][] = [];
  linear.forEach((v, k) => {
    const r = seen.get(v) ?? 0;
    seen.set(v, r + 1);
    if (out[r] === undefined) out[r] = [];
    out[r]!.push(k);
  });
  return out;
}

const COMBINE: Record<
  "mul" | "div" | "power" | "min" | "max",
  (a: tf.Tensor, b: tf.Tensor) => tf.Tensor
> = {
  div: (a, b) => tf.div(toFloat(a), toFloat(b)),
  power: tf.pow,
  mul: tf.mul,
  min: tf.minimum,
  max: tf.maximum,
};

function combineInRounds(
  flat: tf.Tensor,
  linear: tf.Tensor,
  values: tf.Tensor | undefined,
  combine: (old: tf.Tensor, update: tf.Tensor | undefined) => tf.Tensor,
): tf.Tensor {
  let out = flat;
  for (const round of rounds(linear.dataSync() as Int32Array)) {
    const at = tf.tensor1d(round, "int32");
    const positions = tf.gather(linear, at);
    const updated = combine(
      tf.gatherND(out, positions),
      values === undefined ? undefined : tf.gather(values, at),
    );
    out = tf.tensorScatterUpdate(out, positions, castTo(updated, out.dtype));
  }
  return out;
}

/** Keeps the in-bounds updates only (reads the mask back: the kept count decides the shapes). */
function dropOutOfBounds(
  linear: tf.Tensor,
  values: tf.Tensor | undefined,
  valid: tf.Tensor,
): [tf.Tensor, tf.Tensor | undefined] {
  const mask = valid.dataSync();
  if (mask.every((v) => v !== 0)) return [linear, values];
  const keep = tf.tensor1d(
    Array.from(mask).flatMap((v, k) => (v !== 0 ? [k] : [])),
    "int32",
  );
  return [tf.gather(linear, keep), values === undefined ? undefined : tf.gather(values, keep)];
}

/** The flat update indices: a linear index per updated row, and which rows are in bounds. */
interface UpdateIndices {
  /** `[count, 1]`: the row of the flattened array each update goes to. */
  readonly linear: tf.Tensor;
  readonly validity: tf.Tensor | undefined;
  /** Rows of the flattened `[...advanced axes, ...sliced axes]`. */
  readonly stride: number;
}

/**
 * The update indices of an indexer of integers and slices only, computed on the host (no kernel
 * runs for them); `"out of bounds"` when an integer is out of bounds and updates are dropped.
 */
function staticUpdateIndices(
  plan: Plan,
  sliceAxes: readonly number[],
  mode: UpdateMode,
): UpdateIndices | "out of bounds" | undefined {
  if (!plan.advanced.every((e) => typeof e.index === "number")) return undefined;
  const shape = plan.x.data.shape;
  let advanced = 0;
  let stride = 1;
  for (let j = plan.advanced.length - 1; j >= 0; j--) {
    const { axis, index } = plan.advanced[j]!;
    const size = shape[axis]!;
    const w = wrapStatic(index as number, size);
    if (!w.inBounds && mode !== "clip") return "out of bounds";
    advanced += Math.min(Math.max(w.index, 0), size - 1) * stride;
    stride *= size;
  }
  let list = [advanced];
  for (const d of sliceAxes) {
    const size = shape[d]!;
    const kept = plan.sliced.get(d)!;
    list = list.flatMap((l) => kept.map((i) => l * size + i));
    stride *= size;
  }
  return { linear: tf.tensor2d(list, [list.length, 1], "int32"), validity: undefined, stride };
}

/** The update indices when some index is an array: one linear index tensor over the scatter dims. */
function deviceUpdateIndices(
  plan: Plan,
  sliceAxes: readonly number[],
  mode: UpdateMode,
): UpdateIndices | "out of bounds" {
  const prep = prepareIndices(plan, mode === "clip" ? "clip" : mode === "drop" ? "mask" : "none");
  if (prep.staticOutOfBounds) return "out of bounds";
  const shape = plan.x.data.shape;
  const advRank = plan.advNames.length + plan.advPositional.length;
  const scatterRank = advRank + sliceAxes.length;
  const advLinear = prep.linear ?? tf.scalar(0, "int32");
  let linear: tf.Tensor = tf.reshape(advLinear, [
    ...(advLinear.rank === advRank ? advLinear.shape : new Array<number>(advRank).fill(1)),
    ...sliceAxes.map(() => 1),
  ]);
  let stride = prep.flatSize;
  sliceAxes.forEach((d, i) => {
    const kept = plan.sliced.get(d)!;
    const dims = new Array<number>(scatterRank).fill(1);
    dims[advRank + i] = kept.length;
    linear = tf.add(
      tf.mul(linear, tf.scalar(shape[d]!, "int32")),
      tf.tensor(kept as number[], dims, "int32"),
    );
    stride *= shape[d]!;
  });
  const scatterShape = plan.region.slice(0, scatterRank).map((d) => d.size);
  const count = sizeOf(scatterShape);
  linear = tf.reshape(broadcastFast(linear, scatterShape), [count, 1]);
  const validity =
    prep.valid === undefined
      ? undefined
      : tf.reshape(
          broadcastFast(
            tf.reshape(prep.valid, [...prep.valid.shape, ...sliceAxes.map(() => 1)]),
            scatterShape,
          ),
          [count],
        );
  return { linear, validity, stride };
}

/**
 * Applies an indexed update (penzai's `x.at[indexer].set(v)` and friends) and returns the new
 * array's layout; `x` is unchanged. Run it inside a tidy scope (see {@link gatherLayout}).
 *
 * @throws NamedShapeMismatchError when the value does not broadcast to the indexed region.
 */
export function updateLayout(
  x: Layout,
  indexer: ResolvedIndexer,
  op: UpdateOp,
  value: UpdateValue,
  options: UpdateOptions = {},
): Layout {
  const where = `at(...).${op}`;
  const mode = options.mode ?? "drop";
  const introduced = new Set(
    indexer.style === "dict"
      ? indexer.items.filter(([, it]) => it.kind === "new").map(([n]) => n)
      : [],
  );
  {
    const v = typeof value === "function" ? undefined : valueLayout(value, x.data.dtype);
    const base = v === undefined ? x : broadcastForValue(x, v, introduced);
    const plan = planOf(base, indexer, "slicedFirst");
    const { data } = base;
    const sliceAxes = plan.rest.filter((d) => plan.sliced.has(d));
    const tailAxes = plan.rest.filter((d) => !plan.sliced.has(d));
    const indices =
      staticUpdateIndices(plan, sliceAxes, mode) ?? deviceUpdateIndices(plan, sliceAxes, mode);
    if (indices === "out of bounds") return base;
    let { linear } = indices;
    const { validity, stride } = indices;
    const count = linear.shape[0]!;
    const tail = tailAxes.map((d) => data.shape[d]!);
    const order = [...plan.advanced.map((e) => e.axis), ...sliceAxes, ...tailAxes];
    const moved = transposeIfNeeded(data, order);
    const flat = reshapeIfNeeded(moved, [stride, ...tail]);
    let values =
      v === undefined
        ? undefined
        : reshapeIfNeeded(castTo(arrangeValue(v, plan, introduced, where), data.dtype), [
            count,
            ...tail,
          ]);
    if (validity !== undefined) [linear, values] = dropOutOfBounds(linear, values, validity);
    const out = combine(op, flat, linear, values, value);
    const inverse = new Array<number>(data.rank);
    order.forEach((d, i) => {
      inverse[d] = i;
    });
    return layoutOf(
      transposeIfNeeded(reshapeIfNeeded(out, moved.shape), inverse),
      base.logical,
      base.nameAxis,
    );
  }
}

function castTo(t: tf.Tensor, dtype: tf.DataType): tf.Tensor {
  if (t.dtype === dtype) return t;
  return dtype === "bool" ? toBool(t) : tf.cast(t, dtype);
}

function combine(
  op: UpdateOp,
  flat: tf.Tensor,
  linear: tf.Tensor,
  values: tf.Tensor | undefined,
  value: UpdateValue,
): tf.Tensor {
  if (linear.shape[0] === 0) return flat;
  switch (op) {
    case "set":
      return scatterSet(flat, linear, values!);
    case "add": {
      const summed = tf.unsortedSegmentSum(
        values!.dtype === "bool" ? tf.cast(values!, "int32") : values!,
        tf.reshape(linear, [-1]) as tf.Tensor1D,
        flat.shape[0]!,
      );
      return flat.dtype === "bool" ? tf.logicalOr(flat, toBool(summed)) : tf.add(flat, summed);
    }
    case "mul":
    case "div":
    case "power":
    case "min":
    case "max":
      return combineInRounds(flat, linear, values, (old, u) => COMBINE[op](old, u!));
    case "apply": {
      const fn = value as (values: tf.Tensor) => tf.Tensor;
      return combineInRounds(flat, linear, undefined, (old) => fn(old));
    }
  }
}
