import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../models/fixtures/pretrained/${name}`, import.meta.url));
const expected = (name: string) =>
  JSON.parse(readFileSync(`${fixture(name)}.expected.json`, "utf8")) as {
    prompt: string;
    greedy: number[];
    greedyText: string;
  };
const scratch = mkdtempSync(join(tmpdir(), "saikei-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
  });
  return { code, stdout, stderr };
}

describe("saikei command line", () => {
  it("generate prints the greedy continuation of the prompt", async () => {
    const name = "llama-tied-bf16-sharded";
    const e = expected(name);
    const result = await run(
      "generate",
      fixture(name),
      "--prompt",
      e.prompt,
      "--max-new-tokens",
      String(e.greedy.length),
    );
    expect(result).toEqual({ code: 0, stdout: `${e.greedyText}\n`, stderr: "" });
  });

  it("inspect prints the architecture and sizes, and writes the treescope page", async () => {
    const out = join(scratch, "gemma.html");
    const result = await run("inspect", fixture("gemma-mqa"), "--html", out);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "architecture: GemmaForCausalLM\nstored as: F32 (20 tensors)\n",
    );
    expect(result.stdout).toContain(
      "blocks: 2, embedding: 32, heads: 4 (kv 1) × 16, mlp: 64, vocabulary: 332",
    );
    expect(readFileSync(out, "utf8")).toContain("TransformerLM");
  });

  it("reports a folder it cannot load with the error's name and exit code 1", async () => {
    const result = await run("inspect", scratch);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `saikei: PretrainedFolderError: loadPretrained: no config.json in ${scratch}; a Hugging Face model folder starts with one.\n`,
    );
  });

  it("explains usage mistakes with exit code 2", async () => {
    expect((await run("generate", fixture("gpt2-f16"))).stderr).toContain(
      'generate needs --prompt "<text>".',
    );
    expect(
      (await run("generate", fixture("gpt2-f16"), "--prompt", "x", "--seed", "1.5")).stderr,
    ).toContain('--seed expects an integer, got "1.5".');
    const noValue = await run("generate", fixture("gpt2-f16"), "--prompt");
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("--prompt");
    const unknownFlag = await run("inspect", fixture("gpt2-f16"), "--colour");
    expect(unknownFlag.code).toBe(2);
    const unknown = await run("train");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('saikei: unknown command "train".');
    expect((await run("--help")).stdout).toContain("saikei inspect <dir> [--html <out.html>]");
  });
});
