/**
 * `nmap`: penzai's name-vectorizing map. The wrapped function sees only positional axes; named
 * axes are matched by name across arguments and every output carries the union of names.
 *
 * tfjs has no `vmap`, so there are two lowerings: the general one calls the function once per
 * slice of the named axes and stacks the results (correct for any function); the vectorized one
 * (`{ vectorized: true }`) calls it once on tensors with the named axes as leading batch axes,
 * which is correct for functions that broadcast over leading axes (elementwise ops, reductions
 * and softmax over negative axes, batched matMul, ...).
 *
 * @module
 */

import { checkOptions, flattenWithPath, keystr, unflatten } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { stack as stackAlong } from "./creation.js";
import { NamedShapeMismatchError } from "./errors.js";
import { broadcastFast } from "./lowering.js";
import {
  type Layout,
  NamedArray,
  NamedArrayBase,
  NamedArrayView,
  nameRecord,
  transposeIfNeeded,
} from "./namedArray.js";
import { isInt32, unionNamedShape } from "./ops.js";
import { tidy } from "./tidy.js";

/** Options of {@link nmap}. */
export interface NmapOptions {
  /**
   * Call the function once with named axes as leading batch axes instead of once per slice.
   * Only correct when the function broadcasts over leading axes and addresses positional axes
   * with negative indices. Defaults to `false`.
   */
  vectorized?: boolean;
}

/** What an nmapped function returns: tensors in the result become named arrays. */
export type NmapResult<R> = R extends tf.Tensor
  ? NamedArrayBase
  : R extends readonly tf.Tensor[]
    ? NamedArrayBase[]
    : R extends number | boolean
      ? NamedArrayBase
      : unknown;

const isNamedLeaf = (value: unknown) => value instanceof NamedArrayBase;

function funName(fn: Function): string {
  return fn.name || "anonymous";
}

function toTensor(value: unknown, where: string): tf.Tensor {
  if (value instanceof tf.Tensor) return value;
  if (typeof value === "number") return tf.scalar(value, isInt32(value) ? "int32" : "float32");
  if (typeof value === "boolean") return tf.scalar(value, "bool");
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return tf.tensor(value as tf.TensorLike);
  throw new NamedShapeMismatchError(
    `${where}: every output leaf must be a tensor or a number, but got ${Object.prototype.toString.call(value)}. ` +
      "Return tensors (or trees of tensors) from the mapped function.",
  );
}

function wrapOutput(data: tf.Tensor, names: readonly string[]): NamedArrayBase {
  const k = names.length;
  if (data.rank === k) {
    const namedAxes: Record<string, number> = nameRecord();
    names.forEach((n, i) => {
      namedAxes[n] = data.shape[i]!;
    });
    return new NamedArray({ namedAxes, dataArray: data });
  }
  const dataAxisForName: Record<string, number> = nameRecord();
  names.forEach((n, i) => {
    dataAxisForName[n] = i;
  });
  return new NamedArrayView({
    dataShape: [...data.shape],
    dataAxisForLogicalAxis: Array.from({ length: data.rank - k }, (_, i) => k + i),
    dataAxisForName,
    dataArray: data,
  });
}

/** Moves the named axes of `l` to the front in `names` order, size 1 where a name is absent. */
function batchFirst(
  l: Layout,
  names: readonly string[],
  sizes: Record<string, number>,
  padTo: number,
): tf.Tensor {
  const present = names.filter((n) => Object.hasOwn(l.nameAxis, n));
  const t = transposeIfNeeded(l.data, [...present.map((n) => l.nameAxis[n]!), ...l.logical]);
  const shape = [
    ...names.map((n) => (n in l.nameAxis ? sizes[n]! : 1)),
    ...new Array<number>(Math.max(0, padTo - l.logical.length)).fill(1),
    ...l.logical.map((d) => l.data.shape[d]!),
  ];
  return shape.length === t.rank && shape.every((s, i) => s === t.shape[i])
    ? t
    : tf.reshape(t, shape);
}

/**
 * Name-vectorizes `fn` (penzai's `nmap`). Arguments may be trees; their NamedArray leaves are
 * replaced by positional tensors, other leaves (numbers, strings, plain tensors) are passed
 * unchanged. Named axes must agree in size across arguments; an axis missing from an argument is
 * broadcast. Each output leaf becomes a NamedArray (no positional axes) or a NamedArrayView whose
 * named axes, in order of first appearance, precede the positional ones in the data.
 *
 * @param fn a function of positional tensors.
 * @param options `{ vectorized: true }` for functions that broadcast over leading axes.
 * @returns the name-vectorized function.
 * @throws NamedShapeMismatchError when a name has two sizes (the message lists every argument's
 *   named shape).
 * @example
 * const rowSums = nmap((x: tf.Tensor) => tf.sum(x));
 * rowSums(nx.wrap(tf.ones([2, 3]), "rows", "cols").untag("cols")) // named { rows: 2 }, values 3
 */
export function nmap<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: NmapOptions = {},
): (...args: unknown[]) => NmapResult<R> {
  const where = `nmap(${funName(fn)})`;
  checkOptions("nmap", options, ["vectorized"]);
  return (...args: unknown[]) => {
    const [withPaths, def] = flattenWithPath(args, isNamedLeaf);
    const leaves = withPaths.map(([, v]) => v);
    const labels = withPaths.map(([p]) => `args${keystr(p)}`);
    const sizes = unionNamedShape(leaves, where, labels);
    const names = Object.keys(sizes);
    const layouts = leaves.map((v) => (v instanceof NamedArrayBase ? v.layout() : undefined));
    return tidy(() => {
      if (names.length === 0) {
        const plain = leaves.map((v, i) =>
          layouts[i] === undefined ? v : (v as NamedArrayBase).unwrap(),
        );
        return wrapTree(fn(...(unflatten(def, plain) as A)), [], where);
      }
      if (options.vectorized === true) {
        const padTo = Math.max(0, ...layouts.map((l) => (l === undefined ? 0 : l.logical.length)));
        const prepared = leaves.map((v, i) => {
          const l = layouts[i];
          return l === undefined ? v : batchFirst(l, names, sizes, padTo);
        });
        const result = fn(...(unflatten(def, prepared) as A));
        const [outLeaves, outDef] = flattenWithPath(result);
        const full = names.map((n) => sizes[n]!);
        const wrapped = outLeaves.map(([, leaf]) => {
          let t = toTensor(leaf, where);
          if (t.rank < names.length)
            t = tf.reshape(t, [...new Array(names.length - t.rank).fill(1), ...t.shape]);
          const target = [...full, ...t.shape.slice(names.length)];
          t = broadcastFast(t, target);
          return wrapOutput(t, names);
        });
        return unflatten(outDef, wrapped);
      }
      return perSlice(fn, leaves, layouts, def, names, sizes, where);
    }) as NmapResult<R>;
  };
}

function wrapTree(result: unknown, names: readonly string[], where: string): unknown {
  const [outLeaves, outDef] = flattenWithPath(result);
  return unflatten(
    outDef,
    outLeaves.map(([, leaf]) => wrapOutput(toTensor(leaf, where), names)),
  );
}

function perSlice(
  fn: (...args: any[]) => unknown,
  leaves: unknown[],
  layouts: (Layout | undefined)[],
  def: Parameters<typeof unflatten>[0],
  names: readonly string[],
  sizes: Record<string, number>,
  where: string,
): unknown {
  const k = names.length;
  const full = names.map((n) => sizes[n]!);
  const count = full.reduce((a, b) => a * b, 1);
  const prepared = layouts.map((l) =>
    l === undefined ? undefined : batchFirst(l, names, sizes, 0),
  );
  const collected: tf.Tensor[][] = [];
  let outDef: Parameters<typeof unflatten>[0] | undefined;
  let outShapes: number[][] = [];
  const index = new Array<number>(k).fill(0);
  for (let flat = 0; flat < count; flat++) {
    let rem = flat;
    for (let j = k - 1; j >= 0; j--) {
      index[j] = rem % full[j]!;
      rem = Math.floor(rem / full[j]!);
    }
    const sliceArgs = leaves.map((v, i) => {
      const t = prepared[i];
      if (t === undefined) return v;
      const begin = [
        ...index.map((x, j) => (t.shape[j] === 1 ? 0 : x)),
        ...new Array(t.rank - k).fill(0),
      ];
      const size = [...new Array(k).fill(1), ...t.shape.slice(k)];
      return tf.reshape(tf.slice(t, begin, size), t.shape.slice(k));
    });
    const [outLeaves, def2] = flattenWithPath(fn(...(unflatten(def, sliceArgs) as unknown[])));
    const tensors = outLeaves.map(([, leaf]) => toTensor(leaf, where));
    if (outDef === undefined) {
      outDef = def2;
      outShapes = tensors.map((t) => [...t.shape]);
      for (let j = 0; j < tensors.length; j++) collected.push([]);
    } else if (
      !outDef.equals(def2) ||
      tensors.some((t, j) => t.shape.join(",") !== outShapes[j]!.join(","))
    ) {
      throw new NamedShapeMismatchError(
        `${where}: the mapped function returned outputs of different structure or shape for different slices ` +
          `of the named axes [${names.join(", ")}]. An nmapped function must return the same shapes for every slice.`,
      );
    }
    for (let j = 0; j < tensors.length; j++) collected[j]!.push(tensors[j]!);
  }
  if (outDef === undefined) {
    throw new NamedShapeMismatchError(
      `${where}: a named axis has size 0 (sizes [${full.join(", ")}] for [${names.join(", ")}]), so the per-slice ` +
        "path never calls the function and cannot know the output shapes. Use nmap(fn, { vectorized: true }).",
    );
  }
  const outputs = collected.map((list, j) => {
    const stacked = tf.stack(list);
    return wrapOutput(tf.reshape(stacked, [...full, ...outShapes[j]!]), names);
  });
  return unflatten(outDef, outputs);
}

/**
 * Applies `orderLike` to every named-array leaf of `value`, using the leaf at the same position
 * in `reference` (penzai's module-level `order_like`); other leaves are kept.
 *
 * @example
 * nx.orderLike({ a: nx.zeros({ x: 2, y: 3 }) }, { a: nx.zeros({ y: 3, x: 2 }) }).a.namedShape // { y: 3, x: 2 }
 */
export function orderLike<T>(value: T, reference: unknown): T {
  const [valueLeaves, def] = flattenWithPath(value, isNamedLeaf);
  const [refLeaves] = flattenWithPath(reference, isNamedLeaf);
  if (refLeaves.length !== valueLeaves.length) {
    throw new NamedShapeMismatchError(
      `orderLike: the value tree has ${valueLeaves.length} leaves but the reference tree has ${refLeaves.length}; ` +
        "both trees must have the same structure.",
    );
  }
  return unflatten(
    def,
    valueLeaves.map(([, v], i) => {
      const r = refLeaves[i]![1];
      return v instanceof NamedArrayBase && r instanceof NamedArrayBase ? v.orderLike(r) : v;
    }),
  );
}

/**
 * Scans `f(carry, x) => [carry, y]` over the named axis `axis` of every leaf of `xs` (penzai's
 * `nx.scan`): `f` sees slices without `axis`; each new carry is reordered like the previous one;
 * the `y` outputs are stacked along `axis` (named-array outputs get `axis` as a new named axis,
 * tensors and numbers are wrapped first).
 *
 * @returns `[finalCarry, stackedOutputs]`.
 * @throws NamedShapeMismatchError if a leaf of `xs` is not a named array or lacks `axis`.
 * @example
 * const [sum, prefix] = nx.scan((c, x) => [c.add(x), c.add(x)], "t", nx.zeros({}), nx.arange("t", 0, 4));
 */
export function scan<C, Y>(
  f: (carry: C, x: any) => readonly [C, Y],
  axis: string,
  init: C,
  xs: unknown,
): [C, unknown] {
  const [leaves, def] = flattenWithPath(xs, isNamedLeaf);
  if (leaves.some(([, v]) => !(v instanceof NamedArrayBase))) {
    throw new NamedShapeMismatchError(
      "nx.scan: All leaves of `xs` must be named arrays; wrap tensors with nx.wrap(tensor, ...names) first.",
    );
  }
  if (leaves.length === 0) {
    throw new NamedShapeMismatchError(
      `nx.scan: xs holds no named array, so there is no axis "${axis}" to scan over. Pass the ` +
        `sequence as named arrays with that axis, like nx.scan(f, "${axis}", init, { x }) with x of named shape { ${axis}: n, ... }.`,
    );
  }
  const sizes = new Set(
    leaves.map(([path, v]) => {
      const size = (v as NamedArrayBase).namedShape[axis];
      if (size === undefined) {
        throw new NamedShapeMismatchError(
          `nx.scan: xs${keystr(path)} has no axis "${axis}" (named shape ${JSON.stringify((v as NamedArrayBase).namedShape)}).`,
        );
      }
      return size;
    }),
  );
  if (sizes.size !== 1) {
    throw new NamedShapeMismatchError(
      `nx.scan: the leaves of xs disagree on the size of "${axis}": [${[...sizes].join(", ")}].`,
    );
  }
  const length = [...sizes][0]!;
  let carry = init;
  const outputs: unknown[][] = [];
  let outDef: Parameters<typeof unflatten>[0] | undefined;
  for (let i = 0; i < length; i++) {
    const x = unflatten(
      def,
      leaves.map(([, v]) => (v as NamedArrayBase).index({ [axis]: i })),
    );
    const [next, y] = f(carry, x);
    carry = orderLike(next, carry);
    const [yLeaves, yDef] = flattenWithPath(y, isNamedLeaf);
    outDef ??= yDef;
    yLeaves.forEach(([, leaf], j) => {
      if (outputs[j] === undefined) outputs[j] = [];
      outputs[j]!.push(leaf);
    });
  }
  if (outDef === undefined) return [carry, []];
  const stacked = outputs.map((list) => {
    const named = list.map((leaf) =>
      leaf instanceof NamedArrayBase
        ? leaf
        : NamedArray.wrap(leaf instanceof tf.Tensor ? leaf : tf.scalar(leaf as number)),
    );
    return stackAlong(named, axis);
  });
  return [carry, unflatten(outDef, stacked)];
}
