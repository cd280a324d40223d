/**
 * Attention: `ApplyAttentionMask`, `Attention` and `KVCachingAttention` (penzai v1
 * `nn/attention.py`).
 *
 * @module
 */

import {
  InitialLocalStateRequest,
  type LocalStateEffect,
  type SideInputEffect,
  SideInputRequest,
} from "@saikei/effects";
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import {
  AxisNameError,
  isNamedArray,
  isTracing,
  NamedArray,
  type NamedArrayBase,
  NamedShapeMismatchError,
  PositionalAxesError,
  slice,
  tidy,
  where,
  wrap,
} from "@saikei/named";
import { checkOptions, className, field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { DtypeMismatchError, UnsupportedValueError } from "./errors.js";
import type { AxisSizes } from "./initializers.js";
import { requireNamed } from "./internal/named.js";
import { optionKeys } from "./internal/options.js";

/** The logit penzai puts where attention is masked out (the default of `ApplyAttentionMask.fromConfig`). */
export const DEFAULT_MASKED_OUT_VALUE = -2.3819763e38;

/**
 * Replaces every attention logit where the mask is false with `maskedOutValue` (penzai's
 * `ApplyAttentionMask`). The mask is a side input: a boolean named array whose axes broadcast
 * against the logits by name (e.g. `{seq, kv_seq}` against `{batch, seq, heads, kv_seq}`).
 *
 * @example
 * const mask = ApplyAttentionMask.fromConfig("attn_mask");
 * const handled = WithSideInputsFromInputTuple.handling(mask, ["attn_mask"]);
 * handled.call([logits, causalMask]);
 */
export class ApplyAttentionMask extends Layer.define(
  {
    mask: field<SideInputEffect<NamedArrayBase>>(),
    maskedOutValue: field<number | tf.Tensor>(),
  },
  { name: "ApplyAttentionMask" },
) {
  /**
   * Builds the layer asking for the mask under `maskTag`.
   *
   * @param maskTag the side-input tag of the mask.
   * @param maskedOutValue the logit used where the mask is false; default -2.3819763e38.
   * @example
   * ApplyAttentionMask.fromConfig("attn_mask");
   */
  static fromConfig(
    maskTag: unknown,
    maskedOutValue: number | tf.Tensor = DEFAULT_MASKED_OUT_VALUE,
  ): ApplyAttentionMask {
    return new ApplyAttentionMask({
      mask: new SideInputRequest<NamedArrayBase>({ tag: maskTag }),
      maskedOutValue,
    });
  }

  /**
   * Returns `nx.where(mask, x, maskedOutValue)`.
   *
   * @throws PositionalAxesError when the mask is a `tf.Tensor` (its axes have no names).
   * @throws UnsupportedValueError when the mask is not an array at all.
   * @throws NamedShapeMismatchError when a mask axis has another size than the logits' axis.
   * @throws DtypeMismatchError when the mask is not boolean.
   */
  call(x: NamedArrayBase): NamedArray {
    const layerType = className(this.constructor);
    const logits = requireNamed(x, layerType);
    const mask = requireMask(this.mask.ask(), layerType);
    return tidy(() => applyMask(logits, mask, this.maskedOutValue, layerType));
  }
}

/**
 * The mask side input, required to be a live boolean named array: a float mask would be
 * read as "nonzero attends", which hides a mask built with the wrong comparison or dtype.
 */
function requireMask(mask: unknown, layerType: string): NamedArrayBase {
  if (mask instanceof tf.Tensor) {
    throw new PositionalAxesError(
      `${layerType}: the mask side input must be a boolean NamedArray, but got a tf.Tensor of ` +
        `shape [${mask.shape.join(", ")}] (${mask.dtype}). Name its axes so that they line up ` +
        'with the logits, e.g. nx.wrap(mask, "seq", "kv_seq").',
    );
  }
  if (!isNamedArray(mask)) {
    throw new UnsupportedValueError(
      `${layerType}: the mask side input must be a boolean NamedArray, but got ${String(mask)}. ` +
        'Build one with e.g. nx.arange("seq", n).ge(nx.arange("kv_seq", n)).',
    );
  }
  const named = requireNamed(mask, `${layerType} mask`);
  if (named.dtype !== "bool") {
    throw new DtypeMismatchError(
      `${layerType}: the mask side input must be boolean (true where a query may attend to a ` +
        `key), but it has dtype ${named.dtype} (axes ${JSON.stringify(named.namedShape)}). ` +
        'Build it from comparisons, e.g. nx.arange("seq", n).ge(nx.arange("kv_seq", n)), or ' +
        'convert it with mask.astype("bool") if nonzero means "attend".',
    );
  }
  return named;
}

/**
 * `nx.where(mask, x, value)` after checking that the mask's axes fit the logits, so that a wrong
 * mask fails with the layer's name. Mask axes that the logits lack broadcast the result over them.
 */
function applyMask(
  x: NamedArrayBase,
  mask: NamedArrayBase,
  value: number | tf.Tensor,
  layerType: string,
): NamedArray {
  for (const [n, size] of Object.entries(mask.namedShape)) {
    if (Object.hasOwn(x.namedShape, n) && size !== x.namedShape[n]) {
      throw new NamedShapeMismatchError(
        `${layerType}: the mask has axis "${n}" of size ${size} but the logits have size ` +
          `${x.namedShape[n]}. Build the mask for the logits' shape ${JSON.stringify(x.namedShape)}.`,
      );
    }
  }
  return where(mask, x, value);
}

/**
 * Attention as a combination of five sublayers (penzai's `Attention`): `q = inputToQuery(x)`,
 * `k = inputToKey(x)`, `v = inputToValue(x)`, `attn = queryKeyToAttn([q, k])`, and the result
 * `attnValueToOutput([attn, v])`.
 *
 * @example
 * new Attention({ inputToQuery, inputToKey, inputToValue, queryKeyToAttn, attnValueToOutput }).call(x);
 */
export class Attention extends Layer.define(
  {
    inputToQuery: field<LayerLike>(),
    inputToKey: field<LayerLike>(),
    inputToValue: field<LayerLike>(),
    queryKeyToAttn: field<LayerLike>(),
    attnValueToOutput: field<LayerLike>(),
  },
  { name: "Attention" },
) {
  /** Runs attention on `x`. */
  call(x: any): any {
    return tidy(() => {
      const query = callLayer(this.inputToQuery, x);
      const key = callLayer(this.inputToKey, x);
      const value = callLayer(this.inputToValue, x);
      const attn = callLayer(this.queryKeyToAttn, [query, key]);
      return callLayer(this.attnValueToOutput, [attn, value]);
    });
  }
}

/** Options of {@link KVCachingAttention.fromUncached}. */
export interface KVCachingConfig {
  /** The sequence axis of keys and values (e.g. `"seq"`); the cache has this axis of size `cacheLen`. */
  sequenceAxis: string;
  /** Number of positions the cache holds. */
  cacheLen: number;
  /** The other axes of cached keys/values, e.g. `{batch: 4, heads: 4, projection: 64}`. */
  cachedAxes: AxisSizes;
  /** Side-input tag of the cache end index; default `"cache_end_index"`. */
  cacheEndIndexTag?: unknown;
  /** Local-state category of the cache; default `"kv_cache"`. */
  stateCategory?: string;
  /** Cache dtype; default `"float32"`. */
  cacheDtype?: tf.DataType;
}

const KV_CACHING_CONFIG_KEYS = optionKeys<KVCachingConfig>({
  sequenceAxis: true,
  cacheLen: true,
  cachedAxes: true,
  cacheEndIndexTag: true,
  stateCategory: true,
  cacheDtype: true,
});

/**
 * Attention with a key/value cache for step-by-step decoding (penzai's `KVCachingAttention`).
 * Each call writes the new keys and values into the cache at the end index (a side input) along
 * `sequenceAxis`, stores the updated cache in local state, and attends over the whole cache (the
 * mask must hide unfilled slots: `{seq: S, kv_seq: cacheLen}`).
 *
 * The updated cache tensors outlive the call (they are the new state); the caller disposes the old
 * state when it is done with it.
 *
 * @example
 * const cached = KVCachingAttention.fromUncached(attention, { sequenceAxis: "seq", cacheLen: 16,
 *   cachedAxes: { batch: 1, heads: 2, projection: 4 } });
 */
export class KVCachingAttention extends Layer.define(
  {
    inputToQuery: field<LayerLike>(),
    inputToKey: field<LayerLike>(),
    inputToValue: field<LayerLike>(),
    queryKeyToAttn: field<LayerLike>(),
    attnValueToOutput: field<LayerLike>(),
    sequenceAxis: field<string>({ static: true }),
    kvCacheEndIndex: field<SideInputEffect<unknown>>(),
    kvCache: field<LocalStateEffect<[NamedArrayBase, NamedArrayBase]>>(),
  },
  { name: "KVCachingAttention" },
) {
  /**
   * Converts an `Attention` into a caching one with the same sublayers; the cache is an
   * `InitialLocalStateRequest` of two zero arrays `{...cachedAxes, [sequenceAxis]: cacheLen}`.
   *
   * @throws UnknownOptionError for a key of `config` that is not an option.
   * @example
   * KVCachingAttention.fromUncached(attention, { sequenceAxis: "seq", cacheLen: 32, cachedAxes: { batch: 1, projection: 8 } });
   */
  static fromUncached(original: Attention, config: KVCachingConfig): KVCachingAttention;
  /** penzai's positional form: `fromUncached(original, sequenceAxis, cacheLen, cachedAxes, cacheEndIndexTag, stateCategory, cacheDtype?)`. */
  static fromUncached(
    original: Attention,
    sequenceAxis: string,
    cacheLen: number,
    cachedAxes: AxisSizes,
    cacheEndIndexTag: unknown,
    stateCategory: string,
    cacheDtype?: tf.DataType,
  ): KVCachingAttention;
  static fromUncached(
    original: Attention,
    configOrAxis: KVCachingConfig | string,
    cacheLen?: number,
    cachedAxes?: AxisSizes,
    cacheEndIndexTag?: unknown,
    stateCategory?: string,
    cacheDtype?: tf.DataType,
  ): KVCachingAttention {
    const config: KVCachingConfig =
      typeof configOrAxis === "string"
        ? {
            sequenceAxis: configOrAxis,
            cacheLen: cacheLen!,
            cachedAxes: cachedAxes!,
            cacheEndIndexTag,
            stateCategory,
            cacheDtype,
          }
        : checkOptions("KVCachingAttention.fromUncached", configOrAxis, KV_CACHING_CONFIG_KEYS);
    const shape = { ...config.cachedAxes, [config.sequenceAxis]: config.cacheLen };
    const names = Object.keys(shape);
    const sizes = names.map((n) => shape[n]!);
    const dtype = config.cacheDtype ?? "float32";
    // biome-ignore lint/complexity/noThisInStatic: subclasses (e.g. a Gemma caching attention) build their own class.
    return new (this as typeof KVCachingAttention)({
      inputToQuery: original.inputToQuery,
      inputToKey: original.inputToKey,
      inputToValue: original.inputToValue,
      queryKeyToAttn: original.queryKeyToAttn,
      attnValueToOutput: original.attnValueToOutput,
      sequenceAxis: config.sequenceAxis,
      kvCacheEndIndex: new SideInputRequest({ tag: config.cacheEndIndexTag ?? "cache_end_index" }),
      kvCache: new InitialLocalStateRequest({
        stateInitializer: () => [
          wrap(tf.zeros(sizes, dtype), ...names),
          wrap(tf.zeros(sizes, dtype), ...names),
        ],
        category: config.stateCategory ?? "kv_cache",
      }),
    });
  }

  /** Runs attention for the new tokens in `x` against the updated cache. */
  call(x: any): any {
    // While a jit trace records, a tensor end index stays on the device (reading it back would
    // make the trace unreplayable); eagerly, one read gives a static slice, whose indices named
    // computes on the host.
    const asked = this.kvCacheEndIndex.ask();
    const end = isTracing() && typeof asked !== "number" ? indexTensor(asked) : readIndex(asked);
    const previous = this.kvCache.get();
    const [keyCache, valueCache] = previous;
    // The updated caches are kept past the tidy (they are the new state). When a later sublayer
    // throws, the state goes back to the previous caches and the kept tensors are freed, so a
    // failed call leaves neither a leak nor a state pointing at tensors nobody owns.
    const kept: NamedArrayBase[] = [];
    try {
      return tidy(() => {
        const query = callLayer(this.inputToQuery, x);
        const key = callLayer(this.inputToKey, x);
        const value = callLayer(this.inputToValue, x);
        const newKeys = keep(updateSlice(keyCache, key, this.sequenceAxis, end));
        kept.push(newKeys);
        const newValues = keep(updateSlice(valueCache, value, this.sequenceAxis, end));
        kept.push(newValues);
        this.kvCache.set([newKeys, newValues]);
        const attn = callLayer(this.queryKeyToAttn, [query, newKeys]);
        return callLayer(this.attnValueToOutput, [attn, newValues]);
      });
    } catch (error) {
      if (kept.length > 0) {
        if (kept.length === 2) this.kvCache.set(previous);
        for (const cache of kept) cache.dataArray.dispose();
      }
      throw error;
    }
  }
}

function readIndex(value: unknown): number {
  if (typeof value === "number") return value;
  if (value instanceof tf.Tensor) return value.dataSync()[0]!;
  if (isNamedArray(value)) return value.dataArray.dataSync()[0]!;
  throw new UnsupportedValueError(
    `KVCachingAttention: the cache end index side input must be a number or a scalar, but got ${String(value)}.`,
  );
}

/** The end index side input as an int32 scalar tensor (no data read). */
function indexTensor(value: unknown): tf.Tensor {
  const t = value instanceof tf.Tensor ? value : isNamedArray(value) ? value.dataArray : undefined;
  if (!(t instanceof tf.Tensor) || t.size !== 1) {
    throw new UnsupportedValueError(
      `KVCachingAttention: the cache end index side input must be a number or a scalar, but got ${String(value)}.`,
    );
  }
  return t;
}

/** Marks the data of a new cache to survive the enclosing tidy (it becomes state), and returns it. */
function keep(cache: NamedArray): NamedArray {
  tf.keep(cache.dataArray);
  return cache;
}

/**
 * `cache` with `update` written at `[start, start + S)` of `axis`, through `@saikei/named`'s indexed
 * update (`cache.at({ [axis]: positions }).set(update)`); the start is clamped to `[0, L - S]`, like
 * XLA's dynamic_update_slice. A number start indexes a static slice, whose indices named computes
 * on the host; a scalar tensor start (a jit trace) becomes the int32 positions `begin + [0, S)` on
 * the device, so nothing is read back.
 */
function updateSlice(
  cache: NamedArrayBase,
  update: unknown,
  axis: string,
  start: number | tf.Tensor,
): NamedArray {
  const c = requireNamed(cache, "KVCachingAttention cache");
  const u = requireNamed(update, "KVCachingAttention update");
  const cacheLen = c.namedShape[axis];
  if (cacheLen === undefined) {
    throw new AxisNameError(
      `KVCachingAttention: the cache ${JSON.stringify(c.namedShape)} has no sequence axis "${axis}".`,
    );
  }
  const len = u.namedShape[axis];
  if (len === undefined) {
    throw new NamedShapeMismatchError(
      `KVCachingAttention: the new keys or values ${JSON.stringify(u.namedShape)} have no sequence ` +
        `axis "${axis}", so they cannot be written into the cache ${JSON.stringify(c.namedShape)}. ` +
        `Make inputToKey and inputToValue keep the "${axis}" axis of the input.`,
    );
  }
  const written =
    typeof start === "number"
      ? c.at({ [axis]: slice(...clampedRange(start, cacheLen, len)) }).set(u, IN_BOUNDS)
      : c.at({ [axis]: startPositions(start, cacheLen, len) }).set(u.untag(axis), IN_BOUNDS);
  const out = written.withPositionalPrefix();
  // The result becomes state that its owner disposes, so it must be a tensor of its own; an empty
  // update (S = 0) leaves named's result on the cache's tensor.
  return out.dataArray === c.dataArray
    ? new NamedArray({ namedAxes: out.namedAxes, dataArray: tf.clone(out.dataArray) })
    : out;
}

/** The positions are clamped into the cache before indexing, so named need not check them. */
const IN_BOUNDS = { mode: "promise_in_bounds" } as const;

/** `[begin, begin + len)` with `begin` the number `start` clamped to `[0, cacheLen - len]`. */
function clampedRange(start: number, cacheLen: number, len: number): [number, number] {
  const begin = Math.max(0, Math.min(Math.floor(start), cacheLen - len));
  return [begin, begin + len];
}

/** `begin + [0, len)` as int32, with `begin` the scalar tensor `start` clamped to `[0, cacheLen - len]`. */
function startPositions(start: tf.Tensor, cacheLen: number, len: number): tf.Tensor {
  const int = (n: number) => tf.scalar(n, "int32");
  const begin = tf.minimum(
    tf.maximum(tf.reshape(tf.cast(start, "int32"), []), int(0)),
    int(cacheLen - len),
  );
  return tf.add(begin, tf.range(0, len, 1, "int32"));
}
