/**
 * `@saikei/select`: selections, functional queries and edits of any saikei tree (penzai's
 * `core.selectors` and `core.partitioning`).
 *
 * @example
 * import { select } from "@saikei/select";
 * select({ a: 1, b: [2, 3] }).at((t) => t.b[1]).set(30); // { a: 1, b: [2, 30] }
 *
 * @module
 */
import "./structSelect.js";

export { LeafHandle } from "./accessor.js";
export * from "./errors.js";
export { SelectionHole, SelectionQuote } from "./markers.js";
export { combine, NotInThisPartition } from "./partition.js";
export {
  renderSelectionText,
  type SelectionRenderer,
  type SelectionRenderInput,
  setSelectionRenderer,
} from "./render.js";
export {
  type AnyClass,
  type InstanceOf,
  Selection,
  type SelectionOption,
  type SubtreesWhereOptions,
  select,
} from "./selection.js";
