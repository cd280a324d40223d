/**
 * The translation of tfjs kernels to ONNX operators: one converter per kernel, each writing the
 * nodes that compute the kernel's outputs from its inputs. {@link supportedKernels} lists them
 * (docs/onnx.md has the table, and a test keeps the two in step).
 *
 * @module
 */

import { bugInSaikei } from "@saikei/struct";
import type * as tf from "@tensorflow/tfjs-core";
import { ExportError } from "./errors.js";
import { type GraphBuilder, isSymbolic, type Size } from "./graph.js";
import { type AttributeValue, scalarTensorProto, type ValueDtype } from "./protobuf.js";

/** What a converter sees of one traced kernel. */
export interface KernelContext {
  readonly graph: GraphBuilder;
  readonly kernel: string;
  /** The kernel's attributes; sizes that depend on dynamic axes are {@link SymbolicSize}s. */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** ONNX value names of the inputs in the kernel's order (`""` for an absent optional input). */
  readonly inputs: readonly string[];
  /** The input named `name` (`"a"`, `"x"`, ...) by the kernel. */
  input(name: string): string;
  inputShape(index: number): readonly Size[];
  inputDtype(index: number): tf.DataType;
  outputShape(index: number): readonly Size[];
  outputDtype(index: number): tf.DataType;
  readonly outputCount: number;
}

type Converter = (ctx: KernelContext) => string[];

interface KernelEntry {
  /** The ONNX operators it becomes (for the docs table). */
  readonly onnx: string;
  readonly convert: Converter;
}

const one =
  (f: (ctx: KernelContext) => string): Converter =>
  (ctx) => [f(ctx)];

/** The ONNX element type name of a tfjs dtype, for Cast's `to`. */
function onnxType(dtype: tf.DataType): number {
  switch (dtype) {
    case "float32":
      return 1;
    case "int32":
      return 6;
    case "bool":
      return 9;
    default:
      throw new ExportError(
        `onnx.export: tensors of dtype ${dtype} cannot be exported (float32, int32 and bool can).`,
      );
  }
}

function valueDtype(dtype: tf.DataType): ValueDtype {
  onnxType(dtype);
  return dtype as ValueDtype;
}

function scalarConstant(ctx: KernelContext, value: number, dtype: tf.DataType): string {
  return ctx.graph.constant([value], valueDtype(dtype), []);
}

function rankOf(ctx: KernelContext, index = 0): number {
  return ctx.inputShape(index).length;
}

function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** A reduction's axes as a list of non-negative axes (`undefined`/`null`: every axis). */
function reductionAxes(axis: unknown, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => normalizeAxis(a, rank));
}

function staticNumbers(ctx: KernelContext, name: string, values: unknown): number[] {
  const list = Array.isArray(values) ? values : [values];
  if (list.some(isSymbolic)) {
    throw new ExportError(
      `onnx.export: the "${name}" attribute of kernel ${ctx.kernel} depends on the size of a dynamic axis, ` +
        "which its ONNX translation cannot express. Export with that axis static (drop it from dynamicAxes).",
    );
  }
  return list as number[];
}

const unary = (op: string): KernelEntry => ({
  onnx: op,
  convert: one((c) => c.graph.op(op, [c.inputs[0]!])),
});
const binary = (op: string): KernelEntry => ({
  onnx: op,
  convert: one((c) => c.graph.op(op, [c.inputs[0]!, c.inputs[1]!])),
});
const negated = (op: string): KernelEntry => ({
  onnx: `${op}, Not`,
  convert: one((c) => c.graph.op("Not", [c.graph.op(op, [c.inputs[0]!, c.inputs[1]!])])),
});

function reduce(op: string, axisAttr: string): KernelEntry {
  return {
    onnx: op,
    convert: one((c) => {
      const axes = reductionAxes(c.attrs[axisAttr], rankOf(c));
      const keepdims = { int: c.attrs.keepDims === true ? 1 : 0 };
      if (axes.length === 0) return c.graph.op("Identity", [c.inputs[0]!]);
      const axesName = c.graph.constant(axes, "int64", [axes.length]);
      return c.graph.op(op, [c.inputs[0]!, axesName], { keepdims });
    }),
  };
}

/** Reductions of bool tensors (All, Any): through int32 Min/Max. */
function boolReduce(op: string): KernelEntry {
  return {
    onnx: `Cast, ${op}, Cast`,
    convert: one((c) => {
      const axes = reductionAxes(c.attrs.axis, rankOf(c));
      const asInt = c.graph.op("Cast", [c.inputs[0]!], { to: { int: 6 } });
      const axesName = c.graph.constant(axes, "int64", [axes.length]);
      const reduced = c.graph.op(op, [asInt, axesName], {
        keepdims: { int: c.attrs.keepDims === true ? 1 : 0 },
      });
      return c.graph.op("Cast", [reduced], { to: { int: 9 } });
    }),
  };
}

function argReduce(op: string): KernelEntry {
  return {
    onnx: `${op}, Cast`,
    convert: one((c) => {
      const axis = normalizeAxis(staticNumbers(c, "axis", c.attrs.axis)[0] ?? 0, rankOf(c));
      const index = c.graph.op(op, [c.inputs[0]!], { axis: { int: axis }, keepdims: { int: 0 } });
      return c.graph.op("Cast", [index], { to: { int: 6 } });
    }),
  };
}

/** `a - floor(a / b) * b` and `floor(a / b)`, in float32, cast back for int32 inputs. */
function floorDivision(c: KernelContext): { quotient: string; asFloat: (x: string) => string } {
  const int = c.inputDtype(0) === "int32";
  const asFloat = (x: string) => (int ? c.graph.op("Cast", [x], { to: { int: 1 } }) : x);
  const quotient = c.graph.op("Floor", [
    c.graph.op("Div", [asFloat(c.inputs[0]!), asFloat(c.inputs[1]!)]),
  ]);
  return { quotient, asFloat };
}

function castBack(c: KernelContext, x: string): string {
  return c.inputDtype(0) === "int32" ? c.graph.op("Cast", [x], { to: { int: 6 } }) : x;
}

function matMul(c: KernelContext, a: string, b: string): string {
  const swapLast = (x: string, rank: number) => {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    return c.graph.op("Transpose", [x], { perm: { ints: perm } });
  };
  const left = c.attrs.transposeA === true ? swapLast(a, c.inputShape(0).length) : a;
  const right = c.attrs.transposeB === true ? swapLast(b, c.inputShape(1).length) : b;
  return c.graph.op("MatMul", [left, right]);
}

function activation(
  c: KernelContext,
  x: string,
  kind: unknown,
  alphaInput: string | undefined,
): string {
  switch (kind ?? "linear") {
    case "linear":
      return x;
    case "relu":
      return c.graph.op("Relu", [x]);
    case "relu6":
      return c.graph.op("Clip", [
        x,
        scalarConstant(c, 0, "float32"),
        scalarConstant(c, 6, "float32"),
      ]);
    case "elu":
      return c.graph.op("Elu", [x], { alpha: { float: 1 } });
    case "sigmoid":
      return c.graph.op("Sigmoid", [x]);
    case "leakyrelu":
      return c.graph.op("LeakyRelu", [x], {
        alpha: { float: Number(c.attrs.leakyreluAlpha ?? 0.2) },
      });
    case "prelu":
      if (alphaInput !== undefined && alphaInput !== "")
        return c.graph.op("PRelu", [x, alphaInput]);
      break;
  }
  throw new ExportError(
    `onnx.export: kernel ${c.kernel} with activation "${String(kind)}" has no ONNX translation.`,
  );
}

/** tfjs slice parameters (a number means the first axis; size -1 means to the end) as full lists. */
function sliceParams(c: KernelContext): { begin: Size[]; size: Size[] } {
  const rank = rankOf(c);
  const rawBegin = c.attrs.begin;
  const rawSize = c.attrs.size;
  const begin: Size[] = Array.isArray(rawBegin) ? [...rawBegin] : [rawBegin as Size];
  while (begin.length < rank) begin.push(0);
  const size: Size[] =
    rawSize === undefined ? [] : Array.isArray(rawSize) ? [...rawSize] : [rawSize as Size];
  while (size.length < rank) size.push(-1);
  return { begin, size };
}

const KERNELS: Readonly<Record<string, KernelEntry>> = {
  // Elementwise arithmetic.
  Add: binary("Add"),
  AddN: {
    onnx: "Sum",
    convert: one((c) => c.graph.op("Sum", c.inputs)),
  },
  Sub: binary("Sub"),
  Multiply: binary("Mul"),
  RealDiv: binary("Div"),
  Maximum: binary("Max"),
  Minimum: binary("Min"),
  Pow: binary("Pow"),
  SquaredDifference: {
    onnx: "Sub, Mul",
    convert: one((c) => {
      const d = c.graph.op("Sub", [c.inputs[0]!, c.inputs[1]!]);
      return c.graph.op("Mul", [d, d]);
    }),
  },
  FloorDiv: {
    onnx: "Div, Floor (Cast for int32)",
    convert: one((c) => castBack(c, floorDivision(c).quotient)),
  },
  Mod: {
    onnx: "Div, Floor, Mul, Sub (Cast for int32)",
    convert: one((c) => {
      const { quotient, asFloat } = floorDivision(c);
      const b = asFloat(c.inputs[1]!);
      return castBack(
        c,
        c.graph.op("Sub", [asFloat(c.inputs[0]!), c.graph.op("Mul", [quotient, b])]),
      );
    }),
  },
  Neg: unary("Neg"),
  Abs: unary("Abs"),
  Exp: unary("Exp"),
  Expm1: {
    onnx: "Exp, Sub",
    convert: one((c) =>
      c.graph.op("Sub", [c.graph.op("Exp", [c.inputs[0]!]), scalarConstant(c, 1, "float32")]),
    ),
  },
  Log: unary("Log"),
  Log1p: {
    onnx: "Add, Log",
    convert: one((c) =>
      c.graph.op("Log", [c.graph.op("Add", [c.inputs[0]!, scalarConstant(c, 1, "float32")])]),
    ),
  },
  Sqrt: unary("Sqrt"),
  Rsqrt: {
    onnx: "Sqrt, Reciprocal",
    convert: one((c) => c.graph.op("Reciprocal", [c.graph.op("Sqrt", [c.inputs[0]!])])),
  },
  Square: {
    onnx: "Mul",
    convert: one((c) => c.graph.op("Mul", [c.inputs[0]!, c.inputs[0]!])),
  },
  Reciprocal: unary("Reciprocal"),
  Floor: unary("Floor"),
  Ceil: unary("Ceil"),
  Round: unary("Round"),
  Sign: unary("Sign"),
  Sin: unary("Sin"),
  Cos: unary("Cos"),
  Tan: unary("Tan"),
  Erf: unary("Erf"),
  // Activations.
  Tanh: unary("Tanh"),
  Sigmoid: unary("Sigmoid"),
  Relu: unary("Relu"),
  Relu6: {
    onnx: "Clip",
    convert: one((c) =>
      c.graph.op("Clip", [
        c.inputs[0]!,
        scalarConstant(c, 0, "float32"),
        scalarConstant(c, 6, "float32"),
      ]),
    ),
  },
  Elu: {
    onnx: "Elu",
    convert: one((c) => c.graph.op("Elu", [c.inputs[0]!], { alpha: { float: 1 } })),
  },
  Selu: unary("Selu"),
  Softplus: unary("Softplus"),
  LeakyRelu: {
    onnx: "LeakyRelu",
    convert: one((c) =>
      c.graph.op("LeakyRelu", [c.inputs[0]!], { alpha: { float: Number(c.attrs.alpha) } }),
    ),
  },
  Prelu: binary("PRelu"),
  ClipByValue: {
    onnx: "Clip",
    convert: one((c) =>
      c.graph.op("Clip", [
        c.inputs[0]!,
        scalarConstant(c, Number(c.attrs.clipValueMin), "float32"),
        scalarConstant(c, Number(c.attrs.clipValueMax), "float32"),
      ]),
    ),
  },
  Softmax: {
    onnx: "Softmax",
    convert: one((c) =>
      c.graph.op("Softmax", [c.inputs[0]!], {
        axis: { int: normalizeAxis(Number(c.attrs.dim ?? -1), rankOf(c)) },
      }),
    ),
  },
  // Comparisons and logic.
  Equal: binary("Equal"),
  NotEqual: negated("Equal"),
  Less: binary("Less"),
  LessEqual: binary("LessOrEqual"),
  Greater: binary("Greater"),
  GreaterEqual: binary("GreaterOrEqual"),
  LogicalAnd: binary("And"),
  LogicalOr: binary("Or"),
  LogicalXor: binary("Xor"),
  LogicalNot: unary("Not"),
  IsNan: unary("IsNaN"),
  IsInf: unary("IsInf"),
  IsFinite: {
    onnx: "IsInf, IsNaN, Or, Not",
    convert: one((c) => {
      const x = c.inputs[0]!;
      return c.graph.op("Not", [
        c.graph.op("Or", [c.graph.op("IsInf", [x]), c.graph.op("IsNaN", [x])]),
      ]);
    }),
  },
  Select: {
    onnx: "Where",
    convert: one((c) => c.graph.op("Where", [c.input("condition"), c.input("t"), c.input("e")])),
  },
  // Types and layout.
  Cast: {
    onnx: "Cast",
    convert: one((c) =>
      c.graph.op("Cast", [c.inputs[0]!], { to: { int: onnxType(c.attrs.dtype as tf.DataType) } }),
    ),
  },
  Identity: unary("Identity"),
  Reshape: {
    onnx: "Reshape",
    convert: one((c) => {
      const shape = c.attrs.shape as Size[];
      return c.graph.op("Reshape", [c.inputs[0]!, c.graph.sizes(shape)]);
    }),
  },
  Transpose: {
    onnx: "Transpose",
    convert: one((c) =>
      c.graph.op("Transpose", [c.inputs[0]!], { perm: { ints: c.attrs.perm as number[] } }),
    ),
  },
  Concat: {
    onnx: "Concat",
    convert: one((c) => {
      const axis = normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c));
      return c.graph.op("Concat", c.inputs, { axis: { int: axis } });
    }),
  },
  Pack: {
    onnx: "Unsqueeze, Concat",
    convert: one((c) => {
      const axis = normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c) + 1);
      const axes = c.graph.constant([axis], "int64", [1]);
      const parts = c.inputs.map((x) => c.graph.op("Unsqueeze", [x, axes]));
      return c.graph.op("Concat", parts, { axis: { int: axis } });
    }),
  },
  Unpack: {
    onnx: "Split, Squeeze",
    convert: (c) => {
      const axis = normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c));
      const axes = c.graph.constant([axis], "int64", [1]);
      const parts = c.graph.node(
        "Split",
        [c.inputs[0]!],
        { axis: { int: axis }, num_outputs: { int: c.outputCount } },
        c.outputCount,
      );
      return parts.map((p) => c.graph.op("Squeeze", [p, axes]));
    },
  },
  SplitV: {
    onnx: "Split",
    convert: (c) => {
      const axis = normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c));
      const sizes = Array.from({ length: c.outputCount }, (_, i) => c.outputShape(i)[axis]!);
      return c.graph.node(
        "Split",
        [c.inputs[0]!, c.graph.sizes(sizes)],
        { axis: { int: axis } },
        c.outputCount,
      );
    },
  },
  Slice: {
    onnx: "Slice",
    convert: one((c) => {
      const { begin, size } = sliceParams(c);
      const rank = rankOf(c);
      const axes = Array.from({ length: rank }, (_, i) => i);
      const ends: Size[] = size.map((s, i) => {
        if (s === -1) return Number.MAX_SAFE_INTEGER;
        const b = begin[i]!;
        if (typeof b === "number" && typeof s === "number") return b + s;
        return c.outputShape(0)[i] === undefined ? s : addSizes(c, b, s);
      });
      return c.graph.op("Slice", [
        c.inputs[0]!,
        c.graph.sizes(begin),
        c.graph.sizes(ends),
        c.graph.constant(axes, "int64", [rank]),
      ]);
    }),
  },
  GatherV2: {
    onnx: "Gather",
    convert: one((c) => {
      if (Number(c.attrs.batchDims ?? 0) !== 0) {
        throw new ExportError(
          `onnx.export: kernel GatherV2 with batchDims ${String(c.attrs.batchDims)} has no ONNX translation (batchDims 0 has).`,
        );
      }
      const axis = normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c));
      return c.graph.op("Gather", [c.input("x"), c.input("indices")], { axis: { int: axis } });
    }),
  },
  TensorScatterUpdate: {
    onnx: "Cast, ScatterND",
    // tfjs indices are int32, ScatterND's int64. Repeated indices: tfjs keeps the last update,
    // ScatterND leaves the order unspecified (docs/onnx.md says so).
    convert: one((c) => {
      const indices = c.graph.op("Cast", [c.input("indices")], { to: { int: 7 } });
      return c.graph.op("ScatterND", [c.input("tensor"), indices, c.input("updates")]);
    }),
  },
  Tile: {
    onnx: "Tile",
    convert: one((c) => c.graph.op("Tile", [c.inputs[0]!, c.graph.sizes(c.attrs.reps as Size[])])),
  },
  BroadcastTo: {
    onnx: "Expand",
    convert: one((c) =>
      c.graph.op("Expand", [c.inputs[0]!, c.graph.sizes(c.attrs.shape as Size[])]),
    ),
  },
  PadV2: {
    onnx: "Pad",
    convert: one((c) => {
      const paddings = c.attrs.paddings as number[][];
      const pads = [...paddings.map((p) => p[0]!), ...paddings.map((p) => p[1]!)];
      const value = scalarConstant(c, Number(c.attrs.constantValue ?? 0), c.inputDtype(0));
      return c.graph.op("Pad", [
        c.inputs[0]!,
        c.graph.constant(staticNumbers(c, "paddings", pads), "int64", [pads.length]),
        value,
      ]);
    }),
  },
  OneHot: {
    onnx: "Cast, OneHot, Cast",
    convert: one((c) => {
      const depth = c.graph.constant([Number(c.attrs.depth)], "int64", []);
      const values = c.graph.constant(
        [Number(c.attrs.offValue ?? 0), Number(c.attrs.onValue ?? 1)],
        "float32",
        [2],
      );
      const hot = c.graph.op(
        "OneHot",
        [c.graph.op("Cast", [c.inputs[0]!], { to: { int: 7 } }), depth, values],
        { axis: { int: -1 } },
      );
      const dtype = (c.attrs.dtype as tf.DataType | undefined) ?? "int32";
      return dtype === "float32"
        ? hot
        : c.graph.op("Cast", [hot], { to: { int: onnxType(dtype) } });
    }),
  },
  // Reductions.
  Sum: reduce("ReduceSum", "axis"),
  Mean: reduce("ReduceMean", "axis"),
  Max: reduce("ReduceMax", "reductionIndices"),
  Min: reduce("ReduceMin", "axis"),
  Prod: reduce("ReduceProd", "axis"),
  All: boolReduce("ReduceMin"),
  Any: boolReduce("ReduceMax"),
  ArgMax: argReduce("ArgMax"),
  ArgMin: argReduce("ArgMin"),
  Cumsum: {
    onnx: "CumSum",
    convert: one((c) => {
      const axis = c.graph.constant(
        [normalizeAxis(Number(c.attrs.axis ?? 0), rankOf(c))],
        "int64",
        [],
      );
      return c.graph.op("CumSum", [c.inputs[0]!, axis], {
        exclusive: { int: c.attrs.exclusive === true ? 1 : 0 },
        reverse: { int: c.attrs.reverse === true ? 1 : 0 },
      });
    }),
  },
  // Products.
  BatchMatMul: {
    onnx: "MatMul (Transpose when transposed)",
    convert: one((c) => matMul(c, c.input("a"), c.input("b"))),
  },
  _FusedMatMul: {
    onnx: "MatMul, Add, activation",
    convert: one((c) => {
      let out = matMul(c, c.input("a"), c.input("b"));
      const bias = c.input("bias");
      if (bias !== "") out = c.graph.op("Add", [out, bias]);
      return activation(c, out, c.attrs.activation, c.input("preluActivationWeights"));
    }),
  },
  ZerosLike: {
    onnx: "Shape, ConstantOfShape",
    convert: one((c) => fillLike(c, 0)),
  },
  OnesLike: {
    onnx: "Shape, ConstantOfShape",
    convert: one((c) => fillLike(c, 1)),
  },
};

function fillLike(c: KernelContext, value: number): string {
  return c.graph.op("ConstantOfShape", [c.graph.op("Shape", [c.inputs[0]!])], {
    value: { tensor: scalarTensorProto(value, valueDtype(c.inputDtype(0))) },
  });
}

/** `a + b` where either may depend on dynamic axes (only equal exponents can be added). */
function addSizes(c: KernelContext, a: Size, b: Size): Size {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (typeof a === "number") return addSizes(c, b, a);
  if (typeof b === "number") return { ...a, offset: (a.offset ?? 0) + b };
  if (a.exponents.join() === b.exponents.join()) {
    return {
      coefficient: a.coefficient + b.coefficient,
      exponents: a.exponents,
      offset: (a.offset ?? 0) + (b.offset ?? 0),
    };
  }
  throw new ExportError(
    `onnx.export: kernel ${c.kernel} slices with a start and a size that depend differently on dynamic axes; ` +
      "export with those axes static.",
  );
}

/** The tfjs kernels with an ONNX translation, with the ONNX operators each becomes. */
export function supportedKernels(): { kernel: string; onnx: string }[] {
  return Object.entries(KERNELS).map(([kernel, entry]) => ({ kernel, onnx: entry.onnx }));
}

/** Whether `kernel` has an ONNX translation. */
export function isSupportedKernel(kernel: string): boolean {
  return Object.hasOwn(KERNELS, kernel);
}

/** Writes the nodes of one kernel; returns the ONNX names of its outputs. */
export function convertKernel(ctx: KernelContext): string[] {
  const entry = Object.hasOwn(KERNELS, ctx.kernel) ? KERNELS[ctx.kernel] : undefined;
  if (entry === undefined)
    throw bugInSaikei("convertKernel", "a kernel was traced without a translation", ctx.kernel);
  const outputs = entry.convert(ctx);
  if (outputs.length !== ctx.outputCount) {
    throw bugInSaikei(
      "convertKernel",
      `kernel ${ctx.kernel} made ${outputs.length} outputs, not ${ctx.outputCount}`,
    );
  }
  return outputs;
}

export type { AttributeValue };
