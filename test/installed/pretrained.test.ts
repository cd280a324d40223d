/**
 * The `saikei` command line as a user gets it: the `bin` of the packed `saikei` package, installed
 * in the consumer project, run with plain `node` on the Hugging Face fixture folders of
 * `@saikei/models`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { workspaceRoot } from "./consumer.js";

const run = promisify(execFile);
const project = inject("consumerDir");
const fixture = (name: string) =>
  join(workspaceRoot, "packages", "models", "fixtures", "pretrained", name);

/** Runs `saikei <args>` through the installed bin link with plain node. */
function saikei(...args: string[]) {
  const bin = realpathSync(join(project, "node_modules", ".bin", "saikei"));
  return run(process.execPath, [bin, ...args], { cwd: project, timeout: 120_000 });
}

describe("npx saikei from the packed tarball", () => {
  it("installs the saikei command", () => {
    const pkg = JSON.parse(
      readFileSync(join(project, "node_modules", "saikei", "package.json"), "utf8"),
    );
    expect(pkg.bin).toEqual({ saikei: "./dist/cliBin.js" });
  });

  it("generate prints the reference greedy continuation", async () => {
    const name = "llama-tied-bf16-sharded";
    const expected = JSON.parse(readFileSync(`${fixture(name)}.expected.json`, "utf8"));
    const { stdout } = await saikei(
      "generate",
      fixture(name),
      "--prompt",
      expected.prompt,
      "--max-new-tokens",
      String(expected.greedy.length),
    );
    expect(stdout).toBe(`${expected.greedyText}\n`);
  });

  it("inspect describes a GPT-2 folder and writes its treescope page", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "saikei-inspect-")), "gpt2.html");
    const { stdout } = await saikei("inspect", fixture("gpt2-f16"), "--html", out);
    expect(stdout).toContain("architecture: GPT2LMHeadModel\nstored as: F16 (28 tensors)\n");
    expect(readFileSync(out, "utf8")).toContain("AddLearnedPositions");
  });

  it("exits with 1 and the error's name for a folder it cannot load", async () => {
    const empty = mkdtempSync(join(tmpdir(), "saikei-empty-"));
    const failure = await saikei("inspect", empty).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(
      "saikei: PretrainedFolderError: loadPretrained: no config.json in",
    );
  });
});
