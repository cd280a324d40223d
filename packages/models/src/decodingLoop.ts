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
import { checkOptions, field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { ModelConfigError } from "./errors.js";
import {
  KVCachingInputs,
  type KVCachingState,
  type KVCachingTransformerLM,
} from "./samplingMode.js";
import { driveAsync, driveSync } from "./stepDriver.js";
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

/**
 * One run of the sampler's body that a decoding function asks for: `tokens` at the cache end
 * index of `state`, with their positions and attention mask; `nextLogProbs` as in `stepBody`.
 */
interface StepRequest {
  readonly state: KVCachingState;
  readonly tokens: NamedArrayBase;
  readonly positions: NamedArrayBase;
  readonly mask: NamedArrayBase;
  readonly nextLogProbs: boolean;
}

/** The result of a {@link StepRequest}: logits or log-probabilities, and the advanced state. */
type StepResult = [NamedArrayBase, KVCachingState];

/**
 * A decoding function written once for every engine: it yields the runs of the model it needs and
 * receives their results (driven by `stepDriver.ts`: on tfjs or on an engine).
 */
type Decoding<R> = Generator<StepRequest, R, StepResult>;

/**
 * What a {@link DecodingEngine} is asked to run: the sampler's body as a function of tensors only
 * (`fn(...args)`, traceable: no host reads), for `model` (the same object for every token of a
 * call, so an engine can keep what it compiled for it).
 */
export interface DecodingEngineCall {
  readonly model: KVCachingTransformerLM;
  /** Whether the result is next-token log-probabilities (one token per sequence) or logits. */
  readonly nextLogProbs: boolean;
  readonly fn: (
    tokens: NamedArrayBase,
    positions: NamedArrayBase,
    mask: NamedArrayBase,
    endIndex: tf.Tensor,
    kvCaches: Record<string, unknown>,
  ) => [NamedArrayBase, Record<string, unknown>];
  readonly args: [
    tokens: NamedArrayBase,
    positions: NamedArrayBase,
    mask: NamedArrayBase,
    endIndex: tf.Tensor,
    kvCaches: Record<string, unknown>,
  ];
}

/**
 * Runs decoding steps on another engine than tfjs (for example onnxruntime, through
 * `decodingEngine()` of `@saikei/onnx`): given a step, it returns what `call.fn(...call.args)`
 * returns, as new arrays the caller owns. Passed as `{ engine }` to {@link temperatureSample},
 * which then returns a promise.
 */
export interface DecodingEngine {
  run(call: DecodingEngineCall): Promise<[NamedArrayBase, Record<string, unknown>]>;
}

/** Calls the sampler through `step` (traced, replayed) or eagerly (`step` undefined). */
function runSync(
  model: KVCachingTransformerLM,
  step: DecodingStep | undefined,
  request: StepRequest,
): StepResult {
  const { state, tokens, positions, mask, nextLogProbs } = request;
  if (step === undefined) {
    const [logits, next] = model.call(
      new KVCachingInputs({ tokens, positions, attentionMask: mask, samplingState: state }),
    );
    if (!nextLogProbs) return [logits, next];
    const logProbs = tidy(() => lastLogProbs(logits));
    logits.dataArray.dispose();
    return [logProbs, next];
  }
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

/** Calls the sampler on `engine`. */
async function runOnEngine(
  model: KVCachingTransformerLM,
  engine: DecodingEngine,
  request: StepRequest,
): Promise<StepResult> {
  const { state, tokens, positions, mask, nextLogProbs } = request;
  const endIndex = tf.scalar(state.cacheEndIndex, "int32");
  let out: NamedArrayBase;
  let kvCaches: Record<string, unknown>;
  try {
    [out, kvCaches] = await engine.run({
      model,
      nextLogProbs,
      fn: (t, p, m, e, kv) => stepBody(model, t, p, m, e, kv, nextLogProbs),
      args: [tokens, positions, mask, endIndex, state.kvCaches],
    });
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
  return driveSync(prefillSteps(initialState, prompt, padId), (r) => runSync(model, step, r));
}

/**
 * {@link prefill} on another engine (see {@link DecodingEngine}); resolves to the same pair.
 *
 * @example
 * const [logProbs, state] = await prefillOnEngine(sampler, initialState, prompt, 0, engine);
 */
export function prefillOnEngine(
  model: KVCachingTransformerLM,
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  padId: number,
  engine: DecodingEngine,
): Promise<[NamedArrayBase, SamplingState]> {
  return driveAsync(prefillSteps(initialState, prompt, padId), (r) =>
    runOnEngine(model, engine, r),
  );
}

function* prefillSteps(
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  padId: number,
): Decoding<[NamedArrayBase, SamplingState]> {
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
  let logits: NamedArrayBase;
  let kvCacheState: KVCachingState;
  try {
    [logits, kvCacheState] = yield {
      state: initialState,
      tokens: prompt,
      positions,
      mask,
      nextLogProbs: false,
    };
  } catch (error) {
    for (const t of [positions, mask]) t.dataArray.dispose();
    throw error;
  }
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
  return driveSync(advanceSteps(state, nextToken), (r) => runSync(model, step, r));
}

/**
 * {@link advanceOneToken} on another engine (see {@link DecodingEngine}); resolves to the same pair.
 *
 * @example
 * const [logProbs, next] = await advanceOneTokenOnEngine(sampler, state, token, engine);
 */
export function advanceOneTokenOnEngine(
  model: KVCachingTransformerLM,
  state: SamplingState,
  nextToken: NamedArrayBase,
  engine: DecodingEngine,
): Promise<[NamedArrayBase, SamplingState]> {
  return driveAsync(advanceSteps(state, nextToken), (r) => runOnEngine(model, engine, r));
}

function* advanceSteps(
  state: SamplingState,
  nextToken: NamedArrayBase,
): Decoding<[NamedArrayBase, SamplingState]> {
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
  try {
    [logProbs, kvCacheState] = yield { state: kv, tokens, positions, mask, nextLogProbs: true };
  } catch (error) {
    previousTokens.dataArray.dispose();
    throw error;
  } finally {
    for (const t of [tokens, positions, mask]) t.dataArray.dispose();
  }
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
  /**
   * Runs every model call of the sampling (prompt and tokens) on another engine, such as
   * onnxruntime (`decodingEngine()` of `@saikei/onnx`); `temperatureSample` then returns a promise.
   * Tokens are the same as on tfjs for the same key, up to the engines' rounding.
   */
  engine?: DecodingEngine;
}

const SAMPLE_OPTIONS = ["padId", "temperature", "maxSamplingSteps", "jit", "step", "engine"];

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
  options: SampleOptions & { engine: DecodingEngine },
): Promise<NamedArrayBase>;
export function temperatureSample(
  model: KVCachingTransformerLM,
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  key: random.RandomKey,
  options?: SampleOptions & { engine?: undefined },
): NamedArrayBase;
export function temperatureSample(
  model: KVCachingTransformerLM,
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  key: random.RandomKey,
  options: SampleOptions = {},
): NamedArrayBase | Promise<NamedArrayBase> {
  checkOptions("temperatureSample", options, SAMPLE_OPTIONS);
  const engine = options.engine;
  if (engine !== undefined) {
    if (typeof (engine as Partial<DecodingEngine>)?.run !== "function") {
      throw new ModelConfigError(
        "temperatureSample: engine must be a DecodingEngine (an object with run(call)), such as decodingEngine() of @saikei/onnx.",
      );
    }
    return driveAsync(sampleSteps(initialState, prompt, key, options), (r) =>
      runOnEngine(model, engine, r),
    );
  }
  const ownStep = options.step === undefined && (options.jit ?? true);
  const step = options.step ?? (ownStep ? new DecodingStep() : undefined);
  // Without a step of the caller's, the prompt runs eagerly: a step built here would trace it once.
  try {
    return driveSync(sampleSteps(initialState, prompt, key, options), (r) =>
      runSync(model, r.nextLogProbs || options.step !== undefined ? step : undefined, r),
    );
  } finally {
    if (ownStep) step?.dispose();
  }
}

function* sampleSteps(
  initialState: KVCachingState,
  prompt: NamedArrayBase,
  key: random.RandomKey,
  options: SampleOptions,
): Decoding<NamedArrayBase> {
  const padId = options.padId ?? 0;
  const temperature = options.temperature ?? 1;
  const maxSteps = options.maxSamplingSteps ?? initialState.cacheLen;
  const batchNames = batchNamesOf(prompt, initialState);
  let [logProbs, state] = yield* prefillSteps(initialState, prompt, padId);
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
      const [nextLogProbs, nextState] = yield* advanceSteps(state, next);
      state.previousTokens.dataArray.dispose();
      if (state.kvCacheState !== initialState) state.kvCacheState.dispose();
      logProbs = nextLogProbs;
      state = nextState;
    }
  } catch (error) {
    for (const t of sampled) t.dataArray.dispose();
    state.previousTokens.dataArray.dispose();
    if (state.kvCacheState !== initialState) state.kvCacheState.dispose();
    throw error;
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
