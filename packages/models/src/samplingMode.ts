/**
 * Sampling mode for {@link TransformerLM} (penzai's `example_models/gemma/sampling_mode.py`): every
 * attention block becomes a `KVCachingAttention`, the caches are local state, and the cache end
 * index is a side input.
 *
 * @module
 */

import {
  handleLocalStates,
  type WithFunctionalLocalState,
  WithSideInputsFromInputTuple,
} from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import { arange, type NamedArrayBase, tidy } from "@saikei/named";
import { KVCachingAttention } from "@saikei/nn";
import { select } from "@saikei/select";
import { Wildcard } from "@saikei/shapecheck";
import { field, Struct, tree } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { ModelConfigError } from "./errors.js";
import {
  kvAxes,
  TransformerAttention,
  type TransformerConfig,
  type TransformerLM,
} from "./transformer.js";

/**
 * The state of a KV-cached model between calls (penzai's `GemmaKVCachingState`): the caches of
 * every attention block, by state name, and how many positions are filled.
 *
 * The caches are tensors that outlive calls; {@link KVCachingState.dispose} frees them.
 */
export class KVCachingState extends Struct.define(
  {
    cacheLen: field<number>({ static: true }),
    batchAxes: field<Readonly<Record<string, number>>>({ static: true }),
    kvCaches: field<Record<string, unknown>>(),
    cacheEndIndex: field<number>(),
  },
  { name: "KVCachingState" },
) {
  /** The state after `count` more positions were written, with the caches that hold them. */
  advanced(kvCaches: Record<string, unknown>, count: number): KVCachingState {
    return new KVCachingState({
      cacheLen: this.cacheLen,
      batchAxes: this.batchAxes,
      kvCaches,
      cacheEndIndex: this.cacheEndIndex + count,
    });
  }

  /** Disposes every tensor of the caches. */
  dispose(): void {
    for (const leaf of tree.leaves(this.kvCaches)) {
      if (leaf instanceof tf.Tensor && !leaf.isDisposed) leaf.dispose();
    }
  }
}

/**
 * Inputs of a {@link KVCachingTransformerLM} (penzai's `GemmaKVCachingInputs`): new tokens, their
 * positions, a mask `{seq, kv_seq: cacheLen}` and the state to continue from.
 */
export class KVCachingInputs extends Struct.define(
  {
    tokens: field<NamedArrayBase>(),
    positions: field<NamedArrayBase>(),
    attentionMask: field<NamedArrayBase>(),
    samplingState: field<KVCachingState>(),
  },
  { name: "KVCachingInputs" },
) {
  /**
   * Inputs for tokens that continue every batch element's sequence without padding: positions
   * `cacheEndIndex + 0..S-1`, each attending to every earlier cache slot. The caller owns the
   * returned position and mask tensors.
   */
  static fromBasicSubsegments(tokens: NamedArrayBase, state: KVCachingState): KVCachingInputs {
    const S = tokens.namedShape.seq;
    if (S === undefined) {
      throw new ModelConfigError(
        `KVCachingInputs.fromBasicSubsegments: tokens need a "seq" axis, but have ${JSON.stringify(tokens.namedShape)}.`,
      );
    }
    const positions = tidy(() => arange("seq", state.cacheEndIndex, state.cacheEndIndex + S));
    const attentionMask = tidy(() => positions.ge(arange("kv_seq", state.cacheLen)));
    return new KVCachingInputs({ tokens, positions, attentionMask, samplingState: state });
  }
}

/**
 * A {@link TransformerLM} in sampling mode (penzai's `GemmaKVCachingTransformer`). Its body is
 * `WithFunctionalLocalState(WithSideInputsFromInputTuple(<original body with cached attention>,
 * ["cache_end_index"]))`.
 *
 * @example
 * const [sampler, state0] = KVCachingTransformerLM.fromUncached(model, 64, { batch: 2 });
 * const [logits, state1] = sampler.call(KVCachingInputs.fromBasicSubsegments(prompt, state0));
 */
export class KVCachingTransformerLM extends Layer.define(
  {
    config: field<TransformerConfig>({ static: true }),
    body: field<WithFunctionalLocalState>(),
  },
  { name: "KVCachingTransformerLM" },
) {
  /**
   * Converts an uncached model (sharing its parameters) and builds the initial state: zero caches
   * `{...batchAxes, ...kvAxes, seq: cacheLen}` for every attention block, end index 0.
   *
   * @param cacheLen number of positions the caches hold.
   * @param batchAxes the batch axes of the tokens that will be fed, with their sizes.
   */
  static fromUncached(
    uncached: TransformerLM,
    cacheLen: number,
    batchAxes: Readonly<Record<string, number>>,
  ): [KVCachingTransformerLM, KVCachingState] {
    if (!Number.isInteger(cacheLen) || cacheLen <= 0) {
      throw new ModelConfigError(
        `KVCachingTransformerLM.fromUncached: cacheLen must be a positive integer, got ${cacheLen}.`,
      );
    }
    const cachedAxes = { ...batchAxes, ...kvAxes(uncached.config) };
    const cachingBody = select(uncached.body)
      .atInstancesOf(TransformerAttention)
      .apply((attention) =>
        KVCachingAttention.fromUncached(attention, {
          sequenceAxis: "seq",
          cacheLen,
          cachedAxes,
          cacheEndIndexTag: "cache_end_index",
          stateCategory: "kv_cache",
          cacheDtype: uncached.config.activationDtype ?? "float32",
        }),
      );
    const [body, initialStates] = handleLocalStates(
      WithSideInputsFromInputTuple.handling(cachingBody, ["cache_end_index"]),
      "kv_cache",
    );
    const model = new KVCachingTransformerLM({ config: uncached.config, body });
    const state = new KVCachingState({
      cacheLen,
      batchAxes: Object.freeze({ ...batchAxes }),
      kvCaches: initialStates,
      cacheEndIndex: 0,
    });
    return [model, state];
  }

  /** Inputs must be {@link KVCachingInputs}. */
  inputStructure(): unknown {
    return new KVCachingInputs({
      tokens: new Wildcard({ description: "tokens" }) as any,
      positions: new Wildcard({ description: "positions" }) as any,
      attentionMask: new Wildcard({ description: "attention mask" }) as any,
      samplingState: new Wildcard({ description: "KVCachingState" }) as any,
    });
  }

  /** Logits and the updated state. */
  outputStructure(): unknown {
    return [
      new Wildcard({ description: "unnormalized logits" }),
      new Wildcard({ description: "updated KVCachingState" }),
    ];
  }

  /**
   * Runs the new tokens against the caches. Returns the logits `{...batch, seq, vocabulary}` and
   * a new state whose caches are new tensors; the old state is left as it was (dispose it when it is
   * no longer needed).
   */
  @checkedLayerCall
  call(inputs: KVCachingInputs): [NamedArrayBase, KVCachingState] {
    const state = inputs.samplingState;
    const S = inputs.tokens.namedShape.seq;
    if (S === undefined) {
      throw new ModelConfigError(
        `KVCachingTransformerLM: tokens need a "seq" axis, but have ${JSON.stringify(inputs.tokens.namedShape)}.`,
      );
    }
    const [logits, kvCaches] = this.body.call([
      [[inputs.tokens, inputs.positions, inputs.attentionMask], state.cacheEndIndex],
      state.kvCaches,
    ]) as [NamedArrayBase, Record<string, unknown>];
    return [logits, state.advanced(kvCaches, S)];
  }
}
