/**
 * The data layout of a named array, and the small helpers every layer of the package shares:
 * axis-name records and checks, shape rendering and layout-preserving transposes. This file knows
 * nothing of the `NamedArray` classes, so the kernels (`layoutOps.ts`, `indexing.ts`) and the
 * classes (`namedArray.ts`) can both build on it without importing each other.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { AxisNameError } from "./errors.js";

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
 * An empty prototype-free record for the kernels' internal layouts: like {@link nameRecord} but
 * without the printing hook (defining it makes every record slower to build and to read, and
 * internal layouts are never printed; the classes copy them with `nameRecord`).
 */
export function internalRecord<V = number>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
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

/**
 * Renders a named shape for messages.
 *
 * @example
 * describeNamedShape({ batch: 2, seq: 8 }) // "{batch: 2, seq: 8}"
 */
export function describeNamedShape(shape: NamedShape): string {
  return `{${Object.entries(shape)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;
}

/** Renders a positional shape for messages: `[2, 3]`. */
export function describePositionalShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Whether `perm` is `[0, 1, ..., n - 1]`. */
export function isIdentity(perm: readonly number[]): boolean {
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

/** Throws `AxisNameError` if a name appears twice in `names`. */
export function checkNoRepeats(names: readonly string[], where: string): void {
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

/** The named shape a layout describes, in storage order. */
export function namedShapeOf(layout: Layout): Record<AxisName, number> {
  const out: Record<string, number> = nameRecord();
  for (const n of layout.names) out[n] = layout.data.shape[layout.nameAxis[n]!]!;
  return out;
}

/** The positional shape a layout describes. */
export function positionalShapeOf(layout: Layout): number[] {
  return layout.logical.map((d) => layout.data.shape[d]!);
}

/** The layout of a plain tensor: every axis positional. */
export function positionalLayout(t: tf.Tensor): Layout {
  return {
    data: t,
    logical: Array.from({ length: t.rank }, (_, i) => i),
    names: [],
    nameAxis: internalRecord(),
  };
}

/**
 * Builds a layout from a data tensor and the data axis of every positional axis and name; names
 * are stored in the order of `nameAxis`'s keys. The layout's records are internal (prototype-free,
 * without {@link nameRecord}'s printing hook): the classes copy them with `nameRecord`.
 */
export function layoutOf(
  data: tf.Tensor,
  logical: readonly number[],
  nameAxis: Readonly<Record<AxisName, number>>,
): Layout {
  return {
    data,
    logical: [...logical],
    names: Object.keys(nameAxis),
    nameAxis: nameRecord(nameAxis),
  };
}

/** Product of a list of sizes (1 for an empty list). */
export function sizeOf(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}
