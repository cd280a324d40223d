/**
 * The random effect: layers call `nextKey()` for fresh random keys, which the handler derives from
 * one key with `foldIn` (a {@link RandomStream}), so one seed gives bitwise-identical results in
 * Node and in browsers.
 *
 * @module
 */

import { checkedLayerCall, type LayerLike, RandomStream } from "@saikei/layer";
import { RandomKey, RandomKeyError, random } from "@saikei/named";
import { select } from "@saikei/select";
import { Wildcard } from "@saikei/shapecheck";
import { checkOptions, field, reprValue } from "@saikei/struct";
import {
  defineEffectProtocol,
  EffectHandler,
  EffectRequest,
  EffectRuntimeImpl,
  HandledEffectRef,
  type HandlerId,
  inferOrCheckHandlerId,
  RANDOM_EFFECT_COLOR,
  registerEffectColor,
} from "./effectBase.js";
import { type Category, FrozenLocalStateRequest, type LocalStateEffect } from "./localState.js";
import type { Tag } from "./sideInput.js";

/**
 * The random effect protocol (penzai's `RandomEffect`): `nextKey()` returns a fresh key.
 * A layer declares `rng: field<RandomEffect>()` and builds it with `new RandomRequest()`.
 */
export const RandomEffect = defineEffectProtocol("RandomEffect", ["nextKey"]);
/** The interface layers use for randomness. */
export interface RandomEffect {
  /** Returns a key never returned before in this call. */
  nextKey(): RandomKey;
}
registerEffectColor(RandomEffect, RANDOM_EFFECT_COLOR);

const randomHint =
  "Handle it with WithRandomKeyFromArg.handling(model) and call the result with [input, random.key(seed)], " +
  "or with WithStatefulRandomKey.handling(model, random.key(seed)) / WithFrozenRandomState.handling(model, random.key(seed)).";

/**
 * A request for random keys (penzai's `RandomRequest`). It has no fields; all instances are equal.
 *
 * @example
 * class Noise extends Layer.define({ rng: field<RandomEffect>() }) {
 *   call(shape: number[]) { return random.normal(this.rng.nextKey(), shape); }
 * }
 * new Noise({ rng: new RandomRequest() });
 */
export class RandomRequest
  extends EffectRequest.define({}, { name: "RandomRequest" })
  implements RandomEffect
{
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** Throws {@link UnhandledEffectError}. */
  nextKey(): RandomKey {
    return this.unhandled("nextKey");
  }

  /** Explains how to handle random requests. */
  override handlingHint(): string {
    return randomHint;
  }
}

/**
 * A random request with a tag (penzai's `TaggedRandomRequest`), handled only by handlers whose
 * `holePredicate` accepts it, so that different random streams can drive different layers.
 *
 * @example
 * new TaggedRandomRequest({ tag: "dropout" });
 */
export class TaggedRandomRequest
  extends EffectRequest.define(
    { tag: field<Tag>({ static: true }) },
    { name: "TaggedRandomRequest" },
  )
  implements RandomEffect
{
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** Throws {@link UnhandledEffectError}. */
  nextKey(): RandomKey {
    return this.unhandled("nextKey");
  }

  /** Explains how to handle tagged random requests. */
  override handlingHint(): string {
    return `${randomHint} Tagged requests need { holePredicate: (r) => r instanceof TaggedRandomRequest && r.tag === ${reprValue(this.tag)} }.`;
  }
}

/** A random request handled by a random handler (penzai's `HandledRandomRef`). */
export class HandledRandomRef
  extends HandledEffectRef.define({}, { name: "HandledRandomRef" })
  implements RandomEffect
{
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** Throws {@link UnhandledEffectError}: only the running handler has a stream. */
  nextKey(): RandomKey {
    return this.unbound("nextKey");
  }
}

/** What a running random handler gives its body: keys drawn from one {@link RandomStream}. */
export class RandomEffectImpl extends EffectRuntimeImpl implements RandomEffect {
  readonly #stream: RandomStream;

  /**
   * @param stream the active stream keys are drawn from.
   * @param handlerId the id of the handler.
   */
  constructor(stream: RandomStream, handlerId: HandlerId) {
    super(handlerId);
    this.#stream = stream;
    Object.freeze(this);
  }

  /** The next key of the stream. */
  nextKey(): RandomKey {
    return this.#stream.nextKey();
  }

  /**
   * Where the stream stands: its base key and the offset the next `nextKey` folds in. A
   * `WithFrozenRandomState` with this key and starting offset gives the same keys from here on
   * (what isolating a submodel uses to replay its random draws).
   *
   * @example
   * impl.streamPosition(); // { baseKey: RandomKey(0, 0), nextOffset: 2 }
   */
  streamPosition(): { baseKey: RandomKey; nextOffset: number } {
    return { baseKey: this.#stream.baseKey, nextOffset: this.#stream.nextOffset };
  }

  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }
}

function checkKey(where: string, key: unknown): asserts key is RandomKey {
  if (!(key instanceof RandomKey)) {
    throw new RandomKeyError(
      `${where} expects a RandomKey, but got ${reprValue(key)}. Build one with random.key(seed) ` +
        "(or random.split / random.foldIn from @saikei/named).",
    );
  }
}

/** Selects which random requests a handler handles. */
export type HolePredicate = (request: RandomRequest | TaggedRandomRequest) => boolean;

/** Options of the random handlers' `handling`. */
export interface RandomHandlingOptions {
  /** Which requests to handle (default: untagged `RandomRequest`s only). */
  holePredicate?: HolePredicate;
  /** Use this handler id instead of inferring one. */
  handlerId?: HandlerId;
}

const RANDOM_HANDLING_KEYS = ["holePredicate", "handlerId"] as const;

const untaggedOnly: HolePredicate = (request) => request instanceof RandomRequest;

function handleRandomRequests(
  body: LayerLike,
  handlerId: HandlerId,
  holePredicate: HolePredicate,
): LayerLike {
  return select(body)
    .atInstancesOf([RandomRequest, TaggedRandomRequest])
    .where(holePredicate)
    .set(new HandledRandomRef({ handlerId })) as LayerLike;
}

function withStream<T>(
  key: RandomKey,
  offset: number,
  handlerId: HandlerId,
  fn: (impl: RandomEffectImpl) => T,
): T {
  const stream = new RandomStream(key, offset).unsafeMarkActive();
  try {
    return fn(new RandomEffectImpl(stream, handlerId));
  } finally {
    stream.markExpired();
  }
}

/**
 * A handler that takes its random key as part of its argument (penzai's `WithRandomKeyFromArg`):
 * called with `[input, key]`, it gives its body keys `foldIn(key, 0)`, `foldIn(key, 1)`, ... in
 * the order `nextKey` is called.
 *
 * @example
 * const handled = WithRandomKeyFromArg.handling(new Noise({ rng: new RandomRequest() }));
 * handled.call([[2, 3], random.key(0)]);
 */
export class WithRandomKeyFromArg extends EffectHandler.define(
  {},
  { name: "WithRandomKeyFromArg" },
) {
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** `[input to body, random key]`. */
  override inputStructure(): unknown {
    return [
      new Wildcard({ description: "input to body" }),
      new Wildcard({ description: "random key (a RandomKey)" }),
    ];
  }

  /** Any output from the body. */
  override outputStructure(): unknown {
    return new Wildcard({ description: "output from body" });
  }

  /** Runs the body on `argument[0]` with keys derived from `argument[1]`. */
  @checkedLayerCall
  call(argument: readonly [unknown, RandomKey]): any {
    checkKey("WithRandomKeyFromArg.call([input, key])", argument[1]);
    return withStream(argument[1], 0, this.handlerId, (impl) =>
      this.runBody(
        this.substituteRefs(() => impl),
        argument[0],
      ),
    );
  }

  /**
   * Handles the random requests of `body` selected by `holePredicate` (untagged by default).
   *
   * @example
   * WithRandomKeyFromArg.handling(model).call([x, random.key(1)]);
   */
  static handling(body: LayerLike, options: RandomHandlingOptions = {}): WithRandomKeyFromArg {
    checkOptions("WithRandomKeyFromArg.handling", options, RANDOM_HANDLING_KEYS);
    const handlerId = inferOrCheckHandlerId("WithRandomKeyFromArg", body, {
      explicitId: options.handlerId,
    });
    return new WithRandomKeyFromArg({
      handlerId,
      body: handleRandomRequests(body, handlerId, options.holePredicate ?? untaggedOnly),
    });
  }
}

/**
 * A handler that keeps its random key in a local state (penzai's `WithStatefulRandomKey`): each
 * call splits the stored key into a key for the body and the next stored key, so successive calls
 * draw different numbers. The state is a `FrozenLocalStateRequest` (category `"random"` by
 * default) that `handleLocalStates` turns into a threaded state.
 *
 * @example
 * const [handled, states] = handleLocalStates(WithStatefulRandomKey.handling(model, random.key(0)), "random");
 * const [out, next] = handled.call([x, states]);
 */
export class WithStatefulRandomKey extends EffectHandler.define(
  {
    randomState: field<LocalStateEffect<RandomKey>>(),
  },
  { name: "WithStatefulRandomKey" },
) {
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** Runs the body with a fresh key and advances the stored key. */
  call(argument: unknown): any {
    const old = this.randomState.get();
    checkKey("WithStatefulRandomKey (its random state)", old);
    const [bodyKey, nextKey] = random.split(old, 2) as [RandomKey, RandomKey];
    const result = withStream(bodyKey, 0, this.handlerId, (impl) =>
      this.runBody(
        this.substituteRefs(() => impl),
        argument,
      ),
    );
    this.randomState.set(nextKey);
    return result;
  }

  /**
   * Handles the random requests of `body` with a key stored as local state.
   *
   * @param initialKey the first stored key.
   * @param options `stateCategory` (default `"random"`), `holePredicate`, `handlerId`.
   * @throws RandomKeyError when `initialKey` is not a `RandomKey`.
   * @example
   * WithStatefulRandomKey.handling(model, random.key(0));
   */
  static handling(
    body: LayerLike,
    initialKey: RandomKey,
    options: RandomHandlingOptions & { stateCategory?: Category } = {},
  ): WithStatefulRandomKey {
    checkKey("WithStatefulRandomKey.handling", initialKey);
    checkOptions("WithStatefulRandomKey.handling", options, [
      ...RANDOM_HANDLING_KEYS,
      "stateCategory",
    ]);
    const handlerId = inferOrCheckHandlerId("WithStatefulRandomKey", body, {
      explicitId: options.handlerId,
    });
    return new WithStatefulRandomKey({
      handlerId,
      body: handleRandomRequests(body, handlerId, options.holePredicate ?? untaggedOnly),
      randomState: new FrozenLocalStateRequest<RandomKey>({
        state: initialKey,
        category: options.stateCategory ?? "random",
      }),
    });
  }
}

/**
 * A handler with a fixed key and starting offset (penzai's `WithFrozenRandomState`): every call
 * gives the body the same keys, so the layer becomes deterministic. Both are children.
 *
 * @example
 * WithFrozenRandomState.handling(model, random.key(3)).call(x); // same result on every call
 */
export class WithFrozenRandomState extends EffectHandler.define(
  {
    randomKey: field<RandomKey>(),
    startingOffset: field<number>(),
  },
  { name: "WithFrozenRandomState" },
) {
  /** The random protocol. */
  effectProtocol() {
    return RandomEffect;
  }

  /** Runs the body with keys `foldIn(randomKey, startingOffset + i)`. */
  call(argument: unknown): any {
    return withStream(this.randomKey, this.startingOffset, this.handlerId, (impl) =>
      this.runBody(
        this.substituteRefs(() => impl),
        argument,
      ),
    );
  }

  /**
   * Handles the random requests of `body` with a fixed key.
   *
   * @throws RandomKeyError for a key that is not a `RandomKey` or an offset that is not a
   *   non-negative integer.
   * @example
   * WithFrozenRandomState.handling(model, random.key(3), { startingOffset: 10 });
   */
  static handling(
    body: LayerLike,
    randomKey: RandomKey,
    options: RandomHandlingOptions & { startingOffset?: number } = {},
  ): WithFrozenRandomState {
    checkKey("WithFrozenRandomState.handling", randomKey);
    checkOptions("WithFrozenRandomState.handling", options, [
      ...RANDOM_HANDLING_KEYS,
      "startingOffset",
    ]);
    const startingOffset = options.startingOffset ?? 0;
    if (!Number.isInteger(startingOffset) || startingOffset < 0 || startingOffset > 0xffffffff) {
      throw new RandomKeyError(
        `WithFrozenRandomState.handling expects startingOffset to be an integer in [0, 2^32), but got ${reprValue(startingOffset)}.`,
      );
    }
    const handlerId = inferOrCheckHandlerId("WithFrozenRandomState", body, {
      explicitId: options.handlerId,
    });
    return new WithFrozenRandomState({
      handlerId,
      body: handleRandomRequests(body, handlerId, options.holePredicate ?? untaggedOnly),
      randomKey,
      startingOffset,
    });
  }
}
