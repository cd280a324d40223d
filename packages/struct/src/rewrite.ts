/**
 * Positions in a tree and rewriting a tree at them: the one engine behind every "replace these
 * nodes" operation in saikei (selections, effect handlers, parameter helpers).
 *
 * A position is an index path (the child number at each level, in flatten order). Walks record
 * index paths only; key paths are derived from them when asked for, with the one child-lookup rule
 * of {@link childIndex} (built on {@link keyEquals}) for the way back. Rewriting rebuilds only the
 * ancestors of the positions it changes, so every other subtree of the result is the same object
 * (`===`) as in the input, and a rewrite that changes nothing returns the input itself.
 *
 * @module
 */

import { bugInSaikei } from "./bug.js";
import { DictKey, type KeyPath, keyEquals, type PathKey, SequenceKey } from "./keys.js";
import { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
import {
  ARRAY_NODE,
  childKeys,
  NODE_TYPE,
  type NodeType,
  nodeTypeOf,
  OBJECT_NODE,
  type ObjectAux,
  structClassOf,
} from "./registry.js";
import { chainError } from "./walkLimits.js";

/**
 * The index of the child of `node` that `key` steps to, or -1 when there is none. This is the one
 * rule for following a key: a child's key (as {@link flattenWithPath} gives it) must be
 * {@link keyEquals} to `key`.
 *
 * @example
 * childIndex({ b: 2, a: 1 }, new DictKey("b")); // 1 (object children are in sorted key order)
 * childIndex([5, 6], new SequenceKey(2)); // -1
 */
export function childIndex(node: unknown, key: PathKey): number {
  const type = nodeTypeOf(node);
  if (type === undefined) return -1;
  if (type === ARRAY_NODE) {
    // Fast path: the key of child i is SequenceKey(i).
    if (!(key instanceof SequenceKey)) return -1;
    const i = key.idx;
    return Number.isInteger(i) && i >= 0 && i < (node as unknown[]).length ? i : -1;
  }
  const [children, aux] = type.flatten(node);
  const n = children.length;
  if (n === 0) return -1;
  if (type === OBJECT_NODE) {
    // Fast path: the key of child i is DictKey(keys[i]) and object keys are strings.
    return key instanceof DictKey && typeof key.key === "string"
      ? (aux as ObjectAux).keys.indexOf(key.key)
      : -1;
  }
  const keys = childKeys(type, node, aux, n);
  for (let i = 0; i < n; i++) if (keyEquals(keys[i]!, key)) return i;
  return -1;
}

/**
 * Follows a key path from `tree`: the index path it corresponds to and the node it reaches, or
 * `undefined` when a step does not exist (see {@link childIndex}).
 *
 * @example
 * followKeyPath({ a: [10, 20] }, [new DictKey("a"), new SequenceKey(1)]); // { indexPath: [0, 1], value: 20 }
 */
export function followKeyPath(
  tree: unknown,
  keyPath: KeyPath,
): { indexPath: number[]; value: unknown } | undefined {
  const indexPath: number[] = [];
  let node = tree;
  for (const key of keyPath) {
    const i = childIndex(node, key);
    if (i < 0) return undefined;
    indexPath.push(i);
    node = nodeTypeOf(node)!.flatten(node)[0][i];
  }
  return { indexPath, value: node };
}

/**
 * The key of child `i` (of `n`) of a node, without building every key of a large array or object.
 *
 * @example
 * String(keyOfChild(ARRAY_NODE, [1, 2], null, 1, 2)); // "[1]"
 */
export function keyOfChild(
  type: NodeType,
  node: unknown,
  aux: unknown,
  i: number,
  n: number,
): PathKey {
  if (type === ARRAY_NODE) return new SequenceKey(i);
  if (type === OBJECT_NODE) return new DictKey((aux as ObjectAux).keys[i]);
  return childKeys(type, node, aux, n)[i]!;
}

/**
 * The key path an index path of `tree` corresponds to.
 *
 * @throws Error (a saikei bug report) when the index path runs into a leaf.
 * @example
 * keystr(keyPathOfIndexPath({ a: [10, 20] }, [0, 1])); // "['a'][1]"
 */
export function keyPathOfIndexPath(tree: unknown, indexPath: readonly number[]): PathKey[] {
  const out: PathKey[] = [];
  let node = tree;
  for (const i of indexPath) {
    const type = nodeTypeOf(node);
    const children = type?.flatten(node);
    if (type === undefined || children === undefined || i >= children[0].length) {
      throw bugInSaikei(
        "keyPathOfIndexPath",
        `the index path does not exist in the tree it was found in (it stops after ${out.length} steps).`,
        indexPath,
      );
    }
    out.push(keyOfChild(type, node, children[1], i, children[0].length));
    node = children[0][i];
  }
  return out;
}

/**
 * Where a node is in a tree: its index path and (computed on first read) its key path. What
 * {@link findOutermost} returns and {@link rewriteAt} takes.
 */
export interface Position<T = unknown> {
  /** The node found there. */
  readonly value: T;
  /** The child number at each level, from the root of the walked tree. */
  readonly indexPath: readonly number[];
  /** The key path (frozen), from the root, after the walk's `basePath`. */
  readonly keyPath: KeyPath;
}

/**
 * What {@link findOutermost} looks for: a function of a node that returns `true` for a match. When
 * it declares a second parameter it also gets a function returning the node's key path (computed
 * only when called).
 *
 * @example
 * const isTagged: OutermostPredicate = (node, keyPath) => keyPath().length > 0 && typeof node === "string";
 */
export type OutermostPredicate = (node: unknown, keyPath: () => KeyPath) => boolean;

/**
 * What {@link findOutermost} and {@link rewriteOutermost} look for: a predicate, or
 * `{ instanceOf: C }`, which matches like `(node) => node instanceof C` but is checked inside the
 * walk without a call (the fast path of `Selection.atInstancesOf`).
 *
 * @example
 * const linears: OutermostMatch = { instanceOf: Linear };
 */
export type OutermostMatch =
  | OutermostPredicate
  | { readonly instanceOf: abstract new (...args: any[]) => unknown };

/** Options of {@link findOutermost} and {@link rewriteOutermost}. */
export interface OutermostOptions {
  /** The operation named by a `TreeCycleError` / `TreeDepthError` (default `"findOutermost"`). */
  operation?: string;
  /** Key path of the walked tree inside a larger one, prepended to every key path reported. */
  basePath?: KeyPath;
}

interface Walk {
  readonly root: unknown;
  /** The class of `{ instanceOf }` matches, else `undefined` and `predicate` decides. */
  readonly cls: (abstract new (...args: any[]) => unknown) | undefined;
  readonly predicate: OutermostPredicate;
  /** Whether the predicate declares a key path parameter (it then gets one function per node). */
  readonly wantPath: boolean;
  readonly options: OutermostOptions;
  readonly indices: number[];
  readonly found: Position[];
  /**
   * Prototype of the last leaf object seen: model trees hold thousands of leaves of one class
   * (typed arrays, tensors), so the registry is asked once per walk, not once per leaf. Only
   * prototypes of objects without an attached node type are remembered (registrations cannot
   * change during a walk).
   */
  leafPrototype: object | null | undefined;
}

/**
 * The outermost nodes of `tree` for which `predicate` is true, in pre-order (flatten order): the
 * walk does not look inside a match. The root itself may match. Childless nodes and leaves are
 * tested like any node.
 *
 * @param tree any tree.
 * @param match tested on every node the walk reaches: a predicate (`true` makes a match) or
 *   `{ instanceOf: C }`.
 * @param options `operation` for error messages, `basePath` to prefix key paths.
 * @returns the matches' positions, ready for {@link rewriteAt}.
 * @throws TreeCycleError / TreeDepthError when the tree contains itself or is nested more than
 *   `MAX_TREE_DEPTH` levels deep.
 * @example
 * const found = findOutermost({ a: [1, "x"], b: "y" }, (x) => typeof x === "string");
 * found.map((p) => keystr(p.keyPath)); // ["['a'][1]", "['b']"]
 */
export function findOutermost<T = unknown>(
  tree: unknown,
  match: OutermostMatch,
  options: OutermostOptions = {},
): Position<T>[] {
  const cls = typeof match === "function" ? undefined : match.instanceOf;
  const predicate = typeof match === "function" ? match : NEVER;
  const walk: Walk = {
    root: tree,
    cls,
    predicate,
    wantPath: predicate.length >= 2,
    options,
    indices: [],
    found: [],
    leafPrototype: undefined,
  };
  visit(walk, tree, 0);
  return walk.found as Position<T>[];
}

function visit(walk: Walk, node: unknown, depth: number): void {
  // Only predicates that ask for key paths get a function per node: the hot walk allocates nothing.
  const cls = walk.cls;
  const matched =
    cls !== undefined
      ? node instanceof cls
      : walk.wantPath
        ? walk.predicate(node, pathThunk(walk, depth))
        : (walk.predicate as (node: unknown) => boolean)(node);
  if (matched) {
    walk.found.push(position(walk, walk.indices.slice(0, depth), node));
    return;
  }
  if (node === null || typeof node !== "object") return;
  if (depth > MAX_TREE_DEPTH) {
    throw chainError(
      walk.options.operation ?? "findOutermost",
      walk.root,
      walk.indices.slice(0, depth),
      walk.options.basePath,
    );
  }
  const indices = walk.indices;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      indices[depth] = i;
      visit(walk, node[i], depth + 1);
    }
    return;
  }
  const struct = structClassOf(node);
  if (struct !== undefined) {
    // Structs are read field by field, without allocating a child array.
    const names = struct.childNames;
    for (let i = 0; i < names.length; i++) {
      indices[depth] = i;
      visit(walk, (node as Record<string, unknown>)[names[i]!], depth + 1);
    }
    return;
  }
  const proto = Object.getPrototypeOf(node);
  if (proto === walk.leafPrototype) return;
  const type = nodeTypeOf(node);
  if (type === undefined) {
    if ((node as { [NODE_TYPE]?: NodeType })[NODE_TYPE] === undefined) walk.leafPrototype = proto;
    return;
  }
  const children = type.flatten(node)[0];
  for (let i = 0; i < children.length; i++) {
    indices[depth] = i;
    visit(walk, children[i], depth + 1);
  }
}

function pathThunk(walk: Walk, depth: number): () => KeyPath {
  return () => {
    const relative = keyPathOfIndexPath(walk.root, walk.indices.slice(0, depth));
    const base = walk.options.basePath;
    return Object.freeze(
      base === undefined || base.length === 0 ? relative : [...base, ...relative],
    );
  };
}

const NEVER: OutermostPredicate = () => false;

/** A match of a walk; its key path is computed from the index path when first read. */
class FoundPosition implements Position {
  #keyPath: KeyPath | undefined;
  constructor(
    private readonly root: unknown,
    private readonly basePath: KeyPath | undefined,
    readonly indexPath: readonly number[],
    readonly value: unknown,
  ) {}

  get keyPath(): KeyPath {
    if (this.#keyPath === undefined) {
      const relative = keyPathOfIndexPath(this.root, this.indexPath);
      const base = this.basePath;
      this.#keyPath = Object.freeze(
        base === undefined || base.length === 0 ? relative : [...base, ...relative],
      );
    }
    return this.#keyPath;
  }
}

function position(walk: Walk, indexPath: number[], value: unknown): Position {
  return new FoundPosition(walk.root, walk.options.basePath, indexPath, value);
}

/** Options of {@link rewriteAt}. */
export interface RewriteOptions {
  /** Called for every ancestor that is rebuilt, with the original node and its new copy. */
  onRebuild?: (original: unknown, rebuilt: unknown) => void;
}

/**
 * Rebuilds `tree` with the node at each position replaced: by `values[i]`, or by `values(i)` when
 * `values` is a function (called once per position, in order, before anything is rebuilt). Positions must be in pre-order and must not contain one another (what
 * {@link findOutermost} returns). Only ancestors of positions whose value changed are rebuilt (with
 * their node type's `unflatten`, never a user constructor); every other node is kept as is, so
 * rewriting every position with its own value returns `tree` itself.
 *
 * @param tree the tree the positions were found in.
 * @param positions where to write, as objects with an `indexPath`.
 * @param values one new value per position, in order, or a function of the position's number.
 * @example
 * const tree = { a: [1, "x"], b: "y" };
 * const found = findOutermost(tree, (x) => typeof x === "string");
 * rewriteAt(tree, found, (i) => found[i]!.value + "!"); // { a: [1, "x!"], b: "y!" }
 */
export function rewriteAt(
  tree: unknown,
  positions: readonly { readonly indexPath: readonly number[] }[],
  values: readonly unknown[] | ((ordinal: number) => unknown),
  options: RewriteOptions = {},
): unknown {
  const n = positions.length;
  if (n === 0) return tree;
  let list: readonly unknown[];
  if (typeof values === "function") {
    const computed = new Array(n);
    for (let i = 0; i < n; i++) computed[i] = values(i);
    list = computed;
  } else {
    list = values;
  }
  return rebuild(tree, positions, list, options.onRebuild, 0, n, 0);
}

function rebuild(
  node: unknown,
  positions: readonly { readonly indexPath: readonly number[] }[],
  values: readonly unknown[],
  onRebuild: ((original: unknown, rebuilt: unknown) => void) | undefined,
  lo: number,
  hi: number,
  depth: number,
): unknown {
  if (positions[lo]!.indexPath.length === depth) return values[lo];
  const type = nodeTypeOf(node)!;
  const [children, aux] = type.flatten(node);
  let out: unknown[] | undefined;
  let i = lo;
  while (i < hi) {
    const c = positions[i]!.indexPath[depth]!;
    let j = i + 1;
    while (j < hi && positions[j]!.indexPath[depth] === c) j++;
    const child = children[c];
    const replaced = rebuild(child, positions, values, onRebuild, i, j, depth + 1);
    if (replaced !== child) {
      out ??= children.slice();
      out[c] = replaced;
    }
    i = j;
  }
  if (out === undefined) return node;
  const rebuilt = type.unflatten(aux, out);
  if (onRebuild !== undefined) onRebuild(node, rebuilt);
  return rebuilt;
}

/**
 * Replaces the outermost nodes matching `predicate` by `rewrite(node, keyPath, ordinal)` and
 * rebuilds their ancestors ({@link findOutermost} then {@link rewriteAt}). `rewrite` is called
 * once per match, in pre-order, before anything is rebuilt. Unchanged subtrees stay `===`.
 *
 * For queries beyond one predicate (filters on the matches, key paths, counts), `@saikei/select`
 * offers the same walk as `select(tree).atSubtreesWhere(predicate).apply(...)`.
 *
 * @param tree any tree.
 * @param match which nodes to rewrite (outermost matches only): a predicate or `{ instanceOf: C }`.
 * @param rewrite the new value of a match, given the match, its key path and its number.
 * @returns the rewritten tree.
 * @example
 * rewriteOutermost([1, [2, "a"]], (x) => typeof x === "number", (x) => (x as number) * 10); // [10, [20, "a"]]
 */
export function rewriteOutermost<T, M = any>(
  tree: T,
  match: OutermostMatch,
  rewrite: (node: M, keyPath: KeyPath, ordinal: number) => unknown,
  options: OutermostOptions = {},
): T {
  const found = findOutermost<M>(tree, match, {
    operation: options.operation ?? "rewriteOutermost",
    basePath: options.basePath,
  });
  if (found.length === 0) return tree;
  const values = new Array(found.length);
  for (let i = 0; i < found.length; i++) {
    const p = found[i]!;
    values[i] = rewrite(p.value, p.keyPath, i);
  }
  return rewriteAt(tree, found, values) as T;
}
