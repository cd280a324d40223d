/**
 * `@saikei/treescope` (`pz.ts`): text and interactive HTML rendering of any saikei tree, and
 * notebook display.
 *
 * Importing it makes `Struct#toString` use the one-line form and registers the HTML renderer of
 * selections.
 *
 * @example
 * import { renderToText, renderToHTML, display } from "@saikei/treescope";
 * renderToText(model, { multiline: true });
 * display(model);
 *
 * @module
 */
import "./install.js";

export {
  colorFromString,
  isCSSColor,
  oklchColor,
  parseColor,
  treescopeColorOf,
} from "./color.js";
export {
  type DisplayOptions,
  type DisplayTarget,
  display,
  displayable,
  displayTarget,
  mountHTML,
} from "./display.js";
export { RenderOptionError, TreescopeError } from "./errors.js";
export { escapeControls } from "./escape.js";
export { type HTMLOptions, renderToHTML } from "./html.js";
export {
  asSelectionView,
  type ChildEntry,
  type Described,
  describe,
  isNamedArrayLike,
  isTensorLike,
  type NamedArrayLike,
  type NodeKind,
  namedArrayShapes,
  type SelectionView,
  type TensorLike,
} from "./inspect.js";
export { installTreescopeHooks, renderSelectionHTML } from "./install.js";
export {
  type ArraySummary,
  formatNumber,
  type HeatMap,
  shapeText,
  statsText,
  summarizeArray,
} from "./summary.js";
export {
  defaultColor,
  leafText,
  MAX_RENDER_DEPTH,
  oneLine,
  quoteString,
  renderToText,
  type TextOptions,
} from "./text.js";
