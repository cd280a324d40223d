/**
 * Addition and multiplication of layer outputs: named arrays (by axis name), tensors (broadcast)
 * and numbers, and arrays or plain objects of those element by element.
 *
 * @module
 */

import { isNamedArray, type NamedOperand } from "@saikei/named";
import { className } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { UnsupportedValueError } from "../errors.js";

/** `a + b` for named arrays, tensors and numbers. */
export function addValues(a: unknown, b: unknown): unknown {
  return combine(a, b, "add");
}

/** `a * b` for named arrays, tensors and numbers. */
export function multiplyValues(a: unknown, b: unknown): unknown {
  return combine(a, b, "mul");
}

function combine(a: unknown, b: unknown, op: "add" | "mul"): unknown {
  if (typeof a === "number" && typeof b === "number") return op === "add" ? a + b : a * b;
  if (isNamedArray(a) && isOperand(b)) return a[op](b);
  if (isNamedArray(b) && isOperand(a)) return b[op](a);
  if (
    (a instanceof tf.Tensor && isTensorOperand(b)) ||
    (b instanceof tf.Tensor && isTensorOperand(a))
  ) {
    return op === "add" ? tf.add(a, b) : tf.mul(a, b);
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.map((x, i) => combine(x, b[i], op));
  }
  throw new UnsupportedValueError(
    `Cannot ${op === "add" ? "add" : "multiply"} ${describe(a)} and ${describe(b)}: combinators combine ` +
      "NamedArrays, tf.Tensors, numbers, or arrays of those of equal length. Make the branches return one of these.",
  );
}

/** What a named array's `add` / `mul` accepts besides another named array. */
function isOperand(x: unknown): x is NamedOperand {
  return isNamedArray(x) || isTensorOperand(x);
}

function isTensorOperand(x: unknown): x is number | tf.Tensor {
  return typeof x === "number" || x instanceof tf.Tensor;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return className((x as object).constructor) || "object";
}
