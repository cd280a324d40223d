/**
 * The notebook series as committed: TypeScript (tslab) notebooks that teach in prose and code,
 * stored with the outputs of a complete run (`npm run notebooks`), so that they read well where
 * notebooks are browsed. That every cell runs in tslab against the installed packages is tested in
 * test/installed/notebooks.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  cellSource,
  htmlOutputs,
  type Notebook,
  readNotebook,
  serializeNotebook,
  stableIds,
} from "../notebooks/runner.js";

const dir = fileURLToPath(new URL("../notebooks/", import.meta.url));

/** The topics of the notebook series, by file name and title. */
const topics = [
  ["01-how-to-think-in-saikei.ipynb", "How to think in saikei"],
  ["02-selectors.ipynb", "Selectors"],
  ["03-named-axes.ipynb", "Named axes"],
  ["04-effects.ipynb", "Effects"],
  ["05-transformer-from-scratch.ipynb", "A transformer from scratch"],
  ["06-lora.ipynb", "LoRA"],
  ["07-induction-heads.ipynb", "Induction heads"],
] as const;

/** Outputs above this size make a notebook slow to open and to review. */
const LARGE_OUTPUT = 300 * 1024;

const load = (file: string): Notebook => readNotebook(dir + file);
const code = (notebook: Notebook) => notebook.cells.filter((c) => c.cell_type === "code");

describe("the notebook series", () => {
  it("has exactly the seven notebooks, one per topic", () => {
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
      expect(cellSource(first).split("\n")[0]).toMatch(new RegExp(`^# ${title}(:|$)`));
      const markdown = notebook.cells.filter((c) => c.cell_type === "markdown");
      expect(markdown.length).toBeGreaterThanOrEqual(5);
      expect(code(notebook).length).toBeGreaterThanOrEqual(5);
      // Every notebook prints what it computes.
      expect(code(notebook).map(cellSource).join("\n")).toMatch(/console\.log|pz\.ts\.display/);
    },
  );
});

describe("the committed notebooks carry the outputs of a complete run", () => {
  it.each(topics)("%s: every code cell ran, in order, without printing to stderr", (file) => {
    const cells = code(load(file));
    expect(
      cells.map((cell) => cell.execution_count),
      `${file} has cells without outputs: run \`npm run notebooks\``,
    ).toEqual(cells.map((_, i) => i + 1));
    cells.forEach((cell, i) => {
      const stderr = (cell.outputs ?? []).filter(
        (o) => o.output_type === "stream" && o.name === "stderr",
      );
      expect(stderr, `${file} code cell ${i} printed to stderr`).toEqual([]);
      if (/console\.log\(/.test(cellSource(cell))) {
        expect(
          (cell.outputs ?? []).some((o) => o.output_type === "stream" && o.name === "stdout"),
          `${file} code cell ${i} logs but has no stdout output`,
        ).toBe(true);
      }
    });
  });

  it.each(topics)("%s: every pz.ts.display call left an HTML view", (file) => {
    const cells = code(load(file));
    cells.forEach((cell, i) => {
      const displays =
        cellSource(cell).match(/pz\.ts\.display(Array|Tokens)?\(|tslab\.display\.html\(/g)
          ?.length ?? 0;
      const html = (cell.outputs ?? []).filter(
        (o) => o.output_type === "display_data" && o.data["text/html"] !== undefined,
      );
      expect(html.length, `${file} code cell ${i}: HTML outputs`).toBe(displays);
    });
  });

  it.each(topics)("%s: HTML outputs are self-contained and of a reasonable size", (file) => {
    for (const { codeIndex, html } of htmlOutputs(load(file))) {
      const where = `${file} code cell ${codeIndex}`;
      expect(html, where).not.toMatch(/<script[^>]*\ssrc=/i);
      expect(html, where).not.toMatch(/<link\b/i);
      expect(html, where).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
      expect(html, where).not.toMatch(/@import/i);
      expect(html.length, where).toBeLessThan(LARGE_OUTPUT);
    }
  });

  it.each(topics)(
    "%s is stored as the notebook script writes it (stable ids, sorted keys)",
    (file) => {
      const text = readFileSync(dir + file, "utf8");
      expect(serializeNotebook(stableIds(JSON.parse(text) as Notebook, file))).toBe(text);
    },
  );
});
