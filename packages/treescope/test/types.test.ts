import type { KeyPath } from "@saikei/struct";
import {
  type ArraySpec,
  type ArraySummary,
  type ArrayViewOptions,
  type AxisRef,
  type ColorScale,
  colorFromString,
  colorOf,
  type Described,
  type DisplayOptions,
  type DisplayTarget,
  describe as describeValue,
  display,
  displayArray,
  displayable,
  displayTarget,
  displayTokens,
  type HTMLOptions,
  type NodeKind,
  type RGB,
  renderArray,
  renderSelectionHTML,
  renderTokens,
  summarizeArray,
  type TextOptions,
  type TokenDecoder,
  type TokenViewOptions,
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

  it("array and token views take typed options and return HTML strings", () => {
    expectTypeOf(renderArray).returns.toEqualTypeOf<string>();
    expectTypeOf(renderTokens).returns.toEqualTypeOf<string>();
    expectTypeOf(displayArray).returns.toEqualTypeOf<void>();
    expectTypeOf(displayTokens).returns.toEqualTypeOf<void>();
    expectTypeOf<AxisRef>().toEqualTypeOf<string | number>();
    expectTypeOf<ArrayViewOptions["rows"]>().toEqualTypeOf<readonly AxisRef[] | undefined>();
    expectTypeOf<ArrayViewOptions["colormap"]>().toEqualTypeOf<
      "sequential" | "diverging" | "categorical" | undefined
    >();
    expectTypeOf<ArraySpec["encoding"]>().toEqualTypeOf<"f32" | "f64" | "i32" | "u8">();
    expectTypeOf(colorOf).parameters.toEqualTypeOf<[ColorScale, number]>();
    expectTypeOf(colorOf).returns.toEqualTypeOf<RGB>();
    // any object with decode(ids) is a tokenizer, such as a Hugging Face tokenizer wrapper
    expectTypeOf<{
      decode(ids: number[]): string;
      encode(t: string): number[];
    }>().toExtend<TokenDecoder>();
    expectTypeOf<TokenViewOptions["vocabulary"]>().toEqualTypeOf<
      readonly string[] | ReadonlyMap<number, string> | undefined
    >();
    // @ts-expect-error a rows list holds names or numbers
    const bad: ArrayViewOptions = { rows: [true] };
    expect(bad.rows).toEqual([true]);
  });
});
