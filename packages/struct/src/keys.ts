/**
 * Key path entries: small frozen objects that say how to step from a node to one of its children.
 *
 * They mirror JAX's `GetAttrKey`, `SequenceKey`, `DictKey` and `FlattenedIndexKey`, render the same
 * way (`.name`, `[0]`, `['key']`) and can be compared with {@link keyEquals}.
 *
 * @module
 */

/** Renders a dictionary key the way Python's `repr` would show it inside `[...]`. */
function reprKey(key: unknown): string {
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "boolean") {
    return String(key);
  }
  if (typeof key === "string") return pythonStringRepr(key);
  return String(key);
}

/** Python's `repr` of a string: single quotes unless only double quotes avoid escaping. */
function pythonStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * Steps into a struct field (or any attribute-keyed child).
 *
 * @example
 * new GetAttrKey("body").toString(); // ".body"
 */
export class GetAttrKey {
  constructor(readonly name: string) {
    Object.freeze(this);
  }
  toString(): string {
    return `.${this.name}`;
  }
}

/**
 * Steps into an element of an array.
 *
 * @example
 * new SequenceKey(2).toString(); // "[2]"
 */
export class SequenceKey {
  constructor(readonly idx: number) {
    Object.freeze(this);
  }
  toString(): string {
    return `[${this.idx}]`;
  }
}

/**
 * Steps into an entry of a plain object or a `Map`.
 *
 * @example
 * new DictKey("mask").toString(); // "['mask']"
 */
export class DictKey {
  constructor(readonly key: unknown) {
    Object.freeze(this);
  }
  toString(): string {
    return `[${reprKey(this.key)}]`;
  }
}

/**
 * Steps into the child at a flat position, for registered node types that do not name their
 * children.
 *
 * @example
 * new FlattenedIndexKey(1).toString(); // "[<flat index 1>]"
 */
export class FlattenedIndexKey {
  constructor(readonly key: number) {
    Object.freeze(this);
  }
  toString(): string {
    return `[<flat index ${this.key}>]`;
  }
}

/**
 * One step of a key path. Struct subclasses may return other values from `keyForField` (penzai's
 * tests use plain strings); anything that renders with `String(key)` is accepted.
 *
 * @example
 * const key: PathKey = new GetAttrKey("weights");
 */
export type PathKey = GetAttrKey | SequenceKey | DictKey | FlattenedIndexKey | string | number;

/**
 * A key path: the steps from a root to one of its descendants. The root's path is `[]`.
 *
 * @example
 * const path: KeyPath = [new GetAttrKey("layers"), new SequenceKey(0)];
 */
export type KeyPath = readonly PathKey[];

/**
 * Whether two key path entries name the same step: two keys of the same kind (`GetAttrKey`,
 * `SequenceKey`, `DictKey`, `FlattenedIndexKey`, subclasses included) with equal contents
 * (`DictKey` keys by `Object.is`), or the same value. This is the rule every look-up of a child by
 * key follows (`childIndex`, `getAtPath`, `Selection.atKeypaths`).
 *
 * @example
 * keyEquals(new DictKey("a"), new DictKey("a")); // true
 * keyEquals(new DictKey("a"), new GetAttrKey("a")); // false
 */
export function keyEquals(a: PathKey, b: PathKey): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof GetAttrKey) return b instanceof GetAttrKey && a.name === b.name;
  if (a instanceof SequenceKey) return b instanceof SequenceKey && a.idx === b.idx;
  if (a instanceof DictKey) return b instanceof DictKey && Object.is(a.key, b.key);
  if (a instanceof FlattenedIndexKey) return b instanceof FlattenedIndexKey && a.key === b.key;
  return false;
}

/**
 * Whether two key paths are equal, step by step.
 *
 * @example
 * keyPathEquals([new GetAttrKey("a")], [new GetAttrKey("a")]); // true
 */
export function keyPathEquals(a: KeyPath, b: KeyPath): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!keyEquals(a[i]!, b[i]!)) return false;
  return true;
}

/**
 * Renders a key path as JAX's `keystr` does: the concatenation of its steps.
 *
 * @example
 * keystr([new GetAttrKey("body"), new SequenceKey(2), new DictKey("w")]); // ".body[2]['w']"
 */
export function keystr(path: KeyPath): string {
  let out = "";
  for (const key of path) out += String(key);
  return out;
}
