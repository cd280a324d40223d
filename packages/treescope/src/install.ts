/**
 * Hooks treescope installs when it is imported: `Struct#toString` uses the one-line text form, and
 * selections render as highlighted HTML.
 *
 * @module
 */

import * as selectModule from "@saikei/select";
import { setStructReprHook } from "@saikei/struct";
import { renderToHTML } from "./html.js";
import { oneLine } from "./text.js";

/**
 * Installs treescope's renderers into `@saikei/struct` (struct `toString`) and, when it offers the
 * hook, `@saikei/select` (selection HTML). Runs once on import; calling it again is harmless.
 *
 * @example
 * installTreescopeHooks();
 * String(new Point({ x: 3, y: 4, label: "p" })); // "Point(x=3, y=4, label='p')"
 */
export function installTreescopeHooks(): void {
  setStructReprHook(oneLine);
  const setSelectionRenderer = (selectModule as Record<string, unknown>).setSelectionRenderer;
  if (typeof setSelectionRenderer === "function") {
    setSelectionRenderer((selection: unknown) => renderToHTML(selection, { fragment: true }));
  }
}

installTreescopeHooks();
