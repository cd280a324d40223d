/**
 * `decodingEngine`: runs the KV-cached decoding steps of `temperatureSample` (from
 * `@saikei/models`) on onnxruntime. Each step function is exported once per model and input shapes
 * (the prompt, then the one-token step) and replayed for every token.
 *
 * @module
 */

import type { NamedArrayBase } from "@saikei/named";
import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { OnnxError } from "./errors.js";
import { type ExportedProgram, exportProgram, feedsFor, resultFrom } from "./export.js";
import type { OrtModule } from "./runtime.js";
import { type OnnxSession, type SessionFeeds, session } from "./session.js";

/**
 * One decoding step to run (the shape of `DecodingEngineCall` in `@saikei/models`, restated here so
 * that this package does not depend on the models).
 */
export interface DecodingCall {
  /** The model the step belongs to: steps are compiled once per model object. */
  readonly model: object;
  readonly nextLogProbs: boolean;
  readonly fn: (...args: never[]) => [NamedArrayBase, Record<string, unknown>];
  readonly args: readonly unknown[];
}

/** Options of {@link decodingEngine}. */
export interface DecodingEngineOptions {
  /** Threads per onnxruntime session (see `session`). */
  threads?: number;
  /** The onnxruntime module to use (see `session`). */
  runtime?: OrtModule;
}

/** Counters of an {@link OnnxDecodingEngine}. */
export interface DecodingEngineStats {
  /** Step functions exported (one per model and input shapes). */
  exports: number;
  /** Steps run on onnxruntime. */
  runs: number;
}

interface Compiled {
  readonly program: ExportedProgram;
  readonly session: OnnxSession;
}

/** The signature a compiled step is kept under: the tensors' dtypes and shapes, in order. */
function signatureOf(call: DecodingCall): string {
  const parts: string[] = [String(call.nextLogProbs)];
  const visit = (value: unknown): void => {
    if (value instanceof tf.Tensor) parts.push(`${value.dtype}[${value.shape.join(",")}]`);
    else if (value !== null && typeof value === "object" && "dataArray" in value) {
      const named = value as NamedArrayBase;
      parts.push(`${JSON.stringify(named.namedShape)}${named.dataArray.dtype}`);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object") {
      for (const key of Object.keys(value).sort()) {
        parts.push(key);
        visit((value as Record<string, unknown>)[key]);
      }
    } else parts.push(String(value));
  };
  call.args.forEach(visit);
  return parts.join(";");
}

/**
 * A decoding engine on onnxruntime, for `temperatureSample(..., { engine })` of `@saikei/models`.
 * Dispose it when done: it holds one onnxruntime session per compiled step.
 */
export class OnnxDecodingEngine {
  private readonly compiled = new Map<object, Map<string, Promise<Compiled>>>();
  private disposed = false;
  /** Exports and runs so far. */
  readonly stats: DecodingEngineStats = { exports: 0, runs: 0 };

  /** @internal Use {@link decodingEngine}. */
  constructor(private readonly options: DecodingEngineOptions) {}

  /** Runs one step: exported on first use for its model and shapes, then replayed. */
  async run(call: DecodingCall): Promise<[NamedArrayBase, Record<string, unknown>]> {
    if (this.disposed) {
      throw new OnnxError(
        "decodingEngine: the engine was disposed. Create a new one with onnx.decodingEngine().",
      );
    }
    const { program, session: s } = await this.compile(call);
    const results = await s.run(feedsFor(program, call.args) as SessionFeeds);
    this.stats.runs++;
    return resultFrom(program, results) as [NamedArrayBase, Record<string, unknown>];
  }

  private compile(call: DecodingCall): Promise<Compiled> {
    let byShape = this.compiled.get(call.model);
    if (byShape === undefined) {
      byShape = new Map();
      this.compiled.set(call.model, byShape);
    }
    const signature = signatureOf(call);
    let compiled = byShape.get(signature);
    if (compiled === undefined) {
      const program = exportProgram(call.fn, call.args);
      this.stats.exports++;
      compiled = session(program.bytes, this.options).then((s) => ({ program, session: s }));
      compiled.catch(() => byShape.delete(signature));
      byShape.set(signature, compiled);
    }
    return compiled;
  }

  /** Frees every onnxruntime session; later runs throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const all = [...this.compiled.values()].flatMap((m) => [...m.values()]);
    this.compiled.clear();
    for (const compiled of all) {
      try {
        await (await compiled).session.dispose();
      } catch {
        // A step that failed to compile has no session to free.
      }
    }
  }
}

/**
 * A decoding engine on onnxruntime: pass it as `{ engine }` to `temperatureSample` (then awaited)
 * to run the prompt and every token's KV-cached step on onnxruntime rather than tfjs. Greedy
 * decoding gives the same tokens as tfjs, and sampling uses the same keys.
 *
 * @example
 * const engine = onnx.decodingEngine({ threads: 1 });
 * const tokens = await models.temperatureSample(sampler, state, prompt, random.key(1), { engine });
 * await engine.dispose();
 */
export function decodingEngine(options: DecodingEngineOptions = {}): OnnxDecodingEngine {
  checkOptions("onnx.decodingEngine", options, ["threads", "runtime"]);
  return new OnnxDecodingEngine({ ...options });
}
