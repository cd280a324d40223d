/**
 * `session` (`onnx.session`): runs an exported model on onnxruntime, taking and returning
 * NamedArrays (or tensors) as the metadata written by `export` describes them.
 *
 * @module
 */

import { isNamedArray, NamedArray, type NamedArrayBase } from "@saikei/named";
import { checkOptions } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { OnnxError, SessionInputError } from "./errors.js";
import { INPUTS_KEY, OUTPUTS_KEY, type TensorDescription } from "./metadata.js";
import { onnx } from "./protobuf.js";
import { loadRuntime, type OrtModule, type OrtSession, type OrtTensor } from "./runtime.js";

/** Options of {@link session}. */
export interface SessionOptions {
  /**
   * Threads onnxruntime may use inside one operator. Default: onnxruntime's choice (every core in
   * Node; in browsers `ort.env.wasm.numThreads`, set before the first session).
   */
  threads?: number;
  /** The onnxruntime module to use instead of importing `onnxruntime-node` / `onnxruntime-web`. */
  runtime?: OrtModule;
}

const SESSION_OPTIONS = ["threads", "runtime"];

/** What a session's `run` takes: one NamedArray or tensor per model input, by input name. */
export type SessionFeeds = Readonly<Record<string, NamedArrayBase | tf.Tensor>>;
/** What a session's `run` returns: one NamedArray (named outputs) or tensor per output, by name. */
export type SessionResults = Record<string, NamedArray | tf.Tensor>;

/** The inputs and outputs an exported model describes in its metadata (absent for other models). */
function readDescriptions(bytes: Uint8Array): {
  inputs: TensorDescription[];
  outputs: TensorDescription[];
} {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new OnnxError(
      `onnx.session: the bytes are not an ONNX model (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  const fromGraph = (
    values: readonly import("onnx-proto").onnx.IValueInfoProto[] | null | undefined,
  ): TensorDescription[] =>
    (values ?? []).map((v) => {
      const dims = v.type?.tensorType?.shape?.dim ?? [];
      const elem = v.type?.tensorType?.elemType;
      return {
        name: v.name ?? "",
        path: v.name ?? "",
        axes: dims.map(() => null),
        shape: dims.map((d) =>
          d.dimParam
            ? d.dimParam
            : d.dimValue !== undefined && d.dimValue !== null
              ? Number(d.dimValue)
              : null,
        ),
        dtype: elem === 6 ? "int32" : elem === 9 ? "bool" : "float32",
        named: false,
      };
    });
  const parse = (key: string, fallback: TensorDescription[]) => {
    const text = meta.get(key);
    return text === undefined ? fallback : (JSON.parse(text) as TensorDescription[]);
  };
  return {
    inputs: parse(INPUTS_KEY, fromGraph(model.graph?.input)),
    outputs: parse(OUTPUTS_KEY, fromGraph(model.graph?.output)),
  };
}

function describe(d: TensorDescription): string {
  const dims = d.shape.map((s, i) => `${d.axes[i] ?? i}: ${s ?? "?"}`);
  return `${d.named ? "NamedArray" : "tensor"} ${d.dtype} {${dims.join(", ")}}`;
}

/** The data tensor `value` gives for input `d` (a new tensor when it had to be reordered). */
function feedTensor(d: TensorDescription, value: unknown): tf.Tensor {
  let data: tf.Tensor;
  if (isNamedArray(value)) {
    const names = d.axes.filter((a): a is string => a !== null);
    const have = Object.keys(value.namedShape);
    if (!d.named || have.length !== names.length || names.some((n) => !have.includes(n))) {
      throw new SessionInputError(
        `session.run: input "${d.name}" is a ${describe(d)}, but got a NamedArray with axes {${have.join(", ")}}. Pass the input with the model's axis names.`,
      );
    }
    const inOrder =
      value instanceof NamedArray &&
      value.dataArray.rank - have.length === d.axes.length - names.length &&
      have.every((n, i) => n === names[i]);
    data = inOrder ? value.dataArray : tf.tidy(() => value.orderAs(...names).dataArray);
  } else if (value instanceof tf.Tensor) {
    data = value;
  } else {
    throw new SessionInputError(
      `session.run: input "${d.name}" must be a NamedArray or a tf.Tensor (${describe(d)}), got ${value === null ? "null" : typeof value}.`,
    );
  }
  const badShape =
    data.rank !== d.shape.length ||
    d.shape.some((s, i) => typeof s === "number" && s !== data.shape[i]);
  if (badShape || data.dtype !== d.dtype) {
    const got = `${data.dtype} [${data.shape.join(", ")}]`;
    if (data !== value && !(isNamedArray(value) && data === value.dataArray)) data.dispose();
    throw new SessionInputError(
      `session.run: input "${d.name}" must be a ${describe(d)}, got ${got}. Sizes of named dynamic axes may vary; everything else must match the export.`,
    );
  }
  return data;
}

function ortTypeOf(dtype: TensorDescription["dtype"]): string {
  return dtype === "float32" ? "float32" : dtype === "int32" ? "int32" : "bool";
}

function resultOf(d: TensorDescription, t: OrtTensor): NamedArray | tf.Tensor {
  const dims = [...t.dims].map(Number);
  const dtype: tf.DataType =
    t.type === "bool"
      ? "bool"
      : t.type === "int32"
        ? "int32"
        : t.type === "int64"
          ? "int32"
          : "float32";
  const source = t.data as ArrayLike<number | bigint>;
  const values =
    t.type === "int64"
      ? Int32Array.from(source as ArrayLike<bigint>, (x) => Number(x))
      : dtype === "bool"
        ? Uint8Array.from(source as ArrayLike<number>)
        : // onnxruntime made this buffer for this output alone: tfjs may keep it.
          (source as tf.TypedArray);
  const data = tf.tensor(values as tf.TypedArray, dims, dtype);
  if (!d.named) return data;
  const namedAxes: Record<string, number> = Object.create(null);
  d.axes.forEach((a, i) => {
    if (a !== null) namedAxes[a] = dims[i]!;
  });
  return new NamedArray({ namedAxes, dataArray: data });
}

/**
 * A model loaded into onnxruntime. `run` takes NamedArrays or tensors by input name and returns
 * new ones by output name (the caller owns them); `dispose()` frees the onnxruntime session.
 */
export class OnnxSession {
  private released = false;

  /** @internal Use {@link session}. */
  constructor(
    private readonly ort: OrtModule,
    private readonly handle: OrtSession,
    /** The model's inputs as its metadata describes them. */
    readonly inputs: readonly TensorDescription[],
    /** The model's outputs as its metadata describes them. */
    readonly outputs: readonly TensorDescription[],
  ) {}

  /**
   * Runs the model. Inputs that are NamedArrays may have their axes in any order; tensors must
   * have the layout the model was exported with.
   *
   * @throws SessionInputError for a missing, unknown or mismatched input, or after `dispose()`.
   * @example
   * const { output } = await s.run({ input: x });
   */
  async run(feeds: SessionFeeds): Promise<SessionResults> {
    if (this.released) {
      throw new SessionInputError(
        "session.run: the session was disposed. Create a new one with onnx.session(bytes).",
      );
    }
    if (feeds === null || typeof feeds !== "object") {
      throw new SessionInputError(
        `session.run: feeds must be an object of inputs by name (${this.inputs.map((d) => d.name).join(", ")}).`,
      );
    }
    const unknown = Object.keys(feeds).filter((k) => !this.inputs.some((d) => d.name === k));
    if (unknown.length > 0) {
      throw new SessionInputError(
        `session.run: unknown input${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}. The model's inputs: ${this.inputs.map((d) => d.name).join(", ")}.`,
      );
    }
    const made: tf.Tensor[] = [];
    const ortFeeds: Record<string, OrtTensor> = Object.create(null);
    try {
      for (const d of this.inputs) {
        if (!Object.hasOwn(feeds, d.name)) {
          throw new SessionInputError(
            `session.run: input "${d.name}" (${describe(d)}) is missing.`,
          );
        }
        const value = feeds[d.name];
        const data = feedTensor(d, value);
        if (data !== value && !(isNamedArray(value) && data === value.dataArray)) made.push(data);
        ortFeeds[d.name] = new this.ort.Tensor(
          ortTypeOf(d.dtype),
          data.dataSync() as ArrayBufferView,
          data.shape,
        );
      }
    } finally {
      tf.dispose(made);
    }
    const results = await this.handle.run(ortFeeds);
    const out: SessionResults = Object.create(null);
    try {
      for (const d of this.outputs) {
        const t = results[d.name];
        if (t !== undefined) out[d.name] = resultOf(d, t);
      }
    } finally {
      for (const t of Object.values(results)) t.dispose?.();
    }
    return out;
  }

  /** Frees the onnxruntime session; later `run` calls throw. Calling it again does nothing. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.handle.release();
  }
}

/**
 * Loads ONNX model bytes (from `onnx.export`, a file, or another exporter) into onnxruntime:
 * `onnxruntime-node` in Node, `onnxruntime-web` in browsers, imported on first use.
 *
 * @throws RuntimeMissingError when onnxruntime is not installed.
 * @throws OnnxError when the bytes are not a model onnxruntime accepts.
 * @example
 * const s = await onnx.session(bytes, { threads: 1 });
 * const { output } = await s.run({ input: x });
 * await s.dispose();
 */
export async function session(
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<OnnxSession> {
  checkOptions("onnx.session", options, SESSION_OPTIONS);
  const threads = options.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new OnnxError(
      `onnx.session: threads must be a positive integer, got ${String(threads)}.`,
    );
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new OnnxError(
      "onnx.session: bytes must be a Uint8Array (what onnx.export returns, or a file's contents).",
    );
  }
  const { inputs, outputs } = readDescriptions(bytes);
  const ort = options.runtime ?? (await loadRuntime());
  const sessionOptions: Record<string, unknown> = { graphOptimizationLevel: "all" };
  if (threads !== undefined) {
    sessionOptions.intraOpNumThreads = threads;
    sessionOptions.interOpNumThreads = 1;
  }
  let handle: OrtSession;
  try {
    handle = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (error) {
    throw new OnnxError(
      `onnx.session: onnxruntime could not load the model: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return new OnnxSession(ort, handle, inputs, outputs);
}
