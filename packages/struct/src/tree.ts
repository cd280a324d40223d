/**
 * Tree operations in the style of `jax.tree_util`: flatten, unflatten, map and key paths over any
 * tree the registry knows.
 *
 * @module
 */

import {
  DictKey,
  FlattenedIndexKey,
  GetAttrKey,
  type KeyPath,
  keystr,
  type PathKey,
  SequenceKey,
} from "./keys.js";
import {
  ARRAY_NODE,
  childKeys,
  NODE_TYPE,
  type NodeType,
  nodeTypeOf,
  registeredNodeTypeOf,
  type StructLayout,
  structAux,
} from "./registry.js";

/** A predicate that stops the walk at a node and treats it as a leaf. May look at the key path. */
export type IsLeaf = (value: unknown, path: KeyPath) => boolean;

/** Raised when trees that should have the same structure do not. */
export class TreeStructureMismatchError extends Error {
  override name = "TreeStructureMismatchError";
  constructor(
    message: string,
    /** Where the trees first differ. */
    readonly path: KeyPath,
  ) {
    super(message);
  }
}

/** Raised when `unflatten` receives a number of leaves that does not fit the structure. */
export class LeafCountError extends Error {
  override name = "LeafCountError";
}

/**
 * The pre-order encoding of a structure, as JAX's C++ `PyTreeDef` keeps it: one entry per node
 * (leaves included) in three parallel arrays. Flattening only appends to these arrays, which keeps
 * it close to the cost of a hand-written walk; the tree-shaped view of {@link TreeDef} is built on
 * demand.
 */
interface FlatDef {
  /** Node kind of each node, `undefined` for a leaf. */
  readonly kinds: (NodeType | undefined)[];
  /** Static data of each node. */
  readonly auxes: unknown[];
  /** Number of children of each node. */
  readonly counts: number[];
  /** Lazily computed: nodes in the subtree at each index. */
  sizes?: Int32Array;
  /** Lazily computed: leaves in the subtree at each index. */
  leafCounts?: Int32Array;
  /** Lazily built child views, by node index. */
  childViews?: (readonly TreeDef[] | undefined)[];
}

const FROM_FLAT: unique symbol = Symbol("fromFlat");

function newFlat(): FlatDef {
  return { kinds: [], auxes: [], counts: [] };
}

function computeSizes(flat: FlatDef): void {
  const n = flat.kinds.length;
  const sizes = new Int32Array(n);
  const leafCounts = new Int32Array(n);
  const stack: number[] = [];
  for (let i = n - 1; i >= 0; i--) {
    let size = 1;
    let leafCount = 0;
    if (flat.kinds[i] === undefined) {
      leafCount = 1;
    } else {
      for (let c = flat.counts[i]!; c > 0; c--) {
        const child = stack.pop();
        if (child === undefined) {
          throw new Error(
            `Bug in saikei: corrupt structure encoding at node ${i}. Please report it.`,
          );
        }
        size += sizes[child]!;
        leafCount += leafCounts[child]!;
      }
    }
    sizes[i] = size;
    leafCounts[i] = leafCount;
    stack.push(i);
  }
  flat.sizes = sizes;
  flat.leafCounts = leafCounts;
}

/**
 * The structure of a tree without its leaves (JAX's `PyTreeDef`). Two trees have equal structures
 * when they have the same node kinds, static data and child counts everywhere.
 *
 * @example
 * const def = structure({ a: 1, b: [2, null] });
 * def.toString(); // '{"a": *, "b": [*, null]}'
 * def.numLeaves; // 2
 * def.equals(structure({ b: [5, null], a: 6 })); // true
 */
export class TreeDef {
  /** Number of leaves a tree of this structure has. */
  readonly numLeaves: number;
  /** Number of nodes, leaves included. */
  readonly numNodes: number;
  /** @internal The shared pre-order encoding this structure is a view of. */
  readonly flat: FlatDef;
  /** @internal Index of this structure's root in {@link flat}. */
  readonly start: number;

  /**
   * Builds a structure from a node kind, its static data and the structures of its children.
   * Usually structures come from {@link structure} or {@link flatten}.
   *
   * @param nodeType the node kind, or `undefined` for a leaf.
   * @param aux the node's static data.
   * @param children the structures of the children.
   */
  constructor(nodeType: NodeType | undefined, aux: unknown, children: readonly TreeDef[]);
  constructor(...args: unknown[]) {
    if (args[0] === FROM_FLAT) {
      this.flat = args[1] as FlatDef;
      this.start = args[2] as number;
      this.numNodes = args[3] as number;
      this.numLeaves = args[4] as number;
    } else {
      const [nodeType, aux, children] = args as [NodeType | undefined, unknown, readonly TreeDef[]];
      const flat = newFlat();
      flat.kinds.push(nodeType);
      flat.auxes.push(nodeType === undefined ? undefined : aux);
      flat.counts.push(nodeType === undefined ? 0 : children.length);
      let leaves = nodeType === undefined ? 1 : 0;
      if (nodeType !== undefined) {
        for (const c of children) {
          const end = c.start + c.numNodes;
          for (let i = c.start; i < end; i++) {
            flat.kinds.push(c.flat.kinds[i]);
            flat.auxes.push(c.flat.auxes[i]);
            flat.counts.push(c.flat.counts[i]!);
          }
          leaves += c.numLeaves;
        }
      }
      this.flat = flat;
      this.start = 0;
      this.numNodes = flat.kinds.length;
      this.numLeaves = leaves;
    }
    Object.freeze(this);
  }

  /** The node kind at the root of this structure, `undefined` for a leaf. */
  get nodeType(): NodeType | undefined {
    return this.flat.kinds[this.start];
  }

  /** The static data of the root node. */
  get aux(): unknown {
    return this.flat.auxes[this.start];
  }

  /** The structures of the root's children. */
  get children(): readonly TreeDef[] {
    const flat = this.flat;
    const cached = flat.childViews?.[this.start];
    if (cached !== undefined) return cached;
    if (flat.sizes === undefined) computeSizes(flat);
    const count = flat.counts[this.start]!;
    const out = new Array<TreeDef>(count);
    let index = this.start + 1;
    for (let i = 0; i < count; i++) {
      const size = flat.sizes![index]!;
      out[i] =
        flat.kinds[index] === undefined
          ? LEAF
          : new (TreeDef as any)(FROM_FLAT, flat, index, size, flat.leafCounts![index]!);
      index += size;
    }
    Object.freeze(out);
    flat.childViews ??= [];
    flat.childViews[this.start] = out;
    return out;
  }

  /** Whether this is the structure of a single leaf. */
  get isLeaf(): boolean {
    return this.flat.kinds[this.start] === undefined;
  }

  /**
   * Structural equality: node kinds, static data and children.
   *
   * @example
   * structure([1, 2]).equals(structure([3, 4])); // true
   * structure([1, 2]).equals(structure([1, [2]])); // false
   */
  equals(other: TreeDef): boolean {
    return firstDifference(this, other) === -1;
  }

  /**
   * Rebuilds a tree of this structure from leaves in flatten order.
   *
   * @throws LeafCountError when `leaves.length` is not `numLeaves`.
   * @example
   * structure([1, { a: 2 }]).unflatten(["x", "y"]); // ["x", { a: "y" }]
   */
  unflatten<T = unknown>(leaves: readonly unknown[]): T {
    return unflatten<T>(this, leaves);
  }

  /**
   * A readable rendering: `*` for each leaf, node kinds around their children.
   *
   * @example
   * structure([1, { a: 2 }, null]).toString(); // '[*, {"a": *}, null]'
   */
  toString(): string {
    const cursor = { i: this.start };
    return renderFrom(this.flat, cursor);
  }
}

function renderFrom(flat: FlatDef, cursor: { i: number }): string {
  const i = cursor.i++;
  const kind = flat.kinds[i];
  if (kind === undefined) return "*";
  const count = flat.counts[i]!;
  const children = new Array<string>(count);
  for (let c = 0; c < count; c++) children[c] = renderFrom(flat, cursor);
  return kind.render(flat.auxes[i], children);
}

/**
 * The offset (in nodes, pre-order) of the first node where two structures differ, or -1 when they
 * are equal.
 */
function firstDifference(a: TreeDef, b: TreeDef): number {
  if (a === b) return -1;
  const n = Math.min(a.numNodes, b.numNodes);
  const fa = a.flat;
  const fb = b.flat;
  for (let k = 0; k < n; k++) {
    const ia = a.start + k;
    const ib = b.start + k;
    const kind = fa.kinds[ia];
    if (kind !== fb.kinds[ib] || fa.counts[ia] !== fb.counts[ib]) return k;
    if (kind !== undefined && fa.auxes[ia] !== fb.auxes[ib]) {
      if (!kind.auxEquals(fa.auxes[ia], fb.auxes[ib])) return k;
    }
  }
  return a.numNodes === b.numNodes ? -1 : n;
}

/** The structure of a single leaf. */
export const LEAF: TreeDef = new TreeDef(undefined, undefined, []);

const OBJECT_PROTO = Object.prototype;
const MAP_PROTO = Map.prototype;

/** Flattens without key paths, appending to `flat` and `leaves`. */
function flattenRec(
  node: unknown,
  flat: FlatDef,
  leaves: unknown[],
  isLeaf: IsLeaf | undefined,
): void {
  if (isLeaf?.(node, NO_PATH)) {
    pushLeaf(flat, leaves, node);
    return;
  }
  if (typeof node === "object" && node !== null) {
    if (Array.isArray(node)) {
      const n = node.length;
      flat.kinds.push(ARRAY_NODE);
      flat.auxes.push(null);
      flat.counts.push(n);
      for (let i = 0; i < n; i++) flattenRec(node[i], flat, leaves, isLeaf);
      return;
    }
    const proto = Object.getPrototypeOf(node);
    if (proto !== OBJECT_PROTO && proto !== null) {
      const kind = (node as { [NODE_TYPE]?: NodeType })[NODE_TYPE];
      if (kind === undefined && proto !== MAP_PROTO && registeredNodeTypeOf(proto) === undefined) {
        pushLeaf(flat, leaves, node);
        return;
      }
      if (kind?.isStructNode === true) {
        const layout = kind as unknown as StructLayout;
        const names = layout.childNames;
        const n = names.length;
        flat.kinds.push(layout.nodeType);
        flat.auxes.push(structAux(proto, layout, node));
        flat.counts.push(n);
        for (let i = 0; i < n; i++) flattenRec((node as any)[names[i]!], flat, leaves, isLeaf);
        return;
      }
    }
  } else if (node !== undefined && node !== null) {
    pushLeaf(flat, leaves, node);
    return;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    pushLeaf(flat, leaves, node);
    return;
  }
  const [children, aux] = type.flatten(node);
  flat.kinds.push(type);
  flat.auxes.push(aux);
  flat.counts.push(children.length);
  for (let i = 0; i < children.length; i++) flattenRec(children[i], flat, leaves, isLeaf);
}

function pushLeaf(flat: FlatDef, leaves: unknown[], node: unknown): void {
  flat.kinds.push(undefined);
  flat.auxes.push(undefined);
  flat.counts.push(0);
  leaves.push(node);
}

const NO_PATH: KeyPath = Object.freeze([]) as KeyPath;

/** Flattens with key paths, appending `[path, leaf]` pairs to `out`. */
function flattenRecWithPath(
  node: unknown,
  path: PathKey[],
  flat: FlatDef,
  out: [KeyPath, unknown][],
  isLeaf: IsLeaf | undefined,
): void {
  if (isLeaf?.(node, path)) {
    pushLeafWithPath(flat, out, path, node);
    return;
  }
  if (typeof node === "object" && node !== null) {
    if (Array.isArray(node)) {
      const n = node.length;
      flat.kinds.push(ARRAY_NODE);
      flat.auxes.push(null);
      flat.counts.push(n);
      for (let i = 0; i < n; i++) {
        const childPath = path.slice();
        childPath.push(new SequenceKey(i));
        flattenRecWithPath(node[i], childPath, flat, out, isLeaf);
      }
      return;
    }
    const proto = Object.getPrototypeOf(node);
    if (proto !== OBJECT_PROTO && proto !== null) {
      const kind = (node as { [NODE_TYPE]?: NodeType })[NODE_TYPE];
      if (kind === undefined && proto !== MAP_PROTO && registeredNodeTypeOf(proto) === undefined) {
        pushLeafWithPath(flat, out, path, node);
        return;
      }
      if (kind?.isStructNode === true) {
        const layout = kind as unknown as StructLayout;
        const names = layout.childNames;
        const n = names.length;
        flat.kinds.push(layout.nodeType);
        flat.auxes.push(structAux(proto, layout, node));
        flat.counts.push(n);
        const keys = n === 0 ? layout.childKeys : layout.nodeType.keys(node, undefined, n);
        for (let i = 0; i < n; i++) {
          const childPath = path.slice();
          childPath.push(keys[i]!);
          flattenRecWithPath((node as any)[names[i]!], childPath, flat, out, isLeaf);
        }
        return;
      }
    }
  } else if (node !== undefined && node !== null) {
    pushLeafWithPath(flat, out, path, node);
    return;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    pushLeafWithPath(flat, out, path, node);
    return;
  }
  const [children, aux] = type.flatten(node);
  const n = children.length;
  flat.kinds.push(type);
  flat.auxes.push(aux);
  flat.counts.push(n);
  if (n === 0) return;
  const keys = childKeys(type, node, aux, n);
  for (let i = 0; i < n; i++) {
    const childPath = path.slice();
    childPath.push(keys[i]!);
    flattenRecWithPath(children[i], childPath, flat, out, isLeaf);
  }
}

function pushLeafWithPath(
  flat: FlatDef,
  out: [KeyPath, unknown][],
  path: KeyPath,
  node: unknown,
): void {
  flat.kinds.push(undefined);
  flat.auxes.push(undefined);
  flat.counts.push(0);
  out.push([path, node]);
}

function rootDef(flat: FlatDef, numLeaves: number): TreeDef {
  if (flat.kinds.length === 1 && flat.kinds[0] === undefined) return LEAF;
  return new (TreeDef as any)(FROM_FLAT, flat, 0, flat.kinds.length, numLeaves);
}

/**
 * Flattens a tree into its leaves (pre-order, left to right) and its structure.
 *
 * @param tree any value; values that are not nodes are single leaves.
 * @param isLeaf optional predicate that treats matching nodes as leaves; it receives the node and
 *   its key path.
 * @returns `[leaves, treedef]`.
 * @example
 * const [leaves, def] = flatten({ b: [1, 2], a: 3 });
 * leaves; // [3, 1, 2]  (object keys are visited in sorted order)
 * unflatten(def, leaves); // { a: 3, b: [1, 2] }
 */
export function flatten(tree: unknown, isLeaf?: IsLeaf): [unknown[], TreeDef] {
  if (isLeaf !== undefined && isLeaf.length >= 2) {
    const [pairs, def] = flattenWithPath(tree, isLeaf);
    const leaves = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) leaves[i] = pairs[i]![1];
    return [leaves, def];
  }
  const leaves: unknown[] = [];
  const flat = newFlat();
  flattenRec(tree, flat, leaves, isLeaf);
  return [leaves, rootDef(flat, leaves.length)];
}

/**
 * Flattens a tree into `[keyPath, leaf]` pairs and its structure.
 *
 * @param tree any value.
 * @param isLeaf optional predicate that treats matching nodes as leaves.
 * @returns `[[path, leaf][], treedef]`, leaves in flatten order.
 * @example
 * const [pairs] = flattenWithPath({ a: [10, 20] });
 * pairs.map(([p, v]) => [keystr(p), v]); // [["['a'][0]", 10], ["['a'][1]", 20]]
 */
export function flattenWithPath(tree: unknown, isLeaf?: IsLeaf): [[KeyPath, unknown][], TreeDef] {
  const out: [KeyPath, unknown][] = [];
  const flat = newFlat();
  flattenRecWithPath(tree, [], flat, out, isLeaf);
  return [out, rootDef(flat, out.length)];
}

/**
 * The leaves of a tree, in flatten order.
 *
 * @example
 * leaves([1, { x: 2 }, null]); // [1, 2]
 */
export function leaves(tree: unknown, isLeaf?: IsLeaf): unknown[] {
  return flatten(tree, isLeaf)[0];
}

/**
 * The structure of a tree.
 *
 * @example
 * structure({ a: 1, b: [2, 3] }).toString(); // '{"a": *, "b": [*, *]}'
 */
export function structure(tree: unknown, isLeaf?: IsLeaf): TreeDef {
  return flatten(tree, isLeaf)[1];
}

/**
 * Rebuilds a tree from a structure and leaves. Never calls a user constructor: structs come back
 * as frozen instances of their classes.
 *
 * @param treedef the structure, from {@link flatten} or {@link structure}.
 * @param leaves one leaf per `*` of the structure, in flatten order.
 * @throws LeafCountError when the number of leaves does not match the structure.
 * @example
 * const [leaves, def] = flatten([1, [2, 3]]);
 * unflatten(def, leaves.map((x) => (x as number) * 10)); // [10, [20, 30]]
 */
export function unflatten<T = unknown>(treedef: TreeDef, leaves: readonly unknown[]): T {
  if (!(treedef instanceof TreeDef)) {
    throw new TypeError(
      `unflatten expects a TreeDef (from flatten or structure) as its first argument, but got ${leafKind(treedef)}.`,
    );
  }
  if (!Array.isArray(leaves) || leaves.length !== treedef.numLeaves) {
    const got = Array.isArray(leaves)
      ? `${leaves.length}`
      : `a ${leafKind(leaves)} instead of an array`;
    throw new LeafCountError(
      `unflatten expected ${treedef.numLeaves} leaves for the structure ${truncate(treedef.toString())}, ` +
        `but got ${got}. Pass exactly one leaf per '*' in the structure, in flatten order.`,
    );
  }
  const state: UnflattenState = {
    kinds: treedef.flat.kinds,
    auxes: treedef.flat.auxes,
    counts: treedef.flat.counts,
    leaves,
    node: treedef.start,
    leaf: 0,
  };
  return unflattenRec(state) as T;
}

interface UnflattenState {
  readonly kinds: readonly (NodeType | undefined)[];
  readonly auxes: readonly unknown[];
  readonly counts: readonly number[];
  readonly leaves: readonly unknown[];
  node: number;
  leaf: number;
}

function unflattenRec(s: UnflattenState): unknown {
  const i = s.node++;
  const kind = s.kinds[i];
  if (kind === undefined) return s.leaves[s.leaf++];
  const count = s.counts[i]!;
  if (kind === ARRAY_NODE) {
    const out = new Array(count);
    for (let c = 0; c < count; c++) out[c] = unflattenRec(s);
    return out;
  }
  const aux = s.auxes[i];
  if (kind.isStructNode === true) {
    // Rebuild the frozen instance directly: same result as `kind.unflatten`, without the
    // intermediate children array.
    const isPlain = !Array.isArray(aux);
    const proto = (isPlain ? aux : (aux as unknown[])[0]) as object;
    const layout = kind as unknown as StructLayout;
    const obj: any = Object.create(proto);
    const names = layout.childNames;
    for (let c = 0; c < count; c++) obj[names[c]!] = unflattenRec(s);
    if (!isPlain) {
      const staticNames = layout.staticNames;
      for (let k = 0; k < staticNames.length; k++) obj[staticNames[k]!] = (aux as unknown[])[k + 1];
    }
    return Object.freeze(obj);
  }
  const children = new Array(count);
  for (let c = 0; c < count; c++) children[c] = unflattenRec(s);
  return kind.unflatten(aux, children);
}

function truncate(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/**
 * Options for {@link map} and {@link mapWithPath}, passed as the final argument. Build them with
 * {@link options} so they cannot be mistaken for a tree.
 */
export class TreeOptions {
  constructor(readonly isLeaf?: IsLeaf) {
    Object.freeze(this);
  }
}

/**
 * Options for the final argument of {@link map} / {@link mapWithPath}.
 *
 * @example
 * map((x) => x, tree, options({ isLeaf: (x) => x instanceof Float32Array }));
 */
export function options(opts: { isLeaf?: IsLeaf }): TreeOptions {
  return new TreeOptions(opts.isLeaf);
}

function splitOptions(rest: unknown[]): [unknown[], IsLeaf | undefined] {
  const last = rest[rest.length - 1];
  if (last instanceof TreeOptions) return [rest.slice(0, -1), last.isLeaf];
  return [rest, undefined];
}

function describeNode(value: unknown): string {
  const def = structureOneLevel(value);
  return def === undefined ? `a leaf (${leafKind(value)})` : `a node ${truncate(def, 120)}`;
}

function structureOneLevel(value: unknown): string | undefined {
  const type = nodeTypeOf(value);
  if (type === undefined) return undefined;
  const [children, aux] = type.flatten(value);
  return type.render(
    aux,
    children.map(() => "…"),
  );
}

function leafKind(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as object).constructor?.name ?? "object";
}

/** Where {@link flattenUpToRec} found a mismatch: the keys from the mismatch up to the root. */
interface UpToState {
  readonly flat: FlatDef;
  node: number;
  readonly out: unknown[];
  /** Keys of the mismatch path, innermost first. */
  readonly reversedPath: PathKey[];
  /** The def node index and the tree node where the first difference was found. */
  failedAt?: { readonly index: number; readonly value: unknown };
}

function flattenUpToRec(s: UpToState, value: unknown): boolean {
  const i = s.node;
  const kind = s.flat.kinds[i];
  if (kind === undefined) {
    s.node++;
    s.out.push(value);
    return true;
  }
  const type = nodeTypeOf(value);
  let children: unknown[] | undefined;
  let aux: unknown;
  if (type === kind) {
    [children, aux] = type.flatten(value);
    const expectedAux = s.flat.auxes[i];
    if (
      children.length !== s.flat.counts[i] ||
      (aux !== expectedAux && !kind.auxEquals(expectedAux, aux))
    ) {
      children = undefined;
    }
  }
  if (children === undefined) {
    s.failedAt = { index: i, value };
    return false;
  }
  s.node++;
  for (let c = 0; c < children.length; c++) {
    if (!flattenUpToRec(s, children[c])) {
      s.reversedPath.push(childKeys(type!, value, aux, children.length)[c]!);
      return false;
    }
  }
  return true;
}

/**
 * Flattens `tree` up to the structure `treedef` (JAX's `treedef.flatten_up_to`): where `treedef` has
 * a leaf, the whole subtree of `tree` found there becomes one entry of the result.
 *
 * @param treedef the structure `tree` must have, or extend at its leaves.
 * @param tree the tree to flatten.
 * @returns one value per leaf of `treedef`, in flatten order.
 * @throws TreeStructureMismatchError showing both structures and the first key path where they
 *   differ.
 * @example
 * flattenUpTo(structure([1, 2]), [{ a: 1 }, [3]]); // [{ a: 1 }, [3]]
 */
export function flattenUpTo(treedef: TreeDef, tree: unknown): unknown[] {
  return flattenUpToOrThrow(treedef, tree, (path, expected, got) =>
    mismatchMessage("flattenUpTo", "the structure", "the tree", path, expected, got, treedef, tree),
  );
}

function flattenUpToOrThrow(
  treedef: TreeDef,
  tree: unknown,
  message: (path: KeyPath, expected: string, got: string) => string,
): unknown[] {
  const state: UpToState = { flat: treedef.flat, node: treedef.start, out: [], reversedPath: [] };
  if (flattenUpToRec(state, tree)) return state.out;
  const path = state.reversedPath.reverse();
  const failed = state.failedAt!;
  const expected = describeDefNode(treedef.flat, failed.index);
  const got = describeNode(failed.value);
  throw new TreeStructureMismatchError(message(path, expected, got), path);
}

function mismatchMessage(
  operation: string,
  firstName: string,
  secondName: string,
  path: KeyPath,
  expected: string,
  got: string,
  treedef: TreeDef,
  tree: unknown,
): string {
  let treeStructure: string;
  try {
    treeStructure = truncate(structure(tree).toString());
  } catch {
    treeStructure = "(could not be rendered)";
  }
  return (
    `${operation}: ${secondName} does not have ${firstName}'s structure at ${keystr(path) || "the root"}: ` +
    `${firstName} has ${expected} there, ${secondName} has ${got}.\n` +
    `  ${firstName} structure: ${truncate(treedef.toString())}\n` +
    `  ${secondName} structure: ${treeStructure}\n` +
    `Make ${secondName} match ${firstName} at ${keystr(path) || "the root"} (same node kinds, keys, ` +
    "static fields and child counts), or extend it only where the first has leaves."
  );
}

function describeDefNode(flat: FlatDef, index: number): string {
  const kind = flat.kinds[index];
  if (kind === undefined) return "a leaf";
  const count = flat.counts[index]!;
  return `a node ${truncate(
    kind.render(
      flat.auxes[index],
      Array.from({ length: count }, () => "…"),
    ),
    120,
  )}`;
}

/**
 * Applies `fn` to the leaves of one or more trees of the same structure and rebuilds the tree.
 * The first tree's structure drives the walk; the others must match it (or extend it: a subtree
 * found at a leaf position of the first tree is passed to `fn` whole). A final {@link options}
 * argument may give an `isLeaf` predicate.
 *
 * @param fn called once per leaf of the first tree with the matching values of every tree.
 * @param tree the first tree.
 * @param rest further trees, then optionally `options({ isLeaf })`.
 * @returns a tree of the first tree's structure holding `fn`'s results.
 * @throws TreeStructureMismatchError showing both structures and the first key path where they
 *   differ.
 * @example
 * map((a, b) => (a as number) + (b as number), [1, { x: 2 }], [10, { x: 20 }]); // [11, { x: 22 }]
 */
export function map<T = unknown>(
  fn: (...leaves: any[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): T {
  const [trees, isLeaf] = splitOptions(rest);
  const [firstLeaves, def] = flatten(tree, isLeaf);
  const n = firstLeaves.length;
  const results = new Array(n);
  if (trees.length === 0) {
    for (let i = 0; i < n; i++) results[i] = fn(firstLeaves[i]);
  } else {
    const others = trees.map((other, t) => flattenOthers("tree.map", def, other, t + 1));
    const args = new Array(trees.length + 1);
    for (let i = 0; i < n; i++) {
      args[0] = firstLeaves[i];
      for (let t = 0; t < others.length; t++) args[t + 1] = others[t]![i];
      results[i] = fn(...args);
    }
  }
  return unflatten<T>(def, results);
}

function flattenOthers(operation: string, def: TreeDef, other: unknown, index: number): unknown[] {
  return flattenUpToOrThrow(def, other, (path, expected, got) =>
    mismatchMessage(operation, "tree 0", `tree ${index}`, path, expected, got, def, other),
  );
}

/**
 * Like {@link map}, but `fn` receives the key path of each leaf first.
 *
 * @param fn called with the key path of a leaf of the first tree and the matching values.
 * @param tree the first tree.
 * @param rest further trees, then optionally `options({ isLeaf })`.
 * @example
 * mapWithPath((path, x) => `${keystr(path)}=${x}`, { a: 1 }); // { a: "['a']=1" }
 */
export function mapWithPath<T = unknown>(
  fn: (path: KeyPath, ...leaves: any[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): T {
  const [trees, isLeaf] = splitOptions(rest);
  const [pairs, def] = flattenWithPath(tree, isLeaf);
  const others = trees.map((other, t) => flattenOthers("tree.mapWithPath", def, other, t + 1));
  const results = new Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const [path, leaf] = pairs[i]!;
    const args: unknown[] = [path, leaf];
    for (const o of others) args.push(o[i]);
    results[i] = (fn as (...a: unknown[]) => unknown)(...args);
  }
  return unflatten<T>(def, results);
}

/**
 * Flattens exactly one level (penzai's `tree_flatten_exactly_one_level`): the direct children with
 * their keys, and a structure whose leaves are those children. Returns `undefined` when `tree` is a
 * leaf. `null`, `[]`, `{}` and childless structs give an empty child list.
 *
 * @example
 * const [children, def] = flattenOneLevel({ a: [1, 2], b: 3 })!;
 * children.map(([k]) => String(k)); // ["['a']", "['b']"]
 * def.unflatten(["x", "y"]); // { a: "x", b: "y" }
 */
export function flattenOneLevel(tree: unknown): [[PathKey, unknown][], TreeDef] | undefined {
  const type = nodeTypeOf(tree);
  if (type === undefined) return undefined;
  const [children, aux] = type.flatten(tree);
  const keys = children.length === 0 ? [] : childKeys(type, tree, aux, children.length);
  return [
    children.map((c, i) => [keys[i]!, c] as [PathKey, unknown]),
    new TreeDef(
      type,
      aux,
      children.map(() => LEAF),
    ),
  ];
}

/** Raised when a key path cannot be followed from a root. */
export class KeyPathError extends Error {
  override name = "KeyPathError";
}

/**
 * Follows a key path from `tree` and returns the node it reaches.
 *
 * @throws KeyPathError naming the step that does not exist.
 * @example
 * getAtPath({ a: [10, 20] }, [new DictKey("a"), new SequenceKey(1)]); // 20
 */
export function getAtPath(tree: unknown, path: KeyPath): unknown {
  let node = tree;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    const level = flattenOneLevel(node);
    const found = level?.[0].find(([k]) => stepMatches(k, key));
    if (found === undefined) {
      throw new KeyPathError(
        `Cannot follow the key path ${keystr(path)}: the node at ${keystr(path.slice(0, depth)) || "the root"} ` +
          `(${describeNode(node)}) has no child ${String(key)}.`,
      );
    }
    node = found[1];
  }
  return node;
}

function stepMatches(a: PathKey, b: PathKey): boolean {
  if (a === b) return true;
  if (a instanceof GetAttrKey && b instanceof GetAttrKey) return a.name === b.name;
  if (a instanceof SequenceKey && b instanceof SequenceKey) return a.idx === b.idx;
  if (a instanceof DictKey && b instanceof DictKey) return Object.is(a.key, b.key);
  if (a instanceof FlattenedIndexKey && b instanceof FlattenedIndexKey) return a.key === b.key;
  return false;
}

/**
 * Renders a key path with the type of each struct-like node it passes through (penzai's
 * `pretty_keystr`): before every attribute step (`GetAttrKey`, its subclasses, or
 * `FlattenedIndexKey`) it inserts `/TypeName`, where `TypeName` is the class of the node being
 * stepped out of; a leading `/` is dropped.
 *
 * @param path the key path, as given by {@link flattenWithPath}.
 * @param tree the root the path starts from.
 * @throws KeyPathError when the path cannot be followed in `tree`.
 * @example
 * prettyKeystr(path, model); // "Sequential.sublayers[0]/Linear.weights"
 * prettyKeystr([new DictKey("a"), new GetAttrKey("body")], { a: layer }); // "['a']/Handler.body"
 */
export function prettyKeystr(path: KeyPath, tree: unknown): string {
  let out = "";
  let node = tree;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    if (key instanceof GetAttrKey || key instanceof FlattenedIndexKey) {
      out += `/${typeName(node)}`;
    }
    out += String(key);
    node = getAtPath(node, [key]);
  }
  return out.startsWith("/") ? out.slice(1) : out;
}

function typeName(node: unknown): string {
  if (node === null) return "null";
  if (typeof node !== "object") return typeof node;
  const proto = Object.getPrototypeOf(node);
  if (proto === null) return "Object";
  return (proto as { constructor?: { name?: string } }).constructor?.name || "Object";
}

/**
 * Structural equality of two trees: equal structures and leaves equal under `leafEquals`
 * (by default `Object.is`, element-wise for typed arrays).
 *
 * @example
 * treeEquals({ a: [1, 2] }, { a: [1, 2] }); // true
 */
export function treeEquals(
  a: unknown,
  b: unknown,
  leafEquals: (x: unknown, y: unknown) => boolean = defaultLeafEquals,
): boolean {
  const [la, da] = flatten(a);
  const [lb, db] = flatten(b);
  if (!da.equals(db)) return false;
  for (let i = 0; i < la.length; i++) if (!leafEquals(la[i], lb[i])) return false;
  return true;
}

function defaultLeafEquals(x: unknown, y: unknown): boolean {
  if (Object.is(x, y)) return true;
  if (ArrayBuffer.isView(x) && ArrayBuffer.isView(y)) {
    if (x.constructor !== y.constructor) return false;
    const xa = x as unknown as ArrayLike<number>;
    const ya = y as unknown as ArrayLike<number>;
    if (xa.length !== ya.length) return false;
    for (let i = 0; i < xa.length; i++) if (!Object.is(xa[i], ya[i])) return false;
    return true;
  }
  return false;
}
