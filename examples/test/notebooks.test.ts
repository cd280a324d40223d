/**
 * Runs every code cell of every notebook in examples/notebooks, in order, so that the notebooks
 * never rot: an API change that breaks a notebook fails this test and names the cell.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { codeCells, runNotebook } from "../notebooks/runner.js";

const dir = fileURLToPath(new URL("../notebooks/", import.meta.url));

/** The six topics of the notebook series, by file name and title. */
const topics = [
  ["01-how-to-think-in-saikei.ipynb", "How to think in saikei"],
  ["02-selectors.ipynb", "Selectors"],
  ["03-named-axes.ipynb", "Named axes"],
  ["04-effects.ipynb", "Effects"],
  ["05-transformer-from-scratch.ipynb", "A transformer from scratch"],
  ["06-lora.ipynb", "LoRA"],
] as const;

interface Notebook {
  cells: { cell_type: string; source: string[] | string }[];
  metadata: { kernelspec?: { name?: string; display_name?: string; language?: string } };
  nbformat: number;
}

function load(name: string): Notebook {
  return JSON.parse(readFileSync(dir + name, "utf8")) as Notebook;
}

function text(source: string[] | string): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** The runner's output without the minified wasm glue that Node prints on an uncaught error. */
function readable(output: string): string {
  const lines = output
    .split("\n")
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)} …` : line));
  return lines.slice(-120).join("\n");
}

describe("the notebook series", () => {
  it("has exactly the six notebooks, one per topic", () => {
    const found = readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort();
    expect(found).toEqual(topics.map(([file]) => file));
  });

  it.each(topics)(
    "%s is a TypeScript (tslab) notebook titled %j that teaches in prose and code",
    (file, title) => {
      const notebook = load(file);
      expect(notebook.nbformat).toBe(4);
      expect(notebook.metadata.kernelspec).toEqual({
        name: "tslab",
        display_name: "TypeScript",
        language: "typescript",
      });
      const first = notebook.cells[0]!;
      expect(first.cell_type).toBe("markdown");
      expect(text(first.source).split("\n")[0]).toBe(`# ${title}`);
      const markdown = notebook.cells.filter((c) => c.cell_type === "markdown");
      const code = codeCells(dir + file);
      expect(markdown.length).toBeGreaterThanOrEqual(5);
      expect(code.length).toBeGreaterThanOrEqual(5);
      // Every notebook prints what it computes.
      expect(code.join("\n")).toMatch(/console\.log|pz\.ts\.display/);
    },
  );
});

describe("every notebook runs from the first cell to the last", () => {
  it.each(topics)(
    "%s",
    (file) => {
      const run = runNotebook(dir + file, 280_000);
      const message = `${file} failed in code cell ${run.failedCell}:\n${readable(run.output)}`;
      expect(run.ok, message).toBe(true);
      expect(run.failedCell).toBeUndefined();
      expect(run.output).toContain(`__cell__ ${codeCells(dir + file).length - 1}`);
    },
    300_000,
  );
});
