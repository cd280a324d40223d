/**
 * `NamedArray` and `NamedArrayView`: tfjs tensors whose axes are either positional or named
 * (penzai's `named_axes`). A `NamedArray` stores positional axes first and named axes last; a
 * `NamedArrayView` may keep its axes in any data order and is what `untag` produces.
 *
 * @module
 */

import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  AxisNameError,
  InvalidNamedArrayError,
  NamedShapeMismatchError,
  PositionalAxesError,
} from "./errors.js";
import { type IndexSpec, indexArray } from "./indexing.js";
import { broadcastFast } from "./lowering.js";
import { astype, binaryOp, type NamedOperand, notOp, reduceOp, unaryOp } from "./ops.js";
import { tidy } from "./tidy.js";

/** A name of a named axis. Integer-like strings ("0", "17") are rejected, as penzai rejects ints. */
export type AxisName = string;

/** Sizes of named axes, in storage order. */
export type NamedShape = Readonly<Record<AxisName, number>>;

/** The data axis of every positional axis and every named axis of a named array. */
export interface Layout {
  /** The tensor holding the values. */
  readonly data: tf.Tensor;
  /** `logical[i]` is the data axis of positional axis `i`. */
  readonly logical: readonly number[];
  /** Axis names in storage order. */
  readonly names: readonly AxisName[];
  /** Data axis of each name. */
  readonly nameAxis: Readonly<Record<AxisName, number>>;
}

const INTEGER_LIKE = /^(?:0|[1-9][0-9]*)$/;

/** Node's hook for `console.log` / `util.inspect` (a symbol key: invisible to `Object.keys`). */
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Prints a name record as the plain object it stands for (`{ batch: 4 }`), not as
 * `[Object: null prototype] { batch: 4 }`. Spreading copies keys such as `__proto__` as data.
 */
const INSPECT_AS_PLAIN_OBJECT: PropertyDescriptor = {
  value: function inspectNameRecord(
    this: object,
    _depth: number,
    options: unknown,
    inspect: (value: unknown, options: unknown) => string,
  ) {
    return inspect({ ...this }, options);
  },
  enumerable: false,
};

/**
 * A record keyed by axis names, without a prototype: names such as `__proto__`, `constructor` or
 * `toString` are ordinary keys in it (a `{}` would turn `rec["__proto__"] = 3` into a prototype
 * change and answer `"toString" in rec` with `true`). Copies the entries of `sources` in order.
 *
 * @param sources records whose own entries are copied in.
 * @returns a fresh prototype-free record.
 * @example
 * nameRecord({ batch: 2 }, { heads: 4 }); // { batch: 2, heads: 4 }, no prototype
 * Object.keys(nameRecord(JSON.parse('{"__proto__": 3}'))); // ["__proto__"]
 */
export function nameRecord<V = number>(
  ...sources: readonly Readonly<Record<string, V>>[]
): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  Object.defineProperty(out, NODE_INSPECT, INSPECT_AS_PLAIN_OBJECT);
  for (const source of sources) {
    for (const key of Object.keys(source)) out[key] = source[key]!;
  }
  return out;
}

/**
 * Throws `AxisNameError` unless `name` is a valid axis name: a string that is not integer-like.
 * Integer-like keys would be reordered by JavaScript objects and confused with positional indices.
 *
 * @param name the candidate axis name.
 * @param where the operation, for the message.
 * @example
 * checkAxisName("embedding", "tag"); // ok
 */
export function checkAxisName(name: unknown, where: string): asserts name is AxisName {
  if (typeof name !== "string") {
    throw new AxisNameError(
      `${where}: axis names must be strings, but got ${String(name)} (${typeof name}). ` +
        "Integers are not allowed as axis names, to avoid confusion with positional axis indices.",
    );
  }
  if (name === "") {
    throw new AxisNameError(
      `${where}: the empty string is not an axis name. Give every axis a non-empty name, like "batch".`,
    );
  }
  if (INTEGER_LIKE.test(name)) {
    throw new AxisNameError(
      `${where}: the axis name "${name}" looks like an integer. Integers are not allowed as axis names, ` +
        'to avoid confusion with positional axis indices; use a word such as "axis' +
        name +
        '".',
    );
  }
}

function formatShape(shape: NamedShape): string {
  return `{${Object.entries(shape)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;
}

/**
 * Renders a named shape for messages.
 *
 * @example
 * describeNamedShape({ batch: 2, seq: 8 }) // "{batch: 2, seq: 8}"
 */
export function describeNamedShape(shape: NamedShape): string {
  return formatShape(shape);
}

function isIdentity(perm: readonly number[]): boolean {
  for (let i = 0; i < perm.length; i++) if (perm[i] !== i) return false;
  return true;
}

/**
 * Transposes `data` by `perm`, or returns it unchanged when `perm` is the identity.
 *
 * @example
 * transposeIfNeeded(t, [0, 1]) === t // true
 */
export function transposeIfNeeded(data: tf.Tensor, perm: readonly number[]): tf.Tensor {
  return isIdentity(perm) ? data : tf.transpose(data, perm as number[]);
}

function checkNoRepeats(names: readonly string[], where: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) {
      throw new AxisNameError(
        `${where}: repeats in the axis names are not allowed, but "${n}" appears more than once in [${names.join(", ")}].`,
      );
    }
    seen.add(n);
  }
}

/**
 * The base of `NamedArray` and `NamedArrayView` (penzai's `NamedArrayBase`): shape accessors,
 * axis (un)tagging, broadcasting, indexing and elementwise methods. Every method runs inside
 * `tf.tidy` and never disposes its inputs.
 */
export abstract class NamedArrayBase extends Struct {
  /** The tensor holding the values. */
  abstract readonly dataArray: tf.Tensor;

  /** Sizes of the named axes, in storage order. */
  abstract get namedShape(): NamedShape;

  /** Sizes of the positional axes. */
  abstract get positionalShape(): readonly number[];

  /** The data axis of every positional and named axis. */
  abstract layout(): Layout;

  /**
   * Checks internal consistency (penzai's `check_valid`).
   *
   * @throws InvalidNamedArrayError when the data shape disagrees with the declared axes.
   */
  abstract checkValid(): void;

  /** The dtype of the data tensor. @example nx.zeros({ a: 1 }).dtype // "float32" */
  get dtype(): tf.DataType {
    return this.dataArray.dtype;
  }

  /** Number of elements. @example nx.zeros({ a: 2, b: 3 }).size // 6 */
  get size(): number {
    return this.dataArray.size;
  }

  /**
   * Returns an equivalent `NamedArray` whose positional axes come first (no copy for a NamedArray).
   *
   * @example
   * nx.wrap(tf.zeros([2, 3])).untag() // NamedArray, positional shape [2, 3]
   */
  withPositionalPrefix(): NamedArray {
    const { data, logical, names, nameAxis } = this.layout();
    if (this instanceof NamedArray) return this;
    const ordered = [...names].sort((a, b) => nameAxis[a]! - nameAxis[b]!);
    const perm = [...logical, ...ordered.map((n) => nameAxis[n]!)];
    const out = tidy(() => transposeIfNeeded(data, perm));
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of ordered) namedAxes[n] = data.shape[nameAxis[n]!]!;
    return new NamedArray({ namedAxes, dataArray: out });
  }

  /**
   * Returns this array as a `NamedArrayView` over the same data (no data movement).
   *
   * @example
   * nx.zeros({ a: 2 }).asNamedArrayView().dataAxisForName // { a: 0 }
   */
  asNamedArrayView(): NamedArrayView {
    if (this instanceof NamedArrayView) return this;
    const { data, logical, nameAxis } = this.layout();
    return new NamedArrayView({
      dataShape: [...data.shape],
      dataAxisForLogicalAxis: [...logical],
      dataAxisForName: nameRecord(nameAxis),
      dataArray: data,
    });
  }

  /**
   * Returns the positional tensor. With no names, the array must have no named axes; with names,
   * it must have no positional axes, and the names give the order of the result's axes.
   * A NamedArray without named axes returns its `dataArray` itself.
   *
   * @throws PositionalAxesError / AxisNameError as penzai's `unwrap`.
   * @example
   * nx.wrap(tf.tensor([[1, 2]]), "a", "b").unwrap("b", "a") // shape [2, 1]
   */
  unwrap(...names: AxisName[]): tf.Tensor {
    if (names.length > 0) {
      if (this.positionalShape.length > 0) {
        throw new PositionalAxesError(
          "Cannot unwrap a NamedArray by providing an axis name ordering if it already has a positional shape " +
            `(positional shape [${this.positionalShape.join(", ")}], names [${names.join(", ")}]). ` +
            "Use untag(...names) to order the named axes, then unwrap() without arguments.",
        );
      }
      const missing = Object.keys(this.namedShape).filter((n) => !names.includes(n));
      if (missing.length > 0) {
        throw new AxisNameError(
          "When calling unwrap with axis names, a position must be given for every axis name. " +
            `Unassigned names: {${missing.join(", ")}}; named shape ${formatShape(this.namedShape)}.`,
        );
      }
      return this.untag(...names).unwrap();
    }
    if (Object.keys(this.namedShape).length > 0) {
      throw new AxisNameError(
        "To unwrap a NamedArray with nonempty named shape, an ordering for its named axes must be provided. " +
          `Named shape: ${formatShape(this.namedShape)}. Call unwrap(${Object.keys(this.namedShape)
            .map((n) => `"${n}"`)
            .join(", ")}) or untag them first.`,
      );
    }
    if (this instanceof NamedArray) return this.dataArray;
    const { data, logical } = this.layout();
    return tidy(() => transposeIfNeeded(data, logical));
  }

  /**
   * Turns named axes into positional axes, in the given order. The array must have no positional
   * axes; with no names it returns `withPositionalPrefix()`.
   *
   * @returns a `NamedArrayView` over the same data.
   * @example
   * nx.zeros({ a: 2, b: 3 }).untag("b").positionalShape // [3]
   */
  untag(...axisOrder: AxisName[]): NamedArrayBase {
    if (this.positionalShape.length > 0) {
      throw new PositionalAxesError(
        "`untag` cannot be used to introduce positional axes for a NamedArray (or NamedArrayView) that already " +
          `has positional axes (positional shape [${this.positionalShape.join(", ")}]). ` +
          "Please assign names to the existing positional axes first using `tag`, or use `untagPrefix`.",
      );
    }
    if (axisOrder.length === 0) return this.withPositionalPrefix();
    return this.untagPrefix(...axisOrder);
  }

  /**
   * Like `untag`, but allowed when positional axes exist: the result's positional axes are
   * `(...names, ...old positional axes)`.
   *
   * @example
   * nx.wrap(tf.zeros([4]), ).tagPrefix("a").untagPrefix("a").positionalShape // [4]
   */
  untagPrefix(...names: AxisName[]): NamedArrayView {
    checkNoRepeats(names, "untag");
    const { data, logical, names: have, nameAxis } = this.layout();
    const missing = names.filter((n) => !Object.hasOwn(nameAxis, n));
    if (missing.length > 0) {
      throw new AxisNameError(
        `Requested axis names {${missing.join(", ")}} are not present in the array, whose named shape is ` +
          `${formatShape(this.namedShape)}.`,
      );
    }
    const dataAxisForName: Record<string, number> = nameRecord();
    for (const n of have) if (!names.includes(n)) dataAxisForName[n] = nameAxis[n]!;
    return new NamedArrayView({
      dataShape: [...data.shape],
      dataAxisForLogicalAxis: [...names.map((n) => nameAxis[n]!), ...logical],
      dataAxisForName,
      dataArray: data,
    });
  }

  /**
   * Names all positional axes (no data movement).
   *
   * @param names exactly one name per positional axis.
   * @returns a `NamedArray` whose named axes are in data order.
   * @throws PositionalAxesError for the wrong count, AxisNameError for invalid or clashing names.
   * @example
   * nx.wrap(tf.zeros([2, 3])).tag("a", "b").namedShape // { a: 2, b: 3 }
   */
  tag(...names: AxisName[]): NamedArray {
    const pos = this.positionalShape;
    if (names.length !== pos.length) {
      throw new PositionalAxesError(
        "There must be exactly as many names given to `tag` as there are positional axes in the array, " +
          `but got [${names.join(", ")}] for positional shape [${pos.join(", ")}]. ` +
          "Use tagPrefix to name only the leading positional axes.",
      );
    }
    const { data } = this.layout();
    const view = this.tagPrefixLayout(names, "tag");
    const order = Object.keys(view.nameAxis).sort((a, b) => view.nameAxis[a]! - view.nameAxis[b]!);
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of order) namedAxes[n] = data.shape[view.nameAxis[n]!]!;
    return new NamedArray({ namedAxes, dataArray: data });
  }

  /**
   * Names the first `names.length` positional axes; the others stay positional.
   *
   * @example
   * nx.wrap(tf.zeros([2, 3])).tagPrefix("a").positionalShape // [3]
   */
  tagPrefix(...names: AxisName[]): NamedArrayBase {
    const pos = this.positionalShape;
    if (names.length > pos.length) {
      throw new PositionalAxesError(
        `tagPrefix got ${names.length} names [${names.join(", ")}] but the array has only ${pos.length} positional ` +
          `axes (positional shape [${pos.join(", ")}]). Pass at most one name per positional axis.`,
      );
    }
    if (names.length === pos.length) return this.tag(...names);
    const view = this.tagPrefixLayout(names, "tagPrefix");
    const order = Object.keys(view.nameAxis).sort((a, b) => view.nameAxis[a]! - view.nameAxis[b]!);
    const dataAxisForName: Record<string, number> = nameRecord();
    for (const n of order) dataAxisForName[n] = view.nameAxis[n]!;
    return new NamedArrayView({
      dataShape: [...view.data.shape],
      dataAxisForLogicalAxis: [...view.logical],
      dataAxisForName,
      dataArray: view.data,
    });
  }

  private tagPrefixLayout(names: AxisName[], where: string): Layout {
    for (const n of names) checkAxisName(n, where);
    const { data, logical, names: have, nameAxis } = this.layout();
    const repeated = names.filter((n, i) => have.includes(n) || names.indexOf(n) !== i);
    if (repeated.length > 0) {
      throw new AxisNameError(
        `Repeated axis names are not allowed; original names were [${have.join(", ")}] and new names passed to ` +
          `${where} were [${names.join(", ")}]; repeated: [${[...new Set(repeated)].join(", ")}]. Choose distinct names.`,
      );
    }
    const newAxis: Record<string, number> = nameRecord(nameAxis);
    names.forEach((n, i) => {
      newAxis[n] = logical[i]!;
    });
    return {
      data,
      logical: logical.slice(names.length),
      names: [...have, ...names],
      nameAxis: newAxis,
    };
  }

  /**
   * Returns a `NamedArray` whose data is transposed to `(...positional, ...names)`.
   *
   * @param names a permutation of all axis names.
   * @example
   * nx.zeros({ a: 2, b: 3 }).orderAs("b", "a").dataArray.shape // [3, 2]
   */
  orderAs(...names: AxisName[]): NamedArray {
    checkNoRepeats(names, "orderAs");
    const { data, logical, names: have, nameAxis } = this.layout();
    const missing = have.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !Object.hasOwn(nameAxis, n));
    if (missing.length > 0 || extra.length > 0) {
      throw new AxisNameError(
        `orderAs needs a permutation of the array's axis names [${have.join(", ")}], but got [${names.join(", ")}]` +
          (missing.length > 0 ? `; missing: [${missing.join(", ")}]` : "") +
          (extra.length > 0 ? `; not present: [${extra.join(", ")}]` : "") +
          ".",
      );
    }
    const perm = [...logical, ...names.map((n) => nameAxis[n]!)];
    if (this instanceof NamedArray && isIdentity(perm)) return this;
    const out = tidy(() => transposeIfNeeded(data, perm));
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of names) namedAxes[n] = data.shape[nameAxis[n]!]!;
    return new NamedArray({ namedAxes, dataArray: out });
  }

  /**
   * Transposes this array so that its tree structure equals `other`'s (same class, same axis
   * order). `other` must have the same axis names and number of positional axes.
   *
   * @example
   * nx.zeros({ a: 2, b: 3 }).orderLike(nx.zeros({ b: 3, a: 2 })).namedShape // { b: 3, a: 2 }
   */
  orderLike(other: NamedArrayBase): NamedArrayBase {
    if (!(other instanceof NamedArrayBase)) {
      throw new TypeError(
        `orderLike requires a NamedArray or NamedArrayView, but got ${Object.prototype.toString.call(other)}.`,
      );
    }
    this.checkValid();
    other.checkValid();
    if (other instanceof NamedArray) return this.orderAs(...Object.keys(other.namedAxes));
    const mine = this.layout();
    const theirs = other.layout();
    if (mine.logical.length !== theirs.logical.length) {
      throw new PositionalAxesError(
        "Calling orderLike with a NamedArrayView requires the two arrays to have the same number of positional " +
          `axes, but got positional shapes [${this.positionalShape.join(", ")}] and [${other.positionalShape.join(", ")}].`,
      );
    }
    const sameNames =
      mine.names.length === theirs.names.length &&
      mine.names.every((n) => theirs.names.includes(n));
    if (!sameNames) {
      throw new AxisNameError(
        "Calling orderLike with a NamedArrayView requires the two arrays to have the same axis names, but got " +
          `${formatShape(this.namedShape)} and ${formatShape(other.namedShape)}.`,
      );
    }
    const perm = new Array<number>(theirs.data.rank);
    theirs.logical.forEach((d, i) => {
      perm[d] = mine.logical[i]!;
    });
    for (const n of theirs.names) perm[theirs.nameAxis[n]!] = mine.nameAxis[n]!;
    const out = tidy(() => transposeIfNeeded(mine.data, perm));
    return new NamedArrayView({
      dataShape: [...out.shape],
      dataAxisForLogicalAxis: [...theirs.logical],
      dataAxisForName: nameRecord((other as NamedArrayView).dataAxisForName),
      dataArray: out,
    });
  }

  /**
   * Broadcasts to a positional shape (NumPy rules: size-1 axes expand, rank may grow) and adds the
   * missing named axes. Existing named axes must already have the requested size; names not in
   * `namedShape` are kept.
   *
   * @example
   * nx.wrap(tf.tensor([1, 2])).broadcastTo([3, 2], { b: 4 }).namedShape // { b: 4 }
   */
  broadcastTo(
    positionalShape: readonly number[] = [],
    namedShape: NamedShape = {},
  ): NamedArrayBase {
    const pos = this.positionalShape;
    const have = this.namedShape;
    const sameNamed =
      Object.keys(namedShape).every((n) => have[n] === namedShape[n]) &&
      Object.keys(have).every((n) => Object.hasOwn(namedShape, n));
    if (
      sameNamed &&
      pos.length === positionalShape.length &&
      pos.every((s, i) => s === positionalShape[i])
    ) {
      return this;
    }
    for (const [n, s] of Object.entries(namedShape)) {
      checkAxisName(n, "broadcastTo");
      if (Object.hasOwn(have, n) && have[n] !== s) {
        throw new NamedShapeMismatchError(
          `broadcastTo cannot change the size of named axis "${n}" from ${have[n]} to ${s}: named axes are matched ` +
            `by name and are not broadcast (array named shape ${formatShape(have)}, requested ${formatShape(namedShape)}).`,
        );
      }
    }
    const ok =
      positionalShape.length >= pos.length &&
      pos.every((s, i) => {
        const t = positionalShape[positionalShape.length - pos.length + i]!;
        return s === t || s === 1;
      });
    if (!ok) {
      throw new NamedShapeMismatchError(
        `broadcastTo cannot broadcast positional shape [${pos.join(", ")}] to [${positionalShape.join(", ")}]: ` +
          "positional axes follow NumPy rules (right-aligned, size-1 axes expand, rank may only grow).",
      );
    }
    const base = this.withPositionalPrefix();
    const names = Object.keys(base.namedAxes);
    const added = Object.keys(namedShape).filter((n) => !Object.hasOwn(have, n));
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of names) namedAxes[n] = have[n]!;
    for (const n of added) namedAxes[n] = namedShape[n]!;
    const out = tidy(() => {
      const padded = [
        ...new Array(positionalShape.length - pos.length).fill(1),
        ...pos,
        ...names.map((n) => have[n]!),
        ...added.map(() => 1),
      ];
      const target = [...positionalShape, ...Object.values(namedAxes)];
      return broadcastFast(tf.reshape(base.dataArray, padded), target);
    });
    return new NamedArray({ namedAxes, dataArray: out });
  }

  /**
   * Broadcasts to the shape of `other`: its positional and named shape for a named array, its
   * shape for a plain tensor.
   *
   * @example
   * nx.wrap(tf.scalar(1)).broadcastLike(nx.zeros({ a: 2 })).namedShape // { a: 2 }
   */
  broadcastLike(other: NamedArrayBase | tf.Tensor): NamedArrayBase {
    if (other instanceof NamedArrayBase)
      return this.broadcastTo(other.positionalShape, other.namedShape);
    return this.broadcastTo(other.shape);
  }

  /**
   * Indexes named axes by name (`{ name: int | slice(...) | number[] | null }`) or positional axes
   * by position (`[int | slice(...) | number[] | null, ...]`), with NumPy / penzai semantics:
   * integers remove the axis, slices keep it, integer arrays introduce positional axes at the
   * front, `null` introduces a size-1 axis. Negative integers count from the end; out-of-range
   * integers are clamped, as in JAX.
   *
   * @example
   * nx.arange("a", 0, 5).index({ a: slice(1, 4) }).namedShape // { a: 3 }
   */
  index(indexer: IndexSpec): NamedArrayBase {
    return indexArray(this, indexer);
  }

  /** Elementwise `this + other` with name-union broadcasting. @example a.add(1) */
  add(other: NamedOperand): NamedArrayBase {
    return binaryOp("add", this, other);
  }
  /** Elementwise `this - other`. @example a.sub(b) */
  sub(other: NamedOperand): NamedArrayBase {
    return binaryOp("sub", this, other);
  }
  /** Elementwise `this * other`. @example a.mul(2) */
  mul(other: NamedOperand): NamedArrayBase {
    return binaryOp("mul", this, other);
  }
  /** Elementwise true division `this / other` (integers give float32). @example a.div(2) */
  div(other: NamedOperand): NamedArrayBase {
    return binaryOp("div", this, other);
  }
  /** Elementwise `this ** other`. @example a.pow(2) */
  pow(other: NamedOperand): NamedArrayBase {
    return binaryOp("pow", this, other);
  }
  /** Elementwise `max(this, other)`. @example a.maximum(0) */
  maximum(other: NamedOperand): NamedArrayBase {
    return binaryOp("maximum", this, other);
  }
  /** Elementwise `min(this, other)`. @example a.minimum(0) */
  minimum(other: NamedOperand): NamedArrayBase {
    return binaryOp("minimum", this, other);
  }
  /** Elementwise `-this`. @example a.neg() */
  neg(): NamedArrayBase {
    return unaryOp("neg", this);
  }
  /** Elementwise absolute value. @example a.abs() */
  abs(): NamedArrayBase {
    return unaryOp("abs", this);
  }
  /** Elementwise `exp`. @example a.exp() */
  exp(): NamedArrayBase {
    return unaryOp("exp", this);
  }
  /** Elementwise natural logarithm. @example a.log() */
  log(): NamedArrayBase {
    return unaryOp("log", this);
  }
  /** Elementwise square root. @example a.sqrt() */
  sqrt(): NamedArrayBase {
    return unaryOp("sqrt", this);
  }
  /** Elementwise `this == other` (a bool NamedArray). @example a.eq(0) */
  eq(other: NamedOperand): NamedArrayBase {
    return binaryOp("equal", this, other);
  }
  /** Elementwise `this != other`. @example a.ne(0) */
  ne(other: NamedOperand): NamedArrayBase {
    return binaryOp("notEqual", this, other);
  }
  /** Elementwise `this < other`. @example a.lt(0) */
  lt(other: NamedOperand): NamedArrayBase {
    return binaryOp("less", this, other);
  }
  /** Elementwise `this <= other`. @example a.le(0) */
  le(other: NamedOperand): NamedArrayBase {
    return binaryOp("lessEqual", this, other);
  }
  /** Elementwise `this > other`. @example a.gt(0) */
  gt(other: NamedOperand): NamedArrayBase {
    return binaryOp("greater", this, other);
  }
  /** Elementwise `this >= other`. @example a.ge(0) */
  ge(other: NamedOperand): NamedArrayBase {
    return binaryOp("greaterEqual", this, other);
  }
  /** Elementwise logical and (operands are cast to bool). @example m.and(n) */
  and(other: NamedOperand): NamedArrayBase {
    return binaryOp("logicalAnd", this, other);
  }
  /** Elementwise logical or. @example m.or(n) */
  or(other: NamedOperand): NamedArrayBase {
    return binaryOp("logicalOr", this, other);
  }
  /** Elementwise logical not. @example m.not() */
  not(): NamedArrayBase {
    return notOp(this);
  }
  /**
   * Sum over positional axes (numbers, negative allowed) and/or named axes (strings). With no
   * argument, sums all positional axes (a fully named array is returned unchanged, as in penzai).
   *
   * @example
   * nx.zeros({ a: 2, b: 3 }).sum("a").namedShape // { b: 3 }
   */
  sum(axes?: number | AxisName | readonly (number | AxisName)[]): NamedArrayBase {
    return reduceOp("sum", this, axes);
  }
  /** Mean over axes (see `sum`); integer inputs give float32. @example a.mean("seq") */
  mean(axes?: number | AxisName | readonly (number | AxisName)[]): NamedArrayBase {
    return reduceOp("mean", this, axes);
  }
  /** Maximum over axes (see `sum`). @example a.max("seq") */
  max(axes?: number | AxisName | readonly (number | AxisName)[]): NamedArrayBase {
    return reduceOp("max", this, axes);
  }
  /** Minimum over axes (see `sum`). @example a.min("seq") */
  min(axes?: number | AxisName | readonly (number | AxisName)[]): NamedArrayBase {
    return reduceOp("min", this, axes);
  }
  /** Casts to `dtype` (same axes). @example a.astype("int32") */
  astype(dtype: tf.DataType): NamedArrayBase {
    return astype(this, dtype);
  }
}

/**
 * A tensor with positional axes first and named axes last (penzai's `NamedArray`):
 * `dataArray.shape == [...positionalShape, ...Object.values(namedAxes)]`.
 *
 * @example
 * const x = new NamedArray({ namedAxes: { seq: 4 }, dataArray: tf.zeros([2, 4]) });
 * x.positionalShape; // [2]
 */
export class NamedArray extends NamedArrayBase.define(
  {
    namedAxes: field<NamedShape>({ static: true }),
    dataArray: field<tf.Tensor>(),
  },
  { name: "NamedArray" },
) {
  /**
   * Wraps a tensor (or nested number array) as a NamedArray with only positional axes, then tags
   * it with `names` if any are given.
   *
   * @example
   * NamedArray.wrap(tf.zeros([2, 3]), "a", "b").namedShape // { a: 2, b: 3 }
   */
  static wrap(array: tf.Tensor | tf.TensorLike, ...names: AxisName[]): NamedArray {
    const data = array instanceof tf.Tensor ? array : tf.tensor(array as tf.TensorLike);
    const wrapped = new NamedArray({ namedAxes: {}, dataArray: data });
    return names.length > 0 ? wrapped.tag(...names) : wrapped;
  }

  /** Sizes of the named axes: `namedAxes` itself. @example nx.zeros({ a: 2 }).namedShape // { a: 2 } */
  get namedShape(): NamedShape {
    return this.namedAxes;
  }

  /** The leading data axes not covered by `namedAxes` (checks validity first). @example nx.wrap(tf.zeros([2])).positionalShape // [2] */
  get positionalShape(): readonly number[] {
    this.checkValid();
    const count = this.dataArray.rank - Object.keys(this.namedAxes).length;
    return this.dataArray.shape.slice(0, count);
  }

  /** Positional axes at `0..P-1`, names at `P..` in `namedAxes` order. @example nx.zeros({ a: 2 }).layout().nameAxis // { a: 0 } */
  layout(): Layout {
    const names = Object.keys(this.namedAxes);
    const rank = this.dataArray.rank;
    const p = rank - names.length;
    const nameAxis: Record<string, number> = nameRecord();
    names.forEach((n, i) => {
      nameAxis[n] = p + i;
    });
    return {
      data: this.dataArray,
      logical: Array.from({ length: p }, (_, i) => i),
      names,
      nameAxis,
    };
  }

  /** Checks the data is a tensor and `namedAxes` sizes are a suffix of its shape. @example nx.zeros({ a: 2 }).checkValid() */
  checkValid(): void {
    const data = this.dataArray as unknown;
    if (!(data instanceof tf.Tensor)) {
      throw new InvalidNamedArrayError(
        `NamedArray.dataArray must contain a tf.Tensor, but got ${Object.prototype.toString.call(data)}. ` +
          "Build named arrays with nx.wrap(tensor, ...names).",
      );
    }
    const axes = this.namedAxes as unknown;
    if (axes === null || typeof axes !== "object" || Array.isArray(axes)) {
      throw new InvalidNamedArrayError(
        "NamedArray.namedAxes must be an ordered record of named axis sizes, like { batch: 2, seq: 8 }.",
      );
    }
    for (const [n, s] of Object.entries(this.namedAxes)) {
      checkAxisName(n, "NamedArray");
      if (!Number.isInteger(s) || s < 0) {
        throw new InvalidNamedArrayError(
          `NamedArray.namedAxes must be an ordered record of named axis sizes, but axis "${n}" has size ${String(s)}.`,
        );
      }
    }
    const sizes = Object.values(this.namedAxes);
    const shape = this.dataArray.shape;
    const suffix = shape.slice(shape.length - sizes.length);
    if (sizes.length > shape.length || sizes.some((s, i) => s !== suffix[i])) {
      throw new InvalidNamedArrayError(
        `The axis sizes in namedAxes must exactly match a suffix of the data array's shape, but [${sizes.join(", ")}] ` +
          `was not a suffix of [${shape.join(", ")}] (namedAxes ${formatShape(this.namedAxes)}).`,
      );
    }
  }
}

/**
 * A named array whose positional axes may live at any data axis (penzai's `NamedArrayView`);
 * produced by `untag`. `positionalShape[i] = dataShape[dataAxisForLogicalAxis[i]]` and
 * `namedShape[n] = dataShape[dataAxisForName[n]]`.
 *
 * @example
 * nx.zeros({ a: 2, b: 3 }).untag("b").dataAxisForLogicalAxis // [1]
 */
export class NamedArrayView extends NamedArrayBase.define(
  {
    dataShape: field<readonly number[]>({ static: true }),
    dataAxisForLogicalAxis: field<readonly number[]>({ static: true }),
    dataAxisForName: field<Readonly<Record<AxisName, number>>>({ static: true }),
    dataArray: field<tf.Tensor>(),
  },
  { name: "NamedArrayView" },
) {
  /** Sizes of the named axes, in `dataAxisForName` order. @example nx.zeros({ a: 2, b: 3 }).untag("a").namedShape // { b: 3 } */
  get namedShape(): NamedShape {
    const out: Record<string, number> = nameRecord();
    for (const [n, d] of Object.entries(this.dataAxisForName)) out[n] = this.dataShape[d]!;
    return out;
  }

  /** Sizes of the positional axes, read through `dataAxisForLogicalAxis`. @example nx.zeros({ a: 2 }).untag("a").positionalShape // [2] */
  get positionalShape(): readonly number[] {
    return this.dataAxisForLogicalAxis.map((d) => this.dataShape[d]!);
  }

  /** The view's static fields as a {@link Layout}. @example view.layout().logical */
  layout(): Layout {
    return {
      data: this.dataArray,
      logical: this.dataAxisForLogicalAxis,
      names: Object.keys(this.dataAxisForName),
      nameAxis: this.dataAxisForName,
    };
  }

  /** Checks `dataShape` matches the data and every data axis is used exactly once. @example view.checkValid() */
  checkValid(): void {
    const data = this.dataArray as unknown;
    if (!(data instanceof tf.Tensor)) {
      throw new InvalidNamedArrayError(
        `NamedArrayView.dataArray must contain a tf.Tensor, but got ${Object.prototype.toString.call(data)}.`,
      );
    }
    const shape = this.dataArray.shape;
    if (shape.length !== this.dataShape.length || shape.some((s, i) => s !== this.dataShape[i])) {
      throw new InvalidNamedArrayError(
        `Expected dataArray to have shape [${this.dataShape.join(", ")}], but it has shape [${shape.join(", ")}]. ` +
          "Modifying the shape of the data array of a NamedArrayView directly is not allowed; use " +
          "withPositionalPrefix() to get a NamedArray, or build a new view.",
      );
    }
    for (const n of Object.keys(this.dataAxisForName)) checkAxisName(n, "NamedArrayView");
    const used = [...this.dataAxisForLogicalAxis, ...Object.values(this.dataAxisForName)].sort(
      (a, b) => a - b,
    );
    if (used.length !== shape.length || used.some((d, i) => d !== i)) {
      throw new InvalidNamedArrayError(
        "Every axis index into dataShape must appear exactly once in either dataAxisForLogicalAxis or " +
          `dataAxisForName, but got dataAxisForLogicalAxis [${this.dataAxisForLogicalAxis.join(", ")}] and ` +
          `dataAxisForName ${formatShape(this.dataAxisForName)} for data shape [${shape.join(", ")}].`,
      );
    }
  }
}

/**
 * Whether `value` is a `NamedArray` or `NamedArrayView` (penzai's `is_namedarray`).
 *
 * @example
 * isNamedArray(nx.zeros({ a: 1 })); // true
 */
export function isNamedArray(value: unknown): value is NamedArrayBase {
  return value instanceof NamedArrayBase;
}

/**
 * Builds the simplest named array for a data layout: a `NamedArray` when the positional axes are
 * a prefix of the data axes, otherwise a `NamedArrayView`.
 *
 * @param data the tensor.
 * @param logical data axis of each positional axis.
 * @param nameAxis data axis of each name.
 * @example
 * fromLayout(tf.zeros([2, 3]), [0], { a: 1 }) // NamedArray, positional [2], named { a: 3 }
 */
export function fromLayout(
  data: tf.Tensor,
  logical: readonly number[],
  nameAxis: Readonly<Record<AxisName, number>>,
): NamedArrayBase {
  if (isIdentity(logical)) {
    const order = Object.keys(nameAxis).sort((a, b) => nameAxis[a]! - nameAxis[b]!);
    const namedAxes: Record<string, number> = nameRecord();
    for (const n of order) namedAxes[n] = data.shape[nameAxis[n]!]!;
    return new NamedArray({ namedAxes, dataArray: data });
  }
  return new NamedArrayView({
    dataShape: [...data.shape],
    dataAxisForLogicalAxis: [...logical],
    dataAxisForName: nameRecord(nameAxis),
    dataArray: data,
  });
}

/**
 * Wraps a tensor (or nested number array) as a NamedArray, optionally tagging its axes.
 *
 * @param array the data; its axes become positional axes.
 * @param names if given, one name per axis.
 * @example
 * nx.wrap(tf.zeros([2, 3]), "batch", "features").namedShape // { batch: 2, features: 3 }
 */
export function wrap(array: tf.Tensor | tf.TensorLike, ...names: AxisName[]): NamedArray {
  return NamedArray.wrap(array, ...names);
}
