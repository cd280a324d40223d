/**
 * `RandomStream`: a stateful source of fresh random keys for the duration of one call.
 *
 * @module
 */

import * as named from "@saikei/named";
import { RandomStreamStateError } from "./errors.js";

type RandomKey = named.RandomKey;

/** The life cycle of a {@link RandomStream}: built, in use, finished. */
export type RandomStreamState = "pending" | "active" | "expired";

/**
 * A stream of random keys derived from one base key (penzai v1's `RandomStream`): the `i`-th key
 * is `random.foldIn(baseKey, i)` counting from `nextOffset`. A stream is mutable and is not a tree
 * node; it lives for one call. It starts `"pending"`, is activated once (with {@link RandomStream.run},
 * a `using` declaration, or {@link RandomStream.unsafeMarkActive}) and ends `"expired"`, after which
 * it refuses to hand out keys, so a key can never be reused by accident.
 *
 * @example
 * const keys = RandomStream.run(random.key(0), (stream) => [stream.nextKey(), stream.nextKey()]);
 * // keys[0] equals random.foldIn(random.key(0), 0), keys[1] equals random.foldIn(random.key(0), 1)
 */
export class RandomStream {
  /** Current life-cycle state. */
  state: RandomStreamState = "pending";

  /**
   * @param baseKey the key every key of the stream is derived from.
   * @param nextOffset the counter folded into `baseKey` by the next call of `nextKey` (default 0).
   */
  constructor(
    readonly baseKey: RandomKey,
    public nextOffset = 0,
  ) {}

  /**
   * Runs `fn` with a fresh active stream and expires it afterwards (also when `fn` throws).
   *
   * @returns what `fn` returns.
   * @example
   * RandomStream.run(random.key(1), (s) => s.nextKey());
   */
  static run<T>(baseKey: RandomKey, fn: (stream: RandomStream) => T, nextOffset = 0): T {
    const stream = new RandomStream(baseKey, nextOffset).unsafeMarkActive();
    try {
      return fn(stream);
    } finally {
      stream.markExpired();
    }
  }

  /**
   * Returns the next key, `foldIn(baseKey, nextOffset)`, and advances the offset.
   *
   * @throws RandomStreamStateError when the stream is not active.
   */
  nextKey(): RandomKey {
    if (this.state === "pending") {
      throw new RandomStreamStateError(
        "Cannot use a random stream that is not yet active! Activate it with RandomStream.run(key, " +
          "(stream) => ...), a `using` declaration, or stream.unsafeMarkActive().",
      );
    }
    if (this.state === "expired") {
      throw new RandomStreamStateError(
        "Cannot use a random stream that has expired! A stream hands out keys only during the call " +
          "that created it; do not keep it (or a RandomEffectImpl) after the handler returns.",
      );
    }
    const key = named.random.foldIn(this.baseKey, this.nextOffset);
    this.nextOffset += 1;
    return key;
  }

  /**
   * Moves the stream from `"pending"` to `"active"` and returns it.
   *
   * @throws RandomStreamStateError when the stream is not pending.
   */
  unsafeMarkActive(): this {
    if (this.state !== "pending") {
      throw new RandomStreamStateError(
        `RandomStream instances can only be activated once, in state 'pending'. Got state '${this.state}'. ` +
          "Build a new RandomStream for each call.",
      );
    }
    this.state = "active";
    return this;
  }

  /** Ends the stream: later `nextKey` calls throw. */
  markExpired(): void {
    this.state = "expired";
  }

  /** Activates the stream for a `using` declaration: `using s = new RandomStream(k).enter();`. */
  enter(): this {
    return this.unsafeMarkActive();
  }

  /** Expires the stream at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.markExpired();
  }
}
