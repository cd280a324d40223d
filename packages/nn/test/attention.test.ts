import {
  handleLocalStates,
  InitialLocalStateRequest,
  SideInputRequest,
  WithSideInputsFromInputTuple,
} from "@saikei/effects";
import { callLayer, DisposedTensorError } from "@saikei/layer";
import {
  jit,
  type NamedArray,
  type NamedArrayBase,
  NamedShapeMismatchError,
  nx,
  random,
  ready,
  tidy,
} from "@saikei/named";
import { tree } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ApplyAttentionMask,
  Attention,
  addParameterPrefix,
  ConstantRescale,
  DtypeMismatchError,
  initializeParameters,
  KVCachingAttention,
  Linear,
  Sequential,
} from "../src/index.js";
import { multiHeadCombine, multiHeadScores, values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const EMBEDDING = 8;
const HEADS = 2;
const PROJECTION = 4;

function attentionBlock(): Attention {
  const qkv = (name: string) =>
    addParameterPrefix(
      name,
      Linear.fromConfig(
        { embedding: EMBEDDING },
        { heads: HEADS, projection: PROJECTION },
      ) as Linear,
    );
  return new Attention({
    inputToQuery: new Sequential({
      sublayers: [qkv("query"), new ConstantRescale({ by: PROJECTION ** -0.5 })],
    }),
    inputToKey: qkv("key"),
    inputToValue: qkv("value"),
    queryKeyToAttn: multiHeadScores(),
    attnValueToOutput: multiHeadCombine(
      addParameterPrefix(
        "output",
        Linear.fromConfig(
          { heads: HEADS, projection: PROJECTION },
          { embedding: EMBEDDING },
        ) as Linear,
      ),
    ),
  });
}

function causalMask(queries: number, keys: number, offset = 0): NamedArray {
  return tidy(() => {
    const q = tf.reshape(tf.add(tf.range(0, queries, 1, "int32"), offset), [queries, 1]);
    const k = tf.reshape(tf.range(0, keys, 1, "int32"), [1, keys]);
    return nx.wrap(tf.greaterEqual(q, k), "seq", "kv_seq");
  });
}

function disposeTree(value: unknown): void {
  for (const leaf of tree.leaves(value)) if (leaf instanceof tf.Tensor) leaf.dispose();
}

describe("Attention", () => {
  it("is causal: changing a later token leaves earlier outputs unchanged", () => {
    const model = initializeParameters(attentionBlock(), random.key(0));
    const handled = WithSideInputsFromInputTuple.handling(model, ["attn_mask"]);
    const x = nx.wrap(random.normal(random.key(1), [2, 5, EMBEDDING]), "batch", "seq", "embedding");
    const changed = tidy(() => {
      const data = x.dataArray.arraySync() as number[][][];
      data[0]![4]![0] = 100;
      return nx.wrap(tf.tensor(data), "batch", "seq", "embedding");
    });
    const mask = causalMask(5, 5);
    const a = handled.call([x, mask]) as NamedArray;
    const b = handled.call([changed, mask]) as NamedArray;
    const va = values(a, "batch", "seq", "embedding");
    const vb = values(b, "batch", "seq", "embedding");
    const perToken = EMBEDDING;
    // batch 0, tokens 0..3 unchanged; token 4 changed
    for (let i = 0; i < 4 * perToken; i++) expect(vb[i]).toBeCloseTo(va[i]!, 5);
    expect(vb.slice(4 * perToken, 5 * perToken)).not.toEqual(va.slice(4 * perToken, 5 * perToken));
    disposeTree([model, x, changed, mask, a, b]);
  });

  it("leaks no tensors over 1,000 calls of an attention block", () => {
    const model = initializeParameters(attentionBlock(), random.key(0));
    const handled = WithSideInputsFromInputTuple.handling(model, ["attn_mask"]);
    const x = nx.wrap(random.normal(random.key(1), [1, 4, EMBEDDING]), "batch", "seq", "embedding");
    const mask = causalMask(4, 4);
    const first = handled.call([x, mask]) as NamedArray;
    first.dataArray.dispose();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      const y = handled.call([x, mask]) as NamedArray;
      y.dataArray.dispose();
    }
    expect(tf.memory().numTensors).toBe(baseline);
    disposeTree([model, x, mask]);
  });
});

describe("KVCachingAttention", () => {
  it("fromUncached keeps the five sublayers and requests the end index and an unnamed cache", () => {
    const attention = attentionBlock();
    const cached = KVCachingAttention.fromUncached(attention, {
      sequenceAxis: "seq",
      cacheLen: 8,
      cachedAxes: { batch: 2, heads: HEADS, projection: PROJECTION },
    });
    expect(cached.inputToQuery).toBe(attention.inputToQuery);
    expect(cached.attnValueToOutput).toBe(attention.attnValueToOutput);
    expect(cached.kvCacheEndIndex).toBeInstanceOf(SideInputRequest);
    expect((cached.kvCacheEndIndex as SideInputRequest).tag).toBe("cache_end_index");
    expect(cached.kvCache).toBeInstanceOf(InitialLocalStateRequest);
    expect((cached.kvCache as InitialLocalStateRequest).category).toBe("kv_cache");
    class Subclass extends KVCachingAttention {}
    const positional = Subclass.fromUncached(
      attention,
      "seq",
      8,
      { batch: 2 },
      "end",
      "cache",
      "float32",
    );
    expect(positional).toBeInstanceOf(Subclass);
    expect(positional.kvCacheEndIndex).toBeInstanceOf(SideInputRequest);
    expect((positional.kvCacheEndIndex as SideInputRequest).tag).toBe("end");
    expect(positional.kvCache).toBeInstanceOf(InitialLocalStateRequest);
    expect((positional.kvCache as InitialLocalStateRequest).category).toBe("cache");
  });

  it("gives the same outputs as uncached Attention, token by token", () => {
    const batch = 2;
    const length = 5;
    const cacheLen = 8;
    const model = initializeParameters(attentionBlock(), random.key(4));
    const uncached = WithSideInputsFromInputTuple.handling(model, ["attn_mask"]);
    const x = nx.wrap(
      random.normal(random.key(5), [batch, length, EMBEDDING]),
      "batch",
      "seq",
      "embedding",
    );
    const fullMask = causalMask(length, length);
    const full = uncached.call([x, fullMask]) as NamedArray;
    const expected = values(full, "batch", "seq", "embedding");

    const cachedAttention = KVCachingAttention.fromUncached(model, {
      sequenceAxis: "seq",
      cacheLen,
      cachedAxes: { batch, heads: HEADS, projection: PROJECTION },
    });
    const body = WithSideInputsFromInputTuple.handling(
      WithSideInputsFromInputTuple.handling(cachedAttention, ["attn_mask"]),
      ["cache_end_index"],
    );
    const [stateful, initialStates] = handleLocalStates(body, "kv_cache");
    let states: Record<string, unknown> = initialStates;
    for (let t = 0; t < length; t++) {
      const token = tidy(() =>
        nx.wrap(
          tf.slice(x.dataArray, [0, t, 0], [batch, 1, EMBEDDING]),
          "batch",
          "seq",
          "embedding",
        ),
      );
      const mask = causalMask(1, cacheLen, t);
      const [out, next] = stateful.call([[[token, mask], t], states]) as [
        NamedArray,
        Record<string, unknown>,
      ];
      const got = values(out, "batch", "seq", "embedding");
      for (let b = 0; b < batch; b++) {
        for (let e = 0; e < EMBEDDING; e++) {
          expect(got[b * EMBEDDING + e]).toBeCloseTo(
            expected[(b * length + t) * EMBEDDING + e]!,
            5,
          );
        }
      }
      disposeTree([token, mask, out, states]);
      states = next;
    }
    const [keys] = Object.values(states)[0] as [NamedArray, NamedArray];
    expect(keys.namedShape).toMatchObject({
      batch,
      heads: HEADS,
      projection: PROJECTION,
      seq: cacheLen,
    });
    disposeTree([model, x, fullMask, full, states]);
  });

  it("leaks nothing but the new cache state per step", () => {
    const model = initializeParameters(attentionBlock(), random.key(4));
    const cachedAttention = KVCachingAttention.fromUncached(model, {
      sequenceAxis: "seq",
      cacheLen: 4,
      cachedAxes: { batch: 1, heads: HEADS, projection: PROJECTION },
    });
    const body = WithSideInputsFromInputTuple.handling(
      WithSideInputsFromInputTuple.handling(cachedAttention, ["attn_mask"]),
      ["cache_end_index"],
    );
    const [stateful, initialStates] = handleLocalStates(body, "kv_cache");
    const token = nx.wrap(
      random.normal(random.key(5), [1, 1, EMBEDDING]),
      "batch",
      "seq",
      "embedding",
    );
    const mask = causalMask(1, 4, 0);
    let states: Record<string, unknown> = initialStates;
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      const [out, next] = stateful.call([[[token, mask], i % 4], states]) as [
        NamedArray,
        Record<string, unknown>,
      ];
      out.dataArray.dispose();
      disposeTree(states);
      states = next;
    }
    expect(tf.memory().numTensors).toBe(baseline);
    disposeTree([model, token, mask, states]);
  });
});

describe("KVCachingAttention on error paths", () => {
  it("a call that throws after the cache update keeps the previous cache and leaks nothing", () => {
    const model = initializeParameters(attentionBlock(), random.key(4));
    let fail = false;
    const failing = new Attention({
      inputToQuery: model.inputToQuery,
      inputToKey: model.inputToKey,
      inputToValue: model.inputToValue,
      queryKeyToAttn: model.queryKeyToAttn,
      attnValueToOutput: (argument: unknown) => {
        if (fail) throw new Error("output projection failed");
        return callLayer(model.attnValueToOutput, argument);
      },
    });
    const cacheAxes = ["batch", "heads", "projection", "seq"];
    let state: [NamedArray, NamedArray] = [
      nx.wrap(tf.zeros([1, HEADS, PROJECTION, 4]), ...cacheAxes),
      nx.wrap(tf.zeros([1, HEADS, PROJECTION, 4]), ...cacheAxes),
    ];
    const cached = new KVCachingAttention({
      inputToQuery: failing.inputToQuery,
      inputToKey: failing.inputToKey,
      inputToValue: failing.inputToValue,
      queryKeyToAttn: failing.queryKeyToAttn,
      attnValueToOutput: failing.attnValueToOutput,
      sequenceAxis: "seq",
      kvCacheEndIndex: { ask: () => 1 },
      kvCache: {
        get: () => state,
        set: (next: [NamedArray, NamedArray]) => {
          state = next;
        },
      },
    });
    const body = WithSideInputsFromInputTuple.handling(cached, ["attn_mask"]);
    const token = nx.wrap(
      random.normal(random.key(5), [1, 1, EMBEDDING]),
      "batch",
      "seq",
      "embedding",
    );
    const mask = causalMask(1, 4, 1);
    // A successful call replaces the state with new caches (the caller owns the old ones).
    const before = state;
    const out = body.call([token, mask]) as NamedArray;
    expect(state).not.toBe(before);
    disposeTree([out, before]);
    const kept = state;
    fail = true;
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      expect(() => body.call([token, mask])).toThrow("output projection failed");
    }
    expect(tf.memory().numTensors).toBe(baseline);
    expect(state).toBe(kept);
    expect(state.every((cache) => !cache.dataArray.isDisposed)).toBe(true);
    disposeTree([model, token, mask, state]);
  });

  it("a failed call whose update fills the whole cache leaves the caller's array alive", () => {
    const model = initializeParameters(attentionBlock(), random.key(4));
    const cacheAxes = ["batch", "heads", "projection", "seq"];
    let state: [NamedArray, NamedArray] = [
      nx.wrap(tf.zeros([1, HEADS, PROJECTION, 2]), ...cacheAxes),
      nx.wrap(tf.zeros([1, HEADS, PROJECTION, 2]), ...cacheAxes),
    ];
    const identityKey = (x: NamedArray) => x;
    const cached = new KVCachingAttention({
      inputToQuery: identityKey,
      inputToKey: identityKey,
      inputToValue: identityKey,
      queryKeyToAttn: (argument: unknown) => {
        throw new Error(`stop after the update: ${(argument as unknown[]).length} inputs`);
      },
      attnValueToOutput: model.attnValueToOutput,
      sequenceAxis: "seq",
      kvCacheEndIndex: { ask: () => 0 },
      kvCache: {
        get: () => state,
        set: (next: [NamedArray, NamedArray]) => {
          state = next;
        },
      },
    });
    // The key and value layers return the input itself: a cache built from it must not be it.
    const x = nx.wrap(tf.ones([1, HEADS, PROJECTION, 2]), ...cacheAxes);
    const baseline = tf.memory().numTensors;
    expect(() => cached.call(x)).toThrow("stop after the update: 2 inputs");
    expect(x.dataArray.isDisposed).toBe(false);
    expect(Array.from(x.dataArray.dataSync())).toEqual(new Array(16).fill(1));
    expect(tf.memory().numTensors).toBe(baseline);
    disposeTree([model, x, state]);
  });
});

describe("ApplyAttentionMask input checks", () => {
  const handled = () =>
    WithSideInputsFromInputTuple.handling(ApplyAttentionMask.fromConfig("attn_mask"), [
      "attn_mask",
    ]);

  it("refuses a float mask with a DtypeMismatchError that shows how to build a boolean one", () => {
    const logits = nx.wrap(tf.ones([2, 2]), "seq", "kv_seq");
    const floatMask = nx.wrap(
      tf.tensor2d([
        [1, 0],
        [1, 1],
      ]),
      "seq",
      "kv_seq",
    );
    const baseline = tf.memory().numTensors;
    expect(() => handled().call([logits, floatMask])).toThrow(DtypeMismatchError);
    expect(() => handled().call([logits, floatMask])).toThrow(
      "ApplyAttentionMask: the mask side input must be boolean (true where a query may attend to " +
        'a key), but it has dtype float32 (axes {"seq":2,"kv_seq":2}). Build it from comparisons, ' +
        'e.g. nx.arange("seq", n).ge(nx.arange("kv_seq", n)), or convert it with ' +
        'mask.astype("bool") if nonzero means "attend".',
    );
    expect(tf.memory().numTensors).toBe(baseline);
    disposeTree([logits, floatMask]);
  });

  it("refuses an unnamed boolean tensor, showing how to name its axes", () => {
    const logits = nx.wrap(tf.ones([2, 2]), "seq", "kv_seq");
    const plain = tf.tensor2d(
      [
        [1, 0],
        [1, 1],
      ],
      [2, 2],
      "bool",
    );
    expect(() => handled().call([logits, plain])).toThrow(
      "ApplyAttentionMask: the mask side input must be a boolean NamedArray, but got a tf.Tensor " +
        "of shape [2, 2] (bool). Name its axes so that they line up with the logits, e.g. " +
        'nx.wrap(mask, "seq", "kv_seq").',
    );
    disposeTree([logits, plain]);
  });

  it("refuses a disposed mask with a DisposedTensorError", () => {
    const logits = nx.wrap(tf.ones([2, 2]), "seq", "kv_seq");
    const mask = causalMask(2, 2);
    mask.dataArray.dispose();
    // Through the handler, its checked call finds the disposed side input first ...
    expect(() => handled().call([logits, mask])).toThrow(
      "WithSideInputsFromInputTuple.call: the argument at [1].dataArray is a disposed tensor (bool [2, 2]).",
    );
    // ... and a mask that reaches the layer by another way is refused by the layer itself.
    const direct = new ApplyAttentionMask({ mask: { ask: () => mask }, maskedOutValue: -1 });
    expect(() => direct.call(logits)).toThrow(DisposedTensorError);
    expect(() => direct.call(logits)).toThrow(
      'ApplyAttentionMask mask: the NamedArray {"seq":2,"kv_seq":2} (bool) has been disposed',
    );
    disposeTree([logits]);
  });

  it("still masks with a boolean mask", () => {
    const logits = nx.wrap(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      "seq",
      "kv_seq",
    );
    const mask = causalMask(2, 2);
    const out = handled().call([logits, mask]) as NamedArray;
    expect(values(out, "seq", "kv_seq")).toEqual([1, Math.fround(-2.3819763e38), 3, 4]);
    disposeTree([logits, mask, out]);
  });
});

describe("KVCachingAttention cache update", () => {
  /**
   * A KVCachingAttention whose keys are its input and whose values are the negated input, over
   * caches `{batch: 1, seq: 6}` of zeros; it returns the new key cache.
   */
  function writer(
    end: { value: unknown },
    toKey = (x: NamedArrayBase) => x,
    zeros = () => nx.wrap(tf.zeros([1, 6]), "batch", "seq"),
  ) {
    const state: { caches: [NamedArrayBase, NamedArrayBase] } = { caches: [zeros(), zeros()] };
    const layer = new KVCachingAttention({
      inputToQuery: (x: NamedArray) => x,
      inputToKey: toKey,
      inputToValue: (x: NamedArray) => x.neg(),
      queryKeyToAttn: ([, keys]: [NamedArray, NamedArray]) => keys,
      attnValueToOutput: ([keys]: [NamedArray, NamedArray]) => keys,
      sequenceAxis: "seq",
      kvCacheEndIndex: { ask: () => end.value },
      kvCache: {
        get: () => state.caches,
        set: (next: [NamedArrayBase, NamedArrayBase]) => {
          state.caches = next;
        },
      },
    });
    return { layer, state };
  }

  const tokens = () => nx.wrap(tf.tensor2d([[10, 20]]), "batch", "seq");

  it("writes the new tokens at the end index, clamped so they fit (dynamic_update_slice)", () => {
    const x = tokens();
    const cases: [number, number[]][] = [
      [1, [0, 10, 20, 0, 0, 0]],
      [5, [0, 0, 0, 0, 10, 20]], // 5 + 2 > 6: starts at 6 - 2 = 4
      [-3, [10, 20, 0, 0, 0, 0]], // starts at 0
    ];
    for (const [endIndex, keys] of cases) {
      const { layer, state } = writer({ value: endIndex });
      const initial = state.caches;
      const baseline = tf.memory().numTensors;
      layer.call(x);
      // Two new caches; the output is the new key cache itself.
      expect(tf.memory().numTensors).toBe(baseline + 2);
      expect(values(state.caches[0]!, "batch", "seq")).toEqual(keys);
      expect(values(state.caches[1]!, "batch", "seq")).toEqual(keys.map((k) => (k === 0 ? 0 : -k)));
      expect(values(initial[0]!, "batch", "seq")).toEqual([0, 0, 0, 0, 0, 0]);
      disposeTree([initial, state.caches]);
    }
    disposeTree(x);
  });

  it("writes through named's indexed update (TensorScatterUpdate), not a slice-and-concat or where", async () => {
    const { layer, state } = writer({ value: 2 });
    const x = tokens();
    const initial = state.caches;
    const profile = await tf.profile(() => {
      layer.call(x);
    });
    expect(profile.kernelNames).toContain("TensorScatterUpdate");
    expect(profile.kernelNames).not.toContain("Concat");
    expect(profile.kernelNames).not.toContain("Select");
    expect(values(state.caches[0]!, "batch", "seq")).toEqual([0, 0, 10, 20, 0, 0]);
    disposeTree([x, initial, state.caches]);
  });

  it("matches the update to the cache by axis name, whatever the data order", () => {
    // Cache {heads: 2, seq: 4}; the new keys come as {seq: 1, heads: 2}.
    const zeros = () => nx.wrap(tf.zeros([2, 4]), "heads", "seq");
    const state: { caches: [NamedArrayBase, NamedArrayBase] } = { caches: [zeros(), zeros()] };
    const layer = new KVCachingAttention({
      inputToQuery: (x: NamedArray) => x,
      inputToKey: (x: NamedArray) => x,
      inputToValue: (x: NamedArray) => x.neg(),
      queryKeyToAttn: ([, keys]: [NamedArray, NamedArray]) => keys,
      attnValueToOutput: ([keys]: [NamedArray, NamedArray]) => keys,
      sequenceAxis: "seq",
      kvCacheEndIndex: { ask: () => 3 },
      kvCache: {
        get: () => state.caches,
        set: (next: [NamedArrayBase, NamedArrayBase]) => {
          state.caches = next;
        },
      },
    });
    const x = nx.wrap(tf.tensor2d([[7, 8]]), "seq", "heads");
    const initial = state.caches;
    layer.call(x);
    expect(state.caches[0]!.unwrap("heads", "seq").arraySync()).toEqual([
      [0, 0, 0, 7],
      [0, 0, 0, 8],
    ]);
    expect(state.caches[1]!.unwrap("heads", "seq").arraySync()).toEqual([
      [0, 0, 0, -7],
      [0, 0, 0, -8],
    ]);
    disposeTree([x, initial, state.caches]);
  });

  it("gives an empty update new caches of their own, which outlive the old ones", () => {
    // Sequence axis first: named's update then moves no data, and would hand back the cache itself.
    const seqFirst = () => nx.wrap(tf.zeros([6, 1]), "seq", "batch");
    const { layer, state } = writer({ value: 3 }, (x) => x, seqFirst);
    const x = nx.wrap(tf.zeros([0, 1]), "seq", "batch");
    const initial = state.caches;
    const baseline = tf.memory().numTensors;
    layer.call(x);
    expect(tf.memory().numTensors).toBe(baseline + 2);
    disposeTree(initial);
    expect(values(state.caches[0]!, "batch", "seq")).toEqual([0, 0, 0, 0, 0, 0]);
    expect(values(state.caches[1]!, "batch", "seq")).toEqual([0, 0, 0, 0, 0, 0]);
    disposeTree([x, state.caches]);
  });

  it("refuses new keys without the sequence axis, keeping the cache and leaking nothing", () => {
    const { layer, state } = writer({ value: 1 }, (x) => x.index({ seq: 0 }));
    const x = tokens();
    const initial = state.caches;
    const baseline = tf.memory().numTensors;
    expect(() => layer.call(x)).toThrow(NamedShapeMismatchError);
    expect(() => layer.call(x)).toThrow('have no sequence axis "seq"');
    expect(tf.memory().numTensors).toBe(baseline);
    expect(state.caches).toBe(initial);
    disposeTree([x, initial]);
  });

  it("takes a scalar-tensor end index inside a jit trace without reading it back", () => {
    const baseline = tf.memory().numTensors;
    const end: { value: unknown } = { value: undefined };
    const { layer, state } = writer(end);
    const initial = state.caches;
    const step = jit((x: NamedArray, endIndex: tf.Tensor, k: NamedArrayBase, v: NamedArrayBase) => {
      end.value = endIndex;
      state.caches = [k, v];
      layer.call(x);
      return state.caches;
    });
    const x = tokens();
    const cases: [number, number[]][] = [
      [1, [0, 10, 20, 0, 0, 0]],
      [5, [0, 0, 0, 0, 10, 20]],
      [-3, [10, 20, 0, 0, 0, 0]],
    ];
    for (const [endIndex, keys] of cases) {
      const index = tf.scalar(endIndex, "int32");
      const [k, v] = step(x, index, initial[0]!, initial[1]!);
      expect(values(k!, "batch", "seq")).toEqual(keys);
      expect(values(v!, "batch", "seq")).toEqual(keys.map((key) => (key === 0 ? 0 : -key)));
      disposeTree([index, k, v]);
    }
    step.dispose();
    disposeTree([x, initial]);
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
