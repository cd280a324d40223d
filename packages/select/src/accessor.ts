/**
 * Resolving the accessor of `Selection.at` to key paths, by identity.
 *
 * The accessor receives a stand-in for the selected node. Stand-ins are created lazily, one per
 * node the accessor actually visits: nodes become read-only proxies whose children are stand-ins
 * again, leaves and `null`/`undefined` become fresh `LeafHandle` objects. Whatever the accessor
 * returns is looked up by identity, so a leaf value that occurs twice (the number `0` in two
 * places) is still found at the right place, and the cost is the depth of the path, not the size
 * of the tree (penzai and Equinox wrap every leaf of the subtree instead).
 *
 * @module
 */

import {
  ARRAY_NODE,
  childKeys,
  GetAttrKey,
  type KeyPath,
  MAP_NODE,
  type NodeType,
  nodeTypeOf,
  OBJECT_NODE,
  type ObjectAux,
  type PathKey,
  reprValue,
} from "@saikei/struct";
import { SelectionAccessorError } from "./errors.js";
import { compareIndexPaths, isIndexPrefix, keyOfChild, kindOf, where } from "./paths.js";

/**
 * What an accessor sees in place of a leaf (or of `null` / `undefined`): a fresh object, so that
 * equal leaves in different places stay distinguishable. Penzai's `_LeafWrapper`.
 */
export class LeafHandle {
  constructor(
    /** The leaf this handle stands for. */
    readonly value: unknown,
  ) {
    Object.freeze(this);
  }

  /**
   * Converts to the wrapped primitive, so that accessors may compute with leaves (as an index:
   * `m.layers[m.count]`). Comparing handles with `===` still compares stand-ins, not values.
   */
  [Symbol.toPrimitive](): unknown {
    const v = this.value;
    return (typeof v === "object" && v !== null) || typeof v === "function" ? String(v) : v;
  }
}

interface HandleInfo {
  readonly keyPath: readonly PathKey[];
  readonly indexPath: readonly number[];
  readonly value: unknown;
}

/** One node the accessor may visit: its children and how property names map to them. */
class NodeView {
  private handles: unknown[] | undefined;
  private names: Map<string, number> | undefined;
  readonly children: unknown[];
  readonly aux: unknown;

  constructor(
    readonly session: AccessorSession,
    readonly node: unknown,
    readonly type: NodeType,
    readonly info: HandleInfo,
  ) {
    const [children, aux] = type.flatten(node);
    this.children = children;
    this.aux = aux;
  }

  /** The child index named by property `prop`, or -1. */
  indexOf(prop: string | symbol): number {
    if (typeof prop !== "string") return -1;
    const n = this.children.length;
    if (this.type === ARRAY_NODE) {
      const i = Number(prop);
      return Number.isInteger(i) && i >= 0 && i < n && String(i) === prop ? i : -1;
    }
    if (this.names === undefined) {
      this.names = new Map();
      if (this.type === OBJECT_NODE) {
        (this.aux as ObjectAux).keys.forEach((k, i) => {
          this.names!.set(k, i);
        });
      } else if (n > 0) {
        childKeys(this.type, this.node, this.aux, n).forEach((k, i) => {
          if (k instanceof GetAttrKey) this.names!.set(k.name, i);
          else if (typeof k === "string") this.names!.set(k, i);
        });
      }
    }
    return this.names.get(prop) ?? -1;
  }

  /** The stand-in of child `i`, created once. */
  child(i: number): unknown {
    this.handles ??= new Array(this.children.length);
    if (!(i in this.handles)) {
      const key = keyOfChild(this.type, this.node, this.aux, i, this.children.length);
      this.handles[i] = this.session.wrap(
        this.children[i],
        [...this.info.keyPath, key],
        [...this.info.indexPath, i],
      );
    }
    return this.handles[i];
  }
}

function refuse(): never {
  throw new SelectionAccessorError(
    "The accessor of Selection.at tried to modify the tree it was given. Accessors must only read " +
      "properties, like s.at((m) => m.body.sublayers[2]); make edits with .set or .apply afterwards.",
  );
}

/** Creates stand-ins for one call of an accessor and remembers where each one came from. */
export class AccessorSession {
  private readonly infos = new WeakMap<object, HandleInfo>();

  /** The stand-in for `value`, located at the given paths (relative to the selected node). */
  wrap(value: unknown, keyPath: readonly PathKey[], indexPath: readonly number[]): unknown {
    const info: HandleInfo = { keyPath, indexPath, value };
    const type = value === null || value === undefined ? undefined : nodeTypeOf(value);
    if (type === undefined) {
      const handle = new LeafHandle(value);
      this.infos.set(handle, info);
      return handle;
    }
    if (
      type === MAP_NODE ||
      (type !== ARRAY_NODE && type !== OBJECT_NODE && !hasAttrKeys(type, value))
    ) {
      // Nodes whose children are not properties (Map, custom registrations with other keys) are
      // rebuilt one level deep with stand-in children, as penzai does for every node.
      const [children, aux] = type.flatten(value);
      const view = new NodeView(this, value, type, info);
      let copy: object;
      try {
        copy = type.unflatten(
          aux,
          children.map((_, i) => view.child(i)),
        ) as object;
      } catch (cause) {
        throw new SelectionAccessorError(
          `Selection.at could not show the ${kindOf(value)} at ${where(keyPath)} to the accessor: it is rebuilt ` +
            "with stand-ins for its children, and its unflatten rejected them " +
            `(${cause instanceof Error ? cause.message : String(cause)}). Select inside it with atKeypaths ` +
            "or atChildren instead of an accessor.",
          { cause },
        );
      }
      this.infos.set(copy, info);
      return copy;
    }
    const view = new NodeView(this, value, type, info);
    const original = value as object;
    const surrogate: object =
      type === ARRAY_NODE
        ? new Array(view.children.length)
        : Object.create(Object.getPrototypeOf(original));
    const proxy = new Proxy(surrogate, {
      get(target, prop, receiver) {
        const i = view.indexOf(prop);
        if (i >= 0) return view.child(i);
        if (type === ARRAY_NODE && prop === "length") return view.children.length;
        if (type === OBJECT_NODE) return Reflect.get(target, prop, receiver);
        return Reflect.get(original, prop, receiver);
      },
      has(target, prop) {
        if (view.indexOf(prop) >= 0) return true;
        return type === OBJECT_NODE ? Reflect.has(target, prop) : Reflect.has(original, prop);
      },
      ownKeys() {
        if (type === ARRAY_NODE) return [...view.children.map((_, i) => String(i)), "length"];
        if (type === OBJECT_NODE) return [...(view.aux as ObjectAux).keys];
        return Reflect.ownKeys(original);
      },
      getOwnPropertyDescriptor(target, prop) {
        const i = view.indexOf(prop);
        if (i >= 0)
          return { value: view.child(i), writable: true, enumerable: true, configurable: true };
        const own = Reflect.getOwnPropertyDescriptor(target, prop);
        if (own !== undefined) return own;
        if (type === ARRAY_NODE || type === OBJECT_NODE) return undefined;
        const desc = Reflect.getOwnPropertyDescriptor(original, prop);
        return desc === undefined ? undefined : { ...desc, configurable: true };
      },
      set: refuse,
      defineProperty: refuse,
      deleteProperty: refuse,
      setPrototypeOf: refuse,
    });
    this.infos.set(proxy, info);
    return proxy;
  }

  /** Where a stand-in came from, or `undefined` if `value` is not one. */
  lookup(value: unknown): HandleInfo | undefined {
    if ((typeof value !== "object" && typeof value !== "function") || value === null)
      return undefined;
    return this.infos.get(value);
  }
}

function hasAttrKeys(type: NodeType, node: unknown): boolean {
  const [children, aux] = type.flatten(node);
  if (children.length === 0) return true;
  return childKeys(type, node, aux, children.length).every(
    (k) => k instanceof GetAttrKey || typeof k === "string",
  );
}

/** A located needle: paths relative to the selected node. */
export interface Found {
  readonly keyPath: readonly PathKey[];
  readonly indexPath: readonly number[];
  readonly value: unknown;
}

let warnedAutoMultiple = false;

function describeReturned(value: unknown): string {
  if (value instanceof LeafHandle) return reprValue(value.value);
  try {
    return reprValue(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Runs `accessor` on stand-ins for `node` and returns the located nodes, sorted in tree order.
 *
 * @throws SelectionAccessorError when a returned value is not a node or leaf of `node`, when the
 *   same node is returned twice, or when returned nodes are nested.
 */
export function resolveAccessor(
  node: unknown,
  accessor: (value: any) => unknown,
  multiple: boolean | undefined,
  selectedAt: KeyPath,
): Found[] {
  const session = new AccessorSession();
  const root = session.wrap(node, [], []);
  const result = accessor(root);
  const single = session.lookup(result);
  if (multiple !== true && single !== undefined) return [single];
  const iterable =
    result !== null &&
    typeof result === "object" &&
    typeof (result as Iterable<unknown>)[Symbol.iterator] === "function";
  if (multiple === false || !iterable) {
    throw new SelectionAccessorError(
      `The accessor of Selection.at (applied to the node selected at ${where(selectedAt)}) returned ` +
        `${describeReturned(result)}, which is not a node or leaf of that node. The accessor must ` +
        "return a part of its argument reached through its properties, like (m) => m.body.sublayers[2]; " +
        "values computed from the tree, or taken from a variable instead of the argument, cannot be " +
        (multiple === false
          ? "located. To select several nodes, return them in an array and pass { multiple: true }."
          : "located.") +
        (result === null || (typeof result !== "object" && typeof result !== "function")
          ? " (Static struct fields are part of the tree's structure, not children, so they cannot be selected.)"
          : ""),
    );
  }
  const items = [...(result as Iterable<unknown>)];
  const found: Found[] = [];
  const missing: string[] = [];
  for (const item of items) {
    const info = session.lookup(item);
    if (info === undefined) missing.push(describeReturned(item));
    else found.push(info);
  }
  if (missing.length > 0) {
    throw new SelectionAccessorError(
      `The accessor of Selection.at (applied to the node selected at ${where(selectedAt)}) returned ` +
        `values that are not nodes or leaves of that node: ${missing.join(", ")}. With { multiple: true } ` +
        "the accessor must return an iterable of parts of its argument, like (m) => [m.a, m.b[0]].",
    );
  }
  if (multiple === undefined && !warnedAutoMultiple) {
    warnedAutoMultiple = true;
    console.warn(
      "Selection.at: the accessor returned a collection of nodes without { multiple: true }; all of them " +
        "were selected. Pass { multiple: true } to say so (this warning is shown once).",
    );
  }
  found.sort((a, b) => compareIndexPaths(a.indexPath, b.indexPath));
  for (let i = 1; i < found.length; i++) {
    const prev = found[i - 1]!;
    const cur = found[i]!;
    const at = (f: Found) => where([...selectedAt, ...f.keyPath]);
    if (compareIndexPaths(prev.indexPath, cur.indexPath) === 0) {
      throw new SelectionAccessorError(
        `The accessor of Selection.at returned the node at ${at(cur)} twice. Each node can be selected ` +
          "once; remove the repeated value from the accessor's result.",
      );
    }
    if (isIndexPrefix(prev.indexPath, cur.indexPath)) {
      throw new SelectionAccessorError(
        `The accessor of Selection.at returned the node at ${at(prev)} and its descendant at ${at(cur)}. ` +
          "Selected nodes cannot be nested; return only one of them.",
      );
    }
  }
  return found;
}
