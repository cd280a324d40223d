/**
 * `npm run notebooks`: runs every notebook in this folder through tslab, cell by cell, in a project
 * where the saikei packages are installed from their npm tarballs, and stores each cell's outputs
 * (stdout and stderr, treescope HTML) and execution count in the .ipynb file, so that the notebooks
 * read well where they are browsed. A notebook with a failing cell is left unchanged, and the
 * script exits with status 1 after naming the notebook, the cell and the error.
 *
 * The project is the one the installed-package tests use (test/installed/consumer.ts: the
 * workspace packages, which must be built, packed and installed with npm). Flags: `--project DIR`
 * runs in another project instead (its node_modules must hold saikei and the tfjs packages; tslab
 * is installed there if missing); `--only TEXT` runs only the notebooks whose name contains TEXT.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareConsumer } from "../../test/installed/consumer.js";
import { parseFlags } from "../lib/args.js";
import {
  ensureTslab,
  htmlOutputs,
  readNotebook,
  runNotebook,
  serializeNotebook,
  stableIds,
  withOutputs,
} from "./runner.js";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Outputs above this size are reported: they make a notebook slow to open and to diff. */
const LARGE_OUTPUT = 300 * 1024;

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const projectDir = flags.project === undefined ? prepareConsumer().dir : resolve(flags.project);
  console.log(`project: ${projectDir}`);
  await ensureTslab(projectDir);
  const notebooks = readdirSync(here)
    .filter((file) => file.endsWith(".ipynb"))
    .filter((file) => flags.only === undefined || file.includes(flags.only))
    .sort();
  let failed = 0;
  for (const file of notebooks) {
    const path = join(here, file);
    const run = await runNotebook(path, { projectDir });
    const seconds = (run.durationMs / 1000).toFixed(1);
    if (run.versions !== undefined && file === notebooks[0]) {
      const { tslab, typescript, node } = run.versions;
      console.log(`tslab ${tslab} (TypeScript ${typescript}), Node ${node}`);
    }
    if (!run.ok) {
      failed++;
      const where = run.failure
        ? `code cell ${run.failure.codeIndex} (cell ${run.failure.cellIndex} of the file)`
        : "an unknown cell";
      console.error(`✗ ${file} (${seconds} s): ${where} failed; the file is left unchanged.`);
      if (run.failure) {
        console.error(
          `--- cell source ---\n${run.failure.source}\n--- why ---\n${run.failure.reason}`,
        );
      }
      continue;
    }
    const notebook = stableIds(withOutputs(readNotebook(path), run), file);
    const text = serializeNotebook(notebook);
    const changed = text !== readFileSync(path, "utf8");
    if (changed) writeFileSync(path, text);
    const slowest = [...run.cells].sort((a, b) => b.durationMs - a.durationMs)[0];
    const html = htmlOutputs(notebook);
    const htmlKB = html.reduce((n, o) => n + o.html.length, 0) / 1024;
    console.log(
      `✓ ${file}: ${run.cells.length} cells in ${seconds} s (slowest: cell ${slowest?.codeIndex}, ` +
        `${((slowest?.durationMs ?? 0) / 1000).toFixed(1)} s), ${html.length} HTML outputs ` +
        `(${htmlKB.toFixed(0)} KB), file ${(text.length / 1024).toFixed(0)} KB` +
        (changed ? ", outputs updated" : ", unchanged"),
    );
    for (const output of html) {
      if (output.html.length > LARGE_OUTPUT) {
        console.warn(
          `  code cell ${output.codeIndex}: HTML output of ${(output.html.length / 1024).toFixed(0)} KB`,
        );
      }
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
