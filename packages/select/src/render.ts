/**
 * Rendering selections as text (`showSelection` / `showValue`) and the hook through which
 * `@saikei/treescope` installs its HTML rendering.
 *
 * @module
 */

import {
  ARRAY_NODE,
  className,
  GetAttrKey,
  isStruct,
  type KeyPath,
  keyOfChild,
  keystr,
  MAX_TREE_DEPTH,
  nodeTypeOf,
  OBJECT_NODE,
  reprValue,
  structFields,
} from "@saikei/struct";
import type { Trie } from "./paths.js";

/** What a renderer is given: the whole tree and where the selected nodes are. */
export interface SelectionRenderInput {
  /** The tree the selection points into (what `deselect()` returns). */
  readonly tree: unknown;
  /** The selected nodes, in tree order. */
  readonly selected: readonly { readonly keyPath: KeyPath; readonly value: unknown }[];
  /** Prefix trie of the selected nodes' child indices (internal layout, for fast walks). */
  readonly trie: Trie;
  /** `true` for `showSelection` (mark the selected nodes), `false` for `showValue`. */
  readonly visibleSelection: boolean;
}

/**
 * A renderer for selections. The default renders indented text; `@saikei/treescope` installs an
 * HTML renderer with {@link setSelectionRenderer}.
 */
export type SelectionRenderer = (input: SelectionRenderInput) => string;

let installed: SelectionRenderer | undefined;

/**
 * Installs the renderer used by `Selection.showSelection` / `showValue`; `undefined` restores the
 * built-in text renderer.
 *
 * @param renderer the new renderer, or `undefined`.
 * @example
 * setSelectionRenderer((input) => `<pre>${renderSelectionText(input)}</pre>`);
 */
export function setSelectionRenderer(renderer: SelectionRenderer | undefined): void {
  installed = renderer;
}

/** Renders with the installed renderer, or the text renderer. @internal */
export function renderSelection(input: SelectionRenderInput): string {
  return (installed ?? renderSelectionText)(input);
}

const WIDTH = 80;

/**
 * The built-in text rendering: the tree, indented, expanded along the paths to the selected nodes;
 * with `visibleSelection`, every selected node is wrapped in `«` and `»`. Subtrees without
 * selections are shown on one line when they fit in 80 columns.
 *
 * @param input the tree and its selected nodes.
 * @returns multi-line text.
 * @example
 * renderSelectionText(...); // '{\n  "a": «1»,\n  "b": 2\n}'
 */
export function renderSelectionText(input: SelectionRenderInput): string {
  const header = input.visibleSelection
    ? `Selection of ${input.selected.length} node(s)${input.selected.length > 0 ? `: ${input.selected.map((s) => keystr(s.keyPath) || "<root>").join(", ")}` : ""}\n`
    : "";
  return header + render(input.tree, input.trie, "", input.visibleSelection);
}

function render(node: unknown, trie: Trie | undefined, indent: string, visible: boolean): string {
  if (trie !== undefined && trie.selected < 0 && trie.children === undefined) trie = undefined;
  if (trie !== undefined && trie.selected >= 0) {
    const inner = render(node, undefined, indent, visible);
    return visible ? `«${inner}»` : inner;
  }
  const type = nodeTypeOf(node);
  // Deeper than any tree a walk accepts (or a cycle): the one-line form, which cuts itself off.
  if (indent.length > 2 * MAX_TREE_DEPTH) return reprValue(node);
  if (trie === undefined || type === undefined) {
    const line = reprValue(node);
    if (line.length + indent.length <= WIDTH || type === undefined) return line;
  }
  const t = type!;
  const [children, aux] = t.flatten(node);
  if (children.length === 0) return reprValue(node);
  let open: string;
  let close: string;
  let label: (i: number) => string;
  const inner = `${indent}  `;
  if (t === ARRAY_NODE) {
    open = "[";
    close = "]";
    label = () => "";
  } else if (t === OBJECT_NODE) {
    open = "{";
    close = "}";
    label = (i) => `${JSON.stringify((aux as { keys: string[] }).keys[i])}: `;
  } else {
    const name = className((node as object).constructor) || t.name;
    open = `${name}(`;
    close = ")";
    label = (i) => {
      const key = keyOfChild(t, node, aux, i, children.length);
      return key instanceof GetAttrKey ? `${key.name}=` : `${String(key)}=`;
    };
  }
  const lines = children.map(
    (c, i) => `${inner}${label(i)}${render(c, trie?.children?.get(i), inner, visible)},`,
  );
  if (isStruct(node)) {
    for (const f of structFields(node.constructor as never)) {
      if (f.isStatic) lines.push(`${inner}${f.name}=${reprValue((node as any)[f.name])},`);
    }
  }
  return `${open}\n${lines.join("\n")}\n${indent}${close}`;
}
