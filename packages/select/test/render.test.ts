import { afterEach, describe, expect, it } from "vitest";
import { renderSelectionText, select, setSelectionRenderer } from "../src/index.js";
import { Foo } from "./helpers.js";

afterEach(() => setSelectionRenderer(undefined));

describe("text rendering", () => {
  it("showSelection marks the selected nodes", () => {
    const s = select({ a: 1, b: [2, 3] }).at((r) => r.b[1]);
    expect(s.showSelection()).toBe(
      [
        "Selection of 1 node(s): ['b'][1]",
        "{",
        '  "a": 1,',
        '  "b": [',
        "    2,",
        "    «3»,",
        "  ],",
        "}",
      ].join("\n"),
    );
  });

  it("showValue expands to the selected nodes without marks, structs with their fields", () => {
    const s = select(new Foo({ a: [1], b: { x: "y" } })).at((f) => f.a);
    expect(s.showValue()).toBe(["Foo(", "  a=[1],", "  b={\"x\": 'y'},", ")"].join("\n"));
  });

  it("long unselected subtrees are expanded, short ones stay on one line", () => {
    const long = Array.from({ length: 40 }, (_, i) => i);
    const text = select({ long, short: [1] })
      .at((r) => r.short)
      .showSelection();
    expect(text).toContain('  "short": «[1]»,');
    expect(text.split("\n").length).toBeGreaterThan(40);
  });

  it("setSelectionRenderer installs another renderer and undefined restores text", () => {
    setSelectionRenderer(
      (input) => `<div>${input.selected.length}:${input.visibleSelection}</div>`,
    );
    const s = select([1, 2]).atInstancesOf(Number);
    expect(s.showSelection()).toBe("<div>2:true</div>");
    expect(s.showValue()).toBe("<div>2:false</div>");
    setSelectionRenderer(undefined);
    expect(s.showValue()).toBe("[\n  1,\n  2,\n]");
    expect(
      renderSelectionText({
        tree: [1],
        selected: [],
        trie: { selected: -1, children: undefined },
        visibleSelection: true,
      }),
    ).toBe("Selection of 0 node(s)\n[1]");
  });
});
