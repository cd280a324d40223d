/**
 * Parameters: learnable `Parameter`s, `FrozenParameter`s, `UninitializedParameter`s that build their
 * value from a random key, shared parameters, and the tree-wide helpers that name, share, freeze and
 * initialize them (penzai v1 `nn/parameters.py`).
 *
 * @module
 */

import { sha1 } from "@noble/hashes/sha1";
import {
  InitialLocalStateRequest,
  inferOrCheckHandlerId,
  SideInputRequest,
  WithConstantSideInputs,
} from "@saikei/effects";
import type { LayerLike } from "@saikei/layer";
import { isNamedArray, type RandomKey, random } from "@saikei/named";
import { ArraySpec, asArrayStructure, checkStructure, dtypes } from "@saikei/shapecheck";
import {
  type AttributesOf,
  checkOptions,
  field,
  findOutermost,
  leaves,
  rewriteOutermost,
  Struct,
  treeEquals,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  DuplicateParameterError,
  ParameterInferenceError,
  SharedParameterConflictError,
  UninitializedParameterError,
} from "./errors.js";
import { memo } from "./internal/memo.js";
import { optionKeys } from "./internal/options.js";

/** Treescope colours penzai gives parameters. */
export const PARAMETER_COLORS = Object.freeze({
  Parameter: "#93cce1",
  FrozenParameter: "#a0b0c9",
  UninitializedParameter: "#cea03c",
});

/**
 * Anything a layer can read a parameter value from (penzai's `ParameterLike`): a `Parameter`, a
 * `FrozenParameter`, an `UninitializedParameter` (whose `value` throws) or a `SharedParameterLookup`.
 */
export interface ParameterLike<T = any> {
  /** The current value; placeholders throw. */
  readonly value: T;
  /** The structure of the value (`ArraySpec`s); never throws. */
  readonly valueStructure: unknown;
}

/** A node whose parameter name can be rewritten (penzai's `SupportsParameterRenaming`). */
export interface SupportsParameterRenaming {
  /** Returns a copy whose name is `renameFn(name)`. */
  withRenamedParameters(renameFn: (name: string) => string): this;
}

/** An initializer of an {@link UninitializedParameter}: a pure function of a random key. */
export type ParameterInitializer<T = any> = (key: RandomKey) => T;

/**
 * What `Parameter` and `FrozenParameter` share: a value (a child, usually a `NamedArray`), a static
 * name, the value's structure and renaming. The two are distinct classes (a frozen parameter is not
 * a `Parameter`, so training skips it); {@link isAnyParameter} recognises both.
 */
export abstract class ParameterBase<T = any> extends Struct.define(
  {
    value: field<any>(),
    name: field<string>({ static: true }),
  },
  { name: "ParameterBase" },
) {
  declare readonly value: T;

  /** The structure of the value (see `asArrayStructure` in `@saikei/shapecheck`). */
  get valueStructure(): unknown {
    return memo(this, "valueStructure", () => asArrayStructure(this.value));
  }

  /** Returns a copy named `renameFn(name)`. */
  withRenamedParameters(renameFn: (name: string) => string): this {
    // `this` is open here, so TypeScript cannot see that every parameter class has `name`.
    return this.replace({ name: renameFn(this.name) } as Partial<AttributesOf<this>>);
  }
}

/**
 * A learnable parameter (penzai's `Parameter`): the value is a child (usually a `NamedArray`), the
 * name is static. Only `Parameter` instances are trained.
 *
 * @example
 * const p = new Parameter({ value: nx.ones({ features: 3 }), name: "scale" });
 * p.valueStructure; // ArraySpec with namedShape { features: 3 }, dtype float32
 */
export class Parameter<T = any> extends ParameterBase.define({}, { name: "Parameter" }) {
  declare readonly value: T;

  /** Treescope colour `#93cce1`. */
  treescopeColor(): string {
    return PARAMETER_COLORS.Parameter;
  }
}

/**
 * A parameter that is not trained (penzai's `FrozenParameter`); same API as `Parameter` but not an
 * instance of it.
 *
 * @example
 * const frozen = new FrozenParameter({ value: nx.ones({ features: 3 }), name: "scale" });
 */
export class FrozenParameter<T = any> extends ParameterBase.define(
  {},
  { name: "FrozenParameter" },
) {
  declare readonly value: T;

  /** Treescope colour `#a0b0c9`. */
  treescopeColor(): string {
    return PARAMETER_COLORS.FrozenParameter;
  }
}

/** Options of {@link UninitializedParameter.initializeWithValue}. */
export interface InitializeWithValueOptions {
  /** Check the value against `valueStructure` (default true). */
  checkStructure?: boolean;
  /** Require the declared dtype (default true); false accepts any dtype. */
  strictDtype?: boolean;
}

const INITIALIZE_WITH_VALUE_KEYS = optionKeys<InitializeWithValueOptions>({
  checkStructure: true,
  strictDtype: true,
});

/** Options of {@link attachSharedParameters}. */
export interface AttachSharedParametersOptions {
  /** Also require identical initializer functions for one name (default true). */
  strict?: boolean;
}

const ATTACH_SHARED_KEYS = optionKeys<AttachSharedParametersOptions>({ strict: true });

/** Props of {@link UninitializedParameter}; `valueStructure` is inferred when omitted. */
export interface UninitializedParameterProps<T> {
  initializer: ParameterInitializer<T>;
  name: string;
  valueStructure?: unknown;
}

/**
 * A placeholder for a parameter (penzai's `UninitializedParameter`): a static initializer, a static
 * name and the structure the value will have. `initializeParameters` replaces it by a `Parameter`.
 * When `valueStructure` is omitted it is inferred by running the initializer once on `random.key(0)`
 * and releasing the result.
 *
 * @example
 * const p = new UninitializedParameter({ initializer: (key) => nx.wrap(random.normal(key, [3]), "features"), name: "w" });
 * p.initialize(random.key(1)); // Parameter named "w"
 */
export class UninitializedParameter<T = any> extends Struct.define(
  {
    initializer: field<ParameterInitializer<any>>({ static: true }),
    name: field<string>({ static: true }),
    valueStructure: field<unknown>(),
  },
  { name: "UninitializedParameter" },
) {
  constructor(props: UninitializedParameterProps<T>) {
    const valueStructure =
      props?.valueStructure !== undefined
        ? props.valueStructure
        : inferValueStructure(props?.initializer, props?.name);
    super({ initializer: props.initializer, name: props.name, valueStructure });
  }

  /** Always throws: an uninitialized parameter has no value yet. */
  get value(): T {
    throw new UninitializedParameterError(
      `Cannot use the value of the uninitialized parameter "${this.name}"! Initialize your model's parameters ` +
        "first: model = initializeParameters(model, random.key(0)).",
    );
  }

  /**
   * Builds the parameter from `key`, checking the value against `valueStructure`.
   *
   * @throws StructureMismatchError when the initializer's value does not match the declared structure.
   */
  initialize(key: RandomKey): Parameter<T> {
    const value = this.initializer(key);
    try {
      checkStructure(value, this.valueStructure, {
        errorPrefix: `Error while initializing parameter "${this.name}":\n`,
      });
    } catch (error) {
      disposeTensors(value);
      throw error;
    }
    return new Parameter<T>({ value, name: this.name });
  }

  /**
   * Builds the parameter from a given value (penzai's `initialize_with_value`), e.g. a checkpoint
   * tensor. The value is checked against `valueStructure` unless `checkStructure: false`; with
   * `strictDtype: false` any dtype is accepted (checkpoints in another precision).
   *
   * @throws StructureMismatchError when the value does not match.
   * @throws UnknownOptionError for a key of `opts` that is not an option.
   * @example
   * param.initializeWithValue(nx.wrap(loaded, "vocabulary", "embedding"), { strictDtype: false });
   */
  initializeWithValue(value: T, opts: InitializeWithValueOptions = {}): Parameter<T> {
    checkOptions("UninitializedParameter.initializeWithValue", opts, INITIALIZE_WITH_VALUE_KEYS);
    if (opts.checkStructure !== false) {
      const pattern =
        opts.strictDtype === false
          ? rewriteOutermost(this.valueStructure, { instanceOf: ArraySpec }, (spec: ArraySpec) =>
              spec.replace({ dtype: dtypes.generic }),
            )
          : this.valueStructure;
      checkStructure(value, pattern, {
        errorPrefix: `Error while initializing parameter "${this.name}" with a value:\n`,
      });
    }
    return new Parameter<T>({ value, name: this.name });
  }

  /**
   * A `Parameter` with this name whose value has the shape of the future value but no data
   * (penzai's `as_empty_parameter`): every `ArraySpec` of `valueStructure` becomes its
   * `intoShapeDtypeStruct()` (named axes kept in its `namedShape`), other leaves stay as they are.
   * Useful to build a model's structure, count its parameters or check it against a checkpoint
   * without allocating tensors.
   *
   * @throws ArraySpecError when a spec has variable dimensions or an abstract dtype.
   * @example
   * const p = new UninitializedParameter({ initializer, name: "w", valueStructure: new ArraySpec({ shape: [3, 4], dtype: "float32" }) });
   * p.asEmptyParameter().value; // ShapeDtypeStruct(shape=(3, 4), dtype=float32)
   */
  asEmptyParameter(): Parameter {
    const value = rewriteOutermost(
      this.valueStructure,
      { instanceOf: ArraySpec },
      (spec: ArraySpec) => spec.intoShapeDtypeStruct(),
    );
    return new Parameter({ value, name: this.name });
  }

  /** Returns a copy named `renameFn(name)`. */
  withRenamedParameters(renameFn: (name: string) => string): this {
    // `this` is open here, so TypeScript cannot see that every parameter class has `name`.
    return this.replace({ name: renameFn(this.name) } as Partial<AttributesOf<this>>);
  }

  /** Treescope colour `#cea03c`. */
  treescopeColor(): string {
    return PARAMETER_COLORS.UninitializedParameter;
  }
}

// define({}) adds no fields, so the class it returns is UninitializedParameter's constructor;
// the cast keeps its type parameter `<T>`, which define's return type does not carry.
const ShareableBase = UninitializedParameter.define(
  {},
  { name: "ShareableUninitializedParameter" },
) as typeof UninitializedParameter;

/**
 * An uninitialized parameter that may be shared by name (penzai's `ShareableUninitializedParameter`);
 * `attachSharedParameters` turns every one of them into a lookup of one shared value.
 *
 * @example
 * const shareable = ShareableUninitializedParameter.fromUninitialized(param);
 */
export class ShareableUninitializedParameter<T = any> extends ShareableBase<T> {
  /** Converts an `UninitializedParameter` (same initializer, name and structure). */
  static fromUninitialized<T>(
    uninit: UninitializedParameter<T>,
  ): ShareableUninitializedParameter<T> {
    return new ShareableUninitializedParameter<T>({
      initializer: uninit.initializer,
      name: uninit.name,
      valueStructure: uninit.valueStructure,
    });
  }
}

/**
 * The side-input tag under which a shared parameter is provided (penzai's `SharedParamTag`).
 * Tags are compared by value (`equals`), so handlers keyed by a `Map` find them.
 *
 * @example
 * new SharedParamTag("embeddings").equals(new SharedParamTag("embeddings")); // true
 */
export class SharedParamTag {
  constructor(readonly name: string) {
    Object.freeze(this);
  }

  /** Value equality: same class, same name. */
  equals(other: unknown): boolean {
    return other instanceof SharedParamTag && other.name === this.name;
  }

  /** `SharedParamTag(<name>)`. */
  toString(): string {
    return `SharedParamTag(${JSON.stringify(this.name)})`;
  }
}

/**
 * A parameter read from a side input (penzai's `SharedParameterLookup`): `value` asks `ref` for the
 * shared `Parameter` and returns its value.
 *
 * @example
 * // built by attachSharedParameters; value works once the handler runs the body.
 */
export class SharedParameterLookup<T = any> extends Struct.define(
  {
    ref: field<any>(),
    valueStructure: field<unknown>({ static: true }),
  },
  { name: "SharedParameterLookup" },
) {
  /** The shared parameter's value, read through the side input. */
  get value(): T {
    return (this.ref.ask() as ParameterLike<T>).value;
  }
}

function inferValueStructure(
  initializer: ParameterInitializer | undefined,
  name: string | undefined,
): unknown {
  if (typeof initializer !== "function") return undefined; // the constructor reports the missing field
  let structure: unknown;
  tf.tidy(() => {
    const value = initializer(random.key(0));
    structure = asArrayStructure(value);
  });
  if (structure === undefined) {
    throw new ParameterInferenceError(
      `Could not infer the shape of parameter "${name}" from its initializer. Pass valueStructure explicitly.`,
    );
  }
  return structure;
}

function disposeTensors(value: unknown): void {
  for (const leaf of leaves(value)) {
    if (leaf instanceof tf.Tensor) leaf.dispose();
    else if (isNamedArray(leaf)) leaf.dataArray.dispose();
  }
}

/** Any parameter node of a model: trainable, frozen or not yet initialized. */
export type AnyParameter = Parameter | FrozenParameter | UninitializedParameter;

/**
 * Whether a node is a `Parameter`, `FrozenParameter` or `UninitializedParameter`: the one
 * predicate for "a parameter of the model", used by the parameter helpers here and by
 * checkpoints by name in `@saikei/toolshed`.
 *
 * @example
 * isAnyParameter(new FrozenParameter({ value: x, name: "w" })); // true
 * isAnyParameter(x); // false
 */
export function isAnyParameter(node: unknown): node is AnyParameter {
  return (
    node instanceof Parameter ||
    node instanceof FrozenParameter ||
    node instanceof UninitializedParameter
  );
}

function isRenamable(node: unknown): node is AnyParameter | InitialLocalStateRequest {
  return isAnyParameter(node) || node instanceof InitialLocalStateRequest;
}

/**
 * Prefixes the name of every parameter (and every explicitly named `InitialLocalStateRequest`) in
 * `tree` with `prefix + delimiter` (penzai's `add_parameter_prefix`). Shared-parameter tags in handler
 * records are left alone.
 *
 * @example
 * addParameterPrefix("Linear", linear); // "weights" becomes "Linear.weights"
 */
export function addParameterPrefix<T>(prefix: string, tree: T, delimiter = "."): T {
  const rename = (name: string) => `${prefix}${delimiter}${name}`;
  return rewriteOutermost(tree, isRenamable, (node: AnyParameter | InitialLocalStateRequest) =>
    node.withRenamedParameters(rename),
  );
}

/** The names of all parameters in `tree`, outermost first, in tree order. */
export function parameterNames(tree: unknown): string[] {
  return findOutermost<Parameter | FrozenParameter | UninitializedParameter>(
    tree,
    isAnyParameter,
  ).map((p) => p.value.name);
}

/**
 * Throws when two parameters of `model` share a name (penzai's `check_no_duplicated_parameters`).
 *
 * @throws DuplicateParameterError listing the repeated names.
 * @example
 * checkNoDuplicateParameters(model);
 */
export function checkNoDuplicateParameters(model: unknown): void {
  const counts = new Map<string, number>();
  for (const name of parameterNames(model)) counts.set(name, (counts.get(name) ?? 0) + 1);
  const repeated = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  if (repeated.length > 0) {
    throw new DuplicateParameterError(
      `Found multiple parameters with the same name! Repeated names: ${JSON.stringify(repeated)}. ` +
        "Give each parameter a unique name with addParameterPrefix, or share it with markShareable + attachSharedParameters.",
    );
  }
}

/**
 * The uint32 penzai folds into the root key for a parameter: the first four bytes (big-endian) of
 * SHA-1 of the UTF-8 name.
 *
 * @example
 * parameterNameHash("Affine_0.Linear.weights"); // 3806767005
 */
export function parameterNameHash(name: string): number {
  const digest = sha1(new TextEncoder().encode(name));
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

/**
 * Replaces every `UninitializedParameter` in `model` by a `Parameter` built from
 * `random.foldIn(key, parameterNameHash(name))` (penzai's `initialize_parameters`): each parameter's
 * value depends only on the root key and its name, never on tree order.
 *
 * @throws DuplicateParameterError when two parameters share a name.
 * @example
 * const model = initializeParameters(Linear.fromConfig({ features: 3 }, { out: 4 }), random.key(0));
 */
export function initializeParameters<T>(model: T, key: RandomKey): T {
  checkNoDuplicateParameters(model);
  const created: Parameter[] = [];
  try {
    return rewriteOutermost(
      model,
      { instanceOf: UninitializedParameter },
      (node: UninitializedParameter) => {
        const param = node.initialize(random.foldIn(key, parameterNameHash(node.name)));
        created.push(param);
        return param;
      },
    );
  } catch (error) {
    for (const p of created) disposeTensors(p.value);
    throw error;
  }
}

/**
 * Turns every `UninitializedParameter` in `submodel` into a `ShareableUninitializedParameter`
 * (penzai's `mark_shareable`).
 *
 * @example
 * const shareable = markShareable(EmbeddingTable.fromConfig(11, { embedding: 16 }));
 */
export function markShareable<T>(submodel: T): T {
  return rewriteOutermost(
    submodel,
    { instanceOf: UninitializedParameter },
    (node: UninitializedParameter) =>
      node instanceof ShareableUninitializedParameter
        ? node
        : ShareableUninitializedParameter.fromUninitialized(node),
  );
}

/**
 * Replaces every `ShareableUninitializedParameter` by a `SharedParameterLookup` reading the side
 * input `SharedParamTag(name)`, and wraps `submodel` in a `WithConstantSideInputs` handler holding
 * one `UninitializedParameter` per name (penzai's `attach_shared_parameters`). Initializing the
 * result initializes each shared parameter once.
 *
 * @param options.strict also require identical initializer functions for one name (default true).
 * @throws SharedParameterConflictError when two shareable parameters with one name differ.
 * @throws UnknownOptionError for a key of `opts` that is not an option.
 * @example
 * const tied = attachSharedParameters(new Sequential({ sublayers: [lookup, decode] }));
 */
export function attachSharedParameters<T>(
  submodel: T,
  opts: AttachSharedParametersOptions = {},
): WithConstantSideInputs {
  checkOptions("attachSharedParameters", opts, ATTACH_SHARED_KEYS);
  const strict = opts.strict ?? true;
  const shared = new Map<string, ShareableUninitializedParameter>();
  const rewritten = rewriteOutermost(
    submodel,
    { instanceOf: ShareableUninitializedParameter },
    (node: ShareableUninitializedParameter) => {
      const previous = shared.get(node.name);
      if (previous === undefined) {
        shared.set(node.name, node);
      } else {
        if (!treeEquals(previous.valueStructure, node.valueStructure)) {
          throw new SharedParameterConflictError(
            `Detected incompatible value structures for two shared parameters with name "${node.name}": ` +
              `${String(previous.valueStructure)} vs ${String(node.valueStructure)}. Rename one of them.`,
          );
        }
        if (strict && previous.initializer !== node.initializer) {
          throw new SharedParameterConflictError(
            `Detected non-identical initializers for two shareable parameters with name "${node.name}"! ` +
              "This may indicate a name conflict. Rename one of them, or pass { strict: false } to keep the first initializer.",
          );
        }
      }
      return new SharedParameterLookup({
        ref: new SideInputRequest({ tag: new SharedParamTag(node.name) }),
        valueStructure: node.valueStructure,
      });
    },
  );
  const sideInputs = new Map<SharedParamTag, unknown>();
  for (const [name, param] of shared) {
    sideInputs.set(
      new SharedParamTag(name),
      new UninitializedParameter({
        initializer: param.initializer,
        name,
        valueStructure: param.valueStructure,
      }),
    );
  }
  const handlerId = inferOrCheckHandlerId("shared_params", rewritten);
  // penzai takes any tree here (a list of layers too); the handler only calls `body` when it is
  // called itself, so a tree that is not a layer fails there, not here.
  return WithConstantSideInputs.handling(rewritten as LayerLike, sideInputs, { handlerId });
}

/**
 * Turns every `Parameter` in `tree` (optionally only those whose name passes `predicate`) into a
 * `FrozenParameter`, so training leaves it alone.
 *
 * @example
 * const frozen = freezeParameters(model, (name) => name.startsWith("embedder"));
 */
export function freezeParameters<T>(tree: T, predicate: (name: string) => boolean = () => true): T {
  return rewriteOutermost(
    tree,
    (node) => node instanceof Parameter && predicate(node.name),
    (node: Parameter) => new FrozenParameter({ value: node.value, name: node.name }),
  );
}

/**
 * Turns every `FrozenParameter` in `tree` (optionally only those whose name passes `predicate`)
 * back into a learnable `Parameter`.
 *
 * @example
 * const trainable = unfreezeParameters(frozen);
 */
export function unfreezeParameters<T>(
  tree: T,
  predicate: (name: string) => boolean = () => true,
): T {
  return rewriteOutermost(
    tree,
    (node) => node instanceof FrozenParameter && predicate(node.name),
    (node: FrozenParameter) => new Parameter({ value: node.value, name: node.name }),
  );
}
