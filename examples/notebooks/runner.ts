/**
 * Runs the code cells of a TypeScript notebook (tslab's .ipynb format) in order, as one module, so
 * that a test can prove the notebooks still run. Each cell is preceded by a marker line, so a
 * failure names its cell.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The code cells of a notebook, as source strings. */
export function codeCells(notebookPath: string): string[] {
  const notebook = JSON.parse(readFileSync(notebookPath, "utf8")) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  return notebook.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source));
}

// tslab gives cells a `$$` display object; outside tslab, display calls print text instead.
const prelude = `const $$ = { html: (_s: string) => {}, text: (s: string) => console.log(s), svg: (_s: string) => {}, png: (_b: unknown) => {} };
void $$;
`;

/** The single module that runs every code cell in order. */
export function notebookModule(cells: readonly string[]): string {
  return (
    prelude +
    cells.map((source, i) => `console.log("__cell__ ${i}");\n${source}\n`).join("\n") +
    'console.log("__done__");\n'
  );
}

/** Result of running a notebook: whether every cell ran, and which cell failed. */
export interface NotebookRun {
  ok: boolean;
  failedCell: number | undefined;
  output: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Runs every code cell of `notebookPath` in a fresh Node process (tsx, workspace sources). */
export function runNotebook(notebookPath: string, timeoutMs = 300_000): NotebookRun {
  const cells = codeCells(notebookPath);
  const dir = join(here, ".run");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${basename(notebookPath, ".ipynb")}.ts`);
  writeFileSync(file, notebookModule(cells));
  const run = spawnSync(process.execPath, ["--import", "tsx", "--conditions=@saikei/source", file], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  const started = [...(run.stdout ?? "").matchAll(/^__cell__ (\d+)$/gm)].map((m) => Number(m[1]));
  const ok = run.status === 0 && (run.stdout ?? "").includes("__done__");
  return { ok, failedCell: ok ? undefined : started.at(-1), output };
}
