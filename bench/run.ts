/**
 * Runs every benchmark: each `packages/<name>/bench/*.bench.ts` in its own process, in package
 * order. Pass package names to run only those: `npm run bench -- select named`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const order = [
  "struct",
  "select",
  "named",
  "shapecheck",
  "layer",
  "effects",
  "nn",
  "treescope",
  "toolshed",
  "models",
  "onnx",
];
const only = process.argv.slice(2);
let failed = false;
for (const pkg of order) {
  if (only.length > 0 && !only.includes(pkg)) continue;
  const dir = `${root}packages/${pkg}/bench`;
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".bench.ts"))
    .sort()) {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=@saikei/source", `${dir}/${file}`],
      {
        stdio: "inherit",
        cwd: root,
      },
    );
    if (run.status !== 0) {
      console.error(`benchmark ${pkg}/${file} failed with exit code ${run.status}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
