/**
 * Hooks treescope installs when it is imported: `Struct#toString` uses the one-line text form, and
 * selections render as highlighted HTML.
 *
 * @module
 */

import { type SelectionRenderInput, setSelectionRenderer } from "@saikei/select";
import { type KeyPath, setStructReprHook } from "@saikei/struct";
import { renderToHTML } from "./html.js";
import { oneLine } from "./text.js";

/**
 * Renders what `Selection.showSelection()` / `showValue()` pass to their renderer as an HTML
 * fragment: the whole tree, opened along the paths to the selected nodes, which are highlighted
 * for `showSelection` and only revealed for `showValue`.
 *
 * @param input the tree and the selected nodes (from `@saikei/select`).
 * @returns an HTML fragment.
 * @example
 * setSelectionRenderer(renderSelectionHTML); // what importing treescope does
 */
export function renderSelectionHTML(input: SelectionRenderInput): string {
  const paths = input.selected.map((s) => s.keyPath as KeyPath);
  return renderToHTML(
    input.tree,
    input.visibleSelection
      ? { fragment: true, highlight: paths }
      : { fragment: true, reveal: paths },
  );
}

/**
 * Installs treescope's renderers into `@saikei/struct` (struct `toString`) and `@saikei/select`
 * (`showSelection` / `showValue` return HTML). Runs once on import; calling it again is harmless.
 *
 * @example
 * installTreescopeHooks();
 * String(new Point({ x: 3, y: 4, label: "p" })); // "Point(x=3, y=4, label='p')"
 */
export function installTreescopeHooks(): void {
  setStructReprHook(oneLine);
  setSelectionRenderer(renderSelectionHTML);
}

installTreescopeHooks();
