// biome-ignore-all lint/complexity/noThisInStatic: the static methods of Struct act on the subclass they are called on.
/**
 * Frozen, typed tree nodes: `Struct.define({...})` declares fields, instances are frozen and every
 * struct is a pytree node whose children are its non-static fields in declaration order.
 *
 * @module
 */

import { className, RECORDED_NAME } from "./className.js";
import { StructConstructionError, StructDefinitionError } from "./errors.js";
import { GetAttrKey, type PathKey } from "./keys.js";
import {
  deepEqualStatic,
  NODE_TYPE,
  type NodeType,
  ownStructClass,
  type StructLayout,
  safeString,
  structAux,
} from "./registry.js";
import { treeEquals } from "./tree.js";

/**
 * Declared shape of one struct field. `T` is its value type.
 *
 * @example
 * const x: Field<number, false, true> = field<number>({ default: 0 });
 */
export interface Field<T, Static extends boolean = boolean, HasDefault extends boolean = boolean> {
  /** Phantom: the field's value type. */
  readonly __type?: T;
  /** Static fields are kept in the tree structure instead of being children. */
  readonly static: Static;
  /** Whether the constructor prop may be omitted. */
  readonly hasDefault: HasDefault;
  /** The value used when the prop is omitted. */
  readonly defaultValue?: T;
}

/**
 * Field options: `static` keeps the value in the structure, `default` makes the prop optional.
 *
 * @example
 * field<string>({ static: true, default: "relu" });
 */
export interface FieldOptions<T> {
  static?: boolean;
  default?: T;
}

/**
 * Declares a struct field of type `T`.
 *
 * @param options `{ static: true }` keeps the value in the tree structure (compared by value) rather
 *   than making it a child; `{ default: value }` makes the constructor prop optional.
 * @example
 * class Point extends Struct.define({ x: field<number>(), label: field<string>({ static: true }) }) {}
 */
export function field<T>(options: { static: true; default: T }): Field<T, true, true>;
export function field<T>(options: { static: true; default?: undefined }): Field<T, true, false>;
export function field<T>(options: { static?: false; default: T }): Field<T, false, true>;
export function field<T>(options?: { static?: false; default?: undefined }): Field<T, false, false>;
export function field<T>(options: FieldOptions<T> = {}): Field<T> {
  if (options === null || typeof options !== "object") {
    throw new StructDefinitionError(
      `field() takes an options object like { static: true } or { default: 0 }, but got ${reprValue(options)}.`,
    );
  }
  const unknownOptions = Object.keys(options).filter((k) => k !== "static" && k !== "default");
  if (
    unknownOptions.length > 0 ||
    (options.static !== undefined && typeof options.static !== "boolean")
  ) {
    throw new StructDefinitionError(
      `field() options are { static?: boolean, default?: value }, but got ${reprValue(options)}. ` +
        "Remove the other keys, and pass static as true or false.",
    );
  }
  const hasDefault = Object.hasOwn(options, "default");
  return Object.freeze({
    static: options.static === true,
    hasDefault,
    defaultValue: options.default,
  }) as Field<T>;
}

/**
 * A record of field declarations, as passed to `define`.
 *
 * @example
 * const spec = { x: field<number>(), name: field<string>({ static: true }) } satisfies FieldSpec;
 */
export type FieldSpec = Record<string, Field<any, boolean, boolean>>;

/**
 * Options of {@link Struct.define}.
 *
 * @example
 * class Point extends Struct.define({ x: field<number>() }, { name: "Point" }) {}
 */
export interface DefineOptions {
  /**
   * The name of the class that extends the result, as treescope and error messages print it.
   * Recorded because minifiers rename classes; see {@link className} for who gets it.
   */
  readonly name?: string;
}

type FieldType<F> = F extends Field<infer T, any, any> ? T : never;
type RequiredNames<S> = {
  [K in keyof S]: S[K] extends Field<any, any, true> ? never : K;
}[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The constructor props of a field spec: required fields, and optional ones with defaults.
 *
 * @example
 * type P = PropsOf<{ x: Field<number, false, false>; y: Field<number, false, true> }>; // { x: number; y?: number }
 */
export type PropsOf<S> = Simplify<
  { [K in RequiredNames<S>]: FieldType<S[K]> } & {
    [K in Exclude<keyof S, RequiredNames<S>>]?: FieldType<S[K]>;
  }
>;

/**
 * The readonly instance fields of a field spec.
 *
 * @example
 * type F = FieldsOf<{ x: Field<number, false, false> }>; // { readonly x: number }
 */
export type FieldsOf<S> = { readonly [K in keyof S]: FieldType<S[K]> };

/**
 * Phantom key carrying the field record of a struct type; used by `fromAttributes` typing.
 *
 * @example
 * type Fields = NonNullable<Point[typeof STRUCT_FIELDS]>; // { readonly x: number; readonly y: number }
 */
export declare const STRUCT_FIELDS: unique symbol;

type AnyStructClass = abstract new (...args: any[]) => Struct;
type BaseProps<C> = C extends abstract new (
  props: infer P,
  ...rest: any[]
) => any
  ? unknown extends P
    ? {}
    : NonNullable<P>
  : {};

/**
 * The class `define` returns: typed props, instances with the new fields, statics kept.
 *
 * @example
 * const Base: DefinedStruct<typeof Struct, { x: Field<number, false, false> }> = Struct.define({ x: field<number>() });
 */
export type DefinedStruct<C extends AnyStructClass, S extends FieldSpec> = Pick<C, keyof C> &
  (C extends new (
    ...args: any[]
  ) => any
    ? {} extends Simplify<BaseProps<C> & PropsOf<S>>
      ? new (
          props?: Simplify<BaseProps<C> & PropsOf<S>>,
        ) => InstanceType<C> & FieldsOf<S> & { readonly [STRUCT_FIELDS]?: FieldsOf<S> }
      : new (
          props: Simplify<BaseProps<C> & PropsOf<S>>,
        ) => InstanceType<C> & FieldsOf<S> & { readonly [STRUCT_FIELDS]?: FieldsOf<S> }
    : {} extends Simplify<BaseProps<C> & PropsOf<S>>
      ? abstract new (
          props?: Simplify<BaseProps<C> & PropsOf<S>>,
        ) => InstanceType<C> & FieldsOf<S> & { readonly [STRUCT_FIELDS]?: FieldsOf<S> }
      : abstract new (
          props: Simplify<BaseProps<C> & PropsOf<S>>,
        ) => InstanceType<C> & FieldsOf<S> & { readonly [STRUCT_FIELDS]?: FieldsOf<S> });

/**
 * All field values of a struct instance type, static ones included.
 *
 * @example
 * type A = AttributesOf<Point>; // { x: number; y: number }
 */
export type AttributesOf<T> = T extends { readonly [STRUCT_FIELDS]?: infer F }
  ? { -readonly [K in keyof F]: F[K] }
  : Record<string, unknown>;

interface FieldInfo {
  readonly name: string;
  readonly isStatic: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
}

function metaOfClass(cls: Function): StructMeta {
  const proto = (cls as { prototype?: { [NODE_TYPE]?: unknown } }).prototype;
  const meta = proto?.[NODE_TYPE];
  return meta instanceof StructMeta ? meta : EMPTY_META;
}

function metaOfInstance(value: object): StructMeta {
  const meta = (value as { [NODE_TYPE]?: unknown })[NODE_TYPE];
  return meta instanceof StructMeta ? meta : EMPTY_META;
}

function build(
  proto: object,
  meta: StructMeta,
  children: readonly unknown[],
  statics: readonly unknown[],
): any {
  ownStructClass(proto);
  const obj: any = Object.create(proto);
  const childNames = meta.childNames;
  for (let i = 0; i < childNames.length; i++) obj[childNames[i]!] = children[i];
  const staticNames = meta.staticNames;
  for (let i = 0; i < staticNames.length; i++) obj[staticNames[i]!] = statics[i];
  return Object.freeze(obj);
}

/** Splits a struct node's static data (see `structAux`) into its prototype and static values. */
function splitAux(aux: unknown): [proto: object, statics: readonly unknown[]] {
  return Array.isArray(aux) ? [aux[0] as object, aux.slice(1)] : [aux as object, NO_STATICS];
}

const NO_STATICS: readonly unknown[] = Object.freeze([]);

/**
 * @internal The field table of one `define` call, which is also the pytree node type of its
 * instances (attached to the prototype under `NODE_TYPE`, inherited by subclasses). Its static data
 * per node is the instance's prototype, or `[prototype, ...staticValues]` when it has static fields.
 */
class StructMeta implements NodeType<any, unknown>, StructLayout {
  readonly name = "Struct";
  readonly isStructNode = true;
  readonly names: readonly string[];
  readonly childNames: readonly string[];
  readonly staticNames: readonly string[];
  readonly childKeys: readonly GetAttrKey[];

  constructor(readonly fields: readonly FieldInfo[]) {
    this.names = Object.freeze(fields.map((f) => f.name));
    this.childNames = Object.freeze(fields.filter((f) => !f.isStatic).map((f) => f.name));
    this.staticNames = Object.freeze(fields.filter((f) => f.isStatic).map((f) => f.name));
    this.childKeys = Object.freeze(this.childNames.map((n) => new GetAttrKey(n)));
    Object.freeze(this);
  }

  get nodeType(): NodeType {
    return this;
  }

  flatten(node: any): [unknown[], unknown] {
    const names = this.childNames;
    const children = new Array(names.length);
    for (let i = 0; i < names.length; i++) children[i] = node[names[i]!];
    return [children, structAux(Object.getPrototypeOf(node), this, node)];
  }

  keys(node: any, _aux?: unknown, _count?: number): PathKey[] {
    if (node.keyForField === DEFAULT_KEY_FOR_FIELD) return this.childKeys as PathKey[];
    return this.childNames.map((n) => node.keyForField(n));
  }

  unflatten(aux: unknown, children: unknown[]): any {
    const [proto, statics] = splitAux(aux);
    return build(proto, this, children, statics);
  }

  auxEquals(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    if (a[0] !== b[0] || a.length !== b.length) return false;
    for (let i = 1; i < a.length; i++) if (!deepEqualStatic(a[i], b[i])) return false;
    return true;
  }

  render(aux: unknown, children: string[]): string {
    const [proto, statics] = splitAux(aux);
    const parts = this.childNames.map((n, i) => `${n}=${children[i]}`);
    this.staticNames.forEach((n, i) => {
      parts.push(`${n}=${reprValue(statics[i])}`);
    });
    return `${className((proto as { constructor: Function }).constructor)}(${parts.join(", ")})`;
  }
}

const EMPTY_META: StructMeta = new StructMeta([]);

const RESERVED = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "attributesDict",
  "keyForField",
  "treeFlatten",
  "treeFlattenWithKeys",
  "equals",
  "toString",
  "replace",
  "select",
]);

/**
 * The static data `treeFlatten` returns: child field names and static field values.
 *
 * @example
 * new Labeled({ v: 1, label: "a" }).treeFlatten()[1]; // { childFieldNames: ["v"], staticFields: { label: "a" } }
 */
export interface StructStaticMetadata {
  readonly childFieldNames: readonly string[];
  readonly staticFields: Readonly<Record<string, unknown>>;
}

/** How `toString` renders values; `@saikei/treescope` replaces it with its one-line renderer. */
let reprHook: ((value: unknown) => string) | undefined;

/**
 * Replaces the renderer used by `Struct#toString` (treescope installs its one-line form).
 * Pass `undefined` to restore the built-in renderer.
 *
 * @example
 * setStructReprHook((v) => "<struct>");
 * String(new Point({ x: 1, y: 2 })); // "<struct>"
 * setStructReprHook(undefined);
 */
export function setStructReprHook(hook: ((value: unknown) => string) | undefined): void {
  reprHook = hook;
}

/**
 * The built-in one-line rendering of a value: `Point(x=3, y=4, label='p')`.
 *
 * @example
 * reprValue(new Point({ x: 3, y: 4 })); // "Point(x=3, y=4)"
 * reprValue({ a: "s" }); // `{"a": 's'}`
 */
export function reprValue(value: unknown, depth = 0): string {
  if (depth > 6) return "…";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "function") return `<function ${value.name || "anonymous"}>`;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => reprValue(v, depth + 1)).join(", ")}]`;
  if (value instanceof Struct) {
    const meta = metaOfInstance(value);
    const parts = meta.names.map((n) => `${n}=${reprValue((value as any)[n], depth + 1)}`);
    return `${className(value.constructor)}(${parts.join(", ")})`;
  }
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const entries = Object.keys(value).map(
      (k) => `${JSON.stringify(k)}: ${reprValue((value as any)[k], depth + 1)}`,
    );
    return `{${entries.join(", ")}}`;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => `${safeString(k)} => ${reprValue(v, depth + 1)}`);
    return `Map{${entries.join(", ")}}`;
  }
  const own = (value as { toString?: () => string }).toString;
  if (typeof own === "function" && own !== Object.prototype.toString) return safeString(value);
  return `<${typeof value.constructor === "function" ? className(value.constructor) : "object"}>`;
}

/** Validates `define`'s options; returns the name to record, if any. */
function checkDefineOptions(base: string, options: DefineOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  const unknownOptions =
    options !== null && typeof options === "object"
      ? Object.keys(options).filter((k) => k !== "name")
      : [];
  const name = (options as DefineOptions | null)?.name;
  if (
    options === null ||
    typeof options !== "object" ||
    unknownOptions.length > 0 ||
    (name !== undefined && (typeof name !== "string" || name === ""))
  ) {
    throw new StructDefinitionError(
      `${base}.define takes options { name?: string } as its second argument, but got ${reprValue(options)}. ` +
        `Pass the name of the class you are declaring, like class Point extends ${base}.define({ ... }, { name: "Point" }) {}.`,
    );
  }
  return name;
}

function describeProps(meta: StructMeta): string {
  return meta.fields.map((f) => (f.hasDefault ? `${f.name}?` : f.name)).join(", ");
}

/**
 * Throws the construction error naming the missing required fields and the unknown props of
 * `given`, if there are any.
 */
function throwOnMissingOrUnknownProps(
  cls: Function,
  meta: StructMeta,
  given: Record<string, unknown>,
): void {
  const name = className(cls) || "Struct";
  const missing = meta.fields
    .filter((f) => !f.hasDefault && !Object.hasOwn(given, f.name))
    .map((f) => f.name);
  const unknown = Object.keys(given).filter((k) => !meta.names.includes(k));
  if (missing.length > 0 || unknown.length > 0) {
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`missing required field(s) ${missing.join(", ")}`);
    if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.join(", ")}`);
    throw new StructConstructionError(
      `${name}: ${problems.join("; ")}. Its fields are: ${describeProps(meta) || "(none)"} ` +
        `(? marks optional). Call it as new ${name}({ ${meta.fields
          .filter((f) => !f.hasDefault)
          .map((f) => `${f.name}: …`)
          .join(", ")} }).`,
    );
  }
}

/**
 * The base class of every saikei tree node with named fields (penzai's `Struct`).
 *
 * Declare fields with {@link Struct.define}; instances are frozen, their non-static fields are
 * their children in declaration order, static fields are part of the tree structure. Rebuilding
 * from a structure (`unflatten`, selections, immer) never calls the constructor.
 *
 * Subclasses must not declare instance class fields (`x = 1`): the instance is frozen by the time
 * a subclass initializer would run. Use getters and methods instead.
 *
 * @example
 * class Point extends Struct.define({ x: field<number>(), y: field<number>() }) {
 *   norm() { return Math.hypot(this.x, this.y); }
 * }
 * new Point({ x: 3, y: 4 }).norm(); // 5
 */
export abstract class Struct {
  /**
   * Builds a frozen instance from typed props. Subclasses get their props type from `define`.
   *
   * @throws StructConstructionError for missing or unknown props.
   */
  constructor(props?: {}) {
    if (new.target === Struct) {
      throw new StructConstructionError(
        "Struct is abstract and has no fields. Declare a struct class first: " +
          "class Point extends Struct.define({ x: field<number>() }) {}, then new Point({ x: 1 }).",
      );
    }
    // One lookup installs the class record and gives the field table (its node type).
    const nodeType = ownStructClass(new.target.prototype)?.nodeType;
    const meta = nodeType instanceof StructMeta ? nodeType : EMPTY_META;
    if (props !== undefined && (props === null || typeof props !== "object")) {
      const name = className(new.target) || "Struct";
      throw new StructConstructionError(
        `${name} expects its fields as one object, like new ${name}({ ${describeProps(meta)} }), but got ${reprValue(props)}.`,
      );
    }
    const given = (props ?? {}) as Record<string, unknown>;
    const fields = meta.fields;
    let complete = true;
    let matched = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (Object.hasOwn(given, f.name)) {
        (this as any)[f.name] = given[f.name];
        matched++;
      } else if (f.hasDefault) {
        (this as any)[f.name] = f.defaultValue;
      } else {
        complete = false;
      }
    }
    // Every required field given and every prop a field (the common case) needs no lists.
    if (!complete || Object.keys(given).length !== matched) {
      throwOnMissingOrUnknownProps(new.target, meta, given);
    }
    Object.freeze(this);
  }

  /**
   * Declares a struct class with the fields of `spec` added after the fields of `this`.
   *
   * @param spec field declarations made with {@link field}. Fields listed first are children first.
   * @param options `{ name }` records the name of the class that extends the result, for
   *   treescope and error messages in minified builds (see {@link className}).
   * @returns a class to extend: `class Point extends Struct.define({...}) {}`.
   * @throws StructDefinitionError for a reserved name, a field the parent already has, or bad options.
   * @example
   * class Point extends Struct.define({ x: field<number>(), y: field<number>() }, { name: "Point" }) {}
   * class Point3 extends Point.define({ z: field<number>() }) {} // children x, y, z
   * class Labeled extends Point.define({}, { name: "Labeled" }) {} // no new fields, its own name
   */
  static define<C extends AnyStructClass, S extends FieldSpec>(
    this: C,
    spec: S,
    options?: DefineOptions,
  ): DefinedStruct<C, S> {
    const recorded = checkDefineOptions(className(this), options);
    const base = metaOfClass(this);
    const fields = [...base.fields];
    for (const name of Object.keys(spec)) {
      if (RESERVED.has(name)) {
        throw new StructDefinitionError(
          `${className(this)}.define: "${name}" cannot be a field name because Struct uses it. Rename the field.`,
        );
      }
      if (base.names.includes(name)) {
        throw new StructDefinitionError(
          `${className(this)}.define: field "${name}" is already declared by ${className(this)}. Each field is declared once; ` +
            "give the new field another name.",
        );
      }
      const f = spec[name]!;
      if (f === null || typeof f !== "object" || typeof f.static !== "boolean") {
        throw new StructDefinitionError(
          `${className(this)}.define: field "${name}" must be declared with field<T>(), like { ${name}: field<number>() }.`,
        );
      }
      fields.push(
        Object.freeze({
          name,
          isStatic: f.static,
          hasDefault: f.hasDefault,
          defaultValue: f.defaultValue,
        }),
      );
    }
    // No new fields (`Base.define({}, { name })`): instances keep the base class's node type.
    const meta =
      fields.length === base.fields.length ? base : new StructMeta(Object.freeze(fields));
    const Base = this as unknown as new (props?: {}) => Struct;
    const Defined = class extends Base {};
    Object.defineProperty(Defined, "name", { value: `${className(this) || "Struct"}Fields` });
    if (recorded !== undefined) Object.defineProperty(Defined, RECORDED_NAME, { value: recorded });
    Object.defineProperty(Defined.prototype, NODE_TYPE, { value: meta });
    return Defined as unknown as DefinedStruct<C, S>;
  }

  /**
   * Builds an instance from all its field values without calling the constructor (penzai's
   * `from_attributes`).
   *
   * @throws StructConstructionError when a field is missing or an unknown name is given.
   * @example
   * Point.fromAttributes({ x: 1, y: 2 });
   */
  static fromAttributes<T extends Struct>(
    this: abstract new (
      ...args: any[]
    ) => T,
    attributes: AttributesOf<T>,
  ): T {
    const meta = metaOfClass(this);
    if (attributes === null || typeof attributes !== "object") {
      throw new StructConstructionError(
        `${className(this)}.fromAttributes expects an object with every field, like ` +
          `${className(this)}.fromAttributes({ ${meta.names.join(", ")} }), but got ${reprValue(attributes)}.`,
      );
    }
    const given = attributes as Record<string, unknown>;
    const keys = Object.keys(given);
    const missing = meta.names.filter((n) => !Object.hasOwn(given, n));
    const extra = keys.filter((k) => !meta.names.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      const problems: string[] = [];
      if (missing.length > 0) problems.push(`missing ${missing.join(", ")}`);
      if (extra.length > 0) problems.push(`unexpected ${extra.join(", ")}`);
      throw new StructConstructionError(
        `Incorrect fields provided to ${className(this)}.fromAttributes: expected {${meta.names.join(", ")}}, ` +
          `got {${keys.join(", ")}} (${problems.join("; ")}). Pass every field, static ones included, ` +
          "exactly once; attributesDict() of an instance gives a complete set.",
      );
    }
    return build(
      this.prototype,
      meta,
      meta.childNames.map((n) => given[n]),
      meta.staticNames.map((n) => given[n]),
    );
  }

  /**
   * The children and static data of this struct (penzai's `tree_flatten`).
   *
   * @example
   * new Point({ x: 1, y: 2 }).treeFlatten(); // [[1, 2], { childFieldNames: ["x", "y"], staticFields: {} }]
   */
  treeFlatten(): [unknown[], StructStaticMetadata] {
    const meta = metaOfInstance(this);
    const staticFields: Record<string, unknown> = {};
    for (const n of meta.staticNames) staticFields[n] = (this as any)[n];
    return [
      meta.childNames.map((n) => (this as any)[n]),
      { childFieldNames: meta.childNames, staticFields },
    ];
  }

  /** Like {@link treeFlatten}, with each child's key (from {@link keyForField}). */
  treeFlattenWithKeys(): [[PathKey, unknown][], StructStaticMetadata] {
    const [children, aux] = this.treeFlatten();
    return [children.map((c, i) => [this.keyForField(aux.childFieldNames[i]!), c]), aux];
  }

  /**
   * Rebuilds an instance of this class from {@link treeFlatten}'s output, without the constructor.
   */
  static treeUnflatten<T extends Struct>(
    this: abstract new (
      ...args: any[]
    ) => T,
    aux: StructStaticMetadata,
    children: readonly unknown[],
  ): T {
    const meta = metaOfClass(this);
    return build(
      this.prototype,
      meta,
      children,
      meta.staticNames.map((n) => aux.staticFields[n]),
    );
  }

  /** All field values, static ones included, in declaration order (penzai's `attributes_dict`). */
  attributesDict(): AttributesOf<this> {
    const out: Record<string, unknown> = {};
    for (const n of metaOfInstance(this).names) out[n] = (this as any)[n];
    return out as AttributesOf<this>;
  }

  /**
   * The key path entry for a child field. Defaults to `new GetAttrKey(name)`; override to change how
   * paths through this struct are written.
   */
  keyForField(name: string): PathKey {
    return new GetAttrKey(name);
  }

  /**
   * A copy with some fields replaced (Python's `dataclasses.replace`), built without the
   * constructor.
   *
   * @example
   * new Point({ x: 1, y: 2 }).replace({ y: 5 }); // Point(x=1, y=5)
   */
  replace(patch: Partial<AttributesOf<this>>): this {
    const meta = metaOfInstance(this);
    if (patch === null || typeof patch !== "object") {
      throw new StructConstructionError(
        `${className(this.constructor)}.replace expects an object of fields to change, like ` +
          `.replace({ ${meta.names[0] ?? "field"}: … }), but got ${reprValue(patch)}.`,
      );
    }
    const unknown = Object.keys(patch).filter((k) => !meta.names.includes(k));
    if (unknown.length > 0) {
      throw new StructConstructionError(
        `${className(this.constructor)}.replace: unknown field(s) ${unknown.join(", ")}. Its fields are: ${meta.names.join(", ")}.`,
      );
    }
    const merged = { ...this.attributesDict(), ...patch } as Record<string, unknown>;
    return build(
      Object.getPrototypeOf(this),
      meta,
      meta.childNames.map((n) => merged[n]),
      meta.staticNames.map((n) => merged[n]),
    );
  }

  /**
   * Structural equality: same class, equal static fields, equal children (leaves by `Object.is`,
   * typed arrays element-wise).
   */
  equals(other: unknown): boolean {
    return treeEquals(this, other);
  }

  /** One-line rendering, like `Point(x=3, y=4, label='p')`. */
  toString(): string {
    return reprHook !== undefined ? reprHook(this) : reprValue(this);
  }
}

const DEFAULT_KEY_FOR_FIELD = Struct.prototype.keyForField;
// The base class's own name, for messages such as "Struct.define: ..." in minified builds.
Object.defineProperty(Struct, "name", { value: "Struct" });
Object.defineProperty(Struct.prototype, NODE_TYPE, { value: EMPTY_META });
// immer drafts instances of classes that carry this marker, so `produce(struct, ...)` works and
// returns a new frozen instance of the same class.
Object.defineProperty(Struct.prototype, Symbol.for("immer-draftable"), { value: true });

/**
 * Whether `value` is a struct instance.
 *
 * @example
 * isStruct(new Point({ x: 1, y: 2 })); // true
 */
export function isStruct(value: unknown): value is Struct {
  return value instanceof Struct;
}

/**
 * The declared fields of a struct class, in order, with their kinds.
 *
 * @example
 * structFields(Point).map((f) => f.name); // ["x", "y"]
 */
export function structFields(
  cls: AnyStructClass,
): readonly { name: string; isStatic: boolean; hasDefault: boolean }[] {
  return metaOfClass(cls).fields;
}

/**
 * Whether `cls` is a struct class: `Struct` itself or a class extending it (penzai's
 * `is_pytree_dataclass_type`, which in saikei every subclass satisfies because `define` and
 * inheritance carry the field table).
 *
 * @example
 * isStructClass(Point); // true
 * isStructClass(Map); // false
 */
export function isStructClass(cls: unknown): cls is AnyStructClass {
  return typeof cls === "function" && (cls === Struct || cls.prototype instanceof Struct);
}
