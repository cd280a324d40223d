/**
 * A simple decoding loop (penzai's `example_models/gemma/simple_decoding_loop.py`): prefill a
 * padded prompt, then sample one token at a time with a temperature, reusing the KV caches.
 *
 * @module
 */

import {
  arange,
  concatenate,
  full,
  type JitStats,
  jit,
  logSoftmax,
  type NamedArrayBase,
  random,
  slice,
  tidy,
  where,
  wrap,
} from "@saikei/named";
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { ModelConfigError } from "./errors.js";
import {
  KVCachingInputs,
  type KVCachingState,
  type KVCachingTransformerLM,
} from "./samplingMode.js";
import { TransformerInputs, type TransformerLM } from "./transformer.js";

/**
 * What the decoding loop carries between tokens (penzai's `SamplingState`): the KV-cache state,
 * every token so far padded to the cache length along `seq`, and the padding id.
 */
export class SamplingState extends Struct.define(
  {
    kvCacheState: field<KVCachingState>(),
    previousTokens: field<NamedArrayBase>(),
    padId: field<number>(),
  },
  { name: "SamplingState" },
) {
  /** Disposes the caches and the token record. */
  dispose(): void {
    this.kvCacheState.dispose();
    this.previousTokens.dataArray.dispose();
  }
}

function batchNamesOf(x: NamedArrayBase, state: KVCachingState): string[] {
  const names = Object.keys(state.batchAxes);
  for (const n of names) {
    if (x.namedShape[n] !== state.batchAxes[n]) {
      throw new ModelConfigError(
        `Decoding: the tokens have named shape ${JSON.stringify(x.namedShape)}, but the cache was built for batch axes ` +
          `${JSON.stringify(state.batchAxes)}. Build the sampler with the prompt's batch axes.`,
      );
    }
  }
  return names;
}

/**
 * One call of a sampler's body with the cache end index as a tensor (so every position has the
 * same signature under `jit`). With `nextLogProbs`, the new tokens are one per sequence and the
 * result is the log-probabilities of the next token, `{...batch, vocabulary}`; else the logits.
 */
function stepBody(
  model: KVCachingTransformerLM,
  tokens: NamedArrayBase,
  positions: NamedArrayBase,
  mask: NamedArrayBase,
  endIndex: tf.Tensor,
  kvCaches: Record<string, unknown>,
  nextLogProbs: boolean,
): [NamedArrayBase, Record<string, unknown>] {
  const [logits, caches] = model.body.call([[[tokens, positions, mask], endIndex], kvCaches]) as [
    NamedArrayBase,
    Record<string, unknown>,
  ];
  return [nextLogProbs ? lastLogProbs(logits) : logits, caches];
}

/** Log-probabilities `{...batch, vocabulary}` of the logits of one new token per sequence. */
function lastLogProbs(logits: NamedArrayBase): NamedArrayBase {
  return logSoftmax(logits.sum("seq"), "vocabulary");
}

/**
 * A compiled decoding step for {@link prefill}, {@link advanceOneToken} and
 * {@link temperatureSample}: the sampler's body traced by `jit` once per model, batch shape and
 * prompt length, and replayed afterwards. The cache end index goes in as a tensor, so every
 * position replays the same trace. A step can serve many samplers and many calls (each model
 * structure has its own trace); it holds the constants of its traces until {@link DecodingStep.dispose}.
 *
 * @example
 * const step = new DecodingStep();
 * const a = temperatureSample(sampler, state0, promptA, random.key(1), { step });
 * const b = temperatureSample(sampler, state0, promptB, random.key(2), { step }); // replays only
 * step.dispose();
 */
export class DecodingStep {
  private readonly traced = jit(stepBody);

  /** Trace and replay counters (see `jit` in `@saikei/named`). */
  get stats(): Readonly<JitStats> {
    return this.traced.stats;
  }

  /** Frees the constants of the traces; the step stays usable (it traces again). */
  dispose(): void {
    this.traced.dispose();
  }

  /** Runs the step (traced or replayed). Used by the decoding functions. */
  run(...args: Parameters<typeof stepBody>): [NamedArrayBase, Record<string, unknown>] {
    return this.traced(...args);
  }
}

/** Calls the sampler through `step` at `state`'s end index and returns the result and the new state. */
function runStep(
  step: DecodingStep,
  model: KVCachingTransformerLM,
  state: KVCachingState,
  tokens: NamedArrayBase,
  positions: NamedArrayBase,
  mask: NamedArrayBase,
  nextLogProbs: boolean,
): [NamedArrayBase, KVCachingState] {
  const endIndex = tf.scalar(state.cacheEndIndex, "int32");
  let out: NamedArrayBase;
  let kvCaches: Record<string, unknown>;
  try {
    [out, kvCaches] = step.run(
      model,
      tokens,
      positions,
      mask,
      endIndex,
      state.kvCaches,
      nextLogProbs,
    );
  } finally {
    endIndex.dispose();
  }
  return [out, state.advanced(kvCaches, tokens.namedShape.seq!)];
}

/**
 * Runs the prompt through the model and returns the log-probabilities of the next token
 * (`{...batch, vocabulary}`) and the sampling state. Prompts are padded at the end with `padId`;
 * each batch element's next token follows its last non-padding token.
 *
 * @example
 * const [logProbs, state] = prefill(sampler, initialState, prompt, 0);
 */
export function prefill(
  model: KVCachingTransformerLM,
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  padId = 0,
  step?: DecodingStep,
): [NamedArrayBase, SamplingState] {
  const S = prompt.namedShape.seq;
  if (S === undefined) {
    throw new ModelConfigError(
      `prefill: the prompt needs a "seq" axis, but has ${JSON.stringify(prompt.namedShape)}.`,
    );
  }
  if (S > initialState.cacheLen) {
    throw new ModelConfigError(
      `prefill: the prompt has ${S} tokens but the cache holds ${initialState.cacheLen}. Build the sampler with a longer cacheLen.`,
    );
  }
  const batchNames = batchNamesOf(prompt, initialState);
  const positions = tidy(() =>
    arange("seq", initialState.cacheEndIndex, initialState.cacheEndIndex + S),
  );
  const mask = tidy(() => positions.ge(arange("kv_seq", initialState.cacheLen)));
  const [logits, kvCacheState] =
    step === undefined
      ? model.call(
          new KVCachingInputs({
            tokens: prompt,
            positions,
            attentionMask: mask,
            samplingState: initialState,
          }),
        )
      : runStep(step, model, initialState, prompt, positions, mask, false);
  const logProbs = tidy(() => {
    const last = prompt.ne(padId).astype("int32").sum("seq").sub(1);
    const atLast = arange("seq", S).eq(last);
    return logSoftmax(where(atLast, logits, 0).sum("seq"), "vocabulary");
  });
  const previousTokens = tidy(() => {
    const padding = full(
      { ...initialState.batchAxes, seq: initialState.cacheLen - S },
      padId,
      "int32",
    );
    return concatenate([prompt.astype("int32"), padding], "seq").orderAs(...batchNames, "seq");
  });
  for (const t of [positions, mask, logits]) t.dataArray.dispose();
  return [logProbs, new SamplingState({ kvCacheState, previousTokens, padId })];
}

/**
 * Feeds one sampled token per batch element (`{...batch}`) and returns the next log-probabilities
 * and the new state. Positions count only non-padding tokens, and padding slots are masked out.
 * The old state is left as it was.
 */
export function advanceOneToken(
  model: KVCachingTransformerLM,
  state: SamplingState,
  nextToken: NamedArrayBase,
  step?: DecodingStep,
): [NamedArrayBase, SamplingState] {
  const kv = state.kvCacheState;
  const index = kv.cacheEndIndex;
  if (index >= kv.cacheLen) {
    throw new ModelConfigError(`advanceOneToken: the cache is full (${kv.cacheLen} positions).`);
  }
  const batchNames = batchNamesOf(nextToken, kv);
  // The bookkeeping is a few hundred integers: computing it on the host takes four small tensor
  // uploads instead of a dozen kernels per token.
  const batchSizes = batchNames.map((n) => kv.batchAxes[n]!);
  const rows = batchSizes.reduce((a, b) => a * b, 1);
  const L = kv.cacheLen;
  const pad = state.padId;
  const next = nextToken.astype("int32");
  const nextValues = next.unwrap(...batchNames).dataSync();
  if (next !== nextToken) next.dataArray.dispose();
  const history = Int32Array.from(state.previousTokens.unwrap(...batchNames, "seq").dataSync());
  const queryPositions = new Int32Array(rows);
  const maskValues = new Uint8Array(rows * L);
  for (let r = 0; r < rows; r++) {
    history[r * L + index] = nextValues[r]!;
    // Positions count non-padding tokens only: a token's position is how many precede it.
    const keyPositions = new Int32Array(L);
    let count = 0;
    for (let j = 0; j < L; j++) {
      keyPositions[j] = count;
      if (history[r * L + j] !== pad) count++;
    }
    const query = keyPositions[index]!;
    queryPositions[r] = query;
    for (let j = 0; j < L; j++) {
      maskValues[r * L + j] = Number(history[r * L + j] !== pad && keyPositions[j]! <= query);
    }
  }
  const previousTokens = wrap(
    tf.tensor(history, [...batchSizes, L], "int32"),
    ...batchNames,
    "seq",
  );
  const tokens = wrap(
    tf.tensor(Int32Array.from(nextValues), [...batchSizes, 1], "int32"),
    ...batchNames,
    "seq",
  );
  const positions = wrap(
    tf.tensor(queryPositions, [...batchSizes, 1], "int32"),
    ...batchNames,
    "seq",
  );
  const mask = wrap(
    tf.tensor(maskValues, [...batchSizes, 1, L], "bool"),
    ...batchNames,
    "seq",
    "kv_seq",
  );
  let logProbs: NamedArrayBase;
  let kvCacheState: KVCachingState;
  if (step === undefined) {
    let logits: NamedArrayBase;
    [logits, kvCacheState] = model.call(
      new KVCachingInputs({ tokens, positions, attentionMask: mask, samplingState: kv }),
    );
    logProbs = tidy(() => lastLogProbs(logits));
    logits.dataArray.dispose();
  } else {
    [logProbs, kvCacheState] = runStep(step, model, kv, tokens, positions, mask, true);
  }
  for (const t of [tokens, positions, mask]) t.dataArray.dispose();
  return [logProbs, new SamplingState({ kvCacheState, previousTokens, padId: state.padId })];
}

/** Options of {@link temperatureSample}. */
export interface SampleOptions {
  /** Padding id of the prompt; default 0. */
  padId?: number;
  /** Softmax temperature; 0 picks the most likely token. Default 1. */
  temperature?: number;
  /** At most this many tokens are sampled; default the cache length. */
  maxSamplingSteps?: number;
  /**
   * Whether the model runs through a {@link DecodingStep} (traced once, then replayed). Default
   * true; false runs every layer eagerly (same tokens, slower).
   */
  jit?: boolean;
  /**
   * The step to run the model with, kept by the caller for many calls (the prompt and every token
   * then replay traces made by earlier calls). Without it, a call with `jit` builds a step for its
   * tokens and disposes it at the end, and runs the prompt eagerly.
   */
  step?: DecodingStep;
}

function sampleToken(
  key: random.RandomKey,
  logProbs: NamedArrayBase,
  batchNames: string[],
  temperature: number,
): NamedArrayBase {
  return tidy(() => {
    const logits = logProbs.unwrap(...batchNames, "vocabulary");
    const token =
      temperature === 0
        ? tf.cast(tf.argMax(logits, logits.rank - 1), "int32")
        : random.categorical(key, tf.div(logits, temperature), logits.rank - 1);
    return wrap(token, ...batchNames);
  });
}

/**
 * Samples a continuation of `prompt` (penzai's `temperature_sample_pyloop`): prefill, then draw
 * one token at a time from `softmax(logProbs / temperature)` with a key split from `key`, until
 * `maxSamplingSteps` tokens are drawn or the cache is full. Returns the sampled tokens
 * `{...batch, seq}`. The initial state is not disposed; every intermediate state is.
 *
 * @example
 * const tokens = temperatureSample(sampler, state0, prompt, random.key(1), { maxSamplingSteps: 12 });
 */
export function temperatureSample(
  model: KVCachingTransformerLM,
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  key: random.RandomKey,
  options: SampleOptions = {},
): NamedArrayBase {
  const padId = options.padId ?? 0;
  const temperature = options.temperature ?? 1;
  const maxSteps = options.maxSamplingSteps ?? initialState.cacheLen;
  const batchNames = batchNamesOf(prompt, initialState);
  const ownStep = options.step === undefined && (options.jit ?? true);
  const step = options.step ?? (ownStep ? new DecodingStep() : undefined);
  let [logProbs, state] = prefill(model, initialState, prompt, padId, options.step);
  const sampled: NamedArrayBase[] = [];
  let rng = key;
  try {
    for (;;) {
      const [nextRng, stepKey] = random.split(rng);
      rng = nextRng!;
      const next = sampleToken(stepKey!, logProbs, batchNames, temperature);
      logProbs.dataArray.dispose();
      sampled.push(next);
      if (
        sampled.length >= maxSteps ||
        state.kvCacheState.cacheEndIndex >= state.kvCacheState.cacheLen
      )
        break;
      const [nextLogProbs, nextState] = advanceOneToken(model, state, next, step);
      state.previousTokens.dataArray.dispose();
      if (state.kvCacheState !== initialState) state.kvCacheState.dispose();
      logProbs = nextLogProbs;
      state = nextState;
    }
  } finally {
    if (ownStep) step?.dispose();
  }
  const result = tidy(() =>
    concatenate(
      sampled.map((t) =>
        wrap(tf.expandDims(t.unwrap(...batchNames), batchNames.length), ...batchNames, "seq"),
      ),
      "seq",
    ).orderAs(...batchNames, "seq"),
  );
  for (const t of sampled) t.dataArray.dispose();
  state.previousTokens.dataArray.dispose();
  if (state.kvCacheState !== initialState) state.kvCacheState.dispose();
  return result;
}

/**
 * Samples like {@link temperatureSample} but recomputes the whole sequence with the uncached model
 * at every step (no KV cache). Used to check the cached loop and as the benchmark baseline; the
 * prompt must not contain padding.
 */
export function temperatureSampleUncached(
  model: TransformerLM,
  prompt: NamedArrayBase,
  key: random.RandomKey,
  options: { temperature?: number; maxSamplingSteps: number },
): NamedArrayBase {
  const temperature = options.temperature ?? 1;
  const batchNames = Object.keys(prompt.namedShape).filter((n) => n !== "seq");
  let tokens = tidy(() => prompt.astype("int32").orderAs(...batchNames, "seq"));
  const S = prompt.namedShape.seq!;
  let rng = key;
  for (let step = 0; step < options.maxSamplingSteps; step++) {
    const inputs = TransformerInputs.fromBasicSegments(tokens);
    const logits = model.call(inputs);
    const n = tokens.namedShape.seq!;
    const logProbs = tidy(() => logSoftmax(logits.index({ seq: n - 1 }), "vocabulary"));
    const [nextRng, stepKey] = random.split(rng);
    rng = nextRng!;
    const next = sampleToken(stepKey!, logProbs, batchNames, temperature);
    const grown = tidy(() =>
      concatenate(
        [
          tokens,
          wrap(tf.expandDims(next.unwrap(...batchNames), batchNames.length), ...batchNames, "seq"),
        ],
        "seq",
      ),
    );
    for (const t of [inputs.positions, inputs.attentionMask, logits, logProbs, next]) {
      t.dataArray.dispose();
    }
    // The first `tokens` may share the prompt's tensor (astype/orderAs can return their input).
    if (tokens.dataArray !== prompt.dataArray) tokens.dataArray.dispose();
    tokens = grown;
  }
  const result = tidy(() => tokens.index({ seq: slice(S, null) }).orderAs(...batchNames, "seq"));
  if (tokens.dataArray !== prompt.dataArray) tokens.dataArray.dispose();
  return result;
}
