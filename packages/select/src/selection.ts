/**
 * `Selection`: a functional lens over any tree (penzai's `core.selectors`). A selection remembers
 * a tree and a set of non-overlapping selected nodes; querying narrows the set, editing returns a
 * new tree in which only the ancestors of edited nodes are rebuilt.
 *
 * @module
 */

import {
  checkOptions,
  GetAttrKey,
  type KeyPath,
  keyPathEquals,
  keyPathOfIndexPath,
  keystr,
  nodeTypeOf,
  type OutermostMatch,
  registerPytreeNode,
  rewriteAt,
  TreeCycleError,
  TreeDepthError,
  treeEquals,
} from "@saikei/struct";
import * as O from "fp-ts/lib/Option.js";
import { resolveAccessor } from "./accessor.js";
import { SelectionCountError, SelectionError } from "./errors.js";
import {
  childEntries,
  complementEntries,
  keyPathEntries,
  outermostEntries,
  subtreesWhereEntries,
} from "./findEntries.js";
import { fillHoles, type Parts, remainderOf } from "./holes.js";
import { type InlineTracking, inlineInParents } from "./inlineInParents.js";
import { NotInThisPartition } from "./partition.js";
import { buildTrie, type Entry, entry, kindOf, type Trie, where } from "./paths.js";
import { renderSelection } from "./render.js";

/** Any class, abstract or not; `Number`, `String` and `Boolean` also match primitives. */
export type AnyClass = abstract new (...args: any[]) => unknown;

/** The values `atInstancesOf(C)` selects: instances of `C`, or primitives for `Number` etc. */
export type InstanceOf<C> = C extends NumberConstructor
  ? number
  : C extends StringConstructor
    ? string
    : C extends BooleanConstructor
      ? boolean
      : C extends BigIntConstructor
        ? bigint
        : C extends abstract new (
              ...args: any[]
            ) => infer I
          ? I
          : never;

/**
 * A value that may be absent, as `getOption` and `firstOption` return it: `{ _tag: "None" }` or
 * `{ _tag: "Some", value }`. Test `_tag` (or `"value" in option`); the shape is fp-ts's `Option`,
 * so fp-ts users can pass it to `O.map`, `O.getOrElse`, … unchanged.
 */
export type SelectionOption<T> =
  | { readonly _tag: "None" }
  | { readonly _tag: "Some"; readonly value: T };

/** Options of `atSubtreesWhere`. */
export interface SubtreesWhereOptions {
  /** Select the innermost matches instead of the outermost (leaves are then never selected). */
  innermost?: boolean;
  /** With `withKeypath`, pass key paths from the root instead of from the selected node. */
  absoluteKeypath?: boolean;
}

const cache = new WeakMap<
  Selection<any, any>,
  {
    byPath?: ReadonlyMap<KeyPath, unknown>;
    remainder?: unknown;
    trie?: Trie;
    parts?: Parts;
    resolved?: { tree: unknown; entries: readonly Entry[] };
  }
>();

/** The option keys each method accepts (`checkOptions` names them when a key is unknown). */
const APPLY_OPTIONS = ["keepSelected", "withKeypath"] as const;
const KEEP_SELECTED_OPTIONS = ["keepSelected"] as const;
const AT_OPTIONS = ["multiple"] as const;
const WITH_KEYPATH_OPTIONS = ["withKeypath"] as const;
const INSTANCES_OF_OPTIONS = ["innermost"] as const;
const SUBTREES_WHERE_OPTIONS = ["innermost", "absoluteKeypath", "withKeypath"] as const;
const PARTITION_OPTIONS = ["atLeaves"] as const;
const INSERT_OPTIONS = ["andSelect"] as const;

/** Marks a selection whose tree is rebuilt from its remainder on first use. */
const LAZY: unique symbol = Symbol("saikei.select.lazyTree");

function cached(s: Selection<any, any>) {
  let c = cache.get(s);
  if (c === undefined) {
    c = {};
    cache.set(s, c);
  }
  return c;
}

function isArrayLike(value: unknown): boolean {
  if (ArrayBuffer.isView(value)) return true;
  if (value === null || typeof value !== "object") return false;
  const v = value as { shape?: unknown; dataSync?: unknown; dataArray?: unknown };
  return (
    (Array.isArray(v.shape) && typeof v.dataSync === "function") ||
    (v.dataArray !== undefined && "namedAxes" in v)
  );
}

/**
 * A selection of non-overlapping nodes of a tree (penzai's `Selection`). Build one with
 * {@link select} or `struct.select()`, narrow it with `at`, `atInstancesOf`, `atSubtreesWhere`, …,
 * then edit with `set`, `apply`, `insertAfter`, … which return a new tree. Unselected subtrees of
 * the new tree are the same objects (`===`) as in the original; structs stay frozen instances of
 * their classes.
 *
 * `T` is the type of the selected nodes, `R` the type of the whole tree (what edits return).
 * Selections are themselves trees (children `selectedByPath` and `remainder`), so they can be
 * selected in turn.
 *
 * @example
 * const tree = { a: 1, b: [2, 3] };
 * select(tree).at((t) => t.b[0]).set(20); // { a: 1, b: [20, 3] }
 * select(tree).atInstancesOf(Number).apply((x) => x * 10); // { a: 10, b: [20, 30] }
 */
export class Selection<T = unknown, R = unknown> {
  /** @internal The whole tree, selected values in place; `LAZY` when built from parts. */
  private readonly storedTree: R | typeof LAZY;
  /** @internal The selected nodes in tree order; `LAZY` when built from parts. */
  private readonly storedEntries: readonly Entry[] | typeof LAZY;

  /**
   * @internal Use {@link select}. With `parts` (what a selection flattens to: key paths, values and
   * a remainder), `tree` and `entries` are ignored; the parts are kept as given and resolved on
   * first use, by finding each key path's `SelectionHole` in the remainder (penzai's `deselect`).
   */
  constructor(tree: R, entries: readonly Entry[], parts?: Parts) {
    this.storedTree = parts === undefined ? tree : LAZY;
    this.storedEntries = parts === undefined ? entries : LAZY;
    Object.freeze(this);
    if (parts !== undefined) {
      const c = cached(this);
      c.parts = parts;
      c.remainder = parts.remainder;
    }
  }

  /** The whole tree (what `deselect` returns). */
  private get tree(): R {
    if (this.storedTree !== LAZY) return this.storedTree;
    return resolveParts(this).tree as R;
  }

  /** The selected nodes in tree order. */
  private get entries(): readonly Entry[] {
    if (this.storedEntries !== LAZY) return this.storedEntries;
    return resolveParts(this).entries;
  }

  /** @internal What the pytree registration flattens: key paths, values and the remainder. */
  static partsOf(s: Selection<unknown, unknown>): Parts {
    const stored = cached(s).parts;
    if (stored !== undefined) return stored;
    return { keyPaths: s.getKeypaths(), values: s.getSequence(), remainder: s.remainder };
  }

  private derive<U>(entries: Entry[]): Selection<U, R> {
    return new Selection<U, R>(this.tree, entries);
  }

  // ---- size -------------------------------------------------------------------------------

  /**
   * The number of selected nodes.
   *
   * @example
   * select([1, 2]).atInstancesOf(Number).count(); // 2
   */
  count(): number {
    return this.entries.length;
  }

  /** The number of selected nodes (penzai's `len(selection)`). */
  get length(): number {
    return this.entries.length;
  }

  /**
   * Whether nothing is selected.
   *
   * @example
   * select([1, 2]).atInstancesOf(String).isEmpty(); // true
   */
  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /**
   * Returns this selection if it has exactly `n` selected nodes.
   *
   * @throws SelectionCountError otherwise, listing the selected key paths.
   * @example
   * select([1, 2]).atInstancesOf(Number).assertCountIs(2).set(0); // [0, 0]
   */
  assertCountIs(n: number): this {
    if (this.entries.length !== n) {
      throw new SelectionCountError(
        `Expected ${n} selected node(s) but the selection has ${this.entries.length}` +
          `${this.entries.length > 0 ? ` (at ${this.entries.map((e) => where(e.keyPath)).join(", ")})` : ""}. ` +
          "Check the query that built the selection.",
      );
    }
    return this;
  }

  // ---- reading -----------------------------------------------------------------------------

  /**
   * The whole tree, unchanged (penzai's `deselect`).
   *
   * @example
   * select({ a: 1 }).at((r) => r.a).deselect(); // { a: 1 } (the same object)
   */
  deselect(): R {
    return this.tree;
  }

  /**
   * The single selected value.
   *
   * @throws SelectionCountError when zero or several nodes are selected.
   * @example
   * select({ a: { b: 2 } }).at((r) => r.a).get(); // { b: 2 }
   */
  get(): T {
    if (this.entries.length !== 1) {
      throw new SelectionCountError(
        `Selection.get() needs exactly one selected node, but ${this.entries.length} are selected` +
          `${this.entries.length > 0 ? ` (at ${this.entries.map((e) => where(e.keyPath)).join(", ")})` : ""}. ` +
          "Use getSequence() or getByPath() for several nodes, or getOption() when there may be none.",
      );
    }
    return this.entries[0]!.value as T;
  }

  /**
   * The single selected value, or `{ _tag: "None" }` when nothing is selected (a
   * {@link SelectionOption}: fp-ts's `Option` shape, so it also works with fp-ts's `Option`
   * functions).
   *
   * @throws SelectionCountError when several nodes are selected.
   * @example
   * select([1]).atInstancesOf(String).getOption(); // { _tag: "None" }
   * select([1]).atInstancesOf(Number).getOption(); // { _tag: "Some", value: 1 }
   */
  getOption(): SelectionOption<T> {
    return this.entries.length === 0 ? O.none : O.some(this.get());
  }

  /**
   * The first selected value (in tree order) as a {@link SelectionOption}.
   *
   * @example
   * select([1, 2]).atInstancesOf(Number).firstOption(); // { _tag: "Some", value: 1 }
   */
  firstOption(): SelectionOption<T> {
    return this.entries.length === 0 ? O.none : O.some(this.entries[0]!.value as T);
  }

  /**
   * The selected values in tree order.
   *
   * @example
   * select([1, "a", 2]).atInstancesOf(Number).getSequence(); // [1, 2]
   */
  getSequence(): readonly T[] {
    return this.entries.map((e) => e.value as T);
  }

  /**
   * The key paths of the selected nodes, from the root, in tree order.
   *
   * @example
   * select({ a: 1 }).at((r) => r.a).getKeypaths().map(keystr); // ["['a']"]
   */
  getKeypaths(): readonly KeyPath[] {
    return this.entries.map((e) => e.keyPath);
  }

  /**
   * The selected values by key path, in tree order (penzai's `selected_by_path`). The keys are the
   * same array objects on every call.
   *
   * @example
   * [...select({ a: 1 }).at((r) => r.a).getByPath().values()]; // [1]
   */
  getByPath(): ReadonlyMap<KeyPath, T> {
    const c = cached(this);
    if (c.byPath === undefined) {
      const parts = c.parts;
      c.byPath =
        parts !== undefined
          ? new Map(parts.keyPaths.map((k, i) => [k, parts.values[i]]))
          : new Map(this.entries.map((e) => [e.keyPath, e.value]));
    }
    return c.byPath as ReadonlyMap<KeyPath, T>;
  }

  /** The selected values by key path (same as {@link getByPath}). */
  get selectedByPath(): ReadonlyMap<KeyPath, T> {
    return this.getByPath();
  }

  /**
   * The tree with a `SelectionHole` in place of each selected node. Holes or quotes that were
   * already in the tree are wrapped in one more `SelectionQuote`. Computed on first use.
   *
   * @example
   * select({ a: 1, b: 2 }).at((r) => r.a).remainder; // { a: SelectionHole(['a']), b: 2 }
   */
  get remainder(): unknown {
    const c = cached(this);
    if (!("remainder" in c)) {
      try {
        c.remainder = remainderOf(this.tree, this.entries);
      } catch (cause) {
        if (cause instanceof TreeCycleError || cause instanceof TreeDepthError) throw cause;
        throw new SelectionError(
          "Selection.remainder could not put SelectionHole markers into the tree: a node's unflatten " +
            `rejected them (${cause instanceof Error ? cause.message : String(cause)}). Nodes that check the ` +
            "types of their children cannot hold holes; use deselect(), getByPath() or partition() instead.",
          { cause },
        );
      }
    }
    return c.remainder;
  }

  private trie(): Trie {
    const c = cached(this);
    c.trie ??= buildTrie(this.entries);
    return c.trie;
  }

  // ---- editing -----------------------------------------------------------------------------

  /**
   * Replaces every selected node by `fn(value)` (or `fn(keyPath, value)` with `withKeypath`) and
   * returns the new tree, or with `keepSelected` a selection of the new values.
   *
   * @example
   * select([1, 2]).atInstancesOf(Number).apply((x) => x + 1); // [2, 3]
   * select({ a: 1 }).atInstancesOf(Number).apply((p, x) => `${keystr(p)}=${x}`, { withKeypath: true }); // { a: "['a']=1" }
   */
  apply(fn: (value: T) => unknown): R;
  apply<U>(
    fn: (value: T) => U,
    options: { keepSelected: true; withKeypath?: false },
  ): Selection<U, R>;
  apply(
    fn: (keyPath: KeyPath, value: T) => unknown,
    options: { withKeypath: true; keepSelected?: false },
  ): R;
  apply<U>(
    fn: (keyPath: KeyPath, value: T) => U,
    options: { withKeypath: true; keepSelected: true },
  ): Selection<U, R>;
  apply(
    fn: (value: T) => unknown,
    options: { keepSelected?: boolean; withKeypath?: false },
  ): R | Selection<unknown, R>;
  apply(
    fn: (...args: any[]) => unknown,
    options: { keepSelected?: boolean; withKeypath?: boolean } = {},
  ): unknown {
    checkOptions("Selection.apply", options, APPLY_OPTIONS);
    const values = options.withKeypath
      ? this.entries.map((e) => fn(e.keyPath, e.value))
      : this.entries.map((e) => fn(e.value));
    return this.replaceValues(values, options.keepSelected === true);
  }

  private replaceValues(values: readonly unknown[], keepSelected: boolean): unknown {
    const tree = rewriteAt(this.tree, this.entries, values) as R;
    if (!keepSelected) return tree;
    return new Selection(
      tree,
      this.entries.map((e, i) => ({
        keyPath: e.keyPath,
        indexPath: e.indexPath,
        value: values[i],
      })),
    );
  }

  /**
   * Replaces every selected node by `value` (the same object everywhere) and returns the new tree.
   *
   * @example
   * select({ a: 1, b: [2] }).at((r) => r.b).set("x"); // { a: 1, b: "x" }
   */
  set(value: unknown): R {
    return this.replaceValues(
      this.entries.map(() => value),
      false,
    ) as R;
  }

  /**
   * Replaces the selected nodes by `values`, in tree order.
   *
   * @throws SelectionCountError when `values` has not exactly one value per selected node.
   * @example
   * select([1, 2]).atInstancesOf(Number).setSequence(["a", "b"]); // ["a", "b"]
   */
  setSequence(values: Iterable<unknown>): R {
    const list = [...values];
    if (list.length !== this.entries.length) {
      throw new SelectionCountError(
        `Selection.setSequence got ${list.length} value(s) for ${this.entries.length} selected node(s)` +
          `${this.entries.length > 0 ? ` (at ${this.entries.map((e) => where(e.keyPath)).join(", ")})` : ""}. ` +
          "Pass exactly one value per selected node, in the order of getSequence().",
      );
    }
    return this.replaceValues(list, false) as R;
  }

  /**
   * Replaces each selected node by the value its key path maps to: a `Map` from key paths (as
   * returned by {@link getByPath}, or equal paths) or a function of the key path.
   *
   * @throws SelectionCountError when the map has no value for a selected key path.
   * @example
   * const s = select({ a: 1, b: 2 }).atInstancesOf(Number);
   * s.setByPath((path) => keystr(path)); // { a: "['a']", b: "['b']" }
   */
  setByPath(replacer: ReadonlyMap<KeyPath, unknown> | ((keyPath: KeyPath) => unknown)): R {
    if (typeof replacer === "function") {
      return this.replaceValues(
        this.entries.map((e) => replacer(e.keyPath)),
        false,
      ) as R;
    }
    const byString = new Map<string, [KeyPath, unknown][]>();
    for (const [k, v] of replacer) {
      const s = keystr(k);
      byString.set(s, [...(byString.get(s) ?? []), [k, v]]);
    }
    const values = this.entries.map((e) => {
      if (replacer.has(e.keyPath)) return replacer.get(e.keyPath);
      const match = byString.get(keystr(e.keyPath))?.find(([k]) => keyPathEquals(k, e.keyPath));
      if (match === undefined) {
        throw new SelectionCountError(
          `Selection.setByPath has no replacement for the selected node at ${where(e.keyPath)}. ` +
            "Give a value for every key path of getKeypaths(), or pass a function of the key path.",
        );
      }
      return match[1];
    });
    return this.replaceValues(values, false) as R;
  }

  /**
   * For each selected node, replaces its descendants at the given key paths (relative to that node)
   * by the mapped values. On `select(root)` the paths are from the root.
   *
   * @example
   * select({ a: 1, b: 2 }).selectAndSetByPath(new Map([[[new DictKey("b")], 20]])); // { a: 1, b: 20 }
   */
  selectAndSetByPath(replacements: ReadonlyMap<KeyPath, unknown>): R {
    const keys = [...replacements.keys()];
    return this.apply((node) => select(node).atKeypaths(keys).setByPath(replacements));
  }

  /**
   * Calls `fn(index, value)` with each selected node's position in the selection.
   *
   * @example
   * select(["a", "b"]).atInstancesOf(String).applyWithSelectedIndex((i, s) => `${i}:${s}`); // ["0:a", "1:b"]
   */
  applyWithSelectedIndex(fn: (index: number, value: T) => unknown): R;
  applyWithSelectedIndex<U>(
    fn: (index: number, value: T) => U,
    options: { keepSelected: true },
  ): Selection<U, R>;
  applyWithSelectedIndex(
    fn: (index: number, value: T) => unknown,
    options: { keepSelected?: boolean } = {},
  ): unknown {
    checkOptions("Selection.applyWithSelectedIndex", options, KEEP_SELECTED_OPTIONS);
    return this.replaceValues(
      this.entries.map((e, i) => fn(i, e.value as T)),
      options.keepSelected === true,
    );
  }

  // ---- narrowing ---------------------------------------------------------------------------

  /**
   * Selects the part of each selected node that `accessor` returns (penzai's `at`, Equinox's
   * `tree_at`). The accessor must only follow properties of its argument; it sees stand-ins for
   * nodes and leaves, and what it returns is located by identity. With `multiple: true` it returns
   * an iterable of parts.
   *
   * @throws SelectionAccessorError when the accessor returns something that is not part of its
   *   argument, repeats a part, or returns nested parts.
   * @example
   * select(model).at((m) => m.body.sublayers[2]).set(newLayer);
   * select(tree).at((t) => [t.a, t.b], { multiple: true }).set(0);
   */
  at<U>(accessor: (value: T) => U, options?: { multiple?: false }): Selection<U, R>;
  at<U>(accessor: (value: T) => Iterable<U>, options: { multiple: true }): Selection<U, R>;
  at(
    accessor: (value: any) => unknown,
    options: { multiple?: boolean } = {},
  ): Selection<unknown, R> {
    checkOptions("Selection.at", options, AT_OPTIONS);
    const out: Entry[] = [];
    for (const e of this.entries) {
      for (const f of resolveAccessor(e.value, accessor, options.multiple, e.keyPath)) {
        out.push({
          keyPath: Object.freeze([...e.keyPath, ...f.keyPath]),
          indexPath: [...e.indexPath, ...f.indexPath],
          value: f.value,
        });
      }
    }
    return this.derive(out);
  }

  /**
   * Keeps the selected nodes for which `filter(value)` (or `filter(keyPath, value)`) is truthy.
   *
   * @example
   * select([1, 2, 3]).atInstancesOf(Number).where((x) => x > 1).set(0); // [1, 0, 0]
   */
  where(filter: (value: T) => unknown): Selection<T, R>;
  where(
    filter: (keyPath: KeyPath, value: T) => unknown,
    options: { withKeypath: true },
  ): Selection<T, R>;
  where(
    filter: (...args: any[]) => unknown,
    options: { withKeypath?: boolean } = {},
  ): Selection<T, R> {
    checkOptions("Selection.where", options, WITH_KEYPATH_OPTIONS);
    return this.derive(
      this.entries.filter((e) =>
        options.withKeypath ? filter(e.keyPath, e.value) : filter(e.value),
      ),
    );
  }

  /**
   * Keeps only the `n`-th selected node(s); negative indices count from the end, indices out of
   * range select nothing.
   *
   * @example
   * select([1, 2, 3]).atInstancesOf(Number).pickNthSelected(-1).set(0); // [1, 2, 0]
   */
  pickNthSelected(n: number | readonly number[]): Selection<T, R> {
    const count = this.entries.length;
    const wanted = new Set((typeof n === "number" ? [n] : n).map((i) => (i < 0 ? i + count : i)));
    return this.derive(this.entries.filter((_, i) => wanted.has(i)));
  }

  /**
   * Selects the direct children of each selected node. Selected leaves and childless nodes drop out.
   *
   * @example
   * select({ a: 1, b: [2] }).atChildren().getSequence(); // [1, [2]]
   */
  atChildren(): Selection<unknown, R> {
    return this.derive(childEntries(this.entries));
  }

  /**
   * Selects every leaf of each selected subtree. Childless nodes (`null`, `[]`, `{}`, structs
   * without children) are not leaves and are not selected.
   *
   * @example
   * select([1, null, { a: 2 }]).atPytreeLeaves().getSequence(); // [1, 2]
   */
  atPytreeLeaves(): Selection<unknown, R> {
    return this.collect((v) => nodeTypeOf(v) === undefined);
  }

  /**
   * Selects every leaf and every childless node of each selected subtree.
   *
   * @example
   * select([1, null, {}]).atChildless().count(); // 3
   */
  atChildless(): Selection<unknown, R> {
    return this.collect((v) => {
      const type = nodeTypeOf(v);
      return type === undefined || type.flatten(v)[0].length === 0;
    });
  }

  /**
   * Selects the outermost subtrees (of each selected node) that are instances of `cls` (or of one
   * of the classes). `Number`, `String`, `Boolean` and `BigInt` match primitives.
   *
   * @example
   * select(model).atInstancesOf(Linear).apply((l) => l.replace({ bias: zero }));
   * select([1, "a"]).atInstancesOf([Number, String]).count(); // 2
   */
  atInstancesOf<C extends AnyClass>(
    cls: C | readonly C[],
    options: { innermost?: boolean } = {},
  ): Selection<InstanceOf<C>, R> {
    checkOptions("Selection.atInstancesOf", options, INSTANCES_OF_OPTIONS);
    const classes: AnyClass[] = Array.isArray(cls) ? [...cls] : [cls as AnyClass];
    const primitive = new Set<string>();
    const objects: AnyClass[] = [];
    for (const c of classes) {
      if (c === (Number as unknown)) primitive.add("number");
      else if (c === (String as unknown)) primitive.add("string");
      else if (c === (Boolean as unknown)) primitive.add("boolean");
      else if (c === (BigInt as unknown)) primitive.add("bigint");
      else objects.push(c);
    }
    const test = (v: unknown): boolean => {
      if (primitive.size > 0 && primitive.has(typeof v)) return true;
      for (let i = 0; i < objects.length; i++) if (v instanceof objects[i]!) return true;
      return false;
    };
    if (options.innermost) return this.atSubtreesWhere(test, { innermost: true }) as never;
    if (objects.length === 1 && primitive.size === 0) {
      return this.collect({ instanceOf: objects[0]! }) as never;
    }
    return this.collect(test) as never;
  }

  /**
   * Selects the outermost subtrees equal to `template` (structural equality: same structure, leaves
   * equal by `Object.is`, typed arrays element-wise). Tensors and typed arrays in the tree are never
   * compared.
   *
   * @throws SelectionError when `template` is itself a tensor, named array or typed array.
   * @example
   * select({ foo: "foo", bar: [1, 2, 3] }).atEqualTo([1, 2, 3]).set(0); // { bar: 0, foo: "foo" }
   */
  atEqualTo<U>(template: U): Selection<U, R> {
    if (isArrayLike(template)) {
      throw new SelectionError(
        "Selection.atEqualTo cannot look for a tensor, named array or typed array: array equality is " +
          "elementwise and ambiguous. Use atSubtreesWhere with your own comparison instead.",
      );
    }
    return this.collect((v) => !isArrayLike(v) && treeEquals(v, template)) as Selection<U, R>;
  }

  /**
   * Selects the nodes at the given key paths, relative to each selected node. A path that is a
   * prefix of another wins; paths that do not exist are ignored.
   *
   * @example
   * select({ a: [1, 2] }).atKeypaths([[new DictKey("a"), new SequenceKey(1)]]).set(0); // { a: [1, 0] }
   */
  atKeypaths(keyPaths: Iterable<KeyPath>): Selection<unknown, R> {
    return this.derive(keyPathEntries(this.entries, [...keyPaths]));
  }

  /**
   * Selects the subtrees of each selected node for which `filter` returns `true`: the outermost
   * matches, or with `innermost` the innermost (then the filter runs bottom-up and leaves are never
   * selected, as in penzai). With `withKeypath` the filter also gets the key path, relative to the
   * selected node unless `absoluteKeypath`.
   *
   * @throws SelectionError when the filter returns something other than a boolean.
   * @example
   * select([1, [2, 3]]).atSubtreesWhere((x) => Array.isArray(x)).getSequence(); // [[1, [2, 3]]]
   * select([1, [2, 3]]).atSubtreesWhere((x) => Array.isArray(x), { innermost: true }).getSequence(); // [[2, 3]]
   */
  atSubtreesWhere(
    filter: (value: unknown) => boolean,
    options?: SubtreesWhereOptions & { withKeypath?: false },
  ): Selection<unknown, R>;
  atSubtreesWhere(
    filter: (keyPath: KeyPath, value: unknown) => boolean,
    options: SubtreesWhereOptions & { withKeypath: true },
  ): Selection<unknown, R>;
  atSubtreesWhere(
    filter: (...args: any[]) => boolean,
    options: SubtreesWhereOptions & { withKeypath?: boolean } = {},
  ): Selection<unknown, R> {
    checkOptions("Selection.atSubtreesWhere", options, SUBTREES_WHERE_OPTIONS);
    return this.derive(
      subtreesWhereEntries(this.entries, filter, {
        innermost: options.innermost === true,
        withKeypath: options.withKeypath === true,
        absoluteKeypath: options.absoluteKeypath === true,
      }),
    );
  }

  /** Outermost matches of `predicate` in every selected subtree, in tree order. */
  private collect(predicate: OutermostMatch, operation = "select"): Selection<unknown, R> {
    return this.derive(outermostEntries(this.entries, predicate, operation));
  }

  /**
   * Selects the largest subtrees that contain no selected node (the complement of this selection).
   *
   * @example
   * select([1, "a", 2]).atInstancesOf(Number).invert().getSequence(); // ["a"]
   */
  invert(): Selection<unknown, R> {
    return this.derive(complementEntries(this.tree, this.trie()));
  }

  /**
   * Runs `fn` on each selected node (with `keepSelected`) and expects a selection of (part of) that
   * node back; the result selects what those inner selections select (penzai's `refine`).
   *
   * @example
   * select(layers).atInstancesOf(Linear).refine((l) => l.select().at((x) => x.bias)).set(zero);
   */
  refine<U>(fn: (value: T) => Selection<U, unknown>): Selection<U, R> {
    return (
      this.apply(fn, { keepSelected: true }) as Selection<Selection<U, unknown>, R>
    ).flattenSelectedSelections();
  }

  /**
   * Every selected value must be a `Selection`; returns one selection of all the nodes those
   * selections select, in the outer tree (their trees are put in place of the selected values).
   *
   * @throws SelectionError naming the key path of a selected value that is not a `Selection`.
   * @example
   * select([select({ a: 1 }).at((r) => r.a)]).atChildren().flattenSelectedSelections().set(0); // [{ a: 0 }]
   */
  flattenSelectedSelections(): Selection<T extends Selection<infer U, unknown> ? U : unknown, R> {
    const inner: unknown[] = [];
    const out: Entry[] = [];
    for (const e of this.entries) {
      if (!(e.value instanceof Selection)) {
        throw new SelectionError(
          `flattenSelectedSelections: the node selected at ${where(e.keyPath)} is ${kindOf(e.value)}, not a ` +
            "Selection. Every selected value must be a Selection (refine's function must return one, " +
            "e.g. (x) => x.select().at(...)).",
        );
      }
      const s = e.value as Selection<unknown, unknown>;
      inner.push(s.tree);
      for (const f of s.entries) {
        out.push({
          keyPath: Object.freeze([...e.keyPath, ...f.keyPath]),
          indexPath: [...e.indexPath, ...f.indexPath],
          value: f.value,
        });
      }
    }
    const tree = rewriteAt(this.tree, this.entries, inner) as R;
    return new Selection(tree, out);
  }

  // ---- partitions and sequences --------------------------------------------------------------

  /**
   * Splits the tree into `[selectedTree, remainderTree]`: the first keeps the selected nodes and has
   * `NotInThisPartition` elsewhere, the second the opposite. With `atLeaves` the markers replace
   * individual leaves, so both trees have the structure of the original. `combine` undoes it.
   *
   * @example
   * const [sel, rest] = select({ a: 1, b: 2 }).at((r) => r.a).partition();
   * combine(sel, rest); // { a: 1, b: 2 }
   */
  partition(options: { atLeaves?: boolean } = {}): [unknown, unknown] {
    checkOptions("Selection.partition", options, PARTITION_OPTIONS);
    const marker = new NotInThisPartition();
    if (options.atLeaves) {
      return [this.invert().atPytreeLeaves().set(marker), this.atPytreeLeaves().set(marker)];
    }
    return [this.invert().set(marker), this.set(marker)];
  }

  /**
   * Replaces each selected node, which must be an element of an array, by the elements of
   * `fn(value)` (a flat-map).
   *
   * @throws InlineError when the root is selected or a selected node's parent is not an array.
   * @example
   * select([1, 2, 3]).atInstancesOf(Number).where((x) => x !== 2).applyAndInline((x) => [x, x]); // [1, 1, 2, 3, 3]
   */
  applyAndInline(fn: (value: T) => Iterable<unknown>): R;
  applyAndInline(
    fn: (keyPath: KeyPath, value: T) => Iterable<unknown>,
    options: { withKeypath: true },
  ): R;
  applyAndInline(
    fn: (...args: any[]) => Iterable<unknown>,
    options: { withKeypath?: boolean } = {},
  ): R {
    checkOptions("Selection.applyAndInline", options, WITH_KEYPATH_OPTIONS);
    return this.inline(
      (e) => [...(options.withKeypath ? fn(e.keyPath, e.value) : fn(e.value))],
      undefined,
    );
  }

  /**
   * Removes the selected nodes from their parent arrays.
   *
   * @throws InlineError when the root is selected or a selected node's parent is not an array.
   * @example
   * select([1, 2, 3]).atInstancesOf(Number).where((x) => x % 2 === 1).removeFromParent(); // [2]
   */
  removeFromParent(): R {
    return this.inline(() => [], undefined);
  }

  /**
   * Inserts `value` after each selected node in its parent array. With `andSelect`, returns a
   * selection of the inserted copies instead of the tree.
   *
   * @throws InlineError when the root is selected or a selected node's parent is not an array.
   * @example
   * select([1, 2]).atInstancesOf(Number).insertAfter(0); // [1, 0, 2, 0]
   */
  insertAfter(value: unknown): R;
  insertAfter<U>(value: U, options: { andSelect: true }): Selection<U, R>;
  insertAfter(value: unknown, options: { andSelect?: boolean } = {}): unknown {
    checkOptions("Selection.insertAfter", options, INSERT_OPTIONS);
    return this.insert(value, 1, options.andSelect === true);
  }

  /**
   * Inserts `value` before each selected node in its parent array. With `andSelect`, returns a
   * selection of the inserted copies instead of the tree.
   *
   * @throws InlineError when the root is selected or a selected node's parent is not an array.
   * @example
   * select([1, 2]).atInstancesOf(Number).insertBefore(0); // [0, 1, 0, 2]
   */
  insertBefore(value: unknown): R;
  insertBefore<U>(value: U, options: { andSelect: true }): Selection<U, R>;
  insertBefore(value: unknown, options: { andSelect?: boolean } = {}): unknown {
    checkOptions("Selection.insertBefore", options, INSERT_OPTIONS);
    return this.insert(value, 0, options.andSelect === true);
  }

  private insert(value: unknown, offset: 0 | 1, andSelect: boolean): unknown {
    if (!andSelect)
      return this.inline((e) => (offset === 1 ? [e.value, value] : [value, e.value]), undefined);
    const inserted: number[][] = [];
    const tree = this.inline((e) => (offset === 1 ? [e.value, value] : [value, e.value]), {
      offset,
      out: inserted,
    });
    return new Selection(
      tree,
      inserted.map((ip) => entry(keyPathOfIndexPath(tree, ip), ip, value)),
    );
  }

  private inline(fn: (e: Entry) => unknown[], track: InlineTracking | undefined): R {
    return inlineInParents(this.tree, this.entries, fn, track) as R;
  }

  // ---- display -----------------------------------------------------------------------------

  /**
   * Renders the whole tree with each selected node marked (text by default: `«…»`; HTML once
   * `@saikei/treescope` installs its renderer).
   *
   * @example
   * select({ a: 1, b: 2 }).at((r) => r.a).showSelection();
   */
  showSelection(): string {
    return renderSelection({
      tree: this.tree,
      selected: this.entries,
      trie: this.trie(),
      visibleSelection: true,
    });
  }

  /**
   * Renders the tree expanded along the paths to the selected nodes, without marks.
   *
   * @example
   * select(model).atInstancesOf(Linear).showValue();
   */
  showValue(): string {
    return renderSelection({
      tree: this.tree,
      selected: this.entries,
      trie: this.trie(),
      visibleSelection: false,
    });
  }

  /** `Selection(2 selected: ['a'], ['b'][0])`. */
  toString(): string {
    const paths = this.entries.slice(0, 10).map((e) => keystr(e.keyPath) || "<root>");
    const more = this.entries.length > 10 ? ", …" : "";
    return `Selection(${this.entries.length} selected${paths.length > 0 ? `: ${paths.join(", ")}${more}` : ""})`;
  }
}

/** The tree and entries of a selection built from parts, filled in once (see `fillHoles`). */
function resolveParts(s: Selection<any, any>): { tree: unknown; entries: readonly Entry[] } {
  const c = cached(s);
  c.resolved ??= fillHoles(c.parts!);
  return c.resolved;
}

// Selections are trees: children `selectedByPath` (a Map keyed by key path) and `remainder`.
registerPytreeNode(Selection, {
  flattenWithKeys: (s: Selection<unknown, unknown>) => {
    const parts = Selection.partsOf(s);
    return {
      children: [
        [
          new GetAttrKey("selectedByPath"),
          new Map(parts.keyPaths.map((k, i) => [k, parts.values[i]])),
        ],
        [new GetAttrKey("remainder"), parts.remainder],
      ],
      aux: parts.keyPaths,
    };
  },
  // Kept as given (penzai's dataclass fields); resolved against the remainder on first use.
  unflatten: (keyPaths: readonly KeyPath[], children) =>
    new Selection(undefined, [], {
      keyPaths,
      values: [...(children[0] as Map<KeyPath, unknown>).values()],
      remainder: children[1],
    }),
  auxEquals: (a, b) => a.length === b.length && a.every((x, i) => keyPathEquals(x, b[i]!)),
});

/**
 * Selects a whole tree: a selection with the root as its single selected node. Narrow it with
 * `at`, `atInstancesOf`, … and edit with `set`, `apply`, …
 *
 * @param tree any tree.
 * @returns `Selection<T, T>`.
 * @example
 * select({ a: 1, b: 2 }).at((r) => r.b).set(3); // { a: 1, b: 3 }
 */
export function select<T>(tree: T): Selection<T, T> {
  return new Selection<T, T>(tree, [entry([], [], tree)]);
}
