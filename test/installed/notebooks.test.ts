/**
 * Every notebook runs in tslab, as a Jupyter user runs it: each code cell goes through tslab's own
 * kernel code (its TypeScript converter, which type-checks the cell and resolves modules
 * node10-style, and its executor, which turns imports into `require`) in a project where the
 * saikei packages are installed from their npm tarballs. Any error fails the test and names the
 * notebook and the cell: a type error, a thrown error, a rejected top-level await, anything printed
 * to stderr (which is where tslab reports errors, unhandled rejections and uncaught exceptions).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type CellRun,
  codeCells,
  ensureTslab,
  type NotebookRun,
  runNotebook,
  TSLAB_VERSION,
} from "../../examples/notebooks/runner.js";

const consumerDir = inject("consumerDir");
const notebooks = fileURLToPath(new URL("../../examples/notebooks/", import.meta.url));

const files = [
  "01-how-to-think-in-saikei.ipynb",
  "02-selectors.ipynb",
  "03-named-axes.ipynb",
  "04-effects.ipynb",
  "05-transformer-from-scratch.ipynb",
  "06-lora.ipynb",
  "07-induction-heads.ipynb",
];

/** Long lines (minified wasm glue in a stack trace) shortened, and only the end kept. */
function readable(text: string): string {
  return text
    .split("\n")
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)} …` : line))
    .slice(-60)
    .join("\n");
}

/** The message of a failed run: notebook, cell, source and error. */
function describeFailure(run: NotebookRun): string {
  const failure = run.failure;
  if (failure === undefined) {
    return `${run.notebook} stopped after ${run.cells.length} code cells without a failure.\n${readable(run.kernelOutput)}`;
  }
  return (
    `${run.notebook}: code cell ${failure.codeIndex} (cell ${failure.cellIndex} of the file, ` +
    `counting from 0) failed in tslab.\n--- cell source ---\n${failure.source}\n` +
    `--- error ---\n${readable(failure.reason)}`
  );
}

beforeAll(async () => {
  await ensureTslab(consumerDir);
}, 240_000);

describe("the tslab runner", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "saikei-notebook-"));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Writes a notebook with these code cells and runs it in the consumer project. */
  async function run(name: string, cells: string[]): Promise<NotebookRun> {
    const path = join(scratch, name);
    writeFileSync(
      path,
      JSON.stringify({
        cells: cells.map((source) => ({ cell_type: "code", metadata: {}, source, outputs: [] })),
        metadata: {
          kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
        },
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    return runNotebook(path, { projectDir: consumerDir, timeoutMs: 60_000 });
  }

  const stdout = (cell: CellRun | undefined) => cell?.stdout ?? "";

  it("runs cells one by one in one tslab session, as the kernel does, with the installed packages", async () => {
    const result = await run("ok.ipynb", [
      'import { pz } from "saikei";\nconst x: number = 2;\nconsole.log("x=" + x * 21);',
      "let y = x + 1;\ny",
      // A top-level await and a module resolved from the project's node_modules.
      'const backend = await pz.ready();\nconsole.log(backend, require.resolve("saikei"));',
      'import * as tslab from "tslab";\ntslab.display.html("<b>bold</b>");\nconsole.log("after");',
    ]);
    expect(result.failure).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.versions?.tslab).toBe(TSLAB_VERSION);
    expect(result.cells.map((c) => [c.status, c.executionCount])).toEqual([
      ["ok", 1],
      ["ok", 2],
      ["ok", 3],
      ["ok", 4],
    ]);
    expect(stdout(result.cells[0])).toBe("x=42\n");
    // tslab prints the value of a cell's last expression.
    expect(stdout(result.cells[1])).toBe("3\n");
    expect(stdout(result.cells[2])).toMatch(/^(wasm|cpu) /);
    expect(stdout(result.cells[2])).toContain(join(consumerDir, "node_modules", "saikei"));
    expect(result.cells[3]!.outputs).toEqual([
      { output_type: "display_data", data: { "text/html": ["<b>bold</b>"] }, metadata: {} },
      { output_type: "stream", name: "stdout", text: ["after\n"] },
    ]);
  }, 90_000);

  it("stops at a thrown error and names the cell; later cells do not run", async () => {
    const result = await run("throws.ipynb", [
      'console.log("first");',
      'console.log("second");\nthrow new Error("boom 1");',
      'console.log("never");',
    ]);
    expect(result.ok).toBe(false);
    expect(result.failure?.codeIndex).toBe(1);
    expect(result.failure?.reason).toContain("boom 1");
    expect(result.cells.map((c) => c.status)).toEqual(["ok", "error"]);
    expect(result.cells.map(stdout).join("")).not.toContain("never");
  }, 90_000);

  it("fails on a type error, which tslab reports before running the cell", async () => {
    const result = await run("types.ipynb", [
      "const n: number = 1;",
      'const s: string = n;\nconsole.log("ran");',
    ]);
    expect(result.failure?.codeIndex).toBe(1);
    expect(result.failure?.reason).toMatch(/not assignable to type 'string'/);
    expect(stdout(result.cells[1])).not.toContain("ran");
  }, 90_000);

  it("fails on errors printed by a cell and on a promise rejected after the cell returned", async () => {
    const printed = await run("printed.ipynb", ['console.error("something went wrong");']);
    expect(printed.failure?.codeIndex).toBe(0);
    expect(printed.failure?.reason).toContain("something went wrong");
    const rejected = await run("rejected.ipynb", [
      'Promise.reject(new Error("late failure"));\nconsole.log("returned");',
      'console.log("next");',
    ]);
    expect(rejected.failure?.codeIndex).toBe(0);
    expect(rejected.failure?.reason).toContain("UnhandledPromiseRejection");
    expect(rejected.failure?.reason).toContain("late failure");
    const timer = await run("timer.ipynb", [
      'setTimeout(() => console.error("from a timer"), 60);\nconsole.log("returned");',
    ]);
    expect(timer.ok).toBe(false);
    expect(timer.failure?.codeIndex).toBe(0);
    expect(timer.failure?.reason).toContain("from a timer");
    expect(timer.cells[0]!.stdout).toBe("returned\n");
  }, 90_000);
});

describe("every notebook runs in tslab from the first cell to the last", () => {
  it.each(files)(
    "%s",
    async (file) => {
      const path = notebooks + file;
      const run = await runNotebook(path, { projectDir: consumerDir, timeoutMs: 150_000 });
      expect(run.failure, describeFailure(run)).toBeUndefined();
      expect(run.ok, describeFailure(run)).toBe(true);
      const cells = codeCells(path);
      expect(run.cells.map((c) => c.executionCount)).toEqual(cells.map((_, i) => i + 1));
      // pz.ts.display, displayArray, displayTokens and tslab.display.html show HTML in tslab: one
      // display_data output per call.
      run.cells.forEach((cell, i) => {
        const calls =
          cells[i]!.match(/pz\.ts\.display(Array|Tokens)?\(|tslab\.display\.html\(/g)?.length ?? 0;
        const html = cell.outputs.filter(
          (o) => o.output_type === "display_data" && o.data["text/html"] !== undefined,
        );
        expect(html.length, `${file} code cell ${i}: HTML outputs of pz.ts.display`).toBe(calls);
      });
    },
    180_000,
  );
});
