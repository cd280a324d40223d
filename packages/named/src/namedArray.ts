/**
 * `NamedArray` and `NamedArrayView`: tfjs tensors whose axes are either positional or named
 * (penzai's `named_axes`). A `NamedArray` stores positional axes first and named axes last; a
 * `NamedArrayView` may keep its axes in any data order and is what `untag` produces.
 *
 * @module
 */

import { checkOptions, field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  argExtremumLayout,
  cumulativeLayout,
  diagonalLayout,
  dotPositionalLayout,
  itemOf,
  nonzeroLayouts,
  positionalAxis,
  ravelLayout,
  repeatLayout,
  reshapeLayout,
  type SearchSide,
  searchsortedLayout,
  sortLayout,
  squeezeLayout,
  swapaxesLayout,
  transposeLayout,
  truePositions,
} from "./arrayMethods.js";
import {
  AxisNameError,
  InvalidNamedArrayError,
  NamedIndexError,
  NamedShapeMismatchError,
  PositionalAxesError,
} from "./errors.js";
import {
  type GatherMode,
  type GatherOptions,
  gatherLayout,
  type IndexItem,
  type ResolvedIndexer,
  Slice,
  slice,
  type UpdateOp,
  type UpdateOptions,
  updateLayout,
} from "./indexing.js";
import {
  type AxisName,
  checkAxisName,
  checkNoRepeats,
  describeNamedShape,
  internalRecord,
  isIdentity,
  type Layout,
  type NamedShape,
  nameRecord,
  positionalLayout,
  transposeIfNeeded,
} from "./layout.js";
import {
  astypeLayout,
  type BinaryOpName,
  binaryLayout,
  type ReductionAxes,
  type ReductionName,
  reduceLayout,
  type UnaryOpName,
  unaryLayout,
  whereLayout,
} from "./layoutOps.js";
import { broadcastFast } from "./lowering.js";
import { tidy } from "./tidy.js";

export {
  type AxisName,
  checkAxisName,
  describeNamedShape,
  type Layout,
  type NamedShape,
  nameRecord,
  transposeIfNeeded,
} from "./layout.js";

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
    if (this instanceof NamedArray) return this;
    const { data, logical, names, nameAxis } = this.layout();
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
            `Unassigned names: {${missing.join(", ")}}; named shape ${describeNamedShape(this.namedShape)}.`,
        );
      }
      return this.untag(...names).unwrap();
    }
    if (Object.keys(this.namedShape).length > 0) {
      throw new AxisNameError(
        "To unwrap a NamedArray with nonempty named shape, an ordering for its named axes must be provided. " +
          `Named shape: ${describeNamedShape(this.namedShape)}. Call unwrap(${Object.keys(
            this.namedShape,
          )
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
          `${describeNamedShape(this.namedShape)}.`,
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
          `${describeNamedShape(this.namedShape)} and ${describeNamedShape(other.namedShape)}.`,
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
            `by name and are not broadcast (array named shape ${describeNamedShape(have)}, requested ${describeNamedShape(namedShape)}).`,
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
   * Indexes the array, as penzai's `x[indexer]`. A dict indexer `{ name: entry }` addresses named
   * axes; an array `[entry, ...]` (or a single entry) addresses positional axes with NumPy
   * semantics, vectorized over the named axes. Entries: an integer (removes the axis), a
   * `slice(...)` (keeps it), `null` (a new size-1 axis), or an integer index array — nested
   * numbers, an int32 tensor, or an int32 named array whose named axes are vectorized over and
   * added to the result. Index arrays' positional axes become positional axes of the result: in
   * a dict indexer, before the remaining positional axes; in a positional indexer, where NumPy
   * puts advanced-index axes. Negative integers count from the end; out-of-range indices are
   * clamped, as in JAX (use `at(indexer).get({ mode: "fill" })` to fill instead).
   *
   * @example
   * nx.arange("a", 0, 5).index({ a: slice(1, 4) }).namedShape // { a: 3 }
   * table.index({ vocab: ids }) // ids: {batch} → named shape {batch, ...table's other names}
   */
  index(indexer: IndexSpec): NamedArrayBase {
    const layout = this.layout();
    this.checkValid();
    return keepLayout(() => gatherLayout(layout, resolveIndexer(indexer, "index")));
  }

  /**
   * Indexed reads and functional updates, as penzai's `x.at[indexer]`: `.get(options)`, `.set(v)`,
   * `.add(v)`, `.mul(v)`, `.min(v)`, `.max(v)` and `.apply(fn)` each return a new array; `this`
   * is unchanged. The indexer is as for {@link index}.
   *
   * @example
   * nx.zeros({ row: 3 }).at({ row: 1 }).set(5) // row: [0, 5, 0]
   */
  at(indexer: IndexSpec): IndexUpdateRef {
    return new IndexUpdateRef(this, indexer);
  }

  /**
   * Iteration over the first positional axis (penzai's `__iter__`): `for (const row of arr)`
   * yields `arr.index([i])`. An array without positional axes is not iterable — this property is
   * `undefined` there, so spreading it throws JavaScript's "not iterable" TypeError (penzai raises
   * a ValueError) while generic code that probes for iterability, such as test frameworks' deep
   * equality, sees a plain object instead of an error.
   *
   * @example
   * [...nx.wrap(tf.tensor([[1, 2], [3, 4]]))].map((row) => row.unwrap().arraySync()) // [[1, 2], [3, 4]]
   */
  get [Symbol.iterator](): () => Iterator<NamedArrayBase> {
    const rows = this.positionalShape[0];
    if (rows === undefined) return undefined as unknown as () => Iterator<NamedArrayBase>;
    const array = this;
    return function* iterateRows() {
      for (let i = 0; i < rows; i++) yield array.index([i]);
    };
  }

  /**
   * The same array with its named axes in sorted order and positional axes first (penzai's
   * `canonicalize`): two arrays with the same values and axes canonicalize to equal trees.
   *
   * @example
   * nx.zeros({ b: 2, a: 3 }).canonicalize().namedShape // { a: 3, b: 2 }
   */
  canonicalize(): NamedArray {
    return this.orderAs(...Object.keys(this.namedShape).sort());
  }

  /**
   * The single element as a JavaScript number (or boolean), as NumPy's `item()`.
   *
   * @throws PositionalAxesError unless the array has exactly one element.
   * @example
   * nx.wrap(tf.scalar(3)).item() // 3
   */
  item(): number | boolean {
    return itemOf(this.layout());
  }

  // Elementwise operators (penzai's Python operators), with name-union broadcasting.

  /** Elementwise `this + other` with name-union broadcasting. @example a.add(1) */
  add(other: NamedOperand): NamedArrayBase {
    return this.binary("add", other);
  }
  /** Elementwise `this - other`. @example a.sub(b) */
  sub(other: NamedOperand): NamedArrayBase {
    return this.binary("sub", other);
  }
  /** Elementwise `this * other`. @example a.mul(2) */
  mul(other: NamedOperand): NamedArrayBase {
    return this.binary("mul", other);
  }
  /** Elementwise true division `this / other` (integers give float32). @example a.div(2) */
  div(other: NamedOperand): NamedArrayBase {
    return this.binary("div", other);
  }
  /** Elementwise floor division `this // other` (int32 stays int32). @example a.floorDiv(2) */
  floorDiv(other: NamedOperand): NamedArrayBase {
    return this.binary("floorDiv", other);
  }
  /** Elementwise remainder with the sign of the divisor (Python's `%`). @example a.mod(3) */
  mod(other: NamedOperand): NamedArrayBase {
    return this.binary("mod", other);
  }
  /** `[this // other, this % other]` (Python's `divmod`). @example const [q, r] = a.divmod(3) */
  divmod(other: NamedOperand): [NamedArrayBase, NamedArrayBase] {
    return [this.floorDiv(other), this.mod(other)];
  }
  /** Elementwise `this ** other`. @example a.pow(2) */
  pow(other: NamedOperand): NamedArrayBase {
    return this.binary("pow", other);
  }
  /** Elementwise `max(this, other)`. @example a.maximum(0) */
  maximum(other: NamedOperand): NamedArrayBase {
    return this.binary("maximum", other);
  }
  /** Elementwise `min(this, other)`. @example a.minimum(0) */
  minimum(other: NamedOperand): NamedArrayBase {
    return this.binary("minimum", other);
  }
  /**
   * Elementwise `this & other`: logical and on bools, bitwise and on int32 (a bool meeting an
   * int32 counts as 0 / 1). Floats are rejected, as in penzai.
   *
   * @throws NamedDtypeError for float operands.
   * @example m.and(n)
   */
  and(other: NamedOperand): NamedArrayBase {
    return this.binary("bitwiseAnd", other);
  }
  /** Elementwise `this | other` (logical on bools, bitwise on int32). @example m.or(n) */
  or(other: NamedOperand): NamedArrayBase {
    return this.binary("bitwiseOr", other);
  }
  /** Elementwise `this ^ other` (logical on bools, bitwise on int32). @example m.xor(n) */
  xor(other: NamedOperand): NamedArrayBase {
    return this.binary("bitwiseXor", other);
  }
  /** Elementwise `this << other` on int32. @example a.lshift(1) */
  lshift(other: NamedOperand): NamedArrayBase {
    return this.binary("leftShift", other);
  }
  /** Elementwise arithmetic `this >> other` on int32. @example a.rshift(1) */
  rshift(other: NamedOperand): NamedArrayBase {
    return this.binary("rightShift", other);
  }
  /** `other + this` (Python's `__radd__`). @example a.radd(1) */
  radd(other: NamedOperand): NamedArrayBase {
    return this.reversed("add", other);
  }
  /** `other - this`. @example a.rsub(1) // 1 - a */
  rsub(other: NamedOperand): NamedArrayBase {
    return this.reversed("sub", other);
  }
  /** `other * this`. @example a.rmul(2) */
  rmul(other: NamedOperand): NamedArrayBase {
    return this.reversed("mul", other);
  }
  /** `other / this`. @example a.rdiv(1) // 1 / a */
  rdiv(other: NamedOperand): NamedArrayBase {
    return this.reversed("div", other);
  }
  /** `other // this`. @example a.rfloorDiv(7) */
  rfloorDiv(other: NamedOperand): NamedArrayBase {
    return this.reversed("floorDiv", other);
  }
  /** `other % this`. @example a.rmod(7) */
  rmod(other: NamedOperand): NamedArrayBase {
    return this.reversed("mod", other);
  }
  /** `[other // this, other % this]`. @example a.rdivmod(7) */
  rdivmod(other: NamedOperand): [NamedArrayBase, NamedArrayBase] {
    return [this.rfloorDiv(other), this.rmod(other)];
  }
  /** `other ** this`. @example a.rpow(2) // 2 ** a */
  rpow(other: NamedOperand): NamedArrayBase {
    return this.reversed("pow", other);
  }
  /** `other & this`. @example m.rand(true) */
  rand(other: NamedOperand): NamedArrayBase {
    return this.reversed("bitwiseAnd", other);
  }
  /** `other | this`. @example m.ror(false) */
  ror(other: NamedOperand): NamedArrayBase {
    return this.reversed("bitwiseOr", other);
  }
  /** `other ^ this`. @example m.rxor(true) */
  rxor(other: NamedOperand): NamedArrayBase {
    return this.reversed("bitwiseXor", other);
  }
  /** `other << this`. @example a.rlshift(1) // 1 << a */
  rlshift(other: NamedOperand): NamedArrayBase {
    return this.reversed("leftShift", other);
  }
  /** `other >> this`. @example a.rrshift(256) */
  rrshift(other: NamedOperand): NamedArrayBase {
    return this.reversed("rightShift", other);
  }
  /** Elementwise `this == other` (a bool NamedArray). @example a.eq(0) */
  eq(other: NamedOperand): NamedArrayBase {
    return this.binary("equal", other);
  }
  /** Elementwise `this != other`. @example a.ne(0) */
  ne(other: NamedOperand): NamedArrayBase {
    return this.binary("notEqual", other);
  }
  /** Elementwise `this < other`. @example a.lt(0) */
  lt(other: NamedOperand): NamedArrayBase {
    return this.binary("less", other);
  }
  /** Elementwise `this <= other`. @example a.le(0) */
  le(other: NamedOperand): NamedArrayBase {
    return this.binary("lessEqual", other);
  }
  /** Elementwise `this > other`. @example a.gt(0) */
  gt(other: NamedOperand): NamedArrayBase {
    return this.binary("greater", other);
  }
  /** Elementwise `this >= other`. @example a.ge(0) */
  ge(other: NamedOperand): NamedArrayBase {
    return this.binary("greaterEqual", other);
  }
  /** Elementwise `-this`. @example a.neg() */
  neg(): NamedArrayBase {
    return this.unary("neg");
  }
  /** `+this`: the array itself (Python's unary plus). @example a.pos() === a // true */
  pos(): NamedArrayBase {
    return this;
  }
  /** Elementwise absolute value. @example a.abs() */
  abs(): NamedArrayBase {
    return this.unary("abs");
  }
  /** Elementwise `~this`: logical not on bools, `-x - 1` on int32. @example m.invert() */
  invert(): NamedArrayBase {
    return this.unary("invert");
  }
  /** Elementwise logical not (any dtype; nonzero is true). @example m.not() */
  not(): NamedArrayBase {
    return this.unary("not");
  }
  /** Elementwise `exp`. @example a.exp() */
  exp(): NamedArrayBase {
    return this.unary("exp");
  }
  /** Elementwise natural logarithm. @example a.log() */
  log(): NamedArrayBase {
    return this.unary("log");
  }
  /** Elementwise square root. @example a.sqrt() */
  sqrt(): NamedArrayBase {
    return this.unary("sqrt");
  }

  // Reductions over positional axes (numbers) and/or named axes (strings). With no argument they
  // reduce every positional axis; with none to reduce, each applies to the scalars (penzai).

  /**
   * Sum over positional axes (numbers, negative allowed) and/or named axes (strings). With no
   * argument, sums all positional axes (a fully named array is returned unchanged, as in penzai).
   *
   * @example
   * nx.zeros({ a: 2, b: 3 }).sum("a").namedShape // { b: 3 }
   */
  sum(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("sum", axes);
  }
  /** Product over axes (see `sum`). @example a.prod() */
  prod(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("prod", axes);
  }
  /** Mean over axes (see `sum`); integer inputs give float32. @example a.mean("seq") */
  mean(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("mean", axes);
  }
  /** Maximum over axes (see `sum`). @example a.max("seq") */
  max(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("max", axes);
  }
  /** Minimum over axes (see `sum`). @example a.min("seq") */
  min(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("min", axes);
  }
  /** Range `max - min` over axes (NumPy's `ptp`). @example a.ptp() */
  ptp(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("ptp", axes);
  }
  /** Whether every element is true (nonzero) over axes. @example m.all() */
  all(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("all", axes);
  }
  /** Whether some element is true (nonzero) over axes. @example m.any() */
  any(axes?: ReductionAxes): NamedArrayBase {
    return this.reduce("any", axes);
  }
  /**
   * Variance over axes; `ddof` as NumPy (divisor `count - ddof`, default 0).
   *
   * @example a.var(undefined, { ddof: 1 })
   */
  var(axes?: ReductionAxes, options: VarianceOptions = {}): NamedArrayBase {
    checkOptions("var", options, ["ddof"]);
    return this.reduce("var", axes, options.ddof);
  }
  /** Standard deviation over axes (see `var`). @example a.std() */
  std(axes?: ReductionAxes, options: VarianceOptions = {}): NamedArrayBase {
    checkOptions("std", options, ["ddof"]);
    return this.reduce("std", axes, options.ddof);
  }
  /** Index of the maximum along a positional axis (over all positional axes, flattened, when omitted). @example a.argmax(0) */
  argmax(axis?: number): NamedArrayBase {
    return this.viaLayout((l) => argExtremumLayout(l, "argmax", axis));
  }
  /** Index of the minimum (see `argmax`). @example a.argmin(0) */
  argmin(axis?: number): NamedArrayBase {
    return this.viaLayout((l) => argExtremumLayout(l, "argmin", axis));
  }

  // Array methods over positional axes (penzai's wrapped jax.Array methods).

  /** Casts to `dtype` (same axes). @example a.astype("int32") */
  astype(dtype: tf.DataType): NamedArrayBase {
    const layout = this.layout();
    const out = astypeLayout(layout, dtype);
    return out === layout ? this : fromLayoutValue(out);
  }
  /** Limits values to `[min, max]`; either bound may be omitted (`null`) and may be a named array. @example a.clip(0, 1) */
  clip(min: NamedOperand | null = null, max: NamedOperand | null = null): NamedArrayBase {
    return tidy(() => {
      let out: NamedArrayBase = this;
      if (min !== null) out = out.maximum(min);
      if (max !== null) out = out.minimum(max);
      return out;
    });
  }
  /** Rounds half to even (NumPy's `round`), to `decimals` places. @example a.round(2) */
  round(decimals = 0): NamedArrayBase {
    if (decimals === 0) return this.unary("round");
    const scale = 10 ** decimals;
    return tidy(() => this.mul(scale).unary("round").div(scale));
  }
  /** Cumulative sum along a positional axis (flattened positional axes when omitted). @example a.cumsum(0) */
  cumsum(axis?: number): NamedArrayBase {
    return this.viaLayout((l) => cumulativeLayout(l, "cumsum", axis));
  }
  /** Cumulative product (see `cumsum`). @example a.cumprod(0) */
  cumprod(axis?: number): NamedArrayBase {
    return this.viaLayout((l) => cumulativeLayout(l, "cumprod", axis));
  }
  /** Sorted ascending (stable) along a positional axis (default the last; `null` flattens). @example a.sort() */
  sort(axis: number | null = -1): NamedArrayBase {
    return this.viaLayout((l) => sortLayout(l, axis, "sort"));
  }
  /** Indices that sort along a positional axis (see `sort`). @example a.argsort() */
  argsort(axis: number | null = -1): NamedArrayBase {
    return this.viaLayout((l) => sortLayout(l, axis, "argsort"));
  }
  /**
   * Indices that partition around `kth` (NumPy's `argpartition`). tfjs has no partition kernel;
   * this returns the full `argsort`, which is a valid partition for every `kth`.
   *
   * @example a.argpartition(2)
   */
  argpartition(kth: number, axis: number | null = -1): NamedArrayBase {
    const n = axis === null ? this.size : (this.positionalShape.at(axis) ?? 0);
    if (!Number.isInteger(kth) || kth < -n || kth >= n) {
      throw new NamedIndexError(
        `argpartition: kth ${kth} is out of range for an axis of length ${n}.`,
      );
    }
    return this.argsort(axis);
  }
  /** Reshapes the positional axes (one `-1` allowed); named axes are untouched. @example a.reshape(2, -1) */
  reshape(...shape: (number | readonly number[])[]): NamedArrayBase {
    const flat = shape.flatMap((s) => (typeof s === "number" ? [s] : [...s]));
    return this.viaLayout((l) => reshapeLayout(l, flat));
  }
  /** The positional axes flattened into one. @example a.ravel() */
  ravel(): NamedArrayBase {
    return this.viaLayout(ravelLayout);
  }
  /** The positional axes flattened into one (a copy in NumPy; tensors are immutable here). @example a.flatten() */
  flatten(): NamedArrayBase {
    return this.ravel();
  }
  /** Removes size-1 positional axes (all, or the given ones). @example a.squeeze(0) */
  squeeze(axis?: number | readonly number[]): NamedArrayBase {
    return this.viaLayout((l) => squeezeLayout(l, axis));
  }
  /** Swaps two positional axes. @example a.swapaxes(0, 1) */
  swapaxes(axis1: number, axis2: number): NamedArrayBase {
    return this.viaLayout((l) => swapaxesLayout(l, axis1, axis2));
  }
  /** Permutes the positional axes (default: reverses them). @example a.transpose(1, 0) */
  transpose(...axes: (number | readonly number[])[]): NamedArrayBase {
    const flat = axes.flatMap((s) => (typeof s === "number" ? [s] : [...s]));
    return this.viaLayout((l) => transposeLayout(l, flat.length === 0 ? undefined : flat));
  }
  /** The positional axes reversed (NumPy's `.T`). @example a.T */
  get T(): NamedArrayBase {
    return this.transpose();
  }
  /** The last two positional axes swapped (NumPy's `.mT`). @example a.mT */
  get mT(): NamedArrayBase {
    return this.swapaxes(-1, -2);
  }
  /** A diagonal of two positional axes, appended as the last positional axis. @example a.diagonal() */
  diagonal(offset = 0, axis1 = 0, axis2 = 1): NamedArrayBase {
    return this.viaLayout((l) => diagonalLayout(l, offset, axis1, axis2));
  }
  /** Sum of a diagonal (see `diagonal`). @example a.trace() */
  trace(offset = 0, axis1 = 0, axis2 = 1): NamedArrayBase {
    return tidy(() => this.diagonal(offset, axis1, axis2).sum(-1));
  }
  /** Repeats elements along a positional axis (flattened positional axes when omitted). @example a.repeat(2, 0) */
  repeat(repeats: number | readonly number[], axis?: number): NamedArrayBase {
    return this.viaLayout((l) => repeatLayout(l, repeats, axis));
  }
  /**
   * Elements at `indices` along a positional axis (NumPy's `take`; flattened positional axes when
   * `axis` is omitted). `indices` may be a named array: its names are vectorized over. Out-of-range
   * indices give `fillValue` by default, as `jnp.take` (`mode: "clip"` clamps instead).
   *
   * @example a.take([2, 0], { axis: 0 })
   */
  take(indices: IndexEntry, options: TakeOptions = {}): NamedArrayBase {
    checkOptions("take", options, ["axis", "mode", "fillValue"]);
    const { axis, mode = "fill", fillValue } = options;
    return tidy(() => {
      const base = axis === undefined ? this.ravel() : this;
      const p = positionalAxis(axis ?? 0, base.positionalShape.length, "take");
      const entries: IndexEntry[] = [...new Array<IndexEntry>(p).fill(slice(null)), indices];
      return base.at(entries).get({ mode, ...(fillValue === undefined ? {} : { fillValue }) });
    });
  }
  /**
   * Elements where `condition` is true along a positional axis (NumPy's `compress`; flattened
   * positional axes when `axis` is omitted). Reads `condition` back: its count decides the shape.
   *
   * @example a.compress([true, false, true], 0)
   */
  compress(condition: tf.Tensor | readonly boolean[], axis?: number): NamedArrayBase {
    const keepAll = truePositions(condition, "compress");
    return tidy(() => {
      const base = axis === undefined ? this.ravel() : this;
      const p = positionalAxis(axis ?? 0, base.positionalShape.length, "compress");
      const keep = keepAll.filter((i) => i < base.positionalShape[p]!);
      return base.index([...new Array<IndexEntry>(p).fill(slice(null)), keep]);
    });
  }
  /**
   * Picks from `choices` by the values of this int array (NumPy's `choose`): `choices[this]`,
   * elementwise, broadcast by name and position. Values below 0 pick the first choice and values
   * past the end the last (tfjs cannot raise inside a kernel).
   *
   * @example idx.choose([a, b, c])
   */
  choose(choices: readonly NamedOperand[]): NamedArrayBase {
    if (choices.length === 0) {
      throw new NamedIndexError("choose: needs at least one choice.");
    }
    return tidy(() => {
      const index = this.layout();
      const last = operandLayout(choices[choices.length - 1]!);
      let out = whereLayout(binaryLayout("equal", index, index), last, last);
      for (let i = choices.length - 2; i >= 0; i--) {
        const picked =
          i === 0 ? binaryLayout("lessEqual", index, 0) : binaryLayout("equal", index, i);
        out = whereLayout(picked, operandLayout(choices[i]!), out);
      }
      return fromLayoutValue(out);
    });
  }
  /**
   * Insertion indices of `values` into this sorted 1-D positional array (NumPy's `searchsorted`);
   * named axes of both are vectorized over.
   *
   * @example nx.wrap(tf.tensor([1, 3, 5])).searchsorted(4).item() // 2
   */
  searchsorted(values: NamedOperand, options: SearchsortedOptions = {}): NamedArrayBase {
    checkOptions("searchsorted", options, ["side"]);
    const v = operandLayout(values);
    return tidy(() =>
      fromLayoutValue(
        searchsortedLayout(
          this.layout(),
          typeof v === "object" ? v : positionalLayout(tf.scalar(Number(v), this.dtype)),
          options.side ?? "left",
        ),
      ),
    );
  }
  /**
   * NumPy's `dot` over the positional axes (penzai's wrapped method), vectorized over the names
   * of both operands; for contractions over named axes use `nx.dot`.
   *
   * @example a.dot(b) // a: positional [2, 3], b: positional [3] → positional [2]
   */
  dot(other: NamedOperand): NamedArrayBase {
    const o = operandLayout(other);
    return tidy(() =>
      fromLayoutValue(
        dotPositionalLayout(
          this.layout(),
          typeof o === "object" ? o : positionalLayout(tf.scalar(Number(o))),
        ),
      ),
    );
  }
  /** Coordinates of the nonzero elements, one int32 array per positional axis (no named axes allowed). @example m.nonzero() */
  nonzero(): NamedArrayBase[] {
    return nonzeroLayouts(this.layout()).map(fromLayoutValue);
  }
  /** The real part (the array itself for real dtypes). @example z.real() */
  real(): NamedArrayBase {
    return this.dtype === "complex64" ? this.unary("real") : this;
  }
  /** The imaginary part (zeros for real dtypes). @example z.imag() */
  imag(): NamedArrayBase {
    return this.unary("imag");
  }
  /** The complex conjugate (the array itself for real dtypes). @example z.conj() */
  conj(): NamedArrayBase {
    return this.dtype === "complex64" ? this.unary("conj") : this;
  }
  /** The complex conjugate (see `conj`). @example z.conjugate() */
  conjugate(): NamedArrayBase {
    return this.conj();
  }

  private binary(op: BinaryOpName, other: NamedOperand): NamedArrayBase {
    return fromLayoutValue(binaryLayout(op, this.layout(), operandLayout(other)));
  }
  private reversed(op: BinaryOpName, other: NamedOperand): NamedArrayBase {
    return fromLayoutValue(binaryLayout(op, operandLayout(other), this.layout()));
  }
  private unary(op: UnaryOpName): NamedArrayBase {
    return fromLayoutValue(unaryLayout(op, this.layout()));
  }
  private reduce(kind: ReductionName, axes?: ReductionAxes, ddof?: number): NamedArrayBase {
    const layout = this.layout();
    const out = reduceLayout(kind, layout, axes, ddof);
    return out === layout ? this : fromLayoutValue(out);
  }
  private viaLayout(kernel: (layout: Layout) => Layout): NamedArrayBase {
    return fromLayoutValue(kernel(this.layout()));
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
    const nameAxis: Record<string, number> = internalRecord();
    for (let i = 0; i < names.length; i++) nameAxis[names[i]!] = p + i;
    const logical: number[] = [];
    for (let i = 0; i < p; i++) logical.push(i);
    return { data: this.dataArray, logical, names, nameAxis };
  }

  /** Checks the data is a tensor and `namedAxes` sizes are a suffix of its shape. @example nx.zeros({ a: 2 }).checkValid() */
  checkValid(): void {
    if (validArrays.has(this)) return;
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
    // One pass without intermediate lists: this runs for every array an operation receives that
    // has not been checked before.
    const record = axes as Record<string, unknown>;
    const names = Object.keys(record);
    const shape = (data as tf.Tensor).shape;
    const offset = shape.length - names.length;
    let fits = offset >= 0;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      checkAxisName(n, "NamedArray");
      const s = record[n];
      if (!Number.isInteger(s) || (s as number) < 0) {
        throw new InvalidNamedArrayError(
          `NamedArray.namedAxes must be an ordered record of named axis sizes, but axis "${n}" has size ${String(s)}.`,
        );
      }
      if (shape[offset + i] !== s) fits = false;
    }
    if (!fits) {
      throw new InvalidNamedArrayError(
        `The axis sizes in namedAxes must exactly match a suffix of the data array's shape, but [${Object.values(record).join(", ")}] ` +
          `was not a suffix of [${shape.join(", ")}] (namedAxes ${describeNamedShape(this.namedAxes)}).`,
      );
    }
    validArrays.add(this);
  }
}

/**
 * Named arrays already found valid. Their fields are frozen and a tensor's shape never changes, so
 * one successful check holds for the instance's lifetime: `positionalShape` and every operation
 * call `checkValid`, and this keeps the repeated calls to a set lookup.
 */
const validArrays = new WeakSet<NamedArrayBase>();

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
    if (validArrays.has(this)) return;
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
          `dataAxisForName ${describeNamedShape(this.dataAxisForName)} for data shape [${shape.join(", ")}].`,
      );
    }
    validArrays.add(this);
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

/** Anything an elementwise op accepts: named arrays, plain tensors (positional only) and scalars. */
export type NamedOperand = NamedArrayBase | tf.Tensor | number | boolean;

/** Axes for reductions: positional indices (numbers) and/or axis names (strings). */
export type { ReductionAxes } from "./layoutOps.js";

/**
 * One index entry: an integer, a `slice(...)`, `null` (a new size-1 axis), or an integer index
 * array — nested numbers, an int32 tensor, or an int32 named array (its names are vectorized over).
 */
export type IndexEntry =
  | number
  | Slice
  | readonly number[]
  | readonly (readonly number[])[]
  | tf.Tensor
  | NamedArrayBase
  | null;

/** An indexer: entries by axis name, entries for the positional axes in order, or one positional entry. */
export type IndexSpec =
  | Readonly<Record<AxisName, IndexEntry>>
  | readonly IndexEntry[]
  | number
  | Slice
  | tf.Tensor
  | NamedArrayBase;

/** Options of {@link NamedArrayBase.var} and {@link NamedArrayBase.std}. */
export interface VarianceOptions {
  /** Delta degrees of freedom: the divisor is `count - ddof` (default 0). */
  readonly ddof?: number;
}

/** Options of {@link NamedArrayBase.take}. */
export interface TakeOptions {
  /** Positional axis to take along; omitted: the flattened positional axes. */
  readonly axis?: number;
  /** Out-of-range behaviour; default `"fill"` (as `jnp.take`). */
  readonly mode?: GatherMode;
  /** Value for out-of-range indices with `mode: "fill"` (default as `get`). */
  readonly fillValue?: number | boolean;
}

/** Options of {@link NamedArrayBase.searchsorted}. */
export interface SearchsortedOptions {
  /** `"left"` (default): the first index where the value fits; `"right"`: the last. */
  readonly side?: SearchSide;
}

/**
 * The result of `x.at(indexer)` (penzai's `x.at[indexer]`): indexed reads with a choice of
 * out-of-bounds behaviour, and functional updates that return new arrays. Values may be named
 * arrays (matched by name; names the array lacks are vectorized over and added), tensors or
 * scalars; they broadcast to the indexed region (`x.at(indexer).get()`'s shape) with NumPy rules
 * for positional axes. Repeated indices: `set` keeps one of the values, `add` adds all of them,
 * `mul` / `div` / `power` / `min` / `max` / `apply` apply each in turn. Gradients flow through `get`, `set` and
 * `add` (to the array and to the values).
 *
 * @example
 * const x = nx.zeros({ row: 3, col: 2 });
 * x.at({ row: 1 }).set(5).unwrap("row", "col") // [[0, 0], [5, 5], [0, 0]]
 * x.at({ row: [0, 0] }).add(1).unwrap("row", "col") // [[2, 2], [0, 0], [0, 0]]
 */
export class IndexUpdateRef {
  /** The array being indexed. */
  readonly array: NamedArrayBase;
  /** The indexer, as given. */
  readonly indexer: IndexSpec;

  /** Use {@link NamedArrayBase.at}. */
  constructor(array: NamedArrayBase, indexer: IndexSpec) {
    this.array = array;
    this.indexer = indexer;
    Object.freeze(this);
  }

  /**
   * The indexed values (as `array.index(indexer)`), with `mode: "fill"` to return `fillValue`
   * where an index is out of bounds instead of clamping.
   *
   * @example
   * nx.arange("i", 0, 3).untag("i").at([[0, 5]]).get({ mode: "fill", fillValue: -1 }) // [0, -1]
   */
  get(options: GatherOptions = {}): NamedArrayBase {
    checkOptions("at(...).get", options, ["mode", "fillValue"]);
    checkMode("get", options.mode, ["clip", "fill", "promise_in_bounds"]);
    const layout = this.array.layout();
    this.array.checkValid();
    return keepLayout(() =>
      gatherLayout(layout, resolveIndexer(this.indexer, "at(...).get"), options),
    );
  }
  /** A new array with the indexed elements replaced by `values`. @example x.at({ row: 0 }).set(1) */
  set(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("set", values, options);
  }
  /** A new array with `values` added at the index (repeated indices add up). @example x.at({ row: [0, 0] }).add(1) */
  add(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("add", values, options);
  }
  /** A new array with the indexed elements multiplied by `values`. @example x.at({ row: 0 }).mul(2) */
  mul(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("mul", values, options);
  }
  /** Alias of {@link mul} (penzai has both names). @example x.at({ row: 0 }).multiply(2) */
  multiply(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("mul", values, options);
  }
  /**
   * A new array with the indexed elements divided by `values` (the array's dtype is kept, so an
   * int32 array gets truncated quotients, as JAX's `.at[].divide`).
   *
   * @example x.at({ row: 0 }).div(2)
   */
  div(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("div", values, options);
  }
  /** Alias of {@link div}. @example x.at({ row: 0 }).divide(2) */
  divide(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("div", values, options);
  }
  /** A new array with the indexed elements raised to `values`. @example x.at({ row: 0 }).power(2) */
  power(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("power", values, options);
  }
  /** A new array with the indexed elements replaced by their minimum with `values`. @example x.at({ row: 0 }).min(0) */
  min(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("min", values, options);
  }
  /** A new array with the indexed elements replaced by their maximum with `values`. @example x.at({ row: 0 }).max(0) */
  max(values: NamedOperand, options: UpdateOptions = {}): NamedArrayBase {
    return this.update("max", values, options);
  }
  /**
   * A new array with `fn` applied to the indexed elements (an elementwise tfjs function; applied
   * once per occurrence of a repeated index).
   *
   * @example x.at({ row: 0 }).apply(tf.exp)
   */
  apply(fn: (values: tf.Tensor) => tf.Tensor, options: UpdateOptions = {}): NamedArrayBase {
    if (typeof fn !== "function") {
      throw new TypeError(
        `at(...).apply expects an elementwise function of a tensor, but got ${String(fn)}.`,
      );
    }
    return this.update("apply", fn, options);
  }

  private update(
    op: UpdateOp,
    values: NamedOperand | ((values: tf.Tensor) => tf.Tensor),
    options: UpdateOptions,
  ): NamedArrayBase {
    const where = `at(...).${op}`;
    checkOptions(where, options, ["mode"]);
    checkMode(op, options.mode, ["drop", "clip", "promise_in_bounds"]);
    const layout = this.array.layout();
    this.array.checkValid();
    return keepLayout(() => {
      const value = typeof values === "function" ? values : operandLayout(values);
      return updateLayout(layout, resolveIndexer(this.indexer, where), op, value, options);
    });
  }
}

function checkMode(where: string, mode: string | undefined, allowed: readonly string[]): void {
  if (mode !== undefined && !allowed.includes(mode)) {
    throw new NamedIndexError(
      `${where}: unknown mode ${JSON.stringify(mode)}; the modes are ${allowed.map((m) => `"${m}"`).join(", ")}.`,
    );
  }
}

/** The layout of an operand: named arrays and tensors as layouts, scalars as they are. */
export function operandLayout(o: NamedOperand): Layout | number | boolean {
  if (o instanceof NamedArrayBase) return o.layout();
  if (o instanceof tf.Tensor) return positionalLayout(o);
  if (typeof o === "number" || typeof o === "boolean") return o;
  throw new TypeError(
    `Expected a NamedArray, a tf.Tensor, a number or a boolean, but got ${Object.prototype.toString.call(o)}.`,
  );
}

/**
 * Runs a kernel in a tidy scope that keeps only the data of the layout it returns, and wraps
 * that layout.
 */
function keepLayout(kernel: () => Layout): NamedArrayBase {
  let layout: Layout | undefined;
  const data = tf.tidy(() => {
    layout = kernel();
    return layout.data;
  });
  return fromLayout(data, layout!.logical, layout!.nameAxis);
}

/** Builds the named array a layout describes (see {@link fromLayout}). */
export function fromLayoutValue(layout: Layout): NamedArrayBase {
  return fromLayout(layout.data, layout.logical, layout.nameAxis);
}

function indexLayoutOf(values: tf.Tensor | NamedArrayBase, where: string): Layout {
  const layout = values instanceof NamedArrayBase ? values.layout() : positionalLayout(values);
  if (layout.data.dtype !== "int32") {
    throw new NamedIndexError(
      `${where}: index arrays must have dtype int32, but got ${layout.data.dtype}. ` +
        'Cast with astype("int32") (boolean masks are not indices: use where, or compress).',
    );
  }
  return layout;
}

function resolveEntry(entry: unknown, where: string): IndexItem {
  if (entry === null) return { kind: "new" };
  if (entry instanceof Slice) return { kind: "slice", slice: entry };
  if (typeof entry === "number") {
    if (!Number.isInteger(entry))
      throw new NamedIndexError(`${where}: index ${entry} is not an integer.`);
    return { kind: "int", value: entry };
  }
  if (Array.isArray(entry)) {
    const flat = (entry as unknown[]).flat(Infinity);
    if (flat.some((v) => typeof v !== "number" || !Number.isInteger(v))) {
      throw new NamedIndexError(
        `${where}: index arrays must hold integers, but got ${JSON.stringify(entry)}.`,
      );
    }
    return {
      kind: "array",
      index: positionalLayout(tf.tensor(entry as tf.TensorLike, undefined, "int32")),
    };
  }
  if (entry instanceof tf.Tensor || entry instanceof NamedArrayBase) {
    return { kind: "array", index: indexLayoutOf(entry, where) };
  }
  throw new NamedIndexError(
    `Unsupported index for ${where}: expected a slice(...), an integer, an integer array, or null (integer arrays ` +
      `are nested numbers, int32 tensors or int32 NamedArrays), but got ${Object.prototype.toString.call(entry)} (${String(entry)}).`,
  );
}

/** Resolves a user indexer to kernel items (index arrays become int32 layouts). */
function resolveIndexer(indexer: IndexSpec, where: string): ResolvedIndexer {
  if (Array.isArray(indexer)) {
    return {
      style: "positional",
      items: (indexer as readonly IndexEntry[]).map((e, i) =>
        resolveEntry(e, `${where}: positional index ${i}`),
      ),
    };
  }
  if (
    typeof indexer === "number" ||
    indexer instanceof Slice ||
    indexer instanceof tf.Tensor ||
    indexer instanceof NamedArrayBase
  ) {
    return { style: "positional", items: [resolveEntry(indexer, `${where}: positional index 0`)] };
  }
  if (indexer === null || typeof indexer !== "object") {
    throw new NamedIndexError(
      `${where} expects { name: entry } for named axes or [entry, ...] for positional axes, but got ${String(indexer)}.`,
    );
  }
  return {
    style: "dict",
    items: Object.entries(indexer as Record<string, IndexEntry>).map(
      ([name, e]) => [name, resolveEntry(e, `named axis "${name}"`)] as const,
    ),
  };
}
