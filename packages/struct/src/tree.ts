/**
 * Tree operations in the style of `jax.tree_util`: flatten, unflatten, map and key paths over any
 * tree the registry knows.
 *
 * @module
 */

import { GetAttrKey, type KeyPath, keystr, type PathKey, SequenceKey, DictKey } from "./keys.js";
import { childKeys, type NodeType, nodeTypeOf } from "./registry.js";

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
 * The structure of a tree without its leaves (JAX's `PyTreeDef`). Two trees have equal structures
 * when they have the same node kinds, static data and child counts everywhere.
 */
export class TreeDef {
  /** Number of leaves a tree of this structure has. */
  readonly numLeaves: number;
  /** Number of nodes, leaves included. */
  readonly numNodes: number;

  /** @internal Use {@link structure} or {@link flatten}. */
  constructor(
    /** The node kind, or `undefined` for a leaf. */
    readonly nodeType: NodeType | undefined,
    /** The node's static data. */
    readonly aux: unknown,
    /** The structures of the children. */
    readonly children: readonly TreeDef[],
  ) {
    if (nodeType === undefined) {
      this.numLeaves = 1;
      this.numNodes = 1;
    } else {
      let leaves = 0;
      let nodes = 1;
      for (const c of children) {
        leaves += c.numLeaves;
        nodes += c.numNodes;
      }
      this.numLeaves = leaves;
      this.numNodes = nodes;
    }
    Object.freeze(this);
  }

  /** Whether this is the structure of a single leaf. */
  get isLeaf(): boolean {
    return this.nodeType === undefined;
  }

  /**
   * Structural equality: node kinds, static data and children.
   *
   * @example
   * structure([1, 2]).equals(structure([3, 4])); // true
   */
  equals(other: TreeDef): boolean {
    if (this === other) return true;
    if (this.nodeType !== other.nodeType) return false;
    if (this.nodeType === undefined) return true;
    if (this.children.length !== other.children.length) return false;
    if (this.numLeaves !== other.numLeaves) return false;
    if (!this.nodeType.auxEquals(this.aux, other.aux)) return false;
    for (let i = 0; i < this.children.length; i++) {
      if (!this.children[i]!.equals(other.children[i]!)) return false;
    }
    return true;
  }

  /**
   * Rebuilds a tree of this structure from leaves in flatten order.
   *
   * @throws LeafCountError when `leaves.length` is not `numLeaves`.
   */
  unflatten<T = unknown>(leaves: readonly unknown[]): T {
    return unflatten<T>(this, leaves);
  }

  /** A readable rendering: `*` for each leaf, node kinds around their children. */
  toString(): string {
    if (this.nodeType === undefined) return "*";
    return this.nodeType.render(
      this.aux,
      this.children.map((c) => c.toString()),
    );
  }
}

/** The structure of a single leaf. */
export const LEAF: TreeDef = new TreeDef(undefined, undefined, []);

function flattenInto(node: unknown, leaves: unknown[], isLeaf: IsLeaf | undefined): TreeDef {
  if (isLeaf !== undefined && isLeaf(node, [])) {
    leaves.push(node);
    return LEAF;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    leaves.push(node);
    return LEAF;
  }
  const [children, aux] = type.flatten(node);
  const defs = new Array<TreeDef>(children.length);
  for (let i = 0; i < children.length; i++) defs[i] = flattenInto(children[i], leaves, isLeaf);
  return new TreeDef(type, aux, defs);
}

function flattenIntoWithPath(
  node: unknown,
  path: PathKey[],
  out: [KeyPath, unknown][],
  isLeaf: IsLeaf | undefined,
): TreeDef {
  if (isLeaf !== undefined && isLeaf(node, path)) {
    out.push([path, node]);
    return LEAF;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    out.push([path, node]);
    return LEAF;
  }
  const [children, aux] = type.flatten(node);
  const keys = children.length === 0 ? [] : childKeys(type, node, aux, children.length);
  const defs = new Array<TreeDef>(children.length);
  for (let i = 0; i < children.length; i++) {
    const childPath = path.slice();
    childPath.push(keys[i]!);
    defs[i] = flattenIntoWithPath(children[i], childPath, out, isLeaf);
  }
  return new TreeDef(type, aux, defs);
}

/**
 * Flattens a tree into its leaves (pre-order, left to right) and its structure.
 *
 * @param tree any value; values that are not nodes are single leaves.
 * @param isLeaf optional predicate that treats matching nodes as leaves.
 * @returns `[leaves, treedef]`.
 * @example
 * const [leaves, def] = flatten({ b: [1, 2], a: 3 });
 * leaves; // [3, 1, 2]  (object keys are visited in sorted order)
 * unflatten(def, leaves); // { a: 3, b: [1, 2] }
 */
export function flatten(tree: unknown, isLeaf?: IsLeaf): [unknown[], TreeDef] {
  const leaves: unknown[] = [];
  if (isLeaf !== undefined && isLeaf.length >= 2) {
    const withPath: [KeyPath, unknown][] = [];
    const def = flattenIntoWithPath(tree, [], withPath, isLeaf);
    return [withPath.map((e) => e[1]), def];
  }
  const def = flattenInto(tree, leaves, isLeaf);
  return [leaves, def];
}

/**
 * Flattens a tree into `[keyPath, leaf]` pairs and its structure.
 *
 * @example
 * const [pairs] = flattenWithPath({ a: [10, 20] });
 * pairs.map(([p, v]) => [keystr(p), v]); // [["['a'][0]", 10], ["['a'][1]", 20]]
 */
export function flattenWithPath(tree: unknown, isLeaf?: IsLeaf): [[KeyPath, unknown][], TreeDef] {
  const out: [KeyPath, unknown][] = [];
  const def = flattenIntoWithPath(tree, [], out, isLeaf);
  return [out, def];
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
 * @throws LeafCountError when the number of leaves does not match the structure.
 * @example
 * const [leaves, def] = flatten([1, [2, 3]]);
 * unflatten(def, leaves.map((x) => (x as number) * 10)); // [10, [20, 30]]
 */
export function unflatten<T = unknown>(treedef: TreeDef, leaves: readonly unknown[]): T {
  if (leaves.length !== treedef.numLeaves) {
    throw new LeafCountError(
      `unflatten expected ${treedef.numLeaves} leaves for the structure ${truncate(treedef.toString())}, ` +
        `but got ${leaves.length}. Pass exactly one leaf per '*' in the structure, in flatten order.`,
    );
  }
  const cursor = { i: 0 };
  return unflattenFrom(treedef, leaves, cursor) as T;
}

function unflattenFrom(def: TreeDef, leaves: readonly unknown[], cursor: { i: number }): unknown {
  const type = def.nodeType;
  if (type === undefined) return leaves[cursor.i++];
  const n = def.children.length;
  const children = new Array(n);
  for (let i = 0; i < n; i++) children[i] = unflattenFrom(def.children[i]!, leaves, cursor);
  return type.unflatten(def.aux, children);
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

function mapRec(
  fn: (path: PathKey[], values: unknown[]) => unknown,
  path: PathKey[],
  nodes: unknown[],
  isLeaf: IsLeaf | undefined,
  wantPath: boolean,
  roots: unknown[],
): unknown {
  const first = nodes[0];
  if (isLeaf !== undefined && isLeaf(first, path)) return fn(path, nodes);
  const type = nodeTypeOf(first);
  if (type === undefined) return fn(path, nodes);
  const [children, aux] = type.flatten(first);
  const others: unknown[][] = [];
  for (let t = 1; t < nodes.length; t++) {
    const other = nodes[t];
    const otherType = nodeTypeOf(other);
    let ok = otherType === type;
    let otherChildren: unknown[] = [];
    if (ok) {
      const [oc, oaux] = type.flatten(other);
      otherChildren = oc;
      ok = oc.length === children.length && type.auxEquals(aux, oaux);
    }
    if (!ok) {
      throw new TreeStructureMismatchError(
        `tree.map: tree ${t} does not have the structure of tree 0 at ${keystr(path) || "the root"}: ` +
          `tree 0 has ${describeNode(first)} there, tree ${t} has ${describeNode(other)}.\n` +
          `  tree 0 structure: ${truncate(structure(roots[0]).toString())}\n` +
          `  tree ${t} structure: ${truncate(structure(roots[t]).toString())}\n` +
          "Every tree passed to map must have the structure of the first (or extend it at its leaves).",
        path.slice(),
      );
    }
    others.push(otherChildren);
  }
  const keys = wantPath && children.length > 0 ? childKeys(type, first, aux, children.length) : [];
  const out = new Array(children.length);
  for (let i = 0; i < children.length; i++) {
    const childNodes = [children[i]];
    for (const oc of others) childNodes.push(oc[i]);
    let childPath = path;
    if (wantPath) {
      childPath = path.slice();
      childPath.push(keys[i]!);
    }
    out[i] = mapRec(fn, childPath, childNodes, isLeaf, wantPath, roots);
  }
  return type.unflatten(aux, out);
}

/**
 * Applies `fn` to the leaves of one or more trees of the same structure and rebuilds the tree.
 * The first tree's structure drives the walk; the others must match it (or extend it: a subtree
 * found at a leaf position of the first tree is passed to `fn` whole). A final {@link options}
 * argument may give an `isLeaf` predicate.
 *
 * @throws TreeStructureMismatchError naming the first key path where the trees differ.
 * @example
 * map((a, b) => (a as number) + (b as number), [1, { x: 2 }], [10, { x: 20 }]); // [11, { x: 22 }]
 */
export function map<T = unknown>(
  fn: (...leaves: any[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): T {
  const [trees, isLeaf] = splitOptions(rest);
  const roots = [tree, ...trees];
  const wantPath = isLeaf !== undefined && isLeaf.length >= 2;
  return mapRec((_p, values) => fn(...values), [], roots, isLeaf, wantPath, roots) as T;
}

/**
 * Like {@link map}, but `fn` receives the key path of each leaf first.
 *
 * @example
 * mapWithPath((path, x) => `${keystr(path)}=${x}`, { a: 1 }); // { a: "['a']=1" }
 */
export function mapWithPath<T = unknown>(
  fn: (path: KeyPath, ...leaves: any[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): T {
  const [trees, isLeaf] = splitOptions(rest);
  const roots = [tree, ...trees];
  return mapRec((p, values) => fn(p.slice(), ...values), [], roots, isLeaf, true, roots) as T;
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
  return String(a) === String(b) && typeof a === typeof b;
}

/**
 * Renders a key path with the type of each struct-like node it passes through (penzai's
 * `pretty_keystr`): before every attribute step it inserts `/TypeName`.
 *
 * @example
 * prettyKeystr(path, model); // "Sequential.sublayers[0]/Linear.weights"
 */
export function prettyKeystr(path: KeyPath, tree: unknown): string {
  let out = "";
  let node = tree;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    if (!(key instanceof SequenceKey) && !(key instanceof DictKey)) {
      const name =
        node !== null && typeof node === "object"
          ? ((node as object).constructor?.name ?? "Object")
          : typeof node;
      out += `/${name}`;
    }
    out += String(key);
    node = getAtPath(node, [key]);
  }
  return out.startsWith("/") ? out.slice(1) : out;
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
