import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the demo script directly (as `npm run demo` does, without npm's own output). */
function demo(args: string[]) {
  return spawnSync(
    process.execPath,
    ["--conditions=@saikei/source", "--import", "tsx", "examples/demo.ts", ...args],
    { cwd: root, encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } },
  );
}

describe("the demo's command line", () => {
  it("--help prints the usage on stdout and exits 0", () => {
    const run = demo(["--help"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("usage: npm run demo -- [options]");
    expect(run.stdout).toContain("--backend NAME   tfjs backend: wasm or cpu");
    expect(run.stderr).toBe("");
  });

  it("an unknown flag prints the error and the usage on stderr and exits 2", () => {
    const run = demo(["--stepz", "3"]);
    expect(run.status).toBe(2);
    expect(run.stderr.startsWith("error: Unknown option '--stepz'\n\nusage: npm run demo")).toBe(
      true,
    );
    expect(run.stdout).toBe("");
  });
});

describe("npm run demo", () => {
  it("trains, checkpoints, samples and renders end to end with a small step count", {
    timeout: 600_000,
  }, () => {
    const out = mkdtempSync(join(tmpdir(), "saikei-demo-"));
    const run = spawnSync("npm", ["run", "demo", "--", "--steps", "20", "--out", out], {
      cwd: root,
      encoding: "utf8",
      timeout: 600_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(run.stdout).toMatch(/step 20\/20 {2}loss \d+\.\d{4}/);
    for (const name of ["loss.svg", "checkpoint.safetensors", "sample.txt", "model.html"]) {
      expect(run.stdout).toContain(join(out, name));
    }
    const svg = readFileSync(join(out, "loss.svg"), "utf8");
    expect(
      svg
        .match(/points="([^"]*)"/)![1]!
        .trim()
        .split(" "),
    ).toHaveLength(20);
    const losses = [...run.stdout.matchAll(/loss (\d+\.\d{4})/g)].map((m) => Number(m[1]));
    // A 56-character alphabet starts near ln(56) = 4.03 or above; 20 Adam steps must lower it.
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(readFileSync(join(out, "sample.txt"), "utf8").startsWith("Shall I compare thee")).toBe(
      true,
    );
    const html = readFileSync(join(out, "model.html"), "utf8");
    expect(html).toContain("TransformerLM");
    const checkpoint = readFileSync(join(out, "checkpoint.safetensors"));
    const headerLength = Number(checkpoint.readBigUInt64LE(0));
    const header = JSON.parse(checkpoint.subarray(8, 8 + headerLength).toString("utf8"));
    expect(Object.keys(header)).toContain("block_0.attn.query.weights");
    expect(header["embedder.embeddings"].shape).toEqual([56, 64]);
  });
});
