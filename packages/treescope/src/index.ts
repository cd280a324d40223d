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

// Name-derived colours are owned by @saikei/struct; treescope keeps them in its API (`pz.ts`).
export { colorFromString, oklchColor } from "@saikei/struct";
export {
  type ArrayAxis,
  type ArrayInput,
  readArray,
  subsampleSteps,
  type ValueKind,
} from "./arrayData.js";
export {
  type ArrayLayout,
  type ArraySpec,
  type ArrayViewOptions,
  type AxisRef,
  arrayLayout,
  arraySpec,
  DEFAULT_MAX_VALUES,
  renderArray,
} from "./arrayView.js";
export { isCSSColor, parseColor, treescopeColorOf } from "./color.js";
export {
  BOOLEAN_COLORS,
  CATEGORICAL_COLORS,
  type ColorOptions,
  type ColorScale,
  colorOf,
  colorScale,
  DIVERGING_STOPS,
  interpolate,
  MAX_CATEGORIES,
  type RGB,
  SEQUENTIAL_STOPS,
  SPECIAL_COLORS,
  scaleLevel,
  textColorOn,
} from "./colormap.js";
export {
  type DisplayArrayOptions,
  type DisplayOptions,
  type DisplayTarget,
  type DisplayTokensOptions,
  display,
  displayArray,
  displayable,
  displayTarget,
  displayTokens,
  mountHTML,
} from "./display.js";
export { ArrayInputError, RenderOptionError, TreescopeError } from "./errors.js";
export { escapeControls } from "./escape.js";
export {
  ARRAY_VIEW_LEAF_VALUES,
  ARRAY_VIEW_PAGE_VALUES,
  type HTMLOptions,
  renderToHTML,
} from "./html.js";
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
export {
  renderTokens,
  type TokenDecoder,
  type TokenViewOptions,
  tokensText,
} from "./tokens.js";
