/**
 * The value a dimension variable is bound to, and how it renders in messages.
 *
 * @module
 */

import { pyRepr } from "./format.js";

/** The value a variable is bound to: a size, a run of positional sizes, or named sizes. */
export type BoundValue = number | readonly number[] | Readonly<Record<string, number>>;

/** Renders a bound value as penzai does: `3`, `(2, 3)`, `{'b': 2}`. */
export function showBound(value: BoundValue): string {
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) {
    return value.length === 1 ? `(${value[0]},)` : `(${value.join(", ")})`;
  }
  const parts = Object.entries(value as Record<string, number>).map(
    ([k, v]) => `${pyRepr(k)}: ${v}`,
  );
  return `{${parts.join(", ")}}`;
}
