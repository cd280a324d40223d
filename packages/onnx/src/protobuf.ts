/**
 * The ONNX protobuf messages, through `onnx-proto` (generated from the ONNX definition by
 * protobufjs), and small constructors for the parts the exporter writes.
 *
 * @module
 */

import onnxProto from "onnx-proto";

/** The `onnx` protobuf namespace (`ModelProto`, `GraphProto`, `NodeProto`, `TensorProto`, ...). */
export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from "onnx-proto";

/** ONNX element types of the tensors saikei exports (`TensorProto.DataType`). */
export const ElementType = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
} as const;

/** The dtypes a graph value may have. */
export type ValueDtype = keyof typeof ElementType;

/** An attribute value with its ONNX attribute type. */
export type AttributeValue =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly tensor: import("onnx-proto").onnx.ITensorProto };

/** An `AttributeProto` named `name`. */
export function attribute(
  name: string,
  value: AttributeValue,
): import("onnx-proto").onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if ("int" in value) return { name, type: type.INT, i: value.int };
  if ("ints" in value) return { name, type: type.INTS, ints: [...value.ints] };
  if ("float" in value) return { name, type: type.FLOAT, f: value.float };
  if ("floats" in value) return { name, type: type.FLOATS, floats: [...value.floats] };
  if ("string" in value)
    return { name, type: type.STRING, s: new TextEncoder().encode(value.string) };
  return { name, type: type.TENSOR, t: value.tensor };
}

/** Little-endian bytes of `values` as `dtype`. */
function rawBytes(values: ArrayLike<number | boolean>, dtype: ValueDtype): Uint8Array {
  const n = values.length;
  if (dtype === "float32") {
    const view = new DataView(new ArrayBuffer(n * 4));
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, Number(values[i]), true);
    return new Uint8Array(view.buffer);
  }
  if (dtype === "int32") {
    const view = new DataView(new ArrayBuffer(n * 4));
    for (let i = 0; i < n; i++) view.setInt32(i * 4, Number(values[i]), true);
    return new Uint8Array(view.buffer);
  }
  if (dtype === "int64") {
    const view = new DataView(new ArrayBuffer(n * 8));
    for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(Number(values[i])), true);
    return new Uint8Array(view.buffer);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
  return out;
}

/** A `TensorProto` holding `values` (row-major) with `shape`. */
export function tensorProto(
  name: string,
  values: ArrayLike<number | boolean>,
  dtype: ValueDtype,
  shape: readonly number[],
): import("onnx-proto").onnx.ITensorProto {
  return { name, dims: [...shape], dataType: ElementType[dtype], rawData: rawBytes(values, dtype) };
}

/** A `ValueInfoProto`: a graph input or output with its element type and dimensions. */
export function valueInfo(
  name: string,
  dtype: ValueDtype,
  dims: readonly (number | string | null | undefined)[],
): import("onnx-proto").onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ElementType[dtype],
        shape: {
          dim: dims.map((d) =>
            typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {},
          ),
        },
      },
    },
  };
}

/** A one-element `TensorProto` (the `value` attribute of `ConstantOfShape`). */
export function scalarTensorProto(
  value: number,
  dtype: ValueDtype,
): import("onnx-proto").onnx.ITensorProto {
  return { dims: [1], dataType: ElementType[dtype], rawData: rawBytes([value], dtype) };
}
