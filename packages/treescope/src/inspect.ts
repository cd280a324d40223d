/**
 * How treescope sees a value: which kind of node it is, what its children are called, and how the
 * step to each child is written as code. Both the text and the HTML renderers read values through
 * this module, so they agree on names, order and paths.
 *
 * @module
 */

import {
  className,
  DictKey,
  flattenOneLevel,
  GetAttrKey,
  isStruct,
  type KeyPath,
  keystr,
  type PathKey,
  SequenceKey,
  Struct,
  structFields,
} from "@saikei/struct";
import { escapeControls } from "./escape.js";

/** The kinds of node treescope distinguishes. */
export type NodeKind =
  | "struct"
  | "array"
  | "object"
  | "map"
  | "none"
  | "registered"
  | "tensor"
  | "namedArray"
  | "leaf";

/** One child (or static field) of a node, as treescope shows it. */
export interface ChildEntry {
  /** The key path step to the child (the struct's `keyForField`, `SequenceKey`, `DictKey`). */
  readonly key: PathKey;
  /** The child value. */
  readonly value: unknown;
  /**
   * The text shown before the child: `"x="` in a struct, `'"a": '` in an object, `""` in an array.
   * Control and bidirectional characters in names are escaped (`escapeControls`).
   */
  readonly label: string;
  /**
   * The step written as code, for "copy path": `.x`, `[2]`, `['a']`, `.get('a')`. Control and
   * bidirectional characters in keys are written as string escapes, which reach the same key.
   */
  readonly code: string;
  /** Static struct fields are shown but are not tree children. */
  readonly isStatic: boolean;
}

/** The minimal shape of a tfjs tensor that treescope relies on (duck-typed across tfjs copies). */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly size: number;
  readonly isDisposed: boolean;
  dataSync(): ArrayLike<number | string | boolean> | ArrayLike<number>;
}

/**
 * Whether `value` is a tfjs tensor. Checked by shape rather than `instanceof` so tensors from a
 * second copy of tfjs-core (bundlers sometimes make one) are recognised too.
 *
 * @example
 * isTensorLike(tf.zeros([2])); // true
 */
export function isTensorLike(value: unknown): value is TensorLike {
  if (value === null || typeof value !== "object") return false;
  const v = value as Partial<TensorLike> & { rank?: unknown };
  return (
    Array.isArray(v.shape) &&
    typeof v.dtype === "string" &&
    typeof v.dataSync === "function" &&
    typeof v.rank === "number"
  );
}

/** The fields treescope reads from a NamedArray or NamedArrayView (penzai layout). */
export interface NamedArrayLike {
  readonly dataArray: TensorLike;
}

/**
 * Whether `value` is a `NamedArray` or `NamedArrayView` of `@saikei/named`: a struct holding a
 * tensor in `dataArray` and its axis names (`namedAxes`, or a view's `dataAxisForName`).
 *
 * @example
 * isNamedArrayLike(nx.wrap(tf.ones([2]), "a")); // true
 */
export function isNamedArrayLike(value: unknown): value is NamedArrayLike {
  if (!isStruct(value)) return false;
  const v = value as unknown as Record<string, unknown>;
  return isTensorLike(v.dataArray) && ("namedAxes" in v || "dataAxisForName" in v);
}

/**
 * Positional and named shape of a named array: read from `namedAxes` for a `NamedArray`, through
 * the `namedShape` / `positionalShape` getters for a `NamedArrayView`.
 *
 * @param value a named array.
 * @returns positional sizes and `[name, size]` pairs in storage order.
 * @example
 * namedArrayShapes(new NamedArray({ namedAxes: { seq: 4 }, dataArray: tf.zeros([2, 4]) }));
 * // { positional: [2], named: [["seq", 4]] }
 */
export function namedArrayShapes(value: NamedArrayLike): {
  positional: number[];
  named: [string, number][];
} {
  const v = value as unknown as Record<string, unknown>;
  const shape = value.dataArray.shape;
  if (v.namedAxes !== null && typeof v.namedAxes === "object") {
    // NamedArray layout: positional axes first, named axes last (read directly: the getters
    // validate the whole array each time).
    const named = entriesOf(v.namedAxes);
    return { positional: shape.slice(0, Math.max(0, shape.length - named.length)), named };
  }
  try {
    const named = v.namedShape;
    const positional = v.positionalShape;
    if (named !== undefined && Array.isArray(positional)) {
      return { positional: [...(positional as number[])], named: entriesOf(named) };
    }
  } catch {
    // Invalid views throw from their getters; fall back to the raw fields below.
  }
  return { positional: [], named: entriesOf(v.dataAxisForName) };
}

function entriesOf(axes: unknown): [string, number][] {
  if (axes instanceof Map) return [...axes].map(([k, n]) => [String(k), Number(n)]);
  if (Array.isArray(axes))
    return axes.map((e) =>
      Array.isArray(e) ? [String(e[0]), Number(e[1])] : [String(e), Number.NaN],
    );
  if (axes !== null && typeof axes === "object") {
    return Object.entries(axes as Record<string, unknown>).map(([k, n]) => [k, Number(n)]);
  }
  return [];
}

/** A selection as treescope needs it: the whole tree and the paths of its selected nodes. */
export interface SelectionView {
  readonly tree: unknown;
  readonly selectedPaths: readonly KeyPath[];
}

/**
 * Reads a `Selection` of `@saikei/select` (anything with `deselect()` and `getKeypaths()`).
 *
 * @returns the rebuilt tree and the selected key paths, or `undefined` for other values.
 * @example
 * asSelectionView(select(model).atInstancesOf(Linear))?.selectedPaths.length; // 2
 */
export function asSelectionView(value: unknown): SelectionView | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as { deselect?: unknown; getKeypaths?: unknown };
  if (typeof v.deselect !== "function" || typeof v.getKeypaths !== "function") return undefined;
  return {
    tree: (v.deselect as () => unknown).call(value),
    selectedPaths: [...((v.getKeypaths as () => Iterable<KeyPath>).call(value) ?? [])],
  };
}

/** What treescope knows about one value before rendering it. */
export interface Described {
  readonly kind: NodeKind;
  /**
   * The type name shown for nodes: the class name for structs and registered nodes, with control
   * and bidirectional characters escaped.
   */
  readonly typeName: string;
  /** Opening and closing brackets: `Linear(` / `)`, `[` / `]`, `{` / `}`, `Map{` / `}`. */
  readonly open: string;
  readonly close: string;
  /** Children and static fields in display order (declaration order for structs). */
  readonly entries: readonly ChildEntry[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** What is the same for every instance of a struct class: names, default keys, labels, code. */
interface StructLayout {
  readonly name: string;
  readonly open: string;
  readonly fields: readonly {
    readonly name: string;
    readonly isStatic: boolean;
    readonly key: GetAttrKey;
    readonly label: string;
    readonly code: string;
  }[];
}

const layouts = new WeakMap<Function, StructLayout>();

function structLayout(cls: Function): StructLayout {
  let layout = layouts.get(cls);
  if (layout === undefined) {
    const name = escapeControls(className(cls) || "Struct");
    layout = {
      name,
      open: `${name}(`,
      fields: structFields(cls as never).map((f) => ({
        name: f.name,
        isStatic: f.isStatic,
        key: new GetAttrKey(f.name),
        label: `${escapeControls(f.name)}=`,
        code: attrCode(f.name),
      })),
    };
    layouts.set(cls, layout);
  }
  return layout;
}

function attrCode(name: string): string {
  return IDENTIFIER.test(name) ? `.${name}` : `[${escapeControls(JSON.stringify(name))}]`;
}

/** Keys and code (`[0]`, `[1]`, …) of the first sequence indices, made once (keys are frozen). */
const INDEX_KEYS: SequenceKey[] = [];
const INDEX_CODES: string[] = [];
const INDEX_CACHE = 4096;

function indexKey(i: number): SequenceKey {
  if (i >= INDEX_CACHE) return new SequenceKey(i);
  let key = INDEX_KEYS[i];
  if (key === undefined) {
    key = new SequenceKey(i);
    INDEX_KEYS[i] = key;
  }
  return key;
}

function indexCode(i: number): string {
  if (i >= INDEX_CACHE) return `[${i}]`;
  let code = INDEX_CODES[i];
  if (code === undefined) {
    code = `[${i}]`;
    INDEX_CODES[i] = code;
  }
  return code;
}

/** Key, label and code of an object entry by key name, made once for the most recent names. */
const OBJECT_STEPS = new Map<string, { key: DictKey; label: string; code: string }>();
const OBJECT_STEP_CACHE = 4096;

function objectStep(name: string): { key: DictKey; label: string; code: string } {
  let step = OBJECT_STEPS.get(name);
  if (step === undefined) {
    const key = new DictKey(name);
    step = {
      key,
      label: `${escapeControls(JSON.stringify(name))}: `,
      code: keyCode(key, false),
    };
    if (OBJECT_STEPS.size >= OBJECT_STEP_CACHE) OBJECT_STEPS.clear();
    OBJECT_STEPS.set(name, step);
  }
  return step;
}

function keyCode(key: PathKey, inMap: boolean): string {
  if (key instanceof GetAttrKey) return attrCode(key.name);
  if (key instanceof SequenceKey && Number.isInteger(key.idx) && key.idx >= 0) {
    return indexCode(key.idx);
  }
  if (key instanceof DictKey && inMap) return escapeControls(`.get(${String(key).slice(1, -1)})`);
  return escapeControls(keystr([key]));
}

/**
 * Classifies `value` and lists its children (and a struct's static fields) with labels and code.
 *
 * @example
 * describe({ b: 1, a: 2 }).entries.map((e) => e.code); // ["['a']", "['b']"]
 */
export function describe(value: unknown): Described {
  if (value === null || value === undefined) return leafLike("none");
  if (isTensorLike(value)) return leafLike("tensor");
  if (isNamedArrayLike(value)) {
    return leafLike("namedArray", escapeControls(className(value.constructor)));
  }
  if (typeof value !== "object") return leafLike("leaf");
  if (isStruct(value)) {
    const layout = structLayout(value.constructor);
    const node = value as unknown as Record<string, unknown> & { keyForField(n: string): PathKey };
    const customKeys = node.keyForField !== Struct.prototype.keyForField;
    const entries = layout.fields.map((f): ChildEntry => {
      if (customKeys && !f.isStatic) {
        const key = node.keyForField(f.name);
        const code = key instanceof GetAttrKey ? attrCode(key.name) : keyCode(key, false);
        return { key, value: node[f.name], label: f.label, code, isStatic: false };
      }
      return {
        key: f.key,
        value: node[f.name],
        label: f.label,
        code: f.code,
        isStatic: f.isStatic,
      };
    });
    return { kind: "struct", typeName: layout.name, open: layout.open, close: ")", entries };
  }
  if (Array.isArray(value)) {
    // What flattenOneLevel gives for every array (its elements under SequenceKeys), without
    // building the one-level tree definition.
    return {
      kind: "array",
      typeName: "Array",
      open: "[",
      close: "]",
      entries: value.map((child, i) => ({
        key: indexKey(i),
        value: child,
        label: "",
        code: indexCode(i),
        isStatic: false,
      })),
    };
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    // What flattenOneLevel gives for every plain object (its entries by sorted key under
    // DictKeys), without building the one-level tree definition.
    const record = value as Record<string, unknown>;
    return {
      kind: "object",
      typeName: "Object",
      open: "{",
      close: "}",
      entries: Object.keys(record)
        .sort()
        .map((name) => {
          const step = objectStep(name);
          return { ...step, value: record[name], isStatic: false };
        }),
    };
  }
  const level = flattenOneLevel(value);
  if (level === undefined) return leafLike("leaf");
  const children = level[0];
  if (value instanceof Map) {
    return {
      kind: "map",
      typeName: "Map",
      open: "Map{",
      close: "}",
      entries: children.map(([key, child]) => ({
        key,
        value: child,
        label: `${mapKeyText((key as DictKey).key)} => `,
        code: keyCode(key, true),
        isStatic: false,
      })),
    };
  }
  const name = escapeControls(className((value as object).constructor) || "Node");
  return {
    kind: "registered",
    typeName: name,
    open: `${name}(`,
    close: ")",
    entries: children.map(([key, child]) => ({
      key,
      value: child,
      label: key instanceof GetAttrKey ? `${escapeControls(key.name)}=` : "",
      code: keyCode(key, false),
      isStatic: false,
    })),
  };
}

function mapKeyText(key: unknown): string {
  return escapeControls(typeof key === "string" ? JSON.stringify(key) : String(key));
}

const NO_ENTRIES: readonly ChildEntry[] = Object.freeze([]);
const LEAF_LIKE = new Map<NodeKind, Described>();

/** A node without children; those without a type name are made once per kind. */
function leafLike(kind: NodeKind, typeName = ""): Described {
  if (typeName !== "") return { kind, typeName, open: "", close: "", entries: NO_ENTRIES };
  let d = LEAF_LIKE.get(kind);
  if (d === undefined) {
    d = Object.freeze({ kind, typeName, open: "", close: "", entries: NO_ENTRIES });
    LEAF_LIKE.set(kind, d);
  }
  return d;
}
