import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { progressReporter, runCli } from "../src/cli.js";

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

describe("the loading progress bar", () => {
  const steps = (total: number) =>
    Array.from({ length: 4 }, (_, i) => ({
      bytesRead: ((i + 1) * total) / 4,
      totalBytes: total,
      tensorsRead: i + 1,
      totalTensors: 4,
    }));

  it("redraws one line on a terminal and ends it when done", () => {
    let text = "";
    const report = progressReporter({ write: (t: string) => (text += t), isTTY: true });
    for (const p of steps(400e6)) report(p);
    const frames = text.split("\r").filter((f) => f !== "");
    expect(frames).toHaveLength(4);
    expect(frames[0]).toMatch(/^\[#{8}\.{22}\] {2}25% loading 100\/400 MB \(1\/4 tensors, /);
    expect(frames[3]).toMatch(/^\[#{30}\] 100% loading 400\/400 MB \(4\/4 tensors, .*\)\n$/);
  });

  it("prints a line per tenth elsewhere, and nothing for small folders", () => {
    let text = "";
    const report = progressReporter({ write: (t: string) => (text += t), isTTY: false });
    for (const p of steps(400e6)) report(p);
    expect(
      text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["25%", "50%", "75%", "100%"]);
    let small = "";
    const quiet = progressReporter({ write: (t: string) => (small += t), isTTY: true });
    for (const p of steps(1e6)) quiet(p);
    expect(small).toBe("");
  });
});
