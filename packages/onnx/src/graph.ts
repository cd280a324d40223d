/**
 * `GraphBuilder`: collects the nodes and initializers of the ONNX graph being exported, names
 * values, and builds shape tensors whose entries may depend on the sizes of dynamic axes.
 *
 * @module
 */

import type { onnx as OnnxTypes } from "onnx-proto";
import { type AttributeValue, attribute, tensorProto, type ValueDtype } from "./protobuf.js";

/**
 * A size that depends on dynamic axes: `offset + coefficient × ∏ size(axis)^exponent`.
 * `exponents[k]` belongs to the k-th declared dynamic axis.
 */
export interface SymbolicSize {
  readonly coefficient: number;
  readonly exponents: readonly number[];
  /** Default 0. */
  readonly offset?: number;
}

/** A dimension or attribute entry: a number, or a size that depends on dynamic axes. */
export type Size = number | SymbolicSize;

/** Whether `x` is a {@link SymbolicSize}. */
export function isSymbolic(x: unknown): x is SymbolicSize {
  return typeof x === "object" && x !== null && "coefficient" in x && "exponents" in x;
}

/** Where a dynamic axis can be read at run time: an axis of a graph input. */
export interface DynamicAxisSource {
  readonly name: string;
  readonly input: string;
  readonly axis: number;
}

export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();
  private readonly symbolic = new Map<string, string>();

  constructor(private readonly dynamicAxes: readonly DynamicAxisSource[]) {}

  /** A new value name starting with `hint`. */
  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Adds a node of `op` and returns the names of its `outputs` outputs. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, AttributeValue>> = {},
    outputs = 1,
  ): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({
      opType: op,
      name: this.fresh(`n_${op}`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  /** Like {@link node}, for nodes with one output. */
  op(
    op: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, AttributeValue>>,
  ): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  /** An initializer holding `values` (shared with an equal earlier small one). */
  constant(
    values: ArrayLike<number | boolean>,
    dtype: ValueDtype,
    shape: readonly number[],
    hint = "const",
  ): string {
    const small = values.length <= 64;
    const key = small
      ? `${dtype}|${shape.join(",")}|${Array.prototype.join.call(values, ",")}`
      : undefined;
    const known = key === undefined ? undefined : this.constants.get(key);
    if (known !== undefined) return known;
    const name = this.fresh(hint);
    this.initializers.push(tensorProto(name, values, dtype, shape));
    if (key !== undefined) this.constants.set(key, name);
    return name;
  }

  /** A 1-D int64 tensor of `sizes`: an initializer when every entry is a number, else computed. */
  sizes(sizes: readonly Size[]): string {
    if (sizes.every((s): s is number => typeof s === "number")) {
      return this.constant(sizes, "int64", [sizes.length], "sizes");
    }
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) parts.push(this.constant(run, "int64", [run.length], "sizes"));
      run = [];
    };
    for (const s of sizes) {
      if (typeof s === "number") run.push(s);
      else {
        flush();
        parts.push(this.symbolicSize(s));
      }
    }
    flush();
    return parts.length === 1 ? parts[0]! : this.op("Concat", parts, { axis: { int: 0 } });
  }

  /** A 1-element int64 tensor holding the value of `size` at run time. */
  symbolicSize(size: SymbolicSize): string {
    const key = `${size.coefficient}|${size.exponents.join(",")}|${size.offset ?? 0}`;
    const known = this.symbolic.get(key);
    if (known !== undefined) return known;
    let value: string | undefined;
    size.exponents.forEach((e, k) => {
      const source = this.dynamicAxes[k]!;
      for (let i = 0; i < e; i++) {
        const dim = this.op("Shape", [source.input], {
          start: { int: source.axis },
          end: { int: source.axis + 1 },
        });
        value = value === undefined ? dim : this.op("Mul", [value, dim]);
      }
    });
    if (value === undefined) value = this.constant([size.coefficient], "int64", [1]);
    else if (size.coefficient !== 1) {
      value = this.op("Mul", [value, this.constant([size.coefficient], "int64", [1])]);
    }
    if ((size.offset ?? 0) !== 0) {
      value = this.op("Add", [value, this.constant([size.offset!], "int64", [1])]);
    }
    this.symbolic.set(key, value);
    return value;
  }
}
