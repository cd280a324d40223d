/**
 * The pytree registry: which values are nodes with children, and how to take them apart and put
 * them back together.
 *
 * Built-in node kinds follow JAX: arrays, plain objects (children in sorted key order), `Map`
 * (insertion order), `null` and `undefined` (nodes with no children) and every `Struct`. Further
 * classes are added with {@link registerPytreeNode}. Everything else is a leaf.
 *
 * @module
 */

import { RegistrationError, TreeDepthError } from "./errors.js";
import { DictKey, FlattenedIndexKey, type PathKey, SequenceKey } from "./keys.js";
import { MAX_TREE_DEPTH } from "./maxTreeDepth.js";

/**
 * How one kind of node is taken apart and rebuilt. `aux` is the node's static data: it is kept in
 * the tree structure and compared with `auxEquals`.
 *
 * @example
 * const [children, aux] = ARRAY_NODE.flatten([1, 2]); // [[1, 2], null]
 */
export interface NodeType<N = any, Aux = any> {
  /** A short name used when a structure is rendered, for example `"Array"` or `"Linear"`. */
  readonly name: string;
  /** The node's children, in order, and its static data. */
  flatten(node: N): [children: unknown[], aux: Aux];
  /** The key of each child, in the order of `flatten`. */
  keys(node: N, aux: Aux, childCount: number): PathKey[];
  /** Rebuilds a node from its static data and new children. Must not call user constructors. */
  unflatten(aux: Aux, children: unknown[]): N;
  /** Whether two nodes' static data are equal. */
  auxEquals(a: Aux, b: Aux): boolean;
  /** Renders a node of this type inside a structure's string, given its rendered children. */
  render(aux: Aux, children: string[]): string;
  /** Set only on the struct node type: its nodes carry a {@link StructLayout} on their prototype. */
  readonly isStructNode?: boolean;
}

/**
 * The field layout of a struct class. The node type of a struct (found under {@link NODE_TYPE} on
 * its prototype) has `isStructNode` set and is also its layout: the tree walks read it to take
 * structs apart and rebuild them without going through {@link NodeType.flatten}.
 *
 * @example
 * (nodeTypeOf(point) as unknown as StructLayout).childNames; // ["x", "y"]
 */
export interface StructLayout {
  /** The node type of the struct class (the layout itself). */
  readonly nodeType: NodeType;
  /** Child field names, in declaration order. */
  readonly childNames: readonly string[];
  /** Static field names, in declaration order. */
  readonly staticNames: readonly string[];
  /** `GetAttrKey` of each child field (used when `keyForField` is not overridden). */
  readonly childKeys: readonly PathKey[];
}

/**
 * The static data of a struct node: its prototype when it has no static fields (no allocation),
 * otherwise `[prototype, ...staticValues]`.
 *
 * @internal Shared by the struct node type and the tree walks.
 * @example
 * structAux(Point.prototype, layout, point); // Point.prototype (Point has no static fields)
 */
export function structAux(proto: object, layout: StructLayout, node: object): unknown {
  const staticNames = layout.staticNames;
  const n = staticNames.length;
  if (n === 0) return proto;
  const aux = new Array(n + 1);
  aux[0] = proto;
  for (let i = 0; i < n; i++) aux[i + 1] = (node as any)[staticNames[i]!];
  return aux;
}

/**
 * Attached to a prototype to make every instance of that class (and its subclasses) a node.
 *
 * @example
 * Object.defineProperty(Bag.prototype, NODE_TYPE, { value: bagNodeType });
 */
export const NODE_TYPE: unique symbol = Symbol.for("saikei.nodeType");

/**
 * @internal Where a struct class keeps its {@link StructClass}: an own property of the class's
 * prototype, so one property read gives a tree walk both the exact prototype it records and the
 * field layout (reading the layout under {@link NODE_TYPE}, shared by subclasses, and then the
 * instance's prototype costs a builtin call per struct).
 */
export const STRUCT_CLASS: unique symbol = Symbol("saikei.structClass");

/**
 * @internal One struct class as the tree walks see it: its prototype and its field layout.
 *
 * Every prototype of a struct instance holds its own record: the struct constructor and struct's
 * builders (`fromAttributes`, `replace`, unflatten) install it through {@link ownStructClass}
 * before an instance of the class exists. A subclass's instances could otherwise see their
 * parent's record, so when a prototype cannot take a property (it was frozen), the walks stop
 * trusting records and compare prototypes (see {@link structClassOf}).
 */
export interface StructClass {
  readonly proto: object;
  /** The struct node type (which is also the layout). */
  readonly nodeType: NodeType;
  readonly childNames: readonly string[];
  readonly staticNames: readonly string[];
}

let structClassesExact = true;

/**
 * @internal The struct class of `node`, or `undefined` when `node` is not a struct instance
 * (plain objects carrying a struct's node type included: they have no record).
 *
 * @example
 * structClassOf(new Point({ x: 1, y: 2 }))?.childNames; // ["x", "y"]
 */
export function structClassOf(node: object): StructClass | undefined {
  const cls = (node as { [STRUCT_CLASS]?: StructClass })[STRUCT_CLASS];
  return cls !== undefined && (structClassesExact || cls.proto === Object.getPrototypeOf(node))
    ? cls
    : undefined;
}

/**
 * @internal The record of the struct class whose prototype is `proto`, installed on first use;
 * `undefined` when `proto` is not a struct prototype.
 *
 * @example
 * ownStructClass(Point.prototype)?.proto === Point.prototype; // true
 */
export function ownStructClass(proto: object): StructClass | undefined {
  const cls = (proto as { [STRUCT_CLASS]?: StructClass })[STRUCT_CLASS];
  return cls !== undefined && cls.proto === proto ? cls : installStructClass(proto);
}

/** Records of struct prototypes that could not take one (they were frozen or sealed). */
const unrecordable = new WeakMap<object, StructClass>();

function installStructClass(proto: object): StructClass | undefined {
  const kind = (proto as { [NODE_TYPE]?: NodeType })[NODE_TYPE];
  if (kind === undefined || kind.isStructNode !== true) return undefined;
  const known = unrecordable.get(proto);
  if (known !== undefined) return known;
  const layout = kind as unknown as StructLayout;
  const cls: StructClass = Object.freeze({
    proto,
    nodeType: kind,
    childNames: layout.childNames,
    staticNames: layout.staticNames,
  });
  if (Object.isExtensible(proto)) {
    Object.defineProperty(proto, STRUCT_CLASS, { value: cls });
  } else {
    unrecordable.set(proto, cls);
    structClassesExact = false;
  }
  return cls;
}

const registered = new Map<Function, NodeType>();

/** `%TypedArray%`, the common base class of `Float32Array`, `Int32Array`, ... */
const TYPED_ARRAY: Function = Object.getPrototypeOf(Float32Array);

/**
 * The definition a class gives to become a pytree node: how to list its children with keys and
 * how to rebuild it. `unflatten` receives the `aux` that `flattenWithKeys` returned.
 *
 * @example
 * const def: PytreeNodeDefinition<Pair, null> = {
 *   flattenWithKeys: (p) => ({ children: [[new GetAttrKey("a"), p.a]], aux: null }),
 *   unflatten: (_aux, [a]) => new Pair(a),
 * };
 */
export interface PytreeNodeDefinition<N, Aux> {
  /** The node's children with their keys, in order, and its static data. */
  flattenWithKeys(node: N): { children: [PathKey, unknown][]; aux: Aux };
  /** Rebuilds a node from its static data and new children (in the order of `flattenWithKeys`). */
  unflatten(aux: Aux, children: unknown[]): N;
  /** Equality of the static data; defaults to {@link deepEqualStatic}. */
  auxEquals?(a: Aux, b: Aux): boolean;
}

/**
 * Makes instances of `cls` (exactly that class, as in JAX) pytree nodes.
 *
 * @param cls the class to register.
 * @param definition how to take an instance apart and rebuild it.
 * @throws RegistrationError when `cls` is already registered or is a built-in node kind.
 * @example
 * class Pair { constructor(readonly a: unknown, readonly b: unknown) {} }
 * registerPytreeNode(Pair, {
 *   flattenWithKeys: (p) => ({ children: [[new GetAttrKey("a"), p.a], [new GetAttrKey("b"), p.b]], aux: null }),
 *   unflatten: (_aux, [a, b]) => new Pair(a, b),
 * });
 */
export function registerPytreeNode<N, Aux>(
  cls: abstract new (...args: any[]) => N,
  definition: PytreeNodeDefinition<N, Aux>,
): void {
  const ctor: Function = cls;
  if (typeof ctor !== "function" || ctor.prototype === undefined) {
    throw new RegistrationError(
      `registerPytreeNode expects a class as its first argument, but got ${safeString(ctor)}.`,
    );
  }
  if (ctor === Array || ctor === Object || ctor === Map) {
    throw new RegistrationError(
      `${ctor.name} is a built-in pytree node kind and cannot be registered again.`,
    );
  }
  if (ctor === DataView || ctor === TYPED_ARRAY || ctor.prototype instanceof TYPED_ARRAY) {
    throw new RegistrationError(
      `${ctor.name} is a typed array, and typed arrays are always leaves (trees are never walked ` +
        "element by element). Wrap the data in a struct or a registered class instead.",
    );
  }
  if ((ctor.prototype as { [NODE_TYPE]?: unknown })[NODE_TYPE] !== undefined) {
    throw new RegistrationError(
      `${ctor.name} is already a pytree node (it is a Struct or carries NODE_TYPE); ` +
        "structs are nodes by construction and need no registration.",
    );
  }
  if (registered.has(cls)) {
    throw new RegistrationError(
      `${cls.name} is already registered as a pytree node. Register each class once, at module load.`,
    );
  }
  const auxEquals = definition.auxEquals ?? deepEqualStatic;
  registered.set(cls, {
    name: cls.name,
    flatten(node) {
      const result = definition.flattenWithKeys(node);
      if (result === null || typeof result !== "object" || !Array.isArray(result.children)) {
        throw new RegistrationError(
          `The flattenWithKeys of ${cls.name} returned ${safeString(result)}; it must return ` +
            "{ children: [[key, child], ...], aux }.",
        );
      }
      const { children, aux } = result;
      return [children.map((c) => c[1]), { aux, keys: children.map((c) => c[0]) }];
    },
    keys: (_node, aux: { keys: PathKey[] }) => aux.keys,
    unflatten: (aux: { aux: Aux }, children) => definition.unflatten(aux.aux, children),
    auxEquals: (a: { aux: Aux; keys: PathKey[] }, b: { aux: Aux; keys: PathKey[] }) =>
      auxEquals(a.aux, b.aux) && a.keys.length === b.keys.length,
    render: (aux: { aux: Aux }, children) =>
      `${cls.name}(${aux.aux === null || aux.aux === undefined ? "" : `${safeString(aux.aux)}, `}[${children.join(", ")}])`,
  });
}

/**
 * Whether `cls` was registered with {@link registerPytreeNode}.
 *
 * @example
 * isRegisteredPytreeNode(Map); // false: Map is built in, not registered
 */
export function isRegisteredPytreeNode(cls: Function): boolean {
  return registered.has(cls);
}

/**
 * `String(value)` that never throws (strings are quoted); used in error messages and renderings.
 *
 * @example
 * safeString("a"); // '"a"'
 * safeString(Object.create(null)); // "[object Object]"
 */
export function safeString(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Equality used for static data (struct static fields, registered aux data): `Object.is` for
 * primitives and functions, element-wise for arrays and typed arrays, key-wise for plain objects
 * and Maps, `equals(other)` when the value has such a method.
 *
 * @example
 * deepEqualStatic({ a: [1, 2] }, { a: [1, 2] }); // true
 * deepEqualStatic(new Map([["a", 1], ["b", 2]]), new Map([["b", 2], ["a", 1]])); // false: order matters
 */
export function deepEqualStatic(a: unknown, b: unknown): boolean {
  return staticEqual(a, b, 0);
}

function staticEqual(a: unknown, b: unknown, depth: number): boolean {
  if (Object.is(a, b)) return true;
  if (depth > MAX_TREE_DEPTH) {
    throw new TreeDepthError(
      `Comparing static data (struct static fields or registered aux data): the values are nested more ` +
        `than ${MAX_TREE_DEPTH} levels deep, or contain themselves (a cycle). Static data is compared by ` +
        "value; keep it small and acyclic, or give its class an equals(other) method.",
      [],
      MAX_TREE_DEPTH,
    );
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const protoA = Object.getPrototypeOf(a);
  const protoB = Object.getPrototypeOf(b);
  // Plain records compare by entries whether or not they have a prototype: a name record built
  // with Object.create(null) equals the literal a user wrote.
  const plainA = protoA === Object.prototype || protoA === null;
  const plainB = protoB === Object.prototype || protoB === null;
  if (protoA !== protoB && !(plainA && plainB)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!staticEqual(a[i], bb[i], depth + 1)) return false;
    return true;
  }
  if (ArrayBuffer.isView(a)) {
    const aa = a as unknown as ArrayLike<unknown>;
    const bb = b as unknown as ArrayLike<unknown>;
    if (aa.length !== bb.length) return false;
    for (let i = 0; i < aa.length; i++) if (!Object.is(aa[i], bb[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    const bm = b as Map<unknown, unknown>;
    if (a.size !== bm.size) return false;
    const ak = [...a.keys()];
    const bk = [...bm.keys()];
    for (let i = 0; i < ak.length; i++) {
      if (!Object.is(ak[i], bk[i])) return false;
      if (!staticEqual(a.get(ak[i]), bm.get(bk[i]), depth + 1)) return false;
    }
    return true;
  }
  if (plainA) {
    const ak = Object.keys(a);
    const bk = Object.keys(b);
    if (ak.length !== bk.length) return false;
    for (const k of ak) {
      if (!Object.hasOwn(b, k)) return false;
      if (!staticEqual((a as any)[k], (b as any)[k], depth + 1)) return false;
    }
    return true;
  }
  const equals = (a as { equals?: unknown }).equals;
  if (typeof equals === "function") return Boolean(equals.call(a, b));
  return false;
}

function assignKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // Plain assignment to "__proto__" would replace the prototype; define it as data instead.
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Arrays: children keyed by `SequenceKey(i)`.
 *
 * @example
 * ARRAY_NODE.unflatten(null, [1, 2]); // [1, 2]
 */
export const ARRAY_NODE: NodeType<unknown[], null> = {
  name: "Array",
  flatten: (node) => [node.slice(), null],
  keys: (_node, _aux, n) => Array.from({ length: n }, (_, i) => new SequenceKey(i)),
  unflatten: (_aux, children) => children.slice(),
  auxEquals: () => true,
  render: (_aux, children) => `[${children.join(", ")}]`,
};

/**
 * Static data of a plain object: its sorted keys and whether it had a null prototype.
 *
 * @example
 * OBJECT_NODE.flatten({ b: 1, a: 2 })[1]; // { keys: ["a", "b"], nullPrototype: false }
 */
export interface ObjectAux {
  readonly keys: readonly string[];
  readonly nullPrototype: boolean;
}

/**
 * Plain objects: children keyed by `DictKey(k)` in sorted key order, as JAX sorts dict keys.
 *
 * @example
 * OBJECT_NODE.flatten({ b: 1, a: 2 }); // [[2, 1], { keys: ["a", "b"], nullPrototype: false }]
 */
export const OBJECT_NODE: NodeType<Record<string, unknown>, ObjectAux> = {
  name: "Object",
  flatten(node) {
    const keys = Object.keys(node).sort();
    const children = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) children[i] = node[keys[i]!];
    return [children, { keys, nullPrototype: Object.getPrototypeOf(node) === null }];
  },
  keys: (_node, aux) => aux.keys.map((k) => new DictKey(k)),
  unflatten(aux, children) {
    const out: Record<string, unknown> = aux.nullPrototype ? Object.create(null) : {};
    for (let i = 0; i < aux.keys.length; i++) assignKey(out, aux.keys[i]!, children[i]);
    return out;
  },
  auxEquals(a, b) {
    if (a.nullPrototype !== b.nullPrototype || a.keys.length !== b.keys.length) return false;
    for (let i = 0; i < a.keys.length; i++) if (a.keys[i] !== b.keys[i]) return false;
    return true;
  },
  render: (aux, children) =>
    `{${aux.keys.map((k, i) => `${JSON.stringify(k)}: ${children[i]}`).join(", ")}}`,
};

/**
 * Maps: children keyed by `DictKey(k)` in insertion order (JAX's `OrderedDict`).
 *
 * @example
 * MAP_NODE.flatten(new Map([["z", 1], ["a", 2]])); // [[1, 2], ["z", "a"]]
 */
export const MAP_NODE: NodeType<Map<unknown, unknown>, unknown[]> = {
  name: "Map",
  flatten: (node) => [[...node.values()], [...node.keys()]],
  keys: (_node, aux) => aux.map((k) => new DictKey(k)),
  unflatten(aux, children) {
    const out = new Map<unknown, unknown>();
    for (let i = 0; i < aux.length; i++) out.set(aux[i], children[i]);
    return out;
  },
  auxEquals(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  },
  render: (aux, children) =>
    `Map{${aux.map((k, i) => `${safeString(k)} => ${children[i]}`).join(", ")}}`,
};

/**
 * `null` and `undefined`: nodes with no children (JAX's `None`).
 *
 * @example
 * NONE_NODE.flatten(null); // [[], null]
 */
export const NONE_NODE: NodeType<null | undefined, null | undefined> = {
  name: "None",
  flatten: (node) => [[], node],
  keys: () => [],
  unflatten: (aux) => aux,
  auxEquals: (a, b) => a === b,
  render: (aux) => String(aux),
};

/**
 * The node type of `value`, or `undefined` when `value` is a leaf.
 *
 * @example
 * nodeTypeOf([1, 2]) === ARRAY_NODE; // true
 * nodeTypeOf(3); // undefined: numbers are leaves
 */
export function nodeTypeOf(value: unknown): NodeType | undefined {
  if (value === null || value === undefined) return NONE_NODE;
  if (typeof value !== "object") return undefined;
  if (Array.isArray(value)) return ARRAY_NODE;
  if (ArrayBuffer.isView(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return OBJECT_NODE;
  const attached = (value as { [NODE_TYPE]?: NodeType })[NODE_TYPE];
  if (attached !== undefined) return attached;
  if (proto === Map.prototype) return MAP_NODE;
  if (registered.size > 0) return registered.get(proto.constructor);
  return undefined;
}

/**
 * @internal The node type registered for exactly the class whose prototype is `proto`, if any.
 *
 * @example
 * registeredNodeTypeOf(Float32Array.prototype); // undefined
 */
export function registeredNodeTypeOf(proto: object): NodeType | undefined {
  return registered.size === 0
    ? undefined
    : registered.get((proto as { constructor: Function }).constructor);
}

/**
 * Keys of a flattened node, falling back to `FlattenedIndexKey`s when a node type gives none.
 *
 * @example
 * childKeys(ARRAY_NODE, [5, 6], null, 2).map(String); // ["[0]", "[1]"]
 */
export function childKeys(type: NodeType, node: unknown, aux: unknown, count: number): PathKey[] {
  const keys = type.keys(node, aux, count);
  if (keys.length === count) return keys;
  return Array.from({ length: count }, (_, i) => new FlattenedIndexKey(i));
}
