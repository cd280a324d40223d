/**
 * Marker structs placed in trees by selections: `SelectionHole` marks where a selected node was
 * taken out of the remainder, `SelectionQuote` escapes a hole that was already in a tree.
 *
 * @module
 */

import { field, type KeyPath, keyPathEquals, Struct } from "@saikei/struct";

/**
 * A childless struct that stands in the remainder of a selection where a selected node was taken
 * out. `path` (static) is the node's key path from the root of the selected tree.
 *
 * @example
 * select({ a: 1 }).at((r) => r.a).remainder; // { a: SelectionHole(path=['a']) }
 */
export class SelectionHole extends Struct.define(
  { path: field<KeyPath>({ static: true }) },
  { name: "SelectionHole" },
) {
  /**
   * Holes are equal when their key paths are equal step by step. (Tree equality of trees that
   * contain holes compares the path arrays with `@saikei/struct`'s static-field equality instead.)
   */
  override equals(other: unknown): boolean {
    return other instanceof SelectionHole && keyPathEquals(this.path, other.path);
  }

  /** Renders as `SelectionHole(['a'][0])`. */
  override toString(): string {
    return `SelectionHole(${this.path.map(String).join("")})`;
  }
}

/**
 * A childless struct that wraps a `SelectionHole` or `SelectionQuote` that was part of a tree
 * before it was selected, so that it is not mistaken for a hole of the new selection (penzai's
 * De Bruijn-style quoting). `deselect` removes one level of quoting.
 *
 * Saikei selections find their holes by key path, so quoting is only needed when a remainder that
 * itself contains holes is inspected; `Selection.remainder` applies it.
 *
 * @example
 * new SelectionQuote({ quoted: new SelectionHole({ path: [] }) });
 */
export class SelectionQuote extends Struct.define(
  {
    quoted: field<SelectionHole | SelectionQuote>({ static: true }),
  },
  { name: "SelectionQuote" },
) {}

/** Whether `value` is a `SelectionHole` or a `SelectionQuote`. */
export function isHoleOrQuote(value: unknown): value is SelectionHole | SelectionQuote {
  return value instanceof SelectionHole || value instanceof SelectionQuote;
}
