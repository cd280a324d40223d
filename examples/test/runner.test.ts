import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { codeCells, runNotebook } from "../notebooks/runner.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe("notebook runner", () => {
  it("extracts only code cells, in order", () => {
    expect(codeCells(fixture("ok.ipynb"))).toEqual([
      "const x: number = 2;\n",
      "console.log(`x=${x * 21}`);\n",
    ]);
  });

  it("runs the cells of a notebook as one module sharing scope", () => {
    const run = runNotebook(fixture("ok.ipynb"));
    expect(run.ok).toBe(true);
    expect(run.output).toContain("x=42");
  });

  it("names the cell that failed", () => {
    const run = runNotebook(fixture("failing.ipynb"));
    expect(run.ok).toBe(false);
    expect(run.failedCell).toBe(1);
    expect(run.output).toContain("boom 1");
    expect(run.output).not.toContain("never");
  });
});
