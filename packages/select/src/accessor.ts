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
  keyOfChild,
  MAP_NODE,
  type NodeType,
  nodeTypeOf,
  OBJECT_NODE,
  type ObjectAux,
  type PathKey,
  reprValue,
} from "@saikei/struct";
import { SelectionAccessorError } from "./errors.js";
import { compareIndexPaths, isIndexPrefix, kindOf, where } from "./paths.js";

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

// Handles expose their value and nothing else: no prototype chain (`h.__proto__`,
// `Object.getPrototypeOf(h)`), no `constructor`, and a conversion method that leads nowhere.
// `instanceof LeafHandle` still works: it compares with `LeafHandle.prototype` itself.
Object.defineProperty(LeafHandle.prototype, "constructor", { value: undefined });
Object.setPrototypeOf(LeafHandle.prototype[Symbol.toPrimitive], null);
Object.freeze(LeafHandle.prototype[Symbol.toPrimitive]);
Object.setPrototypeOf(LeafHandle.prototype, null);
Object.freeze(LeafHandle.prototype);

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

/**
 * The traps every stand-in shares: no prototype chain (so an accessor cannot reach the real
 * prototypes) and no writes of any kind.
 */
const READ_ONLY_TRAPS = {
  getPrototypeOf: () => null,
  set: refuse,
  defineProperty: refuse,
  deleteProperty: refuse,
  setPrototypeOf: refuse,
  preventExtensions: refuse,
} satisfies ProxyHandler<object>;

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
      const sealed = sealCopy(copy);
      this.infos.set(sealed, info);
      return sealed;
    }
    const view = new NodeView(this, value, type, info);
    const original = value as object;
    // The target carries no prototype: a stand-in shows the node's fields, never the real
    // prototype chain (which an accessor could otherwise write through, see `readMember`).
    const surrogate: object =
      type === ARRAY_NODE ? nullPrototypeArray(view.children.length) : Object.create(null);
    const proxy: object = new Proxy(surrogate, {
      get(_target, prop) {
        const i = view.indexOf(prop);
        if (i >= 0) return view.child(i);
        if (type === ARRAY_NODE) {
          if (prop === "length") return view.children.length;
          return readMember(Array.prototype, prop, proxy);
        }
        if (type === OBJECT_NODE) return undefined;
        if (Object.hasOwn(original, prop)) return readMember(original, prop, proxy);
        return readMember(Object.getPrototypeOf(original), prop, proxy);
      },
      has(_target, prop) {
        if (view.indexOf(prop) >= 0) return true;
        if (type === OBJECT_NODE) return false;
        if (type === ARRAY_NODE)
          return prop === "length" || readMember(Array.prototype, prop, proxy) !== undefined;
        return readMember(original, prop, proxy) !== undefined;
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
        if (desc === undefined) return undefined;
        return {
          value: readMember(original, prop, proxy),
          writable: false,
          enumerable: desc.enumerable ?? false,
          configurable: true,
        };
      },
      ...READ_ONLY_TRAPS,
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

/** Names a stand-in never answers unless they are children: they lead to the prototype chain. */
const PROTOTYPE_NAMES: ReadonlySet<string | symbol> = new Set(["__proto__", "constructor"]);

/**
 * Reads member `prop` found on `holder` (a node or one of its prototypes) for a stand-in: getters
 * run with the stand-in as `this`, methods come back as {@link sealedFunction}s, primitives as
 * they are. Objects found on prototypes and the names in {@link PROTOTYPE_NAMES} read as
 * `undefined`, so no path through a stand-in reaches `Object.prototype` or a class prototype.
 */
function readMember(
  holder: object | null,
  prop: string | symbol,
  receiver: object,
  bindTo?: object,
): unknown {
  if (PROTOTYPE_NAMES.has(prop)) return undefined;
  for (let o = holder; o !== null; o = Object.getPrototypeOf(o)) {
    const desc = Reflect.getOwnPropertyDescriptor(o, prop);
    if (desc === undefined) continue;
    if (desc.get !== undefined) return Reflect.apply(desc.get, receiver, []);
    const v = desc.value;
    if (typeof v === "function") return sealedFunction(v, bindTo);
    // Own data of the node (a struct's static fields) is the node's value; data kept on
    // prototypes is not shown.
    if (typeof v === "object" && v !== null && o !== holder) return undefined;
    return v;
  }
  return undefined;
}

const sealedFunctions = new WeakMap<Function, Function>();

/**
 * A frozen, prototype-less function that calls `fn` (with `boundThis` when given, else with the
 * `this` of the call): methods read through a stand-in work, but `m.method.__proto__` or
 * `m.method.constructor` lead nowhere.
 */
function sealedFunction(fn: Function, boundThis?: object): Function {
  if (boundThis === undefined) {
    const known = sealedFunctions.get(fn);
    if (known !== undefined) return known;
  }
  const sealed = {
    // A method (unlike a `function`) has no `prototype` object that would lead back to Object.prototype.
    call(this: unknown, ...args: unknown[]): unknown {
      return Reflect.apply(fn, boundThis ?? this, args);
    },
  }.call;
  Object.setPrototypeOf(sealed, null);
  Object.freeze(sealed);
  if (boundThis === undefined) sealedFunctions.set(fn, sealed);
  return sealed;
}

/** An array with no prototype, as the target of an array stand-in (`Array.isArray` holds). */
function nullPrototypeArray(length: number): unknown[] {
  const a = new Array(length);
  Object.setPrototypeOf(a, null);
  return a;
}

/**
 * The stand-in for a node rebuilt with stand-in children (a Map, a registered class): a read-only
 * view of the copy whose methods run on the copy (`m.get("k")`), without its prototype chain.
 */
function sealCopy(copy: object): object {
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      return readMember(copy, prop, copy, copy);
    },
    has: (_target, prop) => !PROTOTYPE_NAMES.has(prop) && Reflect.has(copy, prop),
    ownKeys: () =>
      Reflect.ownKeys(copy).filter((k) => {
        const d = Reflect.getOwnPropertyDescriptor(copy, k);
        return d !== undefined;
      }),
    getOwnPropertyDescriptor(_target, prop) {
      const desc = Reflect.getOwnPropertyDescriptor(copy, prop);
      if (desc === undefined || PROTOTYPE_NAMES.has(prop)) return undefined;
      return {
        value: readMember(copy, prop, copy, copy),
        writable: false,
        enumerable: desc.enumerable ?? false,
        configurable: true,
      };
    },
    ...READ_ONLY_TRAPS,
  });
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
