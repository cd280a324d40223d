/**
 * Python-style rendering for shapecheck's messages, so they read as penzai's do: shapes as tuples
 * `(1, 2, 3)`, named shapes as dicts `{'a': 1}`, strings in single quotes.
 *
 * @module
 */

import { className, isStruct } from "@saikei/struct";

function quote(text: string): string {
  const useDouble = text.includes("'") && !text.includes('"');
  const q = useDouble ? '"' : "'";
  let out = "";
  for (const ch of text) {
    if (ch === "\\") out += "\\\\";
    else if (ch === q) out += `\\${q}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else out += ch;
  }
  return q + out + q;
}

function isTensorLike(
  value: object,
): value is { shape: number[]; dtype: string; dataSync(): ArrayLike<unknown> } {
  const v = value as { shape?: unknown; dtype?: unknown; dataSync?: unknown; isDisposed?: unknown };
  return Array.isArray(v.shape) && typeof v.dtype === "string" && typeof v.dataSync === "function";
}

/**
 * Renders a value the way Python's `repr` would show the equivalent Python value: strings quoted,
 * arrays as lists, plain objects as dicts, tensors as `Tensor([3, 5], dtype=int32)`.
 *
 * @example
 * pyRepr({ a: "x", b: [1, 2] }); // "{'a': 'x', 'b': [1, 2]}"
 */
export function pyRepr(value: unknown, depth = 0): string {
  if (depth > 8) return "...";
  if (typeof value === "string") return quote(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number")
    return Number.isFinite(value) ? String(value) : value > 0 ? "inf" : value < 0 ? "-inf" : "nan";
  if (typeof value === "bigint") return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") return `<function ${value.name || "anonymous"}>`;
  if (typeof value === "symbol") return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, depth + 1)).join(", ")}]`;
  if (isStruct(value)) return value.toString();
  if (isTensorLike(value)) {
    if ((value as { isDisposed?: boolean }).isDisposed === true) {
      return `Tensor(<disposed>, shape=[${value.shape.join(", ")}], dtype=${value.dtype})`;
    }
    const data = Array.from(value.dataSync() as ArrayLike<unknown>);
    const shown =
      data.length > 12
        ? `${data
            .slice(0, 12)
            .map((d) => pyRepr(d))
            .join(", ")}, ...`
        : data.map((d) => pyRepr(d)).join(", ");
    return `Tensor([${shown}], shape=[${value.shape.join(", ")}], dtype=${value.dtype})`;
  }
  if (ArrayBuffer.isView(value)) {
    const data = Array.from(value as unknown as ArrayLike<number>);
    return `${value.constructor.name}([${data.map((d) => pyRepr(d)).join(", ")}])`;
  }
  if (value instanceof Map) {
    return `{${[...value].map(([k, v]) => `${pyRepr(k, depth + 1)}: ${pyRepr(v, depth + 1)}`).join(", ")}}`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const entries = Object.keys(value as object).map(
      (k) => `${quote(k)}: ${pyRepr((value as Record<string, unknown>)[k], depth + 1)}`,
    );
    return `{${entries.join(", ")}}`;
  }
  const own = (value as { toString?: () => string }).toString;
  if (typeof own === "function" && own !== Object.prototype.toString) {
    try {
      return String(own.call(value));
    } catch {
      // Fall through to the class name: a toString that throws must not hide the real error.
    }
  }
  return `<${className((value as object).constructor) || "object"}>`;
}

/** Renders a concrete shape as a Python tuple: `(1, 2, 3)`, `(5,)`, `()`. */
export function showShape(shape: readonly unknown[]): string {
  const parts = shape.map((d) => pyRepr(d));
  if (parts.length === 1) return `(${parts[0]},)`;
  return `(${parts.join(", ")})`;
}
