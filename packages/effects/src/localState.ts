/**
 * The local-state effect (State): layers `get()` and `set()` a value that the handler threads
 * through calls functionally, such as a key-value cache or a random key.
 *
 * @module
 */

import { checkedLayerCall, type LayerLike } from "@saikei/layer";
import { select } from "@saikei/select";
import { Wildcard } from "@saikei/shapecheck";
import { checkOptions, field, prettyKeystr, reprValue } from "@saikei/struct";
import {
  defineEffectProtocol,
  EffectHandler,
  EffectRequest,
  EffectRuntimeImpl,
  HandledEffectRef,
  type HandlerId,
  handlerMemo,
  inferOrCheckHandlerId,
  LOCAL_STATE_EFFECT_COLOR,
  registerEffectColor,
} from "./effectBase.js";
import { LocalStateHandlingError } from "./errors.js";
import { HandedTensors } from "./ownership.js";

/** A state category, such as `"kv_cache"` or `"random"`: handlers pick the states they handle by category. */
export type Category = string | number;

/**
 * The local-state effect protocol (penzai's `LocalStateEffect`): `get()` reads the state,
 * `set(value)` replaces it. A layer declares `cache: field<LocalStateEffect<tf.Tensor>>()`.
 */
export const LocalStateEffect = defineEffectProtocol("LocalStateEffect", ["get", "set"]);
/** The interface layers use for a local state. */
export interface LocalStateEffect<T = unknown> {
  /** Returns the current state. */
  get(): T;
  /** Replaces the state. */
  set(value: T): void;
}
registerEffectColor(LocalStateEffect, LOCAL_STATE_EFFECT_COLOR);

function stateHint(category: Category): string {
  return (
    `Handle it with const [handled, states] = handleLocalStates(model, { category: ${reprValue(category)} }) ` +
    "and call handled.call([input, states]), which returns [output, newStates]."
  );
}

/**
 * A request for a new local state whose initial value comes from `stateInitializer()` (penzai's
 * `InitialLocalStateRequest`). Childless: the initializer, category and optional explicit name
 * are static. Unnamed states are named after their key path when handled.
 *
 * @example
 * new InitialLocalStateRequest({ stateInitializer: () => 0, category: "counter" });
 */
export class InitialLocalStateRequest<T = unknown>
  extends EffectRequest.define(
    {
      stateInitializer: field<() => unknown>({ static: true }),
      category: field<Category>({ static: true }),
      name: field<string | undefined>({ static: true, default: undefined }),
    },
    { name: "InitialLocalStateRequest" },
  )
  implements LocalStateEffect<T>
{
  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }

  /** Throws {@link UnhandledEffectError}: the state does not exist until it is handled. */
  get(): T {
    return this.unhandled("get");
  }

  /** Throws {@link UnhandledEffectError}. */
  set(_value: T): void {
    this.unhandled("set");
  }

  /** Explains how to handle this category. */
  override handlingHint(): string {
    return stateHint(this.category);
  }

  /**
   * The frozen form of this request: a {@link FrozenLocalStateRequest} holding `stateInitializer()`.
   *
   * @example
   * new InitialLocalStateRequest({ stateInitializer: () => 3, category: "c" }).asFrozen().state; // 3
   */
  asFrozen(): FrozenLocalStateRequest<T> {
    return new FrozenLocalStateRequest<T>({
      state: this.stateInitializer() as T,
      category: this.category,
      name: this.name,
    });
  }

  /** A copy with its explicit name renamed by `rename` (unnamed requests are returned as they are). */
  withRenamedParameters(rename: (name: string) => string): this {
    return this.name === undefined ? this : this.replace({ name: rename(this.name) } as never);
  }
}

/**
 * A local state with a known value (penzai's `FrozenLocalStateRequest`): `get()` works without a
 * handler (a frozen model runs with fixed states); `set` needs a handler. The state is a child.
 *
 * @example
 * new FrozenLocalStateRequest({ state: 5, category: "counter" }).get(); // 5
 */
export class FrozenLocalStateRequest<T = unknown>
  extends EffectRequest.define(
    {
      state: field<unknown>(),
      category: field<Category>({ static: true }),
      name: field<string | undefined>({ static: true, default: undefined }),
    },
    { name: "FrozenLocalStateRequest" },
  )
  implements LocalStateEffect<T>
{
  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }

  /** Returns the frozen state. */
  get(): T {
    return this.state as T;
  }

  /** Throws {@link UnhandledEffectError}: a frozen state cannot change without a handler. */
  set(_value: T): void {
    this.unhandled("set");
  }

  /** Explains how to handle this category. */
  override handlingHint(): string {
    return stateHint(this.category);
  }

  /** A copy with its explicit name renamed by `rename` (unnamed requests are returned as they are). */
  withRenamedParameters(rename: (name: string) => string): this {
    return this.name === undefined ? this : this.replace({ name: rename(this.name) } as never);
  }
}

/**
 * Another use of an explicitly named state defined elsewhere in the model (penzai's
 * `SharedLocalStateRequest`); handled with `stateSharing: "allowed"` or `"unsafe"`.
 *
 * @example
 * new SharedLocalStateRequest({ name: "shared_counter", category: "counter" });
 */
export class SharedLocalStateRequest<T = unknown>
  extends EffectRequest.define(
    {
      name: field<string>({ static: true }),
      category: field<Category>({ static: true }),
    },
    { name: "SharedLocalStateRequest" },
  )
  implements LocalStateEffect<T>
{
  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }

  /** Throws {@link UnhandledEffectError}. */
  get(): T {
    return this.unhandled("get");
  }

  /** Throws {@link UnhandledEffectError}. */
  set(_value: T): void {
    this.unhandled("set");
  }

  /** Explains how to handle this category. */
  override handlingHint(): string {
    return `${stateHint(this.category).replace("}", ', stateSharing: "allowed" }')}`;
  }

  /** A copy with its name renamed by `rename`. */
  withRenamedParameters(rename: (name: string) => string): this {
    return this.replace({ name: rename(this.name) } as never);
  }
}

/** A local state handled by a {@link WithFunctionalLocalState} (penzai's `HandledLocalStateRef`). */
export class HandledLocalStateRef<T = unknown>
  extends HandledEffectRef.define(
    {
      category: field<Category>({ static: true }),
      name: field<string>({ static: true }),
      wasExplicitlyNamed: field<boolean>({ static: true }),
    },
    { name: "HandledLocalStateRef" },
  )
  implements LocalStateEffect<T>
{
  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }

  /** Throws {@link UnhandledEffectError}: only the running handler holds the state. */
  get(): T {
    return this.unbound("get");
  }

  /** Throws {@link UnhandledEffectError}. */
  set(_value: T): void {
    this.unbound("set");
  }
}

/** The mutable cell a running {@link WithFunctionalLocalState} gives its body for one state. */
export class LocalStateEffectImpl<T = unknown>
  extends EffectRuntimeImpl
  implements LocalStateEffect<T>
{
  #state: T;
  readonly #handed: HandedTensors | undefined;

  /**
   * @param state the state at the start of the call.
   * @param handlerId the id of the handler.
   * @param handed the running call's kept tensors: tensors given to `set` are kept alive in it
   *   until the handler returns (omitted: the cell keeps nothing).
   */
  constructor(state: T, handlerId: HandlerId, handed?: HandedTensors) {
    super(handlerId);
    this.#state = state;
    this.#handed = handed;
  }

  /** Returns the current state. */
  get(): T {
    return this.#state;
  }

  /**
   * Replaces the state. Tensors in `value` stay alive past the tidy scopes of the composite
   * layers between this call and the handler, which hands them to its caller.
   */
  set(value: T): void {
    this.#state = this.#handed === undefined ? value : this.#handed.hold(value);
  }

  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }
}

interface StateLayout {
  /** Distinct state names in first-use order. */
  readonly names: readonly string[];
  /** For each reference (by ordinal), the index of its name in `names`. */
  readonly nameIndexOf: Int32Array;
}

function layoutOf(handler: WithFunctionalLocalState): StateLayout {
  return handlerMemo(handler, "stateLayout", () => {
    const names: string[] = [];
    const refs = handler.handledRefs();
    const nameIndexOf = new Int32Array(refs.length);
    refs.forEach(({ ref }, i) => {
      const name = (ref as HandledLocalStateRef).name;
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      nameIndexOf[i] = index;
    });
    return { names: Object.freeze(names), nameIndexOf };
  });
}

/** States by name, as passed to and returned from a {@link WithFunctionalLocalState}. */
export type LocalStates = Readonly<Record<string, unknown>>;

/**
 * A handler that threads local states through its body functionally (penzai's
 * `WithFunctionalLocalState`): called with `[input, states]`, it gives the body one cell per state
 * name (references with the same name share it) and returns `[output, newStates]`. The states
 * object must have exactly the handler's state names as keys.
 *
 * @example
 * const [handled, states] = handleLocalStates(counter, { category: "count" });
 * const [out, next] = handled.call([x, states]);
 */
export class WithFunctionalLocalState extends EffectHandler.define(
  {},
  { name: "WithFunctionalLocalState" },
) {
  /** The local-state protocol. */
  effectProtocol() {
    return LocalStateEffect;
  }

  /** The names of the states this handler threads, in first-use order. */
  stateNames(): readonly string[] {
    return layoutOf(this).names;
  }

  /** `[input to body, { name: old state i, ... }]`. */
  override inputStructure(): unknown {
    return handlerMemo(this, "inputStructure", () => {
      const states = recordOf(
        this.stateNames().map((name, i) => [
          name,
          new Wildcard({ description: `old state ${i}: ${name}` }),
        ]),
      );
      return [new Wildcard({ description: "input to body" }), states];
    });
  }

  /** `[output from body, { name: new state i, ... }]`. */
  override outputStructure(): unknown {
    return handlerMemo(this, "outputStructure", () => {
      const states = recordOf(
        this.stateNames().map((name, i) => [
          name,
          new Wildcard({ description: `new state ${i}: ${name}` }),
        ]),
      );
      return [new Wildcard({ description: "output from body" }), states];
    });
  }

  /** Runs the body with the given states and returns its output with the final states. */
  @checkedLayerCall
  call(argument: readonly [unknown, LocalStates]): [any, Record<string, unknown>] {
    const [input, states] = argument;
    const { names, nameIndexOf } = layoutOf(this);
    const handed = new HandedTensors();
    const cells = new Array<LocalStateEffectImpl>(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = Object.hasOwn(states, name) ? states[name] : undefined;
      cells[i] = new LocalStateEffectImpl(value, this.handlerId, handed);
    }
    const body = this.substituteRefs((_ref, _path, ordinal) => cells[nameIndexOf[ordinal]!]);
    const [finalOutput, finalStates] = handed.runAndHandOver(
      () => this.runBody(body, input),
      () => cells.map((cell) => cell.get()),
      `${this.handlerId}'s new states`,
    );
    return [finalOutput, recordOf(names.map((name, i) => [name, finalStates[i]]))];
  }
}

/**
 * A plain object of states by name. Entries are defined, not assigned, so that a state named
 * `__proto__` is an ordinary key rather than a prototype change.
 */
function recordOf<V>(entries: readonly (readonly [string, V])[]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [name, value] of entries) {
    Object.defineProperty(out, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** How repeated explicit state names are treated by {@link handleLocalStates}. */
export type StateSharing = "forbidden" | "allowed" | "unsafe";

/** Options of {@link handleLocalStates}. */
export interface HandleLocalStatesOptions {
  /** Handle the states of this category. */
  category?: Category;
  /** Handle the states whose category satisfies this predicate. */
  categoryPredicate?: (category: Category) => boolean;
  /** Return a function computing the initial states instead of the states (default false). */
  lazy?: boolean;
  /**
   * `"forbidden"` (default): every explicit name once, no `SharedLocalStateRequest`.
   * `"allowed"`: a name may repeat when every use is an `InitialLocalStateRequest` with the same
   * initializer function, or is a `SharedLocalStateRequest` after the defining request.
   * `"unsafe"`: repeats always allowed; the last value wins.
   */
  stateSharing?: StateSharing;
  /** Use this handler id instead of inferring one. */
  handlerId?: HandlerId;
}

/** The options that follow a category in penzai's call shape `handleLocalStates(body, category, options)`. */
export type CategoryOptions = Omit<HandleLocalStatesOptions, "category" | "categoryPredicate">;

const OPTION_KEYS = ["category", "categoryPredicate", "lazy", "stateSharing", "handlerId"] as const;
const AFTER_CATEGORY_KEYS = ["lazy", "stateSharing", "handlerId"] as const;

/** Merges the two call shapes of {@link handleLocalStates} into one checked options object. */
function localStateOptions(
  categoryOrOptions: Category | HandleLocalStatesOptions | undefined,
  options: CategoryOptions | undefined,
): HandleLocalStatesOptions {
  const isObject = typeof categoryOrOptions === "object" && categoryOrOptions !== null;
  if (isObject && options !== undefined) {
    throw new LocalStateHandlingError(
      "handleLocalStates got an options object as its second argument and another one as its third. " +
        "Pass one: handleLocalStates(body, { category, ...options }) or handleLocalStates(body, category, options).",
    );
  }
  if (isObject) {
    return checkOptions(
      "handleLocalStates",
      categoryOrOptions as HandleLocalStatesOptions,
      OPTION_KEYS,
    );
  }
  if (options !== null && typeof options === "object") {
    for (const key of ["category", "categoryPredicate"] as const) {
      if (Object.hasOwn(options, key)) {
        throw new LocalStateHandlingError(
          `handleLocalStates got the category ${reprValue(categoryOrOptions)} as its second argument and ` +
            `\`${key}\` in its options. Give the category one way only: ` +
            "handleLocalStates(body, category, { lazy, stateSharing, handlerId }) or handleLocalStates(body, { category, ... }).",
        );
      }
    }
  }
  checkOptions("handleLocalStates (options after a category)", options, AFTER_CATEGORY_KEYS);
  return { ...options, category: categoryOrOptions as Category | undefined };
}

type LocalStateRequest =
  | InitialLocalStateRequest
  | FrozenLocalStateRequest
  | SharedLocalStateRequest;

type LocalStateRequestClass =
  | typeof InitialLocalStateRequest
  | typeof FrozenLocalStateRequest
  | typeof SharedLocalStateRequest;

/** The request classes a local-state handler handles (penzai's union of the three). */
const LOCAL_STATE_REQUESTS: readonly LocalStateRequestClass[] = [
  InitialLocalStateRequest,
  FrozenLocalStateRequest,
  SharedLocalStateRequest,
];

/**
 * Handles the local-state requests of a category in `body` (penzai's `handle_local_states`):
 * replaces them with references of a new {@link WithFunctionalLocalState} and computes the initial
 * states. Unnamed states are named after their pretty key path in `body`
 * (`"Sequential.sublayers[0]/Counter.count"`); explicitly named ones keep their name.
 *
 * Two call shapes: `handleLocalStates(body, options)` and penzai's
 * `handleLocalStates(body, category, options)`, where `options` then holds everything but the
 * category. An option is never ignored: an unknown key, or a category given both ways, throws.
 *
 * @param body the model.
 * @param categoryOrOptions a category, or options (`category` or `categoryPredicate`, `lazy`,
 *   `stateSharing`, `handlerId`). With neither category nor predicate every local state is handled
 *   (penzai requires one of them).
 * @param options after a category: `lazy`, `stateSharing`, `handlerId`.
 * @returns `[handler, initialStates]` (or `[handler, () => initialStates]` when `lazy`).
 * @throws LocalStateHandlingError for repeated names against the sharing mode, a shared request
 *   without a definition before it, both `category` and `categoryPredicate`, or options given
 *   twice (an options object in second place and a third argument, or a category in second place
 *   and `category` / `categoryPredicate` in the options).
 * @throws UnknownOptionError (from `@saikei/struct`) for an option key this function does not know.
 * @example
 * const [handled, states] = handleLocalStates(model, "kv_cache");
 * const [out, newStates] = handled.call([x, states]);
 * const [lazyHandled, init] = handleLocalStates(model, "kv_cache", { lazy: true });
 */
export function handleLocalStates(
  body: LayerLike,
  categoryOrOptions?: Category | (HandleLocalStatesOptions & { lazy?: false }),
  options?: CategoryOptions & { lazy?: false },
): [WithFunctionalLocalState, Record<string, unknown>];
export function handleLocalStates(
  body: LayerLike,
  categoryOrOptions: HandleLocalStatesOptions & { lazy: true },
): [WithFunctionalLocalState, () => Record<string, unknown>];
export function handleLocalStates(
  body: LayerLike,
  category: Category | undefined,
  options: CategoryOptions & { lazy: true },
): [WithFunctionalLocalState, () => Record<string, unknown>];
export function handleLocalStates(
  body: LayerLike,
  categoryOrOptions: Category | HandleLocalStatesOptions = {},
  options?: CategoryOptions,
): [WithFunctionalLocalState, Record<string, unknown> | (() => Record<string, unknown>)] {
  const opts = localStateOptions(categoryOrOptions, options);
  const handlerId = inferOrCheckHandlerId("WithFunctionalLocalState", body, {
    explicitId: opts.handlerId,
  });
  if (opts.category !== undefined && opts.categoryPredicate !== undefined) {
    throw new LocalStateHandlingError(
      "Only one of `category` and `categoryPredicate` may be specified in handleLocalStates options.",
    );
  }
  const matches =
    opts.categoryPredicate ??
    (opts.category === undefined ? () => true : (c: Category) => c === opts.category);
  const sharing = opts.stateSharing ?? "forbidden";
  if (sharing !== "forbidden" && sharing !== "allowed" && sharing !== "unsafe") {
    throw new LocalStateHandlingError(
      `Bad state sharing setting ${reprValue(sharing)}: use "forbidden", "allowed" or "unsafe".`,
    );
  }

  const initializers = new Map<string, () => unknown>();
  const definitions = new Map<string, LocalStateRequest>();
  const requests = select(body)
    .atInstancesOf<LocalStateRequestClass>(LOCAL_STATE_REQUESTS)
    .where((request) => matches(request.category));
  const handled = requests.apply(
    (path, node) => {
      const ref = (name: string, explicit: boolean) =>
        new HandledLocalStateRef({
          handlerId,
          category: node.category,
          name,
          wasExplicitlyNamed: explicit,
        });
      if (node instanceof SharedLocalStateRequest) {
        if (sharing === "forbidden") {
          throw new LocalStateHandlingError(
            `Found a SharedLocalStateRequest for state variable ${node.name} (at ${prettyKeystr(path, body) || "the root"}) ` +
              "when stateSharing is 'forbidden'. SharedLocalStateRequest must only be used with " +
              "handleLocalStates(body, { stateSharing: 'allowed' }) or 'unsafe'.",
          );
        }
        if (!definitions.has(node.name)) {
          throw new LocalStateHandlingError(
            `Found a SharedLocalStateRequest for state variable ${node.name} (at ${prettyKeystr(path, body) || "the root"}) ` +
              "before seeing a corresponding value. The first use of a shared state (in pre-order) must be " +
              "an InitialLocalStateRequest or FrozenLocalStateRequest with that name; " +
              "embedSharedStateRequests(tree, definitions) puts definitions back.",
          );
        }
        return ref(node.name, true);
      }
      const initial =
        node instanceof InitialLocalStateRequest
          ? node.stateInitializer
          : () => (node as FrozenLocalStateRequest).state;
      if (node.name === undefined) {
        const name = prettyKeystr(path, body);
        initializers.set(name, initial);
        return ref(name, false);
      }
      const name = node.name;
      const previous = definitions.get(name);
      if (previous !== undefined) {
        if (sharing === "forbidden") {
          throw new LocalStateHandlingError(
            `Detected two local states with the same explicit name '${name}', which is not allowed when ` +
              "stateSharing is 'forbidden'. Rename one of them, or pass { stateSharing: 'allowed' } to share it.",
          );
        }
        if (sharing === "allowed") {
          const same =
            previous instanceof InitialLocalStateRequest &&
            node instanceof InitialLocalStateRequest &&
            previous.stateInitializer === node.stateInitializer;
          if (!same) {
            throw new LocalStateHandlingError(
              `Detected two local states with the same explicit name '${name}' but different initializers! ` +
                "This is only allowed when stateSharing is 'unsafe'. Use one initializer function for both, " +
                "or a SharedLocalStateRequest for the later uses.",
            );
          }
        }
      }
      definitions.set(name, node);
      initializers.set(name, initial);
      return ref(name, true);
    },
    { withKeypath: true },
  ) as LayerLike;

  const handler = new WithFunctionalLocalState({ handlerId, body: handled });
  const compute = () => {
    return recordOf([...initializers].map(([name, init]) => [name, init()]));
  };
  return [handler, opts.lazy ? compute : compute()];
}

/**
 * Removes a {@link WithFunctionalLocalState} and bakes `states` into its body (penzai's
 * `freeze_local_states`): each reference becomes a {@link FrozenLocalStateRequest} holding its
 * state (unnamed ones stay unnamed); later uses of an explicitly named state become
 * {@link SharedLocalStateRequest}s. `handleLocalStates(frozen, { category, handlerId: handled.handlerId })`
 * gives back the same handler and states.
 *
 * @throws LocalStateHandlingError when `states` lacks one of the handler's states.
 * @example
 * const frozen = freezeLocalStates(handled, newStates);
 */
export function freezeLocalStates(
  handled: WithFunctionalLocalState,
  states: LocalStates,
): LayerLike {
  const seen = new Set<string>();
  return handled.substituteRefs((ref) => {
    const { name, category, wasExplicitlyNamed } = ref as HandledLocalStateRef;
    if (!Object.hasOwn(states, name)) {
      throw new LocalStateHandlingError(
        `freezeLocalStates: no value for the state '${name}' of handler ${handled.handlerId}. Pass the ` +
          `states the handler returned; it needs ${JSON.stringify(handled.stateNames())}.`,
      );
    }
    if (!wasExplicitlyNamed) return new FrozenLocalStateRequest({ state: states[name], category });
    if (seen.has(name)) return new SharedLocalStateRequest({ name, category });
    seen.add(name);
    return new FrozenLocalStateRequest({ state: states[name], category, name });
  });
}

/** Options of {@link hoistSharedStateRequests}. */
export interface HoistSharedStateOptions {
  /** Allow repeated names with different initializers or values (the first one wins). */
  unsafe?: boolean;
}

/**
 * Replaces every named Initial/Frozen request whose name is used more than once by a
 * {@link SharedLocalStateRequest} and returns the definitions (penzai's
 * `hoist_shared_state_requests`). Inverse: {@link embedSharedStateRequests}.
 *
 * @returns `[tree, definitions by name]`.
 * @throws LocalStateHandlingError for repeated names with different initializers or values,
 *   unless `unsafe`.
 * @example
 * const [tree, defs] = hoistSharedStateRequests(model);
 */
export function hoistSharedStateRequests(
  tree: unknown,
  options: HoistSharedStateOptions = {},
): [unknown, Map<string, InitialLocalStateRequest | FrozenLocalStateRequest>] {
  checkOptions("hoistSharedStateRequests", options, ["unsafe"]);
  const counts = new Map<string, number>();
  for (const request of select(tree)
    .atInstancesOf<LocalStateRequestClass>(LOCAL_STATE_REQUESTS)
    .getSequence()) {
    if (request.name !== undefined) counts.set(request.name, (counts.get(request.name) ?? 0) + 1);
  }
  const definitions = new Map<string, InitialLocalStateRequest | FrozenLocalStateRequest>();
  const out = select(tree)
    .atInstancesOf([InitialLocalStateRequest, FrozenLocalStateRequest])
    .where((request) => request.name !== undefined && (counts.get(request.name) ?? 0) > 1)
    .apply((node) => {
      const name = node.name!;
      const previous = definitions.get(name);
      if (previous === undefined) {
        definitions.set(name, node);
      } else if (!options.unsafe && !previous.equals(node)) {
        throw new LocalStateHandlingError(
          `Detected two local states with the same explicit name '${name}' but different initializers or ` +
            "values! This is only allowed when { unsafe: true } is passed to hoistSharedStateRequests.",
        );
      }
      return new SharedLocalStateRequest({ name, category: node.category });
    });
  return [out, definitions];
}

/**
 * Puts definitions back (penzai's `embed_shared_state_requests`): the first
 * {@link SharedLocalStateRequest} of each name (pre-order) becomes its definition; others stay.
 *
 * @throws LocalStateHandlingError when a definition's category differs from the request's.
 * @example
 * embedSharedStateRequests(...hoistSharedStateRequests(model)); // equals model's requests again
 */
export function embedSharedStateRequests(
  tree: unknown,
  definitions: ReadonlyMap<string, InitialLocalStateRequest | FrozenLocalStateRequest>,
): unknown {
  const done = new Set<string>();
  return select(tree)
    .atInstancesOf(SharedLocalStateRequest)
    .apply(
      (path, node) => {
        const definition = definitions.get(node.name);
        if (definition === undefined || done.has(node.name)) return node;
        if (definition.category !== node.category) {
          throw new LocalStateHandlingError(
            `Tried to substitute values with mismatched categories! Got ${reprValue(definition.category)}, ` +
              `expected ${reprValue(node.category)} for the state '${node.name}' at ${prettyKeystr(path, tree) || "the root"}.`,
          );
        }
        done.add(node.name);
        return definition;
      },
      { withKeypath: true },
    );
}
