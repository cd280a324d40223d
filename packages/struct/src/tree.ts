/**
 * Tree operations in the style of `jax.tree_util`: flatten, unflatten, map and key paths over any
 * tree the registry knows.
 *
 * @module
 */

import { className } from "./className.js";
import { KeyPathError, TreeStructureMismatchError } from "./errors.js";
import {
  FlattenedIndexKey,
  GetAttrKey,
  type KeyPath,
  keystr,
  type PathKey,
  SequenceKey,
} from "./keys.js";
import { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
import {
  ARRAY_NODE,
  childKeys,
  NODE_TYPE,
  type NodeType,
  nodeTypeOf,
  registeredNodeTypeOf,
  type StructClass,
  structClassOf,
} from "./registry.js";
import { childIndex } from "./rewrite.js";
import {
  describeRecord,
  kindAt,
  LEAF,
  Ops,
  pushRecord,
  recordAux,
  recordChildCount,
  recordWidth,
  TreeDef,
  truncate,
} from "./treedef.js";
import { depthError, findCycleOrDepth } from "./walkLimits.js";

/**
 * A predicate that stops the walk at a node and treats it as a leaf. May look at the key path.
 *
 * @example
 * const isLeaf: IsLeaf = (x, path) => Array.isArray(x) || path.length > 3;
 */
export type IsLeaf = (value: unknown, path: KeyPath) => boolean;

export { LEAF, TreeDef } from "./treedef.js";

/**
 * Thrown by the recursive walks when they pass {@link MAX_TREE_DEPTH}; the public function that
 * started the walk catches it and looks for the cycle or the deep path with `findCycleOrDepth`, so
 * the walks themselves only count their depth.
 */
const TOO_DEEP: unique symbol = Symbol("saikei.tooDeep");

function walkLimitError(operation: string, tree: unknown, isLeaf: IsLeaf | undefined): Error {
  return findCycleOrDepth(operation, tree, isLeaf) ?? depthError(operation, []);
}

const OBJECT_PROTO = Object.prototype;
const MAP_PROTO = Map.prototype;

/**
 * The records of the structure being flattened are written into a buffer reused across calls
 * (growing a fresh array per call costs more than the walk itself); the walks thread the write
 * position through their return values. {@link withScratch} copies the records out and gives
 * nested calls (from an `isLeaf` or a registered node's `flattenWithKeys`) a buffer of their own.
 * The buffer keeps only structure records (node kinds, prototypes, static data), never leaves.
 */
let scratch: unknown[] = [];
let scratchInUse = false;

function withScratch(walk: (ops: unknown[]) => number): Ops {
  return walkInScratch(walk, Ops.from);
}

/**
 * Runs `walk` on the scratch buffer (or, nested, on a buffer of its own) and hands the records
 * written to `finish` before the buffer is released: `flatten` copies them out, `leaves` drops
 * them.
 */
function walkInScratch<R>(
  walk: (ops: unknown[]) => number,
  finish: (ops: readonly unknown[], end: number) => R,
): R {
  if (scratchInUse) {
    const own: unknown[] = [];
    return finish(own, walk(own));
  }
  scratchInUse = true;
  try {
    const ops = scratch;
    const end = walk(ops);
    return finish(ops, end);
  } finally {
    // A very large buffer is released rather than kept for the next call.
    if (scratch.length > 262_144) scratch = [];
    scratchInUse = false;
  }
}

function writeRecord(
  ops: unknown[],
  top: number,
  kind: NodeType,
  aux: unknown,
  count: number,
): number {
  const record: unknown[] = [];
  pushRecord(record, kind, aux, count);
  for (let i = 0; i < record.length; i++) ops[top++] = record[i];
  return top;
}

/** Writes a struct's record (its prototype, then its static values); returns the next position. */
function writeStructRecord(ops: unknown[], top: number, cls: StructClass, node: object): number {
  ops[top++] = cls.proto;
  const staticNames = cls.staticNames;
  for (let i = 0; i < staticNames.length; i++) ops[top++] = (node as any)[staticNames[i]!];
  return top;
}

/**
 * Flattens without key paths: writes records to `ops` from `top` and leaves to `leaves`; returns
 * the next write position.
 */
function flattenRec(
  node: unknown,
  ops: unknown[],
  top: number,
  leaves: unknown[],
  isLeaf: IsLeaf | undefined,
  depth: number,
): number {
  if (isLeaf?.(node, NO_PATH)) {
    ops[top] = undefined;
    leaves.push(node);
    return top + 1;
  }
  if (typeof node === "object" && node !== null) {
    if (depth > MAX_TREE_DEPTH) throw TOO_DEEP;
    if (Array.isArray(node)) {
      const n = node.length;
      ops[top] = ARRAY_NODE;
      ops[top + 1] = null;
      ops[top + 2] = n;
      top += 3;
      for (let i = 0; i < n; i++) top = flattenRec(node[i], ops, top, leaves, isLeaf, depth + 1);
      return top;
    }
    if (ArrayBuffer.isView(node)) {
      // Typed arrays are always leaves (registerPytreeNode refuses them).
      ops[top] = undefined;
      leaves.push(node);
      return top + 1;
    }
    const cls = structClassOf(node);
    if (cls !== undefined) {
      top = writeStructRecord(ops, top, cls, node);
      const names = cls.childNames;
      for (let i = 0; i < names.length; i++) {
        const child = (node as any)[names[i]!];
        if (isLeaf === undefined && isPlainLeaf(child)) {
          // A primitive or typed-array child is a leaf: record it without a call.
          ops[top++] = undefined;
          leaves.push(child);
        } else {
          top = flattenRec(child, ops, top, leaves, isLeaf, depth + 1);
        }
      }
      return top;
    }
    // Plain objects, Maps, registered classes, attached node types and other leaves.
    if (isUnregisteredInstance(node)) {
      ops[top] = undefined;
      leaves.push(node);
      return top + 1;
    }
  } else if (node !== undefined && node !== null) {
    ops[top] = undefined;
    leaves.push(node);
    return top + 1;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    ops[top] = undefined;
    leaves.push(node);
    return top + 1;
  }
  const flattened = type.flatten(node);
  const children = flattened[0];
  top = writeRecord(ops, top, type, flattened[1], children.length);
  for (let i = 0; i < children.length; i++) {
    top = flattenRec(children[i], ops, top, leaves, isLeaf, depth + 1);
  }
  return top;
}

/** The buffers the plain walks write to; set by {@link flattenPlain} for one walk. */
let plainOps: unknown[] = [];
let plainLeaves: unknown[] = [];

/**
 * {@link flattenRec} without an `isLeaf` (the common case): the buffers are module state, so the
 * walks pass only the node, the write position and the depth; leaf children are recorded without
 * a call, and struct children go straight to {@link flattenPlainStruct}.
 */
function flattenPlainChild(child: unknown, top: number, depth: number): number {
  if (typeof child === "object") {
    if (child !== null) {
      if (ArrayBuffer.isView(child)) {
        // Typed arrays are always leaves (see nodeTypeOf).
        plainOps[top] = undefined;
        plainLeaves.push(child);
        return top + 1;
      }
      const cls = structClassOf(child);
      if (cls !== undefined) return flattenPlainStruct(child, cls, top, depth);
      if (Array.isArray(child)) return flattenPlainArray(child, top, depth);
    }
  } else if (child !== undefined) {
    plainOps[top] = undefined;
    plainLeaves.push(child);
    return top + 1;
  }
  // null and undefined (which may sit one level below the depth limit) and the other node kinds.
  return flattenRec(child, plainOps, top, plainLeaves, undefined, depth);
}

function flattenPlainArray(node: readonly unknown[], top: number, depth: number): number {
  if (depth > MAX_TREE_DEPTH) throw TOO_DEEP;
  const ops = plainOps;
  const n = node.length;
  ops[top] = ARRAY_NODE;
  ops[top + 1] = null;
  ops[top + 2] = n;
  top += 3;
  for (let i = 0; i < n; i++) top = flattenPlainChild(node[i], top, depth + 1);
  return top;
}

function flattenPlainStruct(node: object, cls: StructClass, top: number, depth: number): number {
  if (depth > MAX_TREE_DEPTH) throw TOO_DEEP;
  top = writeStructRecord(plainOps, top, cls, node);
  const names = cls.childNames;
  for (let i = 0; i < names.length; i++) {
    top = flattenPlainChild((node as any)[names[i]!], top, depth + 1);
  }
  return top;
}

/**
 * Runs {@link flattenPlainChild} over `tree` with `ops` and `leaves` as its buffers; returns the end
 * of the records. Restores the previous buffers afterwards, so a registered node whose `flatten`
 * flattens another tree does not disturb the walk that reached it.
 */
function flattenPlain(tree: unknown, ops: unknown[], leaves: unknown[]): number {
  const outerOps = plainOps;
  const outerLeaves = plainLeaves;
  plainOps = ops;
  plainLeaves = leaves;
  try {
    return flattenPlainChild(tree, 0, 0);
  } finally {
    plainOps = outerOps;
    plainLeaves = outerLeaves;
  }
}

/**
 * Whether `node` (an object that is neither an array, a typed array nor a struct) is an instance of
 * a class the registry does not know, which makes it a leaf without a lookup of its node type.
 */
function isUnregisteredInstance(node: object): boolean {
  const proto = Object.getPrototypeOf(node);
  return (
    proto !== OBJECT_PROTO &&
    proto !== null &&
    proto !== MAP_PROTO &&
    (node as { [NODE_TYPE]?: NodeType })[NODE_TYPE] === undefined &&
    registeredNodeTypeOf(proto) === undefined
  );
}

const NO_PATH: KeyPath = Object.freeze([]) as KeyPath;

/**
 * Whether `value` is a leaf that needs no registry lookup: a primitive other than `undefined`
 * (which is a childless node), a function, or a typed array (always a leaf, see `nodeTypeOf`).
 */
function isPlainLeaf(value: unknown): boolean {
  return typeof value === "object"
    ? value !== null && ArrayBuffer.isView(value)
    : value !== undefined;
}

/**
 * Flattens with key paths: writes records to `ops` from `top` and `[path, leaf]` pairs to `out`;
 * returns the next write position.
 */
function flattenRecWithPath(
  node: unknown,
  path: PathKey[],
  ops: unknown[],
  top: number,
  out: [KeyPath, unknown][],
  isLeaf: IsLeaf | undefined,
): number {
  if (isLeaf?.(node, path)) {
    ops[top] = undefined;
    out.push([path, node]);
    return top + 1;
  }
  if (typeof node === "object" && node !== null) {
    if (path.length > MAX_TREE_DEPTH) throw TOO_DEEP;
    if (Array.isArray(node)) {
      const n = node.length;
      ops[top] = ARRAY_NODE;
      ops[top + 1] = null;
      ops[top + 2] = n;
      top += 3;
      for (let i = 0; i < n; i++) {
        const childPath = path.slice();
        childPath.push(new SequenceKey(i));
        top = flattenRecWithPath(node[i], childPath, ops, top, out, isLeaf);
      }
      return top;
    }
    if (ArrayBuffer.isView(node)) {
      ops[top] = undefined;
      out.push([path, node]);
      return top + 1;
    }
    const cls = structClassOf(node);
    if (cls !== undefined) {
      top = writeStructRecord(ops, top, cls, node);
      const names = cls.childNames;
      const n = names.length;
      if (n === 0) return top;
      const keys = cls.nodeType.keys(node, undefined, n);
      for (let i = 0; i < n; i++) {
        const childPath = path.slice();
        childPath.push(keys[i]!);
        top = flattenRecWithPath((node as any)[names[i]!], childPath, ops, top, out, isLeaf);
      }
      return top;
    }
    if (isUnregisteredInstance(node)) {
      ops[top] = undefined;
      out.push([path, node]);
      return top + 1;
    }
  } else if (node !== undefined && node !== null) {
    ops[top] = undefined;
    out.push([path, node]);
    return top + 1;
  }
  const type = nodeTypeOf(node);
  if (type === undefined) {
    ops[top] = undefined;
    out.push([path, node]);
    return top + 1;
  }
  const flattened = type.flatten(node);
  const children = flattened[0];
  const aux = flattened[1];
  const n = children.length;
  top = writeRecord(ops, top, type, aux, n);
  if (n === 0) return top;
  const keys = childKeys(type, node, aux, n);
  for (let i = 0; i < n; i++) {
    const childPath = path.slice();
    childPath.push(keys[i]!);
    top = flattenRecWithPath(children[i], childPath, ops, top, out, isLeaf);
  }
  return top;
}

function rootDef(ops: Ops, numLeaves: number): TreeDef {
  if (ops.length === 1 && ops.at(0) === undefined) return LEAF;
  return TreeDef.fromOps(ops, 0, numLeaves);
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
  let ops: Ops;
  try {
    ops =
      isLeaf === undefined
        ? withScratch((buffer) => flattenPlain(tree, buffer, leaves))
        : withScratch((buffer) => flattenRec(tree, buffer, 0, leaves, isLeaf, 0));
  } catch (e) {
    throw e === TOO_DEEP ? walkLimitError("flatten", tree, isLeaf) : e;
  }
  return [leaves, rootDef(ops, leaves.length)];
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
  let ops: Ops;
  try {
    ops = withScratch((buffer) => flattenRecWithPath(tree, [], buffer, 0, out, isLeaf));
  } catch (e) {
    throw e === TOO_DEEP ? walkLimitError("flattenWithPath", tree, isLeaf) : e;
  }
  return [out, rootDef(ops, out.length)];
}

/**
 * The leaves of a tree, in flatten order.
 *
 * @example
 * leaves([1, { x: 2 }, null]); // [1, 2]
 */
export function leaves(tree: unknown, isLeaf?: IsLeaf): unknown[] {
  if (isLeaf !== undefined && isLeaf.length >= 2) return flatten(tree, isLeaf)[0];
  // flatten's walk, without copying out the structure it records.
  const out: unknown[] = [];
  try {
    walkInScratch(
      (buffer) =>
        isLeaf === undefined
          ? flattenPlain(tree, buffer, out)
          : flattenRec(tree, buffer, 0, out, isLeaf, 0),
      noStructure,
    );
  } catch (e) {
    throw e === TOO_DEEP ? walkLimitError("flatten", tree, isLeaf) : e;
  }
  return out;
}

function noStructure(): undefined {
  return undefined;
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
  return treedef.unflatten<T>(leaves);
}

/**
 * Options for {@link map} and {@link mapWithPath}, passed as the final argument. Build them with
 * {@link options} so they cannot be mistaken for a tree.
 *
 * @example
 * map(fn, tree, new TreeOptions((x) => Array.isArray(x))); // same as options({ isLeaf })
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
  const ctor = (value as object).constructor;
  return typeof ctor === "function" ? className(ctor) : "object";
}

/** State of {@link flattenUpToRec}; on a mismatch it records where, and the path back up. */
interface UpToState {
  readonly ops: Ops;
  p: number;
  readonly out: unknown[];
  /** Keys of the mismatch path, innermost first. */
  readonly reversedPath: PathKey[];
  /** The record position and the tree node where the first difference was found. */
  failedAt?: { readonly p: number; readonly value: unknown };
}

function flattenUpToRec(s: UpToState, value: unknown, depth: number): boolean {
  if (depth > MAX_TREE_DEPTH + 1) throw depthError("flattenUpTo", []);
  const p = s.p;
  const kind = kindAt(s.ops, p);
  if (kind === undefined) {
    s.p++;
    s.out.push(value);
    return true;
  }
  const type = nodeTypeOf(value);
  let children: unknown[] | undefined;
  let aux: unknown;
  if (type === kind) {
    [children, aux] = type.flatten(value);
    const expectedAux = recordAux(s.ops, p);
    if (
      children.length !== recordChildCount(s.ops, p) ||
      (aux !== expectedAux && !kind.auxEquals(expectedAux, aux))
    ) {
      children = undefined;
    }
  }
  if (children === undefined) {
    s.failedAt = { p, value };
    return false;
  }
  s.p += recordWidth(s.ops, p);
  for (let c = 0; c < children.length; c++) {
    if (!flattenUpToRec(s, children[c], depth + 1)) {
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
  const state: UpToState = { ops: treedef.ops, p: treedef.start, out: [], reversedPath: [] };
  if (flattenUpToRec(state, tree, 0)) return state.out;
  const path = state.reversedPath.reverse();
  const failed = state.failedAt!;
  const expected = describeRecord(treedef.ops, failed.p);
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
    const index = childIndex(node, key);
    if (index === -1) {
      throw new KeyPathError(
        `Cannot follow the key path ${keystr(path)}: the node at ${keystr(path.slice(0, depth)) || "the root"} ` +
          `(${describeNode(node)}) has no child ${String(key)}. Check the path against ` +
          "flattenWithPath(tree) of this tree.",
      );
    }
    node = nodeTypeOf(node)!.flatten(node)[0][index];
  }
  return node;
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
  const ctor = (proto as { constructor?: unknown }).constructor;
  return (typeof ctor === "function" && className(ctor)) || "Object";
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
