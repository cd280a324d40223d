/**
 * Text generation with a loaded model: tokenize, prefill the KV caches with the prompt, then
 * sample one token at a time (greedy at temperature 0) until EOS or the token budget.
 *
 * @module
 */

import { type NamedArrayBase, random, tidy, wrap } from "@saikei/named";
import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import {
  advanceOneToken,
  advanceOneTokenOnEngine,
  type DecodingEngine,
  DecodingStep,
  prefill,
  prefillOnEngine,
  type SamplingState,
} from "./decodingLoop.js";
import { ModelConfigError, TokenizerError } from "./errors.js";
import { KVCachingTransformerLM } from "./samplingMode.js";
import { driveAsync, driveSync } from "./stepDriver.js";
import type { PretrainedTokenizer } from "./tokenizer.js";
import { TransformerLM } from "./transformer.js";

/** Options of {@link generate} and {@link generateTokens}. */
export interface GenerateOptions {
  /** At most this many new tokens (default 32). */
  maxNewTokens?: number;
  /** Softmax temperature; 0 (the default) picks the most likely token every time. */
  temperature?: number;
  /** Seed of the sampling keys (default 0); the same seed gives the same text. */
  seed?: number;
  /**
   * Token ids that end generation (the EOS token is kept in {@link generateTokens}' result, and
   * left out of {@link generate}'s text). Default: the model's `eos_token_id` from `config.json`
   * and the tokenizer's EOS token.
   */
  eosTokenIds?: readonly number[];
  /**
   * A decoding step kept by the caller across calls (see {@link DecodingStep}): the prompt and every
   * token then replay traces made by earlier calls of the same prompt length. Without it, each call
   * traces its own step and disposes it at the end.
   */
  step?: DecodingStep;
  /**
   * Runs every model call on another engine (for example `pz.onnx.decodingEngine()` on
   * onnxruntime); the functions then return promises. The tokens are those of the tfjs path for
   * the same seed, up to the engines' rounding. Not with `step`.
   */
  engine?: DecodingEngine;
}

const OPTION_KEYS = ["maxNewTokens", "temperature", "seed", "eosTokenIds", "step", "engine"];

/** A model run the generation loop asks for: the prompt, or one more token after `state`. */
type LoopRequest =
  | { readonly prompt: NamedArrayBase }
  | { readonly state: SamplingState; readonly token: NamedArrayBase };

/** The generation loop, written once; {@link generateTokens} drives it on tfjs or on an engine. */
type TokenLoop = Generator<LoopRequest, number[], [NamedArrayBase, SamplingState]>;

/** The EOS ids a loaded model declares in its `config.json` (`eos_token_id`, a number or a list). */
function configuredEosIds(model: TransformerLM): number[] {
  const declared = model.config.huggingFaceConfig?.eos_token_id;
  const list = Array.isArray(declared) ? declared : [declared];
  return list.filter((v): v is number => Number.isInteger(v));
}

function checkGenerateOptions(
  where: string,
  options: GenerateOptions,
): Required<Omit<GenerateOptions, "eosTokenIds" | "step" | "engine">> {
  checkOptions(where, options, OPTION_KEYS);
  const maxNewTokens = options.maxNewTokens ?? 32;
  const temperature = options.temperature ?? 0;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) {
    throw new ModelConfigError(
      `${where}: maxNewTokens must be a positive integer, got ${maxNewTokens}.`,
    );
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new ModelConfigError(
      `${where}: temperature must be a finite number ≥ 0, got ${temperature}.`,
    );
  }
  if (!Number.isInteger(seed))
    throw new ModelConfigError(`${where}: seed must be an integer, got ${seed}.`);
  return { maxNewTokens, temperature, seed };
}

function pickToken(key: random.RandomKey, logProbs: NamedArrayBase, temperature: number): number {
  const next = tidy(() => {
    const logits = logProbs.unwrap("batch", "vocabulary");
    return temperature === 0
      ? tf.argMax(logits, 1)
      : random.categorical(key, tf.div(logits, temperature), 1);
  }) as unknown as tf.Tensor;
  try {
    return next.dataSync()[0]!;
  } finally {
    next.dispose();
  }
}

/**
 * Continues `promptIds` with a KV-cached loop and returns the new token ids (at most
 * `maxNewTokens`, ending with the EOS token when one was produced). Leaves no tensors behind.
 *
 * @throws ModelConfigError for an empty prompt, bad options, or a prompt plus budget longer than
 *   a learned position table (GPT-2's `n_positions`).
 * @example
 * generateTokens(model, [1, 22172], { maxNewTokens: 4 }); // [3186, 29991, 2, ...]
 */
export function generateTokens(
  model: TransformerLM,
  promptIds: readonly number[],
  options: GenerateOptions & { engine: DecodingEngine },
): Promise<number[]>;
export function generateTokens(
  model: TransformerLM,
  promptIds: readonly number[],
  options?: GenerateOptions & { engine?: undefined },
): number[];
export function generateTokens(
  model: TransformerLM,
  promptIds: readonly number[],
  options: GenerateOptions = {},
): number[] | Promise<number[]> {
  const where = "generateTokens";
  const { maxNewTokens, temperature, seed } = checkGenerateOptions(where, options);
  if (!(model instanceof TransformerLM)) {
    throw new ModelConfigError(
      `${where}: expected a TransformerLM (from loadPretrained or TransformerLM.fromConfig).`,
    );
  }
  if (promptIds.length === 0) {
    throw new ModelConfigError(
      `${where}: the prompt has no tokens. Give at least one (a tokenizer that adds BOS gives one even for "").`,
    );
  }
  const vocab = model.config.vocabSize;
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new ModelConfigError(
        `${where}: prompt token ${id} is outside the vocabulary [0, ${vocab}).`,
      );
    }
  }
  const cacheLen = promptIds.length + maxNewTokens;
  const limit =
    model.config.positionEmbedding === "learned"
      ? model.config.maxPositions!
      : Number.POSITIVE_INFINITY;
  if (cacheLen > limit) {
    throw new ModelConfigError(
      `${where}: the prompt (${promptIds.length} tokens) plus maxNewTokens (${maxNewTokens}) is ${cacheLen} positions, ` +
        `more than the model's ${limit} learned positions. Shorten the prompt or lower maxNewTokens.`,
    );
  }
  const eos = new Set(options.eosTokenIds ?? configuredEosIds(model));
  if (options.step !== undefined && !(options.step instanceof DecodingStep)) {
    throw new ModelConfigError(`${where}: step must be a DecodingStep (new DecodingStep()).`);
  }
  const engine = options.engine;
  if (engine !== undefined) {
    if (typeof (engine as Partial<DecodingEngine>)?.run !== "function") {
      throw new ModelConfigError(
        `${where}: engine must be a DecodingEngine (an object with run(call)), such as decodingEngine() of @saikei/onnx.`,
      );
    }
    if (options.step !== undefined) {
      throw new ModelConfigError(
        `${where}: give step (a tfjs trace) or engine, not both: an engine keeps its own compiled steps.`,
      );
    }
  }
  const [sampler, initial] = KVCachingTransformerLM.fromUncached(model, cacheLen, { batch: 1 });
  const prompt = wrap(
    tf.tensor2d([promptIds.slice()], [1, promptIds.length], "int32"),
    "batch",
    "seq",
  );
  const loop = tokenLoop(eos, maxNewTokens, temperature, seed, prompt);
  const release = () => {
    initial.dispose();
    prompt.dataArray.dispose();
  };
  // Padding id -1 never matches a real token, so every prompt token counts.
  if (engine !== undefined) {
    return driveAsync(loop, (r) =>
      "prompt" in r
        ? prefillOnEngine(sampler, initial, r.prompt, -1, engine)
        : advanceOneTokenOnEngine(sampler, r.state, r.token, engine),
    ).finally(release);
  }
  const ownStep = options.step === undefined;
  const step = options.step ?? new DecodingStep();
  try {
    return driveSync(loop, (r) =>
      "prompt" in r
        ? prefill(sampler, initial, r.prompt, -1, ownStep ? undefined : step)
        : advanceOneToken(sampler, r.state, r.token, step),
    );
  } finally {
    release();
    if (ownStep) step.dispose();
  }
}

/**
 * Prefills with the prompt, then picks a token and asks for the next log-probabilities until EOS
 * or `maxNewTokens`; disposes every state and log-probability array it received, also when a run
 * throws into it.
 */
function* tokenLoop(
  eos: ReadonlySet<number>,
  maxNewTokens: number,
  temperature: number,
  seed: number,
  prompt: NamedArrayBase,
): TokenLoop {
  const out: number[] = [];
  let state: SamplingState | undefined;
  let logProbs: NamedArrayBase | undefined;
  let rng = random.key(seed);
  try {
    [logProbs, state] = yield { prompt };
    for (;;) {
      const [nextRng, stepKey] = random.split(rng);
      rng = nextRng!;
      const token = pickToken(stepKey!, logProbs, temperature);
      out.push(token);
      if (eos.has(token) || out.length >= maxNewTokens) break;
      const next = wrap(tf.tensor1d([token], "int32"), "batch");
      let advanced: [NamedArrayBase, SamplingState];
      try {
        advanced = yield { state, token: next };
      } finally {
        next.dataArray.dispose();
      }
      logProbs.dataArray.dispose();
      state.dispose();
      [logProbs, state] = advanced;
    }
  } finally {
    logProbs?.dataArray.dispose();
    state?.dispose();
  }
  return out;
}

/**
 * Generates a continuation of `prompt`: encodes it with the tokenizer (with its BOS), samples with
 * a KV cache until EOS or `maxNewTokens`, and decodes the new tokens (special tokens left out).
 *
 * @param model a loaded (or built) `TransformerLM`.
 * @param tokenizer the model's tokenizer.
 * @param prompt the text to continue.
 * @param options `maxNewTokens` (default 32), `temperature` (default 0: greedy), `seed` (default 0),
 *   `eosTokenIds`, `step`, `engine`.
 * @returns the generated text (without the prompt); a promise of it with `engine`.
 * @throws TokenizerError without a tokenizer; ModelConfigError as {@link generateTokens}.
 * @example
 * const { model, tokenizer } = await loadPretrained("gpt2");
 * generate(model, tokenizer!, "Hello, my name is", { maxNewTokens: 10 }); // " John. I'm a ..."
 */
export function generate(
  model: TransformerLM,
  tokenizer: PretrainedTokenizer,
  prompt: string,
  options: GenerateOptions & { engine: DecodingEngine },
): Promise<string>;
export function generate(
  model: TransformerLM,
  tokenizer: PretrainedTokenizer,
  prompt: string,
  options?: GenerateOptions & { engine?: undefined },
): string;
export function generate(
  model: TransformerLM,
  tokenizer: PretrainedTokenizer,
  prompt: string,
  options: GenerateOptions = {},
): string | Promise<string> {
  checkOptions("generate", options, OPTION_KEYS);
  if (tokenizer === undefined || tokenizer === null || typeof tokenizer.encode !== "function") {
    throw new TokenizerError(
      "generate: a tokenizer is needed to turn the prompt into tokens; the folder had no tokenizer.json. " +
        "Use generateTokens with token ids, or add the tokenizer files to the folder.",
    );
  }
  const eosTokenIds = options.eosTokenIds ?? [
    ...configuredEosIds(model),
    ...(tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId]),
  ];
  const anyEngine = generateTokens as (
    model: TransformerLM,
    promptIds: readonly number[],
    options: GenerateOptions,
  ) => number[] | Promise<number[]>;
  const ids = anyEngine(model, tokenizer.encode(prompt), { ...options, eosTokenIds });
  const decode = (tokens: number[]) => tokenizer.decode(tokens, { skipSpecialTokens: true });
  return Array.isArray(ids) ? decode(ids) : ids.then(decode);
}
