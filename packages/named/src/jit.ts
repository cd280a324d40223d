/**
 * `jit`: trace a function of tensor trees once per input signature and replay the recorded tfjs
 * kernels on later calls (the eager analogue of `jax.jit`).
 *
 * A traced call runs the function eagerly while recording every kernel it dispatches
 * (`engine.runKernel`) and every tensor it makes from host values (`engine.makeTensor`, kept as
 * a constant). The recording is then simplified: kernels whose inputs are all constants are run
 * once and become constants (constant folding), a kernel with the same inputs and attributes as an
 * earlier one reuses its outputs (common subexpressions), and kernels whose outputs nothing uses
 * are dropped. A later call with the same signature runs only the remaining kernels: none of the
 * function's JavaScript (layer dispatch, effect handlers, shape checks, named-axis bookkeeping).
 *
 * The signature of a call is the tree structure of its arguments, the dtype and shape of every
 * tensor leaf, which leaves are the same tensor, and the value of every other leaf (numbers,
 * strings, objects by identity). Like `jax.jit`, a traced function must be a function of that:
 * JavaScript side effects happen only while tracing. A trace that reads the value of a tensor
 * derived from the arguments back to the host (`dataSync`, `data`, `arraySync`) cannot be
 * replayed; the function then always runs eagerly for that signature (`stats.eager` counts those
 * calls). Calls made while gradients are recorded also run eagerly, so custom gradients apply.
 *
 * @module
 */

import {
  checkOptions,
  flatten,
  flattenWithPath,
  keystr,
  Struct,
  type TreeDef,
  unflatten,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { isTaping, whileTracing } from "./engineState.js";
import { JitError, TraceError } from "./errors.js";
import { tidy } from "./tidy.js";

/** Options of {@link jit}. */
export interface JitOptions {
  /** How many signatures keep a trace; the least recently used is dropped beyond. Default 8. */
  maxTraces?: number;
}

/** Counters of a {@link Jitted} function. */
export interface JitStats {
  /** Calls that recorded a trace. */
  traces: number;
  /** Calls that replayed a trace. */
  replays: number;
  /** Calls that ran the function eagerly (while taping, or for a signature that reads tensors back). */
  eager: number;
  /** Kernels per replay of the most recent trace, after simplification, and before it. */
  kernels: number;
  recordedKernels: number;
  /** Why the most recent trace cannot be replayed, if it cannot. */
  unreplayable: string | undefined;
}

/** A function traced by {@link jit}. */
export interface Jitted<A extends unknown[], R> {
  (...args: A): R;
  /** Frees the constants held by the traces and forgets them. The function stays usable. */
  dispose(): void;
  /** Counters since creation. */
  readonly stats: Readonly<JitStats>;
}

// --- recording ----------------------------------------------------------------------------------

/** Where a value of the program comes from. */
enum Kind {
  Input = 0,
  Constant = 1,
  External = 2,
  Op = 3,
}

interface Slot {
  kind: Kind;
  /** Input: leaf index. */
  index: number;
  /** Constant and External: the tensor (constants are owned by the trace once finished). */
  tensor: tf.Tensor | undefined;
  /** Constant, while recording: host values and layout. */
  values: unknown;
  shape: number[];
  dtype: tf.DataType;
}

interface OpRecord {
  kernel: string;
  /** Input names in order, or `undefined` when the kernel takes an array of tensors. */
  names: string[] | undefined;
  inputs: (number | null)[];
  attrs: Record<string, unknown> | undefined;
  outputs: number[];
  /** Whether the kernel returned an array (even of one tensor). */
  arrayOut: boolean;
  /** Whether the output is its (single) input: a copy, or a reshape, cast, transpose or tile that changes nothing. */
  noop: boolean;
}

/** Kernels whose output equals their first input when shape, dtype (and for Transpose, order) are kept. */
const LAYOUT_KERNELS = new Set(["Identity", "Reshape", "Cast", "Tile", "BroadcastTo", "Transpose"]);

function isNoop(name: string, input: unknown, out: tf.Tensor, attrs: any): boolean {
  if (!LAYOUT_KERNELS.has(name) || !(input instanceof tf.Tensor)) return false;
  if (input.dtype !== out.dtype || input.rank !== out.rank) return false;
  for (let i = 0; i < out.rank; i++) if (input.shape[i] !== out.shape[i]) return false;
  if (name === "Transpose") {
    const perm = attrs?.perm as number[] | undefined;
    return perm?.every((p, i) => p === i) ?? false;
  }
  return true;
}

/** Kernels whose result is not a function of their inputs and attributes. */
const IMPURE = new Set([
  "Multinomial",
  "RandomUniform",
  "RandomNormal",
  "RandomStandardNormal",
  "RandomGamma",
  "RandomUniformInt",
]);

interface EngineLike {
  runKernel: (name: string, inputs: unknown, attrs?: unknown) => tf.Tensor | tf.Tensor[];
  makeTensor: (
    values: unknown,
    shape: number[],
    dtype: tf.DataType,
    backend?: unknown,
  ) => tf.Tensor;
  trackTensor: (t: tf.Tensor, backend: unknown) => void;
  readSync: (dataId: object) => unknown;
  read: (dataId: object) => Promise<unknown>;
}

class Recorder {
  readonly slots: Slot[] = [];
  readonly ops: OpRecord[] = [];
  readonly refOf = new Map<tf.Tensor, number>();
  /** dataIds of tensors that depend on an input. */
  readonly dependent = new WeakSet<object>();
  /** Tensors created while recording (any path). */
  readonly created = new WeakSet<tf.Tensor>();
  /** Why the trace cannot be replayed, if it cannot. */
  unreplayable: string | undefined;
  /** Called before each recorded kernel runs; may throw to stop the trace. */
  beforeKernel: ((kernel: string, foldable: boolean) => void) | undefined;
  /** Values computed from constants only by pure kernels: compiling folds them into constants. */
  private readonly foldable = new Set<number>();
  private depth = 0;

  /** `leaves`: the argument leaves; tensors among them are the inputs, by leaf index. */
  constructor(leaves: readonly unknown[]) {
    leaves.forEach((t, i) => {
      if (!(t instanceof tf.Tensor) || this.refOf.has(t)) return;
      this.refOf.set(t, this.addSlot({ kind: Kind.Input, index: i }));
      this.dependent.add(t.dataId);
    });
  }

  addSlot(slot: Partial<Slot> & { kind: Kind }): number {
    this.slots.push({
      index: -1,
      tensor: undefined,
      values: undefined,
      shape: [],
      dtype: "float32",
      ...slot,
    });
    return this.slots.length - 1;
  }

  refFor(t: tf.Tensor): number {
    const known = this.refOf.get(t);
    if (known !== undefined) return known;
    if (this.created.has(t)) {
      this.unreplayable ??= "a tensor was made by a path the trace does not record";
    }
    const ref = this.addSlot({ kind: Kind.External, tensor: t });
    this.refOf.set(t, ref);
    return ref;
  }

  /** Installs the recording hooks on `engine`; returns the function that removes them. */
  install(engine: EngineLike): () => void {
    const original = {
      runKernel: engine.runKernel,
      makeTensor: engine.makeTensor,
      trackTensor: engine.trackTensor,
      readSync: engine.readSync,
      read: engine.read,
    };
    const recorder = this;
    engine.runKernel = function (name, inputs, attrs) {
      if (recorder.depth > 0) return original.runKernel.call(this, name, inputs, attrs);
      const foldable = recorder.isFoldable(name, inputs);
      recorder.beforeKernel?.(name, foldable);
      recorder.depth++;
      let out: tf.Tensor | tf.Tensor[];
      try {
        out = original.runKernel.call(this, name, inputs, attrs);
      } finally {
        recorder.depth--;
      }
      recorder.recordKernel(name, inputs, attrs, out);
      if (foldable) recorder.markFoldable(out);
      return out;
    };
    engine.makeTensor = function (values, shape, dtype, backend) {
      const t = original.makeTensor.call(this, values, shape, dtype, backend);
      if (recorder.depth === 0) recorder.recordConstant(t, values);
      return t;
    };
    engine.trackTensor = function (t, backend) {
      recorder.created.add(t);
      return original.trackTensor.call(this, t, backend);
    };
    engine.readSync = function (dataId) {
      recorder.noteRead(dataId);
      return original.readSync.call(this, dataId);
    };
    engine.read = function (dataId) {
      recorder.noteRead(dataId);
      return original.read.call(this, dataId);
    };
    return () => {
      Object.assign(engine, original);
      // The originals are prototype methods: remove the own properties rather than shadow them.
      for (const key of Object.keys(original) as (keyof typeof original)[]) {
        if (Object.getPrototypeOf(engine)[key] === original[key]) delete (engine as any)[key];
      }
    };
  }

  /** Whether a pure kernel reads only constants (or values computed from constants only). */
  isFoldable(name: string, inputs: unknown): boolean {
    if (IMPURE.has(name) || inputs === null || typeof inputs !== "object") return false;
    const values = Array.isArray(inputs) ? inputs : Object.values(inputs);
    return values.every((v) => {
      if (v === null || v === undefined) return true;
      if (!(v instanceof tf.Tensor)) return false;
      const ref = this.refOf.get(v);
      return (
        ref !== undefined && (this.slots[ref]!.kind === Kind.Constant || this.foldable.has(ref))
      );
    });
  }

  markFoldable(out: tf.Tensor | tf.Tensor[]): void {
    for (const t of Array.isArray(out) ? out : [out]) {
      const ref = this.refOf.get(t);
      if (ref !== undefined) this.foldable.add(ref);
    }
  }

  noteRead(dataId: object): void {
    if (this.depth === 0 && this.dependent.has(dataId)) {
      this.unreplayable ??= "the function reads the value of a tensor computed from its arguments";
    }
  }

  recordConstant(t: tf.Tensor, values: unknown): void {
    const copy = ArrayBuffer.isView(values)
      ? (values as unknown as { slice(): unknown }).slice()
      : Array.isArray(values)
        ? values.slice()
        : values;
    this.refOf.set(
      t,
      this.addSlot({ kind: Kind.Constant, values: copy, shape: t.shape.slice(), dtype: t.dtype }),
    );
  }

  recordKernel(name: string, inputs: unknown, attrs: unknown, out: tf.Tensor | tf.Tensor[]): void {
    const isArray = Array.isArray(inputs);
    const names = isArray ? undefined : Object.keys(inputs as object);
    const values: unknown[] = isArray
      ? (inputs as unknown[])
      : names!.map((n) => (inputs as any)[n]);
    let dependent = false;
    const refs = values.map((v) => {
      if (v === null || v === undefined) return null;
      if (!(v instanceof tf.Tensor)) {
        this.unreplayable ??= `kernel ${name} got an input that is not a tensor`;
        return null;
      }
      if (this.dependent.has(v.dataId)) dependent = true;
      return this.refFor(v);
    });
    if (attrs !== undefined && attrs !== null) {
      for (const v of Object.values(attrs as object)) {
        if (v instanceof tf.Tensor) this.unreplayable ??= `kernel ${name} has a tensor attribute`;
      }
    }
    const outs = Array.isArray(out) ? out : [out];
    const outputs = outs.map((t) => {
      const ref = this.addSlot({ kind: Kind.Op, shape: t.shape.slice(), dtype: t.dtype });
      this.refOf.set(t, ref);
      if (dependent) this.dependent.add(t.dataId);
      return ref;
    });
    this.ops.push({
      kernel: name,
      names,
      inputs: refs,
      attrs: attrs as Record<string, unknown> | undefined,
      outputs,
      arrayOut: Array.isArray(out),
      noop: outs.length === 1 && isNoop(name, values[0], outs[0]!, attrs),
    });
  }
}

// --- the replayable program ---------------------------------------------------------------------

/** How a result leaf is produced on replay. */
type OutputLeaf = { kind: "value"; ref: number } | { kind: "static"; value: unknown };

interface Program {
  /** Value table size. */
  readonly size: number;
  /** Slots filled before running: inputs (by leaf index), constants and externals (tensors). */
  readonly inputs: readonly [ref: number, leaf: number][];
  readonly fixed: readonly [ref: number, tensor: tf.Tensor][];
  /** The constants the program owns (kept tensors it disposes with the trace). */
  readonly constants: ReadonlySet<tf.Tensor>;
  readonly ops: readonly OpRecord[];
  readonly outputTreedef: TreeDef;
  readonly outputs: readonly OutputLeaf[];
  readonly recordedKernels: number;
}

function attrKey(attrs: unknown): string | undefined {
  if (attrs === undefined || attrs === null) return "";
  try {
    return JSON.stringify(attrs, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as any) : v));
  } catch {
    return undefined;
  }
}

function runOp(
  engine: EngineLike,
  op: OpRecord,
  get: (ref: number) => tf.Tensor | undefined,
): tf.Tensor[] {
  let inputs: unknown;
  if (op.names === undefined) {
    inputs = op.inputs.map((r) => (r === null ? null : get(r)));
  } else {
    const map: Record<string, unknown> = {};
    for (let i = 0; i < op.names.length; i++) {
      const r = op.inputs[i]!;
      map[op.names[i]!] = r === null ? undefined : get(r);
    }
    inputs = map;
  }
  const out = engine.runKernel(op.kernel, inputs, op.attrs);
  return Array.isArray(out) ? out : [out];
}

/**
 * Simplifies a recording into a program; the program owns the constants it keeps. The passes, in
 * order: {@link mergeEqualConstants}, then one walk over the kernels ({@link simplifyKernels}:
 * common subexpressions, constant folding, dropped no-op copies, reshape chains), then
 * {@link liveKernels} (dead code), then {@link bindValues} (what a replay fills in before running).
 */
function compile(
  recorder: Recorder,
  outputTreedef: TreeDef,
  outputs: OutputLeaf[],
  engine: EngineLike,
): Program {
  const state = new Compilation(recorder.slots);
  mergeEqualConstants(state);
  const kept = simplifyKernels(state, recorder.ops, outputs, engine);
  for (const out of outputs) if (out.kind === "value") out.ref = state.canon(out.ref);
  const { ops, needed } = liveKernels(kept, outputs);
  const { inputs, fixed, constants } = bindValues(state, needed);
  return {
    size: state.slots.length,
    inputs,
    fixed,
    constants,
    ops,
    outputTreedef,
    outputs,
    recordedKernels: recorder.ops.length,
  };
}

/** What the compiler passes share: the slots, which slot stands for which, and owned constants. */
class Compilation {
  /** Canonical slot of every slot (merged values alias the first occurrence). */
  readonly alias: number[];
  /** Constant tensors made while compiling; the program keeps those it uses. */
  readonly owned: tf.Tensor[] = [];

  constructor(readonly slots: Slot[]) {
    this.alias = slots.map((_, i) => i);
  }

  canon(ref: number): number {
    let x = ref;
    while (this.alias[x] !== x) x = this.alias[x]!;
    return x;
  }

  isConstant(ref: number): boolean {
    return this.slots[ref]!.kind === Kind.Constant;
  }

  /** The tensor of a constant slot, made (and owned) on first use. */
  constantTensor(ref: number): tf.Tensor {
    const slot = this.slots[ref]!;
    if (slot.tensor === undefined) {
      slot.tensor = tf.keep(tf.tensor(slot.values as any, slot.shape, slot.dtype));
      this.owned.push(slot.tensor);
    }
    return slot.tensor;
  }
}

/**
 * Equal small constants (the same scalar or table made by every call of a layer) become one value,
 * so the kernels that use them can be shared by {@link simplifyKernels}.
 */
function mergeEqualConstants(state: Compilation): void {
  const firstByContents = new Map<string, number>();
  state.slots.forEach((slot, ref) => {
    if (slot.kind !== Kind.Constant || !ArrayBuffer.isView(slot.values)) return;
    const values = slot.values as unknown as ArrayLike<number>;
    if (values.length > 4096) return;
    const key = `${slot.dtype}|${slot.shape.join(",")}|${Array.prototype.join.call(values, ",")}`;
    const first = firstByContents.get(key);
    if (first === undefined) firstByContents.set(key, ref);
    else state.alias[ref] = first;
  });
}

/**
 * One walk over the recorded kernels, keeping those a replay must run: a kernel repeated on the same
 * values with the same attributes is run once; a pure kernel of constants is run now and its
 * outputs become constants; a copy or layout kernel that changes nothing becomes its input (unless
 * it is a result); a reshape of a reshape reshapes the original.
 */
function simplifyKernels(
  state: Compilation,
  ops: readonly OpRecord[],
  outputs: readonly OutputLeaf[],
  engine: EngineLike,
): OpRecord[] {
  const kept: OpRecord[] = [];
  const seen = new Map<string, number[]>();
  const producer = new Map<number, OpRecord>();
  const results = new Set<number>();
  for (const out of outputs) if (out.kind === "value") results.add(out.ref);
  tf.tidy(() => {
    for (const op of ops) {
      const inputs = op.inputs.map((r) => (r === null ? null : state.canon(r)));
      const pure = !IMPURE.has(op.kernel);
      const key = pure ? attrKey(op.attrs) : undefined;
      if (key !== undefined) {
        const full = `${op.kernel}|${inputs.join(",")}|${op.names?.join(",") ?? "[]"}|${key}`;
        const earlier = seen.get(full);
        if (earlier !== undefined && earlier.length === op.outputs.length) {
          op.outputs.forEach((ref, i) => {
            state.alias[ref] = earlier[i]!;
          });
          continue;
        }
        seen.set(full, op.outputs);
      }
      if (pure && inputs.every((r) => r === null || state.isConstant(r))) {
        const outs = runOp(engine, { ...op, inputs }, (r) => state.constantTensor(r));
        op.outputs.forEach((ref, i) => {
          const t = tf.keep(outs[i]!);
          state.owned.push(t);
          const slot = state.slots[ref]!;
          slot.kind = Kind.Constant;
          slot.tensor = t;
        });
        continue;
      }
      // The replay never disposes a copy's input or output, so the two can be one value.
      if (op.noop && inputs[0] !== null && !results.has(op.outputs[0]!)) {
        state.alias[op.outputs[0]!] = inputs[0]!;
        continue;
      }
      if (op.kernel === "Reshape" && inputs[0] !== null) {
        const from = producer.get(inputs[0]);
        if (from !== undefined && from.kernel === "Reshape") inputs[0] = from.inputs[0]!;
      }
      const record = { ...op, inputs };
      for (const out of op.outputs) producer.set(out, record);
      kept.push(record);
    }
  });
  return kept;
}

/** Dead code: the kernels whose outputs the result needs, in order, and every value they read. */
function liveKernels(
  kept: readonly OpRecord[],
  outputs: readonly OutputLeaf[],
): { ops: OpRecord[]; needed: Set<number> } {
  const needed = new Set<number>();
  for (const out of outputs) if (out.kind === "value") needed.add(out.ref);
  const live: OpRecord[] = [];
  for (let i = kept.length - 1; i >= 0; i--) {
    const op = kept[i]!;
    if (!op.outputs.some((r) => needed.has(r))) continue;
    live.push(op);
    for (const r of op.inputs) if (r !== null) needed.add(r);
  }
  return { ops: live.reverse(), needed };
}

/**
 * The values a replay fills in before running (inputs by leaf index, constants, external tensors);
 * constants nothing uses any more (folded intermediates) are freed here.
 */
function bindValues(
  state: Compilation,
  needed: ReadonlySet<number>,
): Pick<Program, "inputs" | "fixed" | "constants"> {
  const inputs: [number, number][] = [];
  const fixed: [number, tf.Tensor][] = [];
  for (const ref of needed) {
    const slot = state.slots[ref]!;
    if (slot.kind === Kind.Input) inputs.push([ref, slot.index]);
    else if (slot.kind === Kind.Constant) fixed.push([ref, state.constantTensor(ref)]);
    else if (slot.kind === Kind.External) fixed.push([ref, slot.tensor!]);
  }
  const usedConstants = new Set(fixed.map(([, t]) => t));
  const constants = new Set<tf.Tensor>();
  for (const t of state.owned) {
    if (usedConstants.has(t)) constants.add(t);
    else t.dispose();
  }
  return { inputs, fixed, constants };
}

function replay(program: Program, leaves: readonly unknown[], engine: EngineLike): unknown {
  const values: (tf.Tensor | undefined)[] = new Array(program.size);
  for (const [ref, leaf] of program.inputs) values[ref] = leaves[leaf] as tf.Tensor;
  for (const [ref, t] of program.fixed) values[ref] = t;
  const get = (r: number) => values[r];
  const tensors = tf.tidy(() => {
    for (const op of program.ops) {
      const outs = runOp(engine, op, get);
      for (let i = 0; i < op.outputs.length; i++) values[op.outputs[i]!] = outs[i];
    }
    // A constant in the result is cloned: the caller may dispose what it gets.
    const out: tf.Tensor[] = [];
    for (const o of program.outputs) {
      if (o.kind === "static") continue;
      const t = values[o.ref]!;
      out.push(program.constants.has(t) ? tf.clone(t) : t);
    }
    return out;
  });
  let next = 0;
  const out = program.outputs.map((o) => (o.kind === "static" ? o.value : tensors[next++]));
  return unflatten(program.outputTreedef, out);
}

// --- signatures and the cache -------------------------------------------------------------------

interface Entry {
  /** Per argument. */
  readonly treedefs: readonly TreeDef[];
  readonly signature: string;
  readonly statics: readonly unknown[];
  /** `undefined`: the signature runs eagerly. */
  readonly program: Program | undefined;
}

/**
 * Flattenings of struct arguments, by identity: structs are immutable, so a model passed to every
 * call is flattened once (a decoding step passes the whole model each token).
 */
const flatStructs = new WeakMap<object, [unknown[], TreeDef]>();

function flattenArgs(args: readonly unknown[]): { leaves: unknown[]; treedefs: TreeDef[] } {
  const leaves: unknown[] = [];
  const treedefs: TreeDef[] = [];
  for (const arg of args) {
    let flat: [unknown[], TreeDef] | undefined;
    if (arg instanceof Struct && Object.isFrozen(arg)) {
      flat = flatStructs.get(arg);
      if (flat === undefined) {
        flat = flatten(arg);
        flatStructs.set(arg, flat);
      }
    } else {
      flat = flatten(arg);
    }
    for (const leaf of flat[0]) leaves.push(leaf);
    treedefs.push(flat[1]);
  }
  return { leaves, treedefs };
}

function sameTreedefs(a: readonly TreeDef[], b: readonly TreeDef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !a[i]!.equals(b[i]!)) return false;
  return true;
}

/** The signature of argument leaves; `disposed` is the first disposed tensor among them, if any. */
function signatureOf(leaves: readonly unknown[]): {
  signature: string;
  statics: unknown[];
  disposed: tf.Tensor | undefined;
} {
  let signature = "";
  const statics: unknown[] = [];
  let disposed: tf.Tensor | undefined;
  const firstIndex = new Map<tf.Tensor, number>();
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i];
    if (leaf instanceof tf.Tensor) {
      if (leaf.isDisposed) disposed ??= leaf;
      const first = firstIndex.get(leaf);
      if (first !== undefined) {
        signature += `=${first};`;
      } else {
        firstIndex.set(leaf, i);
        signature += `${leaf.dtype}[${leaf.shape.join(",")}];`;
      }
    } else {
      signature += "s;";
      statics.push(leaf);
    }
  }
  return { signature, statics, disposed };
}

/** The error for a disposed tensor among the arguments, naming where it is. */
function disposedArgument(args: readonly unknown[], leaf: tf.Tensor): JitError {
  const [pairs] = flattenWithPath(args);
  const found = pairs.find(([, value]) => value === leaf);
  const where = found === undefined ? "an argument" : `argument ${keystr(found[0])}`;
  return new JitError(
    `jit: ${where} is a disposed tensor (shape [${leaf.shape.join(", ")}], ${leaf.dtype}). ` +
      "Pass live tensors: dispose arguments only after the call.",
  );
}

function sameStatics(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function programUsable(program: Program): boolean {
  for (const [, t] of program.fixed) if (t.isDisposed) return false;
  return true;
}

function disposeEntry(entry: Entry): void {
  if (entry.program !== undefined) tf.dispose([...entry.program.constants]);
}

/**
 * Traces `fn` once per signature of its arguments and replays the recorded kernels afterwards
 * (see the module documentation for what a signature is and what a traced function may do).
 * Arguments are trees (structs, arrays, records) whose tensor leaves (including the data of
 * `NamedArray`s) are the traced inputs. The result is a tree too; its tensors are new on every
 * call, except arguments returned as they are.
 *
 * The returned function holds the constants of its traces: call `dispose()` when done with it.
 *
 * @example
 * const step = jit((model: Layer, x: NamedArray) => model.call(x));
 * const y1 = step(model, x1); // traced
 * const y2 = step(model, x2); // replayed when x2 has x1's shape and dtype
 * step.dispose();
 */
export function jit<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: JitOptions = {},
): Jitted<A, R> {
  checkOptions("jit", options, ["maxTraces"]);
  const maxTraces = options.maxTraces ?? 8;
  if (!Number.isInteger(maxTraces) || maxTraces < 1) {
    throw new JitError(`jit: maxTraces must be a positive integer, got ${String(maxTraces)}.`);
  }
  let entries: Entry[] = [];
  const stats: JitStats = {
    traces: 0,
    replays: 0,
    eager: 0,
    kernels: 0,
    recordedKernels: 0,
    unreplayable: undefined,
  };
  const jitted = (...args: A): R => {
    if (isTaping()) {
      stats.eager++;
      return fn(...args);
    }
    const { leaves, treedefs } = flattenArgs(args);
    const { signature, statics, disposed } = signatureOf(leaves);
    if (disposed !== undefined) throw disposedArgument(args, disposed);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (
        entry.signature !== signature ||
        !sameStatics(entry.statics, statics) ||
        !sameTreedefs(entry.treedefs, treedefs)
      )
        continue;
      if (entry.program === undefined) {
        stats.eager++;
        return fn(...args);
      }
      if (!programUsable(entry.program)) {
        // A captured tensor was disposed since: trace again.
        disposeEntry(entry);
        entries.splice(i, 1);
        break;
      }
      if (i > 0) {
        entries.splice(i, 1);
        entries.unshift(entry);
      }
      stats.replays++;
      return replay(entry.program, leaves, tf.engine() as unknown as EngineLike) as R;
    }
    // Trace.
    stats.traces++;
    const engine = tf.engine() as unknown as EngineLike;
    const recorder = new Recorder(leaves);
    const uninstall = recorder.install(engine);
    let result: R;
    try {
      // Like a replay, the traced call frees its intermediates.
      result = whileTracing(() => tidy(() => fn(...args)));
    } finally {
      uninstall();
    }
    if (typeof (result as { then?: unknown } | null)?.then === "function") {
      throw new JitError(
        "jit: the function returned a promise. jit traces synchronous functions: await outside the jitted function.",
      );
    }
    let program: Program | undefined;
    const [resultLeaves, outputTreedef] = flatten(result);
    const outputs: OutputLeaf[] = resultLeaves.map((leaf) =>
      leaf instanceof tf.Tensor
        ? { kind: "value", ref: recorder.refFor(leaf) }
        : { kind: "static", value: leaf },
    );
    stats.unreplayable = recorder.unreplayable;
    if (recorder.unreplayable === undefined) {
      program = compile(recorder, outputTreedef, outputs, engine);
      stats.kernels = program.ops.length;
      stats.recordedKernels = program.recordedKernels;
    }
    entries.unshift({ treedefs, signature, statics, program });
    while (entries.length > maxTraces) disposeEntry(entries.pop()!);
    return result;
  };
  return Object.assign(jitted, {
    dispose() {
      for (const entry of entries) disposeEntry(entry);
      entries = [];
    },
    stats,
  }) as Jitted<A, R>;
}

// --- traces for other engines -------------------------------------------------------------------

/** Where a value of a {@link KernelTrace} comes from. */
export type TracedValue =
  | {
      readonly kind: "input";
      /** Index of the tensor among the argument leaves (as `flatten` lists them). */
      readonly leaf: number;
      readonly shape: readonly number[];
      readonly dtype: tf.DataType;
    }
  | {
      /** A tensor made from host values, a folded result, or a tensor the function closed over. */
      readonly kind: "constant";
      readonly tensor: tf.Tensor;
    }
  | {
      readonly kind: "kernel";
      readonly shape: readonly number[];
      readonly dtype: tf.DataType;
    };

/** One kernel of a {@link KernelTrace}, after simplification. */
export interface TracedKernel {
  /** The tfjs kernel name (`"MatMul"`, `"Add"`, ...). */
  readonly kernel: string;
  /** The kernel's input names in order, or `undefined` when it takes an array of tensors. */
  readonly inputNames: readonly string[] | undefined;
  /** Value numbers of the inputs (`null` for an absent optional input). */
  readonly inputs: readonly (number | null)[];
  readonly attrs: Readonly<Record<string, unknown>> | undefined;
  /** Value numbers of the outputs. */
  readonly outputs: readonly number[];
}

/**
 * The simplified kernel program of one call of a function (what `jit` replays), for engines other
 * than tfjs to translate. Values are numbered; `values[n]` says where value `n` comes from
 * (`undefined` for numbers no kernel of the program reads or writes).
 */
export interface KernelTrace {
  readonly values: readonly (TracedValue | undefined)[];
  readonly kernels: readonly TracedKernel[];
  /** The argument leaves that are tensors the program reads, as `[value, leaf index]`. */
  readonly inputs: readonly (readonly [value: number, leaf: number])[];
  /** The result leaves in order: a value of the program, or a non-tensor leaf kept as it is. */
  readonly outputs: readonly (
    | { readonly kind: "value"; readonly value: number }
    | { readonly kind: "static"; readonly value: unknown }
  )[];
  /** The tree structure of the result. */
  readonly outputTreedef: TreeDef;
  /** The tree structures of the arguments, one per argument. */
  readonly argumentTreedefs: readonly TreeDef[];
  /** Kernels recorded before simplification. */
  readonly recordedKernels: number;
  /** Frees the constants the trace owns (not those the function closed over). */
  dispose(): void;
}

/** Options of {@link traceKernels}. */
export interface TraceKernelsOptions {
  /**
   * Called with each kernel's name before it runs while tracing, and whether the kernel reads only
   * constants (then the program will not run it: compiling folds it into a constant); throwing
   * stops the trace, and the error passes through the layers being called (which may add their
   * context to it).
   */
  beforeKernel?: (kernel: string, foldable: boolean) => void;
}

/**
 * Runs `fn(...args)` once, recording the tfjs kernels it dispatches, and returns the simplified
 * program (constant folding, common subexpressions and dead code removed, as `jit` does). Tensor
 * leaves of the arguments (including the data of `NamedArray`s) are the program's inputs. The
 * result of the call is freed; the trace owns its constants until `dispose()`.
 *
 * @throws TraceError when the function reads a computed tensor back to the host, returns a promise,
 *   or makes tensors by a path the trace cannot record.
 * @example
 * const trace = traceKernels((x: tf.Tensor) => tf.relu(x), [tf.ones([2])]);
 * trace.kernels.map((k) => k.kernel); // ["Relu"]
 * trace.dispose();
 */
export function traceKernels(
  fn: (...args: never[]) => unknown,
  args: readonly unknown[],
  options: TraceKernelsOptions = {},
): KernelTrace {
  checkOptions("traceKernels", options, ["beforeKernel"]);
  const { leaves, treedefs } = flattenArgs(args);
  const { disposed } = signatureOf(leaves);
  if (disposed !== undefined) throw disposedArgument(args, disposed);
  const engine = tf.engine() as unknown as EngineLike;
  const recorder = new Recorder(leaves);
  recorder.beforeKernel = options.beforeKernel;
  const uninstall = recorder.install(engine);
  let result: unknown;
  try {
    result = whileTracing(() => tidy(() => (fn as (...a: unknown[]) => unknown)(...args)));
  } finally {
    uninstall();
  }
  if (typeof (result as { then?: unknown } | null)?.then === "function") {
    throw new TraceError(
      "traceKernels: the function returned a promise. Trace synchronous functions.",
    );
  }
  const [resultLeaves, outputTreedef] = flatten(result);
  const outputs: OutputLeaf[] = resultLeaves.map((leaf) =>
    leaf instanceof tf.Tensor
      ? { kind: "value", ref: recorder.refFor(leaf) }
      : { kind: "static", value: leaf },
  );
  const argumentTensors = new Set(leaves.filter((l): l is tf.Tensor => l instanceof tf.Tensor));
  const freeResult = () => {
    for (const leaf of resultLeaves) {
      if (leaf instanceof tf.Tensor && !argumentTensors.has(leaf)) leaf.dispose();
    }
  };
  if (recorder.unreplayable !== undefined) {
    freeResult();
    throw new TraceError(
      `traceKernels: the function cannot be traced: ${recorder.unreplayable}. Keep host reads ` +
        "(dataSync, data, arraySync) of computed tensors outside the traced function.",
    );
  }
  const program = compile(recorder, outputTreedef, outputs, engine);
  freeResult();
  return traceOf(program, recorder.slots, leaves, treedefs);
}

/** The public view of a compiled program. */
function traceOf(
  program: Program,
  slots: readonly Slot[],
  leaves: readonly unknown[],
  treedefs: readonly TreeDef[],
): KernelTrace {
  const values: (TracedValue | undefined)[] = new Array(program.size);
  for (const [ref, leaf] of program.inputs) {
    const t = leaves[leaf] as tf.Tensor;
    values[ref] = { kind: "input", leaf, shape: t.shape.slice(), dtype: t.dtype };
  }
  for (const [ref, tensor] of program.fixed) values[ref] = { kind: "constant", tensor };
  for (const op of program.ops) {
    for (const ref of op.outputs) {
      const slot = slots[ref]!;
      values[ref] = { kind: "kernel", shape: slot.shape.slice(), dtype: slot.dtype };
    }
  }
  return {
    values,
    kernels: program.ops.map((op) => ({
      kernel: op.kernel,
      inputNames: op.names,
      inputs: op.inputs,
      attrs: op.attrs,
      outputs: op.outputs,
    })),
    inputs: program.inputs,
    outputs: program.outputs.map((o) =>
      o.kind === "value" ? { kind: "value", value: o.ref } : { kind: "static", value: o.value },
    ),
    outputTreedef: program.outputTreedef,
    argumentTreedefs: treedefs,
    recordedKernels: program.recordedKernels,
    dispose() {
      tf.dispose([...program.constants]);
    },
  };
}
