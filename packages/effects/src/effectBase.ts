/**
 * The base of the data-effect system (penzai v1's `effect_base`): effect protocols and colours,
 * requests, handled references, runtime implementations, handlers and the tree queries over them.
 *
 * An effectful layer holds an {@link EffectRequest} in a field. A handler's `handling(...)` swaps
 * the requests it handles for {@link HandledEffectRef}s carrying its handler id, and when the
 * handler is called it gives its body a copy in which those references are replaced by
 * {@link EffectRuntimeImpl} objects that do the work.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";
import { addLayerContext, callLayer, Layer, type LayerLike } from "@saikei/layer";
import { select } from "@saikei/select";
import {
  checkOptions,
  colorFromString,
  field,
  findOutermost,
  flattenOneLevel,
  type KeyPath,
  keystr,
  type Position,
  reprValue,
  rewriteAt,
  Struct,
  structure,
} from "@saikei/struct";
import { HandlerIdError, UnhandledEffectError } from "./errors.js";

/** A handler id: a string unique within a model, such as `"WithSideInputsFromInputTuple_3fa9c"`. */
export type HandlerId = string;

/**
 * The runtime description of an effect interface (penzai's effect `Protocol`): its name and the
 * methods a layer calls on it. Each effect exports a value and a type of the same name, e.g. the
 * value `SideInputEffect` and the type `SideInputEffect<T>`.
 */
export interface EffectProtocol {
  /** The interface name, e.g. `"SideInputEffect"`. */
  readonly name: string;
  /** The methods layers call, e.g. `["ask"]`. */
  readonly methods: readonly string[];
}

/**
 * Declares an effect protocol.
 *
 * @param name the interface name.
 * @param methods the methods a layer calls on the effect.
 * @returns a frozen {@link EffectProtocol}.
 * @example
 * const CounterEffect = defineEffectProtocol("CounterEffect", ["increment"]);
 */
export function defineEffectProtocol(name: string, methods: readonly string[]): EffectProtocol {
  return Object.freeze({ name, methods: Object.freeze([...methods]) });
}

/** Treescope colour of the side-input effect. */
export const SIDE_INPUT_EFFECT_COLOR = "#5eb3e5";
/** Treescope colour of the local-state effect. */
export const LOCAL_STATE_EFFECT_COLOR = "#f58566";
/** Treescope colour of the random effect. */
export const RANDOM_EFFECT_COLOR = "#df982b";
/** Treescope colour of the side-output effect. */
export const SIDE_OUTPUT_EFFECT_COLOR = "#3fbfb6";

/**
 * The colours treescope uses for the built-in effects, by short name.
 *
 * @example
 * EFFECT_COLORS.SideInput; // "#5eb3e5"
 */
export const EFFECT_COLORS = Object.freeze({
  SideInput: SIDE_INPUT_EFFECT_COLOR,
  LocalState: LOCAL_STATE_EFFECT_COLOR,
  Random: RANDOM_EFFECT_COLOR,
  SideOutput: SIDE_OUTPUT_EFFECT_COLOR,
});

const effectColors = new WeakMap<EffectProtocol, string>();

/**
 * Registers the CSS colour treescope uses for requests, references and handlers of `protocol`.
 *
 * @example
 * registerEffectColor(CounterEffect, "#aa66cc");
 */
export function registerEffectColor(protocol: EffectProtocol, color: string): void {
  effectColors.set(protocol, color);
}

/**
 * The colour of an effect protocol: the registered one, or `colorFromString(protocol.name)` from
 * `@saikei/struct` (the same name-derived `#rrggbb` colour treescope gives layers).
 *
 * @example
 * getEffectColor(SideInputEffect); // "#5eb3e5"
 */
export function getEffectColor(protocol: EffectProtocol): string {
  return effectColors.get(protocol) ?? colorFromString(protocol.name);
}

/**
 * The base of effect requests (penzai's `EffectRequest`): a struct placed in a layer's field where
 * an effect will be needed. Calling an effect method on an unhandled request throws an
 * {@link UnhandledEffectError} (some requests give harmless defaults instead, such as
 * `SideOutputRequest#tell`).
 */
export abstract class EffectRequest extends Struct {
  /** The protocol of the effect this request asks for. */
  abstract effectProtocol(): EffectProtocol;

  /** How to handle this request, in one sentence with code; used in error messages. */
  handlingHint(): string {
    return "Wrap the model in a handler of this effect before calling it.";
  }

  /** The colour treescope draws this request with. */
  treescopeColor(): string {
    return getEffectColor(this.effectProtocol());
  }

  /** Throws the {@link UnhandledEffectError} for calling `method` on this request. */
  protected unhandled(method: string): never {
    throw new UnhandledEffectError(
      `Effect method '${method}' of ${this.effectProtocol().name} was called on a non-handled effect ` +
        `request ${reprValue(this)}! This means a layer holding this request was called without ` +
        `an effect handler around it. ${this.handlingHint()} ` +
        "freeEffectTypes(model) lists the effects a model still needs.",
      this,
      method,
    );
  }
}

/**
 * The base of handled effect references (penzai's `HandledEffectRef`): what a request becomes once
 * a handler handles it. A reference is childless and carries the id of its handler (static), so two
 * references compare equal when they point to the same handler and slot. Calling an effect method
 * on it directly throws: only the running handler gives the layer an implementation.
 */
export abstract class HandledEffectRef extends Struct.define(
  {
    handlerId: field<HandlerId>({ static: true }),
  },
  { name: "HandledEffectRef" },
) {
  /** The protocol of the effect this reference stands for. */
  abstract effectProtocol(): EffectProtocol;

  /** The colour treescope draws this reference with. */
  treescopeColor(): string {
    return getEffectColor(this.effectProtocol());
  }

  /** Throws the {@link UnhandledEffectError} for calling `method` on an unbound reference. */
  protected unbound(method: string): never {
    throw new UnhandledEffectError(
      `Effect method '${method}' of ${this.effectProtocol().name} was called on an unbound effect ` +
        `reference ${reprValue(this)}! It belongs to the handler with id '${this.handlerId}', which is ` +
        "not running: the layer holding it was probably taken out of that handler (for instance with " +
        "select(...).get() or by isolating a submodel) and called on its own. Call the layer through " +
        "its handler, or rebuild the handler around it; brokenHandlerRefs(tree) lists references whose " +
        "handler is missing.",
      this,
      method,
    );
  }
}

/**
 * The base of effect implementations (penzai's `EffectRuntimeImpl`): the objects a running handler
 * puts in place of its references. They may be mutable and are leaves of the tree; they live for
 * one handler call.
 */
export abstract class EffectRuntimeImpl {
  readonly #handlerId: HandlerId;

  /** @param handlerId the id of the handler that creates this object. */
  constructor(handlerId: HandlerId) {
    this.#handlerId = handlerId;
  }

  /** The protocol this object implements. */
  abstract effectProtocol(): EffectProtocol;

  /** The id of the handler that created this object. */
  handlerId(): HandlerId {
    return this.#handlerId;
  }
}

/**
 * The base of effect handlers (penzai's `EffectHandler`): a layer with a static `handlerId` and a
 * `body` child. Subclasses build instances with a static `handling(body, ...)`, and in `call` give
 * their body implementations with {@link EffectHandler.substituteRefs}.
 */
export abstract class EffectHandler extends Layer.define(
  {
    handlerId: field<HandlerId>({ static: true }),
    body: field<LayerLike>(),
  },
  { name: "EffectHandler" },
) {
  /** The protocol(s) of the effect(s) this handler handles, or `null`. */
  abstract effectProtocol(): EffectProtocol | readonly EffectProtocol[] | null;

  /** The colour treescope draws this handler with (the colour of its first effect). */
  treescopeColor(): string {
    const protocol = this.effectProtocol();
    const first = Array.isArray(protocol) ? protocol[0] : protocol;
    return first === null || first === undefined
      ? "#cdcdcd"
      : getEffectColor(first as EffectProtocol);
  }

  /**
   * The references of this handler inside its body, with their key paths relative to the body, in
   * pre-order. Computed once per handler instance (handlers are immutable).
   */
  handledRefs(): readonly { ref: HandledEffectRef; path: KeyPath }[] {
    return refIndex(this).targets;
  }

  /**
   * A copy of the body in which each of this handler's references is replaced by
   * `replace(ref, pathInBody, ordinal)`. Only the ancestors of the references are rebuilt; the
   * positions are found once per handler instance, not on every call.
   */
  substituteRefs(
    replace: (ref: HandledEffectRef, path: KeyPath, ordinal: number) => unknown,
  ): LayerLike {
    const { positions, targets } = refIndex(this);
    return rewriteAt(
      this.body,
      positions,
      (i) => {
        const target = targets[i]!;
        return replace(target.ref, target.path, i);
      },
      { onRebuild: inheritRefIndex },
    ) as LayerLike;
  }

  /**
   * Calls a substituted copy of the body. An unhandled-effect error escaping it is told where the
   * request sits inside this handler.
   */
  protected runBody(body: LayerLike, argument: unknown): any {
    try {
      return callLayer(body, argument);
    } catch (error) {
      addLayerContext(error, this);
      throw error;
    }
  }
}

interface RefIndex {
  /** Where the references are in the body (what `rewriteAt` takes). */
  readonly positions: readonly Position<HandledEffectRef>[];
  readonly targets: readonly { ref: HandledEffectRef; path: KeyPath }[];
  /** Further data derived from the references only (see {@link handlerMemo}). */
  readonly memo: Map<string, unknown>;
}

const refIndexCache = new WeakMap<EffectHandler, RefIndex>();

/**
 * A handler rebuilt while an enclosing handler substitutes its own references keeps the positions
 * of its references (those are childless nodes left in place, and the outer references become
 * leaves), so it shares the index of the handler it copies instead of walking its body again.
 */
function inheritRefIndex(original: unknown, rebuilt: unknown): void {
  if (original instanceof EffectHandler)
    refIndexCache.set(rebuilt as EffectHandler, refIndex(original));
}

/**
 * @internal Memoizes `compute(handler)` with the handler's reference index: the value must depend
 * only on the handler's references (their order, tags, names), not on other parts of the body.
 */
export function handlerMemo<T>(handler: EffectHandler, key: string, compute: () => T): T {
  const memo = refIndex(handler).memo;
  if (memo.has(key)) return memo.get(key) as T;
  const value = compute();
  memo.set(key, value);
  return value;
}

function refIndex(handler: EffectHandler): RefIndex {
  let index = refIndexCache.get(handler);
  if (index === undefined) {
    const id = handler.handlerId;
    // penzai: select(body).at_instances_of(HandledEffectRef).where(handler_id == id), found once.
    const positions = findOutermost<HandledEffectRef>(
      handler.body,
      (node) => node instanceof HandledEffectRef && node.handlerId === id,
      { operation: "effect handling" },
    );
    index = {
      positions,
      targets: Object.freeze(
        positions.map((p) => Object.freeze({ ref: p.value, path: p.keyPath })),
      ),
      memo: new Map(),
    };
    refIndexCache.set(handler, index);
  }
  return index;
}

/**
 * The effect protocols of all requests still in `tree` that no handler has handled, in pre-order,
 * without repeats (penzai's `free_effect_types`). An empty list means the model can be called.
 *
 * @example
 * freeEffectTypes(model); // [SideInputEffect]
 * freeEffectTypes(WithSideInputsFromInputTuple.handling(model, ["mask"])); // []
 */
export function freeEffectTypes(tree: unknown): EffectProtocol[] {
  const out: EffectProtocol[] = [];
  for (const request of select(tree).atInstancesOf(EffectRequest).getSequence()) {
    const protocol = request.effectProtocol();
    if (!out.includes(protocol)) out.push(protocol);
  }
  return out;
}

/**
 * Visits the handlers and references of `tree` in pre-order: the outermost ones, then inside each
 * handler (all its children: the body and fields such as stored side inputs), `leave` being called
 * after a handler's children. Key paths in walk errors stay absolute (`basePath`).
 */
function walkHandlers(
  tree: unknown,
  visit: (node: EffectHandler | HandledEffectRef) => void,
  leave?: (handler: EffectHandler) => void,
  basePath: KeyPath = [],
): void {
  const found = findOutermost<EffectHandler | HandledEffectRef>(
    tree,
    (node) => node instanceof EffectHandler || node instanceof HandledEffectRef,
    { operation: "effect handling", basePath },
  );
  for (const { value: node, keyPath } of found) {
    visit(node);
    if (!(node instanceof EffectHandler)) continue;
    for (const [key, child] of flattenOneLevel(node)![0]) {
      walkHandlers(child, visit, leave, [...keyPath, key]);
    }
    leave?.(node);
  }
}

/**
 * The references in `tree` whose handler id is not the id of an enclosing handler in `tree`
 * (penzai's `broken_handler_refs`): they would fail when called.
 *
 * @example
 * brokenHandlerRefs(handled.body); // [HandledSideInputRef(handlerId='...', tag='mask')]
 */
export function brokenHandlerRefs(tree: unknown): HandledEffectRef[] {
  const out: HandledEffectRef[] = [];
  const enclosing: HandlerId[] = [];
  walkHandlers(
    tree,
    (node) => {
      if (node instanceof EffectHandler) enclosing.push(node.handlerId);
      else if (!enclosing.includes(node.handlerId)) out.push(node);
    },
    () => enclosing.pop(),
  );
  return out;
}

/**
 * The ids of all handlers and references in `tree`, in pre-order, without repeats (penzai's
 * `all_handler_ids`).
 *
 * @example
 * allHandlerIds(handled); // ["WithSideInputsFromInputTuple_3fa9c"]
 */
export function allHandlerIds(tree: unknown): HandlerId[] {
  const out: HandlerId[] = [];
  walkHandlers(tree, (node) => {
    if (!out.includes(node.handlerId)) out.push(node.handlerId);
  });
  return out;
}

/** Options of {@link inferOrCheckHandlerId}. */
export interface HandlerIdOptions {
  /** Use this id instead of inferring one; it must not already be used in the subtree. */
  explicitId?: HandlerId;
  /** The shortest hash prefix to try (default 5). */
  minHashLength?: number;
}

/**
 * Returns an id for a new handler around `subtree` (penzai's `infer_or_check_handler_id`). With
 * `explicitId`, checks it is not already used in `subtree` and returns it. Otherwise hashes the
 * subtree's structure (sha256 of its rendering, which includes static fields and therefore existing
 * handler ids) and returns `${tag}_${prefix}` with the shortest prefix (from `minHashLength`
 * characters) that no id already in the subtree starts with. Identical structures give identical ids.
 *
 * @throws HandlerIdError for a reused explicit id, or when no prefix is unique.
 * @example
 * inferOrCheckHandlerId("WithConstantSideInputs", body); // "WithConstantSideInputs_4e1f0"
 */
export function inferOrCheckHandlerId(
  tag: string,
  subtree: unknown,
  options: HandlerIdOptions = {},
): HandlerId {
  checkOptions("inferOrCheckHandlerId", options, ["explicitId", "minHashLength"]);
  const existing = allHandlerIds(subtree);
  if (options.explicitId !== undefined) {
    if (existing.includes(options.explicitId)) {
      throw new HandlerIdError(
        `Explicit handler ID ${options.explicitId} already exists in the subtree! Handler ids must be ` +
          "unique within a model; choose another id or omit it to infer one.",
      );
    }
    return options.explicitId;
  }
  const digest = bytesToHex(sha256(utf8ToBytes(structure(subtree).toString())));
  const full = `${tag}_${digest}`;
  const prefixes = existing.filter((id) => full.startsWith(id));
  for (let length = options.minHashLength ?? 5; length < digest.length; length++) {
    const candidate = `${tag}_${digest.slice(0, length)}`;
    if (!prefixes.includes(candidate)) return candidate;
  }
  throw new HandlerIdError(
    `Hash collision while inferring a handler id for tag ${tag}: every prefix of ${full} is already ` +
      "used in the subtree. Pass an explicit handler id.",
  );
}

/** @internal Formats a key path for messages. */
export function describePath(path: KeyPath): string {
  return keystr(path) || "(the root)";
}
