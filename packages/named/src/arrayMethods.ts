/**
 * Kernels of penzai's wrapped array methods (`cumsum`, `sort`, `reshape`, `diagonal`, `dot`, ...):
 * each acts on the positional axes of a layout and is vectorized over its named axes, as penzai's
 * `nmap(jnp.ndarray.method)`. Positional `axis` arguments count positional axes only.
 *
 * Most kernels move the named axes to the front of the data (`[...names, ...positional]`) and run
 * one tfjs op on the trailing positional axes; per-axis ops (`cumsum`, `argmax`) address the data
 * axis directly and move nothing.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { NamedDtypeError, NamedIndexError, PositionalAxesError } from "./errors.js";
import {
  describePositionalShape,
  internalRecord,
  type Layout,
  layoutOf,
  positionalShapeOf,
  sizeOf,
  transposeIfNeeded,
} from "./layout.js";
import { reshapeIfNeeded, toBool, toFloat, toNumeric, unionOfLayouts } from "./layoutOps.js";
import { broadcastFast } from "./lowering.js";
import { tidy, tidyLayout } from "./tidy.js";

/** Resolves a positional axis argument (negative counts from the end) against `rank` axes. */
export function positionalAxis(axis: number, rank: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new PositionalAxesError(
      `${where}: axis ${axis} is out of range for ${rank} positional ax${rank === 1 ? "is" : "es"}. ` +
        "Axis arguments of array methods count positional axes only; index named axes by name " +
        "(or untag them first).",
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Runs `fn` on the data with the named axes first (`[...names, ...positional]`); `fn` gets the
 * number of leading named axes and must keep them and return the new positional axes after them.
 */
export function mapPositional(x: Layout, fn: (t: tf.Tensor, batch: number) => tf.Tensor): Layout {
  const names = [...x.names];
  return tidyLayout(() => {
    const t = transposeIfNeeded(x.data, [...names.map((n) => x.nameAxis[n]!), ...x.logical]);
    const out = fn(t, names.length);
    return namesFirstLayout(out, names);
  });
}

/** The layout of `data` whose leading axes are `names`, in order, and the rest positional. */
function namesFirstLayout(data: tf.Tensor, names: readonly string[]): Layout {
  const nameAxis: Record<string, number> = internalRecord();
  names.forEach((n, i) => {
    nameAxis[n] = i;
  });
  return layoutOf(
    data,
    Array.from({ length: data.rank - names.length }, (_, i) => names.length + i),
    nameAxis,
  );
}

/**
 * Runs `fn` on several layouts aligned by name: each tensor is `[...union names (size, or 1 where
 * the operand lacks the name), ...its own positional axes]`. The result's leading named axes are
 * broadcast to their full sizes.
 */
export function mapPositionalMany(
  layouts: readonly Layout[],
  where: string,
  fn: (tensors: tf.Tensor[], batch: number) => tf.Tensor,
): Layout {
  const sizes = unionOfLayouts(layouts, where);
  const names = Object.keys(sizes);
  return tidyLayout(() => {
    const tensors = layouts.map((l) => {
      const present = names.filter((n) => Object.hasOwn(l.nameAxis, n));
      const t = transposeIfNeeded(l.data, [...present.map((n) => l.nameAxis[n]!), ...l.logical]);
      return reshapeIfNeeded(t, [
        ...names.map((n) => (Object.hasOwn(l.nameAxis, n) ? sizes[n]! : 1)),
        ...positionalShapeOf(l),
      ]);
    });
    let out = fn(tensors, names.length);
    out = broadcastFast(out, [...names.map((n) => sizes[n]!), ...out.shape.slice(names.length)]);
    return namesFirstLayout(out, names);
  });
}

/** Flattens the positional axes into one (penzai's `ravel` / `flatten`). */
export function ravelLayout(x: Layout): Layout {
  return reshapeLayout(x, [-1]);
}

/** Reshapes the positional axes (NumPy rules, one `-1` allowed). */
export function reshapeLayout(x: Layout, shape: readonly number[]): Layout {
  const positional = positionalShapeOf(x);
  const total = sizeOf(positional);
  const known = sizeOf(shape.filter((s) => s !== -1));
  const unknown = shape.filter((s) => s === -1).length;
  const bad =
    shape.some((s) => !Number.isInteger(s) || s < -1) ||
    unknown > 1 ||
    (unknown === 0 ? known !== total : known === 0 || total % known !== 0);
  if (bad) {
    throw new PositionalAxesError(
      `reshape: cannot reshape positional shape ${describePositionalShape(positional)} (${total} elements per ` +
        `named position) into ${describePositionalShape(shape)}. The sizes must multiply to the same count; ` +
        "at most one may be -1.",
    );
  }
  return mapPositional(x, (t, b) => tf.reshape(t, [...t.shape.slice(0, b), ...shape]));
}

/** Removes size-1 positional axes (all of them, or the listed ones, which must have size 1). */
export function squeezeLayout(x: Layout, axes?: number | readonly number[]): Layout {
  const positional = positionalShapeOf(x);
  const list =
    axes === undefined
      ? positional.flatMap((s, i) => (s === 1 ? [i] : []))
      : (typeof axes === "number" ? [axes] : axes).map((a) =>
          positionalAxis(a, positional.length, "squeeze"),
        );
  for (const a of list) {
    if (positional[a] !== 1) {
      throw new PositionalAxesError(
        `squeeze: positional axis ${a} has size ${positional[a]}, not 1 (positional shape ${describePositionalShape(positional)}).`,
      );
    }
  }
  const keep = x.logical.filter((_, i) => !list.includes(i));
  return reshapeLayout(
    x,
    keep.map((d) => x.data.shape[d]!),
  );
}

/** Permutes the positional axes (default: reverses them), moving no data. */
export function transposeLayout(x: Layout, axes?: readonly number[]): Layout {
  const P = x.logical.length;
  const order = axes ?? Array.from({ length: P }, (_, i) => P - 1 - i);
  const resolved = order.map((a) => positionalAxis(a, P, "transpose"));
  if (resolved.length !== P || new Set(resolved).size !== P) {
    throw new PositionalAxesError(
      `transpose: axes [${order.join(", ")}] must be a permutation of the ${P} positional axes.`,
    );
  }
  return layoutOf(
    x.data,
    resolved.map((a) => x.logical[a]!),
    x.nameAxis,
  );
}

/** Swaps two positional axes (no data movement). */
export function swapaxesLayout(x: Layout, axis1: number, axis2: number): Layout {
  const P = x.logical.length;
  const a = positionalAxis(axis1, P, "swapaxes");
  const b = positionalAxis(axis2, P, "swapaxes");
  const order = Array.from({ length: P }, (_, i) => (i === a ? b : i === b ? a : i));
  return transposeLayout(x, order);
}

/** Cumulative sum or product along a positional axis (all positional axes flattened when omitted). */
export function cumulativeLayout(x: Layout, kind: "cumsum" | "cumprod", axis?: number): Layout {
  const base = axis === undefined ? ravelLayout(x) : x;
  const d = base.logical[positionalAxis(axis ?? 0, base.logical.length, kind)]!;
  return tidyLayout(() => {
    const t = toNumeric(base.data);
    return layoutOf(
      kind === "cumsum" ? tf.cumsum(t, d) : tf.cumprod(t, d),
      base.logical,
      base.nameAxis,
    );
  });
}

/** Index of the maximum (or minimum) along a positional axis, or over the flattened positional axes. */
export function argExtremumLayout(x: Layout, kind: "argmax" | "argmin", axis?: number): Layout {
  if (axis === undefined && x.logical.length === 0) {
    return tidyLayout(() => layoutOf(tf.zeros(x.data.shape, "int32"), [], x.nameAxis));
  }
  const base = axis === undefined ? ravelLayout(x) : x;
  const p = positionalAxis(axis ?? 0, base.logical.length, kind);
  const d = base.logical[p]!;
  return tidyLayout(() => {
    const t = toNumeric(base.data);
    const out = kind === "argmax" ? tf.argMax(t, d) : tf.argMin(t, d);
    const shift = (a: number) => (a > d ? a - 1 : a);
    const nameAxis: Record<string, number> = internalRecord();
    for (const n of base.names) nameAxis[n] = shift(base.nameAxis[n]!);
    return layoutOf(out, base.logical.filter((a) => a !== d).map(shift), nameAxis);
  });
}

/**
 * Sorts along a positional axis (ascending, stable), returning the values or the indices
 * (`argsort`). `axis` null sorts the flattened positional axes.
 */
export function sortLayout(x: Layout, axis: number | null, kind: "sort" | "argsort"): Layout {
  const base = axis === null ? ravelLayout(x) : x;
  const P = base.logical.length;
  if (P === 0) {
    throw new PositionalAxesError(
      `${kind} needs a positional axis, but the array has none. Untag the named axis to sort along first.`,
    );
  }
  const a = positionalAxis(axis ?? -1, P, kind);
  return mapPositional(base, (t, b) => {
    const last = t.rank - 1;
    const axisInData = b + a;
    const perm = Array.from({ length: t.rank }, (_, i) => i);
    perm[axisInData] = last;
    perm[last] = axisInData;
    const moved = transposeIfNeeded(t, perm);
    const numeric = moved.dtype === "bool" ? tf.cast(moved, "int32") : moved;
    // tf.topk sorts descending and keeps ties in index order; on the negated values that is an
    // ascending, stable sort.
    const { values, indices } = tf.topk(tf.neg(numeric), moved.shape[last]!);
    const sorted = kind === "argsort" ? indices : tf.cast(tf.neg(values), moved.dtype);
    return transposeIfNeeded(sorted, perm);
  });
}

/** The diagonal of two positional axes, appended as the last positional axis (NumPy's `diagonal`). */
export function diagonalLayout(x: Layout, offset = 0, axis1 = 0, axis2 = 1): Layout {
  const P = x.logical.length;
  const a = positionalAxis(axis1, P, "diagonal");
  const c = positionalAxis(axis2, P, "diagonal");
  if (a === c) {
    throw new PositionalAxesError(`diagonal: axis1 and axis2 must differ, but both are ${a}.`);
  }
  if (!Number.isInteger(offset))
    throw new NamedIndexError(`diagonal: offset ${offset} is not an integer.`);
  return mapPositional(x, (t, b) => {
    const others = Array.from({ length: P }, (_, i) => i).filter((i) => i !== a && i !== c);
    const perm = [
      ...Array.from({ length: b }, (_, i) => i),
      ...others.map((i) => b + i),
      b + a,
      b + c,
    ];
    const moved = transposeIfNeeded(t, perm);
    const n = moved.shape[moved.rank - 2]!;
    const m = moved.shape[moved.rank - 1]!;
    const length = Math.max(0, offset >= 0 ? Math.min(n, m - offset) : Math.min(n + offset, m));
    const flatIndex = Array.from({ length }, (_, i) =>
      offset >= 0 ? i * m + i + offset : (i - offset) * m + i,
    );
    const flat = tf.reshape(moved, [...moved.shape.slice(0, -2), n * m]);
    return tf.gather(flat, tf.tensor1d(flatIndex, "int32"), flat.rank - 1);
  });
}

/** Repeats elements along a positional axis (flattened positional axes when omitted). */
export function repeatLayout(
  x: Layout,
  repeats: number | readonly number[],
  axis?: number,
): Layout {
  const base = axis === undefined ? ravelLayout(x) : x;
  const p = positionalAxis(axis ?? 0, base.logical.length, "repeat");
  const n = positionalShapeOf(base)[p]!;
  const counts = typeof repeats === "number" ? new Array<number>(n).fill(repeats) : [...repeats];
  if (counts.length !== n || counts.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new NamedIndexError(
      `repeat: repeats must be a non-negative integer or one per element of the axis (${n}), but got ${JSON.stringify(repeats)}.`,
    );
  }
  const index = counts.flatMap((r, i) => new Array<number>(r).fill(i));
  return tidyLayout(() =>
    layoutOf(
      tf.gather(base.data, tf.tensor1d(index, "int32"), base.logical[p]!),
      base.logical,
      base.nameAxis,
    ),
  );
}

/** `side` of {@link searchsortedLayout}: the first (`"left"`) or last (`"right"`) suitable index. */
export type SearchSide = "left" | "right";

/** Insertion indices of `values` into the sorted 1-D positional array `x` (NumPy's `searchsorted`). */
export function searchsortedLayout(x: Layout, values: Layout, side: SearchSide): Layout {
  if (x.logical.length !== 1) {
    throw new PositionalAxesError(
      `searchsorted: the sorted array must have exactly one positional axis, but has positional shape ` +
        `${describePositionalShape(positionalShapeOf(x))}.`,
    );
  }
  const vRank = values.logical.length;
  return mapPositionalMany([x, values], "searchsorted", ([a, v], b) => {
    const n = a!.shape[a!.rank - 1]!;
    const sorted = tf.reshape(a!, [
      ...a!.shape.slice(0, b),
      ...new Array<number>(vRank).fill(1),
      n,
    ]);
    const probe = tf.expandDims(v!, v!.rank);
    const [s, q] = [toNumeric(sorted), toNumeric(probe)];
    const before = side === "left" ? tf.less(s, q) : tf.lessEqual(s, q);
    return tf.sum(tf.cast(before, "int32"), -1);
  });
}

/** NumPy's `dot` over the positional axes, vectorized over the names of both operands. */
export function dotPositionalLayout(x: Layout, other: Layout): Layout {
  const ra = x.logical.length;
  const rb = other.logical.length;
  return mapPositionalMany([x, other], "dot", ([a, b], k) => {
    const intResult = a!.dtype !== "float32" && b!.dtype !== "float32";
    const af = toFloat(a!);
    const bf = toFloat(b!);
    let out: tf.Tensor;
    if (ra === 0 || rb === 0) {
      const bb = rb === 0 ? tf.reshape(bf, [...bf.shape, ...new Array<number>(ra).fill(1)]) : bf;
      const aa = ra === 0 ? tf.reshape(af, [...af.shape, ...new Array<number>(rb).fill(1)]) : af;
      out = tf.mul(aa, bb);
    } else {
      const ap = af.shape.slice(k);
      const bp = bf.shape.slice(k);
      const n = ap[ra - 1]!;
      const contractB = rb === 1 ? 0 : rb - 2;
      if (bp[contractB] !== n) {
        throw new PositionalAxesError(
          `dot: shapes ${describePositionalShape(ap)} and ${describePositionalShape(bp)} are not aligned: ` +
            `${n} (last axis of the first) != ${bp[contractB]} (axis ${contractB} of the second).`,
        );
      }
      const bRest = bp.filter((_, i) => i !== contractB);
      const A = tf.reshape(af, [...af.shape.slice(0, k), sizeOf(ap.slice(0, -1)), n]);
      const perm = [
        ...Array.from({ length: k }, (_, i) => i),
        k + contractB,
        ...bp.flatMap((_, i) => (i === contractB ? [] : [k + i])),
      ];
      const B = tf.reshape(transposeIfNeeded(bf, perm), [
        ...bf.shape.slice(0, k),
        n,
        sizeOf(bRest),
      ]);
      const batch = tf.broadcast_util.assertAndGetBroadcastShape(
        A.shape.slice(0, k),
        B.shape.slice(0, k),
      );
      const product = tf.matMul(
        broadcastFast(A, [...batch, ...A.shape.slice(k)]),
        broadcastFast(B, [...batch, ...B.shape.slice(k)]),
      );
      out = tf.reshape(product, [...batch, ...ap.slice(0, -1), ...bRest]);
    }
    return intResult ? tf.cast(tf.round(out), "int32") : out;
  });
}

/**
 * The coordinates of the nonzero elements, one int32 array per positional axis (NumPy's
 * `nonzero`). Reads the data back: the count decides the result's shape.
 */
export function nonzeroLayouts(x: Layout): Layout[] {
  if (x.names.length > 0) {
    throw new PositionalAxesError(
      `nonzero: the number of nonzero elements differs between named positions, so nonzero needs an array ` +
        `without named axes (this one has [${x.names.join(", ")}]). Untag them first, or use where / a mask.`,
    );
  }
  const shape = positionalShapeOf(x);
  const values = tidy(() => transposeIfNeeded(toBool(x.data), x.logical).dataSync());
  const coords: number[][] = shape.map(() => []);
  values.forEach((v, flat) => {
    if (!v) return;
    let rest = flat;
    for (let i = shape.length - 1; i >= 0; i--) {
      coords[i]!.push(rest % shape[i]!);
      rest = Math.floor(rest / shape[i]!);
    }
  });
  return coords.map((c) => layoutOf(tf.tensor1d(c, "int32"), [0], internalRecord()));
}

/** Reads the positions of `true` entries of a 1-D condition (for `compress`). */
export function truePositions(condition: tf.Tensor | readonly boolean[], where: string): number[] {
  const list = Array.isArray(condition)
    ? (condition as readonly boolean[])
    : (() => {
        const t = condition as tf.Tensor;
        if (t.rank !== 1) {
          throw new NamedIndexError(
            `${where}: the condition must be 1-D, but has shape ${describePositionalShape(t.shape)}.`,
          );
        }
        return Array.from(t.dataSync(), (v) => v !== 0);
      })();
  return list.flatMap((v, i) => (v ? [i] : []));
}

/** The single element of a size-1 array, as a JavaScript value (NumPy's `item`). */
export function itemOf(x: Layout): number | boolean {
  if (x.data.size !== 1) {
    throw new PositionalAxesError(
      `item: can only convert an array of size 1 to a JavaScript value, but this one has ${x.data.size} elements ` +
        `(data shape ${describePositionalShape(x.data.shape)}).`,
    );
  }
  if (x.data.dtype === "complex64" || x.data.dtype === "string") {
    throw new NamedDtypeError(
      `item: dtype ${x.data.dtype} has no JavaScript scalar; use real() / imag() first.`,
    );
  }
  const v = x.data.dataSync()[0] as number;
  return x.data.dtype === "bool" ? v !== 0 : v;
}
