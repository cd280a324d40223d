/**
 * `exportModel` (`onnx.export`): traces a function's tfjs kernels and writes them as an ONNX model.
 *
 * @module
 */

import {
  isNamedArray,
  type KernelTrace,
  type NamedArray,
  type NamedArrayBase,
  TraceError,
  traceKernels,
} from "@saikei/named";
import {
  bugInSaikei,
  checkOptions,
  className,
  findOutermost,
  flatten,
  flattenWithPath,
  keystr,
  type TreeDef,
  unflatten,
} from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { dynamicSources, SCALE_PRIMES, scaledArguments, symbolize } from "./dynamicAxes.js";
import { ExportError, UnsupportedKernelError } from "./errors.js";
import { type DynamicAxisSource, GraphBuilder, isSymbolic, type Size } from "./graph.js";
import { convertKernel, isSupportedKernel, type KernelContext } from "./kernels.js";
import { INPUTS_KEY, OUTPUTS_KEY, type TensorDescription } from "./metadata.js";
import { onnx, scalarTensorProto, type ValueDtype, valueInfo } from "./protobuf.js";

/** The ONNX operator set the exporter writes. */
export const OPSET = 18;

/** Options of {@link exportModel}. */
export interface ExportOptions {
  /**
   * Names of NamedArray axes whose sizes may change between calls (typically `"batch"` and
   * `"seq"`). An entry that is a list names axes that always share one size (`["seq", "kv_seq"]`
   * for tokens and their attention mask). Example sizes must be at least 2. Default: none.
   */
  dynamicAxes?: readonly (string | readonly string[])[];
  /** ONNX names of the tensor inputs, in argument order. Default `input` or `input_0`, `input_1`, ... */
  inputNames?: readonly string[];
  /** ONNX names of the tensor outputs, in result order. Default `output` or `output_0`, ... */
  outputNames?: readonly string[];
  /** The model's `doc_string`. */
  description?: string;
}

const EXPORT_OPTIONS = ["dynamicAxes", "inputNames", "outputNames", "description"];

/** A tensor leaf of the arguments or the result, with what the metadata records. */
interface Leaf {
  readonly tensor: tf.Tensor;
  readonly path: string;
  readonly axes: (string | null)[];
  readonly named: boolean;
}

/** The tensor leaves of `tree` (NamedArrays as their data, positional axes first). */
function tensorLeaves(tree: unknown, prefix: string): Leaf[] {
  const [pairs] = flattenWithPath(tree, isNamedArray);
  const out: Leaf[] = [];
  for (const [path, value] of pairs) {
    if (isNamedArray(value)) {
      const named = value as NamedArray;
      const names = Object.keys(named.namedAxes);
      const positional = named.dataArray.rank - names.length;
      out.push({
        tensor: named.dataArray,
        path: prefix + keystr(path),
        axes: [...Array.from({ length: positional }, () => null), ...names],
        named: true,
      });
    } else if (value instanceof tf.Tensor) {
      out.push({
        tensor: value,
        path: prefix + keystr(path),
        axes: value.shape.map(() => null),
        named: false,
      });
    }
  }
  return out;
}

/** `tree` with every NamedArrayBase leaf as a NamedArray with positional axes first. */
function withPositionalPrefix(tree: unknown): unknown {
  const [leaves, def] = flatten(tree, isNamedArray);
  return unflatten(
    def,
    leaves.map((l) => (isNamedArray(l) ? (l as NamedArrayBase).withPositionalPrefix() : l)),
  );
}

function checkExportOptions(options: ExportOptions): { dynamicAxes: string[][] } {
  checkOptions("onnx.export", options, EXPORT_OPTIONS);
  const given: unknown = options.dynamicAxes ?? [];
  const dynamicAxes = Array.isArray(given)
    ? given.map((a: unknown) => (Array.isArray(a) ? [...a] : [a]) as string[])
    : undefined;
  if (
    dynamicAxes === undefined ||
    dynamicAxes.some((group) => group.length === 0 || group.some((a) => typeof a !== "string"))
  ) {
    throw new ExportError(
      `onnx.export: dynamicAxes must be an array of axis names (or lists of names that share a size), got ${JSON.stringify(given)}.`,
    );
  }
  if (dynamicAxes.length > SCALE_PRIMES.length) {
    throw new ExportError(
      `onnx.export: at most ${SCALE_PRIMES.length} dynamic axes are supported.`,
    );
  }
  return { dynamicAxes };
}

/** The unsupported-kernel error, finished with the layer it ran in and where that layer sits. */
function locate(error: UnsupportedKernelError): UnsupportedKernelError {
  const inner = error.layers[0];
  const outer = error.layers[error.layers.length - 1];
  let where = "";
  if (inner !== undefined && outer !== undefined) {
    const innerType = className((inner as object).constructor) || "(anonymous)";
    where = ` It ran in a layer of type ${innerType}`;
    if (inner !== outer) {
      const path = findOutermost(outer, (n) => n === inner)[0]?.keyPath;
      const outerType = className((outer as object).constructor) || "(anonymous)";
      if (path !== undefined) where += ` at ${keystr(path)} of the ${outerType} being exported`;
    }
    where += ".";
  }
  error.message =
    `onnx.export: the tfjs kernel "${error.kernel}" has no ONNX translation.${where} ` +
    "docs/onnx.md lists the supported kernels: compute this part with supported ops, or run it " +
    "outside the exported function.";
  return error;
}

/** One traced call of the wrapped function; also collects the result's leaves. */
function trace(
  fn: (...args: never[]) => unknown,
  args: readonly unknown[],
): { trace: KernelTrace; outputs: Leaf[] } {
  let outputs: Leaf[] = [];
  const wrapped = (...a: unknown[]) => {
    const result = withPositionalPrefix((fn as (...x: unknown[]) => unknown)(...a));
    outputs = tensorLeaves(result, "");
    return result;
  };
  try {
    const traced = traceKernels(wrapped, args, {
      beforeKernel(kernel, foldable) {
        if (!foldable && !isSupportedKernel(kernel)) {
          throw new UnsupportedKernelError(
            kernel,
            `onnx.export: the tfjs kernel "${kernel}" has no ONNX translation.`,
          );
        }
      },
    });
    return { trace: traced, outputs };
  } catch (error) {
    if (error instanceof UnsupportedKernelError) throw locate(error);
    if (error instanceof TraceError)
      throw new ExportError(error.message.replace("traceKernels", "onnx.export"));
    throw error;
  }
}

function kernelsDiffer(kernel: string, axes: readonly string[]): ExportError {
  return new ExportError(
    `onnx.export: the function runs different kernels when the dynamic axes (${axes.join(", ")}) change size (first difference at kernel ${kernel}). ` +
      "Its work must not depend on those sizes (for example, a constant of that size made inside the function); pass such tensors as inputs, or export with those axes static.",
  );
}

function valueDtypeOf(dtype: tf.DataType, where: string): TensorDescription["dtype"] {
  if (dtype === "float32" || dtype === "int32" || dtype === "bool") return dtype;
  throw new ExportError(
    `onnx.export: ${where} has dtype ${dtype}; float32, int32 and bool tensors can be exported.`,
  );
}

/** Whether every element of `t` is the same; returns it. */
function uniformValue(t: tf.Tensor): number | undefined {
  const values = t.dataSync() as ArrayLike<number>;
  if (values.length === 0) return undefined;
  const first = Number(values[0]);
  for (let i = 1; i < values.length; i++) if (Number(values[i]) !== first) return undefined;
  return first;
}

function checkNames(kind: string, names: readonly string[] | undefined, count: number): void {
  if (names === undefined) return;
  if (
    names.length !== count ||
    new Set(names).size !== count ||
    names.some((n) => typeof n !== "string" || n === "")
  ) {
    throw new ExportError(
      `onnx.export: ${kind} must be ${count} distinct non-empty names (one per tensor), got ${JSON.stringify(names)}.`,
    );
  }
}

function defaultName(prefix: string, i: number, count: number): string {
  return count === 1 ? prefix : `${prefix}_${i}`;
}

/**
 * Exports `fn` as ONNX model bytes (opset 18): `fn` runs once on `exampleArgs` while its tfjs
 * kernels are recorded, and the simplified kernel program becomes the ONNX graph. Tensor leaves of
 * the arguments (and the data of their NamedArrays) are the graph's inputs; tensors `fn` closes
 * over (a model's parameters) are stored in the file; tensor leaves of the result are the outputs.
 * Axis names of NamedArray inputs and outputs are kept in the model's metadata, so
 * {@link session} takes and returns NamedArrays. Axes listed in `dynamicAxes` may change size
 * between calls (the function is traced a second time with those axes scaled to find out how
 * sizes depend on them).
 *
 * @throws UnsupportedKernelError naming a kernel without translation and the layer it ran in.
 * @throws ExportError when `fn` reads computed values back to the host, depends on a dynamic size
 *   in a way ONNX cannot express, or the options are invalid.
 * @example
 * const bytes = onnx.export((x: NamedArray) => model.call(x), [x], { dynamicAxes: ["batch"] });
 */
export function exportModel<A extends unknown[]>(
  fn: (...args: A) => unknown,
  exampleArgs: A,
  options: ExportOptions = {},
): Uint8Array {
  return exportProgram(fn, exampleArgs, options).bytes;
}

/** An exported model with what is needed to call it like the function: see {@link exportProgram}. */
export interface ExportedProgram {
  readonly bytes: Uint8Array;
  /** The ONNX input names, one per distinct tensor leaf of the arguments (see {@link feedsFor}). */
  readonly inputNames: readonly string[];
  /** The ONNX output names, in the order of the result's tensor leaves. */
  readonly outputNames: readonly string[];
  /** The result's tree structure and its non-tensor leaves (`undefined` where a tensor goes). */
  readonly outputTreedef: TreeDef;
  readonly outputStatics: readonly unknown[];
  readonly outputIsTensor: readonly boolean[];
}

/**
 * The NamedArrays and tensors among `args` in input order (each distinct one once), keyed by
 * the ONNX input names of a program exported from arguments of the same structure.
 */
export function feedsFor(
  program: ExportedProgram,
  args: readonly unknown[],
): Record<string, unknown> {
  const values: unknown[] = [];
  for (const v of flatten(args, isNamedArray)[0]) {
    if ((isNamedArray(v) || v instanceof tf.Tensor) && !values.includes(v)) values.push(v);
  }
  const feeds: Record<string, unknown> = Object.create(null);
  program.inputNames.forEach((name, i) => {
    feeds[name] = values[i];
  });
  return feeds;
}

/** Rebuilds the function's result from a program's output tensors (by output name). */
export function resultFrom(
  program: ExportedProgram,
  outputs: Readonly<Record<string, unknown>>,
): unknown {
  let next = 0;
  const leaves = program.outputIsTensor.map((isTensor, i) => {
    if (!isTensor) return program.outputStatics[i];
    const value = outputs[program.outputNames[next++]!];
    return isNamedArray(value) ? value.dataArray : value;
  });
  return unflatten(program.outputTreedef, leaves);
}

/** {@link exportModel}, also returning how to feed the model and rebuild the function's result. */
export function exportProgram(
  fn: (...args: never[]) => unknown,
  exampleArgs: readonly unknown[],
  options: ExportOptions = {},
): ExportedProgram {
  const { dynamicAxes } = checkExportOptions(options);
  if (!Array.isArray(exampleArgs)) {
    throw new ExportError("onnx.export: exampleArgs must be an array of the function's arguments.");
  }
  const owned: tf.Tensor[] = [];
  const traces: KernelTrace[] = [];
  try {
    const args = withPositionalPrefix(exampleArgs) as unknown[];
    const inputLeaves = tensorLeaves(args, "args");
    const given = new Set(flatten(exampleArgs)[0]);
    for (const leaf of inputLeaves) if (!given.has(leaf.tensor)) owned.push(leaf.tensor);
    // The trace numbers argument leaves as jit does: each argument flattened, in order.
    const argumentLeaves = args.flatMap((a) => flatten(a)[0]);
    const distinct = inputLeaves.filter(
      (l, i) => inputLeaves.findIndex((m) => m.tensor === l.tensor) === i,
    );
    checkNames("inputNames", options.inputNames, distinct.length);
    const inputName = (i: number) =>
      options.inputNames?.[i] ?? defaultName("input", i, distinct.length);
    const sources = dynamicSources(dynamicAxes, distinct, inputName);
    const examples = sources.map((s) => s.size);

    const first = trace(fn as never, args);
    traces.push(first.trace);
    let others: [KernelTrace, KernelTrace] | undefined;
    if (sources.length > 0) {
      const scaledTrace = (scale: (size: number, axis: number) => number) => {
        const scaled = scaledArguments(args, dynamicAxes, scale);
        owned.push(...scaled.made);
        const t = trace(fn as never, scaled.args as unknown[]).trace;
        traces.push(t);
        return t;
      };
      // The second trace tells which axes a size multiplies; the third (each size one more, close
      // to the example, so the lowering picks the same kernels) confirms it.
      others = [scaledTrace((size, k) => size * SCALE_PRIMES[k]!), scaledTrace((size) => size + 1)];
    }
    const bytes = writeModel(first.trace, others, first.outputs, distinct, {
      argumentLeaves,
      groups: dynamicAxes,
      inputName,
      sources,
      examples,
      options,
    });
    return {
      bytes,
      inputNames: distinct.map((_, i) => inputName(i)),
      outputNames: first.trace.outputs
        .filter((o) => o.kind === "value")
        .map((_, i, all) => options.outputNames?.[i] ?? defaultName("output", i, all.length)),
      outputTreedef: first.trace.outputTreedef,
      outputStatics: first.trace.outputs.map((o) => (o.kind === "static" ? o.value : undefined)),
      outputIsTensor: first.trace.outputs.map((o) => o.kind === "value"),
    };
  } finally {
    for (const t of traces) t.dispose();
    tf.dispose(owned);
  }
}

interface WriteContext {
  groups: readonly (readonly string[])[];
  argumentLeaves: readonly unknown[];
  inputName(i: number): string;
  sources: readonly (DynamicAxisSource & { size: number })[];
  examples: readonly number[];
  options: ExportOptions;
}

function writeModel(
  first: KernelTrace,
  others: readonly [KernelTrace, KernelTrace] | undefined,
  outputLeaves: readonly Leaf[],
  inputs: readonly Leaf[],
  context: WriteContext,
): Uint8Array {
  const { sources, examples, options } = context;
  const dynamicNames = sources.map((s) => s.name);
  for (const other of others ?? []) {
    if (
      other.kernels.length !== first.kernels.length ||
      other.values.length !== first.values.length
    ) {
      throw kernelsDiffer(
        first.kernels[Math.min(first.kernels.length, other.kernels.length) - 1]?.kernel ?? "(none)",
        dynamicNames,
      );
    }
  }
  const graph = new GraphBuilder(sources);
  const names = new Map<number, string>();
  const shapes = new Map<number, readonly Size[]>();
  const dtypes = new Map<number, tf.DataType>();

  // Inputs: every distinct tensor leaf of the arguments, read or not.
  const graphInputs = inputs.map((leaf, i) => {
    const name = context.inputName(i);
    const shape = leaf.tensor.shape.map((s, d) => {
      const axis = leaf.axes[d];
      const k = context.groups.findIndex(
        (g) => axis !== null && axis !== undefined && g.includes(axis),
      );
      return k < 0 ? s : dynamicNames[k]!;
    });
    return { leaf, name, shape };
  });
  const inputByTensor = new Map(graphInputs.map((g) => [g.leaf.tensor, g] as const));

  const symbolicShape = (
    a: readonly number[],
    bc: readonly [readonly number[], readonly number[]] | undefined,
    where: () => string,
  ): readonly Size[] => (bc === undefined ? a : (symbolize(a, bc, examples, where) as Size[]));

  first.values.forEach((value, ref) => {
    if (value === undefined) return;
    const otherValues = others?.map((t) => t.values[ref]);
    if (otherValues?.some((o) => o === undefined || o.kind !== value.kind)) {
      throw kernelsDiffer("(an input or constant)", dynamicNames);
    }
    if (value.kind === "input") {
      const tensor = context.argumentLeaves[value.leaf] as tf.Tensor;
      const input = inputByTensor.get(tensor);
      if (input === undefined)
        throw bugInSaikei(
          "onnx.export",
          "a traced input is not among the argument tensors",
          value.leaf,
        );
      names.set(ref, input.name);
      shapes.set(
        ref,
        input.shape.map((s, d) =>
          typeof s === "string"
            ? { coefficient: 1, exponents: sources.map((src) => (src.name === s ? 1 : 0)) }
            : tensor.shape[d]!,
        ),
      );
      dtypes.set(ref, value.dtype);
    } else if (value.kind === "constant") {
      const t = value.tensor;
      valueDtypeOf(t.dtype, "a constant of the function");
      const otherTensors = otherValues?.map((o) => (o?.kind === "constant" ? o.tensor : t));
      const shape = symbolicShape(
        t.shape,
        otherTensors === undefined ? undefined : [otherTensors[0]!.shape, otherTensors[1]!.shape],
        () => "the shape of a constant",
      );
      if (shape.some(isSymbolic)) {
        // A constant whose size follows a dynamic axis: fine when every element is the same.
        const fill = uniformValue(t);
        if (fill === undefined) {
          throw new ExportError(
            `onnx.export: the function makes a constant of shape [${t.shape.join(", ")}] whose size follows a dynamic axis and whose values vary (an arange?). Pass it as an input instead, or export with that axis static.`,
          );
        }
        const dtype = t.dtype as ValueDtype;
        names.set(
          ref,
          graph.op("ConstantOfShape", [graph.sizes(shape)], {
            value: { tensor: scalarTensorProto(fill, dtype) },
          }),
        );
      } else {
        if (t.size <= 4096 && otherTensors?.some((o) => !sameValues(t, o))) {
          throw new ExportError(
            `onnx.export: a constant of shape [${t.shape.join(", ")}] has values that depend on the sizes of the dynamic axes (${dynamicNames.join(", ")}). Compute it from an input, or export with those axes static.`,
          );
        }
        names.set(
          ref,
          graph.constant(
            t.dataSync() as ArrayLike<number>,
            t.dtype as ValueDtype,
            t.shape,
            "weight",
          ),
        );
      }
      shapes.set(ref, shape);
      dtypes.set(ref, t.dtype);
    } else {
      const otherShapes = otherValues?.map((o) => (o?.kind === "kernel" ? o.shape : value.shape));
      const otherShape =
        otherShapes === undefined ? undefined : ([otherShapes[0]!, otherShapes[1]!] as const);
      shapes.set(
        ref,
        symbolicShape(value.shape, otherShape, () => "the shape of an intermediate value"),
      );
      dtypes.set(ref, value.dtype);
    }
  });

  first.kernels.forEach((kernel, k) => {
    const otherKernels = others?.map((t) => t.kernels[k]!);
    if (otherKernels?.some((o) => o.kernel !== kernel.kernel))
      throw kernelsDiffer(kernel.kernel, dynamicNames);
    if (!isSupportedKernel(kernel.kernel)) {
      throw locate(new UnsupportedKernelError(kernel.kernel, ""));
    }
    const attrs = (
      otherKernels === undefined
        ? (kernel.attrs ?? {})
        : symbolize(
            kernel.attrs ?? {},
            [otherKernels[0]!.attrs ?? {}, otherKernels[1]!.attrs ?? {}],
            examples,
            () => `an attribute of kernel ${kernel.kernel}`,
          )
    ) as Record<string, unknown>;
    const inputNames = kernel.inputs.map((r) => (r === null ? "" : names.get(r)!));
    for (const r of kernel.inputs) {
      if (r !== null && !names.has(r))
        throw bugInSaikei("onnx.export", "a kernel reads a value nothing wrote", r);
    }
    const ctx: KernelContext = {
      graph,
      kernel: kernel.kernel,
      attrs,
      inputs: inputNames,
      input(name) {
        const i = kernel.inputNames?.indexOf(name) ?? -1;
        return i < 0 ? "" : inputNames[i]!;
      },
      inputShape: (i) => shapes.get(kernel.inputs[i]!)!,
      inputDtype: (i) => dtypes.get(kernel.inputs[i]!)!,
      outputShape: (i) => shapes.get(kernel.outputs[i]!)!,
      outputDtype: (i) => dtypes.get(kernel.outputs[i]!)!,
      outputCount: kernel.outputs.length,
    };
    const outs = convertKernel(ctx);
    kernel.outputs.forEach((ref, i) => {
      names.set(ref, outs[i]!);
    });
  });

  // Outputs: one Identity per tensor leaf, named as asked.
  const valueOutputs = first.outputs.filter((o) => o.kind === "value");
  if (valueOutputs.length !== outputLeaves.length) {
    throw new ExportError(
      "onnx.export: the result's tensors could not be matched to the trace's outputs.",
    );
  }
  checkNames("outputNames", options.outputNames, outputLeaves.length);
  const outputDescriptions: TensorDescription[] = [];
  const graphOutputs = valueOutputs.map((o, i) => {
    const ref = o.value as number;
    const name = options.outputNames?.[i] ?? defaultName("output", i, valueOutputs.length);
    graph.nodes.push({
      opType: "Identity",
      name: graph.fresh("n_output"),
      input: [names.get(ref)!],
      output: [name],
    });
    const leaf = outputLeaves[i]!;
    const dims = shapes.get(ref)!.map((s) => dimLabel(s, dynamicNames));
    const dtype = valueDtypeOf(dtypes.get(ref)!, `output ${name}`);
    outputDescriptions.push({
      name,
      path: leaf.path,
      axes: leaf.axes,
      shape: dims.map((d) => d ?? null),
      dtype,
      named: leaf.named,
    });
    return valueInfo(name, dtype, dims);
  });

  const inputDescriptions: TensorDescription[] = graphInputs.map(({ leaf, name, shape }) => ({
    name,
    path: leaf.path,
    axes: leaf.axes,
    shape,
    dtype: valueDtypeOf(leaf.tensor.dtype, `input ${name}`),
    named: leaf.named,
  }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "saikei",
    producerVersion: "0.1.0",
    docString: options.description ?? "",
    opsetImport: [{ domain: "", version: OPSET }],
    graph: {
      name: "saikei",
      node: graph.nodes,
      initializer: graph.initializers,
      input: inputDescriptions.map((d) => valueInfo(d.name, d.dtype, d.shape)),
      output: graphOutputs,
    },
    metadataProps: [
      { key: INPUTS_KEY, value: JSON.stringify(inputDescriptions) },
      { key: OUTPUTS_KEY, value: JSON.stringify(outputDescriptions) },
    ],
  });
  return onnx.ModelProto.encode(model).finish();
}

function dimLabel(size: Size, names: readonly string[]): number | string | undefined {
  if (typeof size === "number") return size;
  const used = size.exponents.flatMap((e, k) => Array.from({ length: e }, () => names[k]!));
  return size.coefficient === 1 && used.length === 1 ? used[0] : undefined;
}

function sameValues(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
