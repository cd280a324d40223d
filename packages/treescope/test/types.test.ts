import type { KeyPath } from "@saikei/struct";
import {
  type ArraySummary,
  colorFromString,
  type Described,
  type DisplayOptions,
  type DisplayTarget,
  describe as describeValue,
  display,
  displayable,
  displayTarget,
  type HTMLOptions,
  type NodeKind,
  renderSelectionHTML,
  summarizeArray,
  type TextOptions,
} from "@saikei/treescope";
import { describe, expect, expectTypeOf, it } from "vitest";

describe("public types", () => {
  it("display reports where the rendering went", () => {
    expectTypeOf(display).returns.toEqualTypeOf<void>();
    expectTypeOf(displayTarget).returns.toEqualTypeOf<DisplayTarget>();
    expectTypeOf<DisplayTarget>().toEqualTypeOf<"tslab" | "deno-jupyter" | "dom" | "text">();
    expectTypeOf<DisplayOptions["write"]>().toEqualTypeOf<((text: string) => void) | undefined>();
    expect(displayTarget({ write: () => {} })).toBe("text");
  });

  it("options take key paths for highlighting", () => {
    expectTypeOf<HTMLOptions["highlight"]>().toEqualTypeOf<readonly KeyPath[] | undefined>();
    expectTypeOf<HTMLOptions["reveal"]>().toEqualTypeOf<readonly KeyPath[] | undefined>();
    expectTypeOf<TextOptions["highlight"]>().toEqualTypeOf<readonly KeyPath[] | undefined>();
    expectTypeOf<HTMLOptions["expandDepth"]>().toEqualTypeOf<number | undefined>();
  });

  it("summaries and descriptions are typed", () => {
    expectTypeOf(summarizeArray).returns.toEqualTypeOf<ArraySummary | undefined>();
    expectTypeOf(describeValue).returns.toEqualTypeOf<Described>();
    expectTypeOf<Described["kind"]>().toEqualTypeOf<NodeKind>();
    expect(describeValue([1]).kind).toBe("array");
  });

  it("displayable carries the Jupyter display symbol and renderers return strings", () => {
    expectTypeOf(renderSelectionHTML).returns.toEqualTypeOf<string>();
    expectTypeOf(colorFromString).toEqualTypeOf<(name: string) => string>();
    const shown = displayable(1) as Record<symbol, unknown>;
    expect(typeof shown[Symbol.for("Jupyter.display")]).toBe("function");
  });
});
