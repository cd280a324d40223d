/**
 * Runs every code cell of every notebook in examples/notebooks, in order, so that the notebooks
 * never rot: an API change that breaks a notebook fails this test and names the cell. The same
 * modules are also type-checked, so a notebook cannot drift from the public types either.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { codeCells, notebookModule, runNotebook } from "../notebooks/runner.js";

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
      expect(text(first.source).split("\n")[0]).toMatch(new RegExp(`^# ${title}(:|$)`));
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
      const cells = codeCells(dir + file);
      const source = run.failedCell === undefined ? "" : (cells[run.failedCell] ?? "");
      const message =
        `${file} failed in code cell ${run.failedCell} (counting code cells from 0):\n` +
        `--- cell source ---\n${source}\n--- output ---\n${readable(run.output)}`;
      expect(run.ok, message).toBe(true);
      expect(run.failedCell).toBeUndefined();
      expect(run.output).toContain(`__cell__ ${cells.length - 1}`);
    },
    300_000,
  );
});

describe("every notebook type-checks", () => {
  it("tsc finds no error in the cells of the six notebooks (each notebook checked as one module)", () => {
    // The modules go where runNotebook puts them (examples/notebooks/.run, git-ignored), with a
    // tsconfig that resolves the workspace packages to their sources as the runner does.
    const runDir = `${dir}.run/`;
    mkdirSync(runDir, { recursive: true });
    const files = topics.map(([file]) => {
      const module = file.replace(/\.ipynb$/, ".ts");
      writeFileSync(runDir + module, notebookModule(codeCells(dir + file)));
      return `./${module}`;
    });
    writeFileSync(
      `${runDir}tsconfig.json`,
      JSON.stringify({
        extends: "../../../tsconfig.base.json",
        compilerOptions: {
          noEmit: true,
          customConditions: ["@saikei/source"],
          declaration: false,
          declarationMap: false,
        },
        files,
      }),
    );
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const run = spawnSync(process.execPath, [tsc, "-p", `${runDir}tsconfig.json`], {
      encoding: "utf8",
      timeout: 280_000,
    });
    expect(`${run.stdout}${run.stderr}`).toBe("");
    expect(run.status).toBe(0);
  }, 300_000);
});
