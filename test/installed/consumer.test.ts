/**
 * saikei as a user gets it: the packed packages installed in a project outside the workspace, run
 * with plain `node` (no tsx, no conditions) as ES modules and through `require`, and type-checked
 * by `tsc` with `skipLibCheck` off.
 */
import { execFile } from "node:child_process";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { workspaceRoot } from "./consumer.js";

const run = promisify(execFile);
const project = inject("consumerDir");
const scripts = join(workspaceRoot, "test", "installed", "scripts");

/** Copies a script of ./scripts into the consumer project, runs it with node, parses its JSON line. */
async function runScript(file: string): Promise<any> {
  cpSync(join(scripts, file), join(project, file));
  const { stdout } = await run(process.execPath, [file], { cwd: project, timeout: 240_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("an ES module script with plain node", () => {
  it("builds a TransformerLM, trains 20 steps on wasm with the loss going down, reloads a checkpoint and samples", async () => {
    const out = await runScript("train.mjs");
    expect(out.backend).toBe("wasm");
    expect(out.losses).toHaveLength(20);
    const first = out.losses.slice(0, 3).reduce((a: number, b: number) => a + b) / 3;
    const last = out.losses.slice(-3).reduce((a: number, b: number) => a + b) / 3;
    // A 20-letter alphabet starts near ln 20 ≈ 3 nats and more; 20 steps on a repeated line halve it.
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(first / 2);
    expect(out.reloadDifference).toBe(0);
    expect(out.sample).toHaveLength(16); // the sampled characters, after the 8 of the prompt
    expect(out.sample).toMatch(/^[a-z ,.?']+$/); // letters of the training text only
    expect(out.html).toBeGreaterThan(10_000);
  });

  it("has a gradient for every kernel the training losses of the models dispatch", async () => {
    const out: Record<string, Record<string, boolean>> = await runScript("kernels.mjs");
    // Kernels with no differentiable input: constants (Fill) and comparisons (Greater). Kernels
    // named `*__op` are tfjs custom-gradient ops, which carry their gradient with them.
    const noGradientNeeded = new Set(["Fill", "Greater"]);
    for (const [model, kernels] of Object.entries(out)) {
      const missing = Object.entries(kernels)
        .filter(([name, has]) => !has && !noGradientNeeded.has(name) && !name.endsWith("__op"))
        .map(([name]) => name);
      expect(missing, `${model} uses kernels without gradients`).toEqual([]);
    }
    expect(Object.keys(out.TransformerLM!)).toEqual(
      expect.arrayContaining([
        "BatchMatMul",
        "GatherV2",
        "Softmax",
        "Rsqrt",
        "Select",
        "Sin",
        "Cos",
      ]),
    );
    expect(Object.keys(out.MLP!)).toEqual(expect.arrayContaining(["BatchMatMul", "Relu", "Add"]));
  });
});

describe("a CommonJS script", () => {
  it('runs inference through require("saikei") without leaking tensors', async () => {
    const out = await runScript("infer.cjs");
    expect(out).toEqual({
      backend: "wasm",
      axes: { batch: 1, features: 2 },
      finite: true,
      text: expect.stringMatching(
        /^MLP\(sublayers=\[Affine\(sublayers=\[Linear\(weights=Parameter/,
      ),
      leaked: 0,
    });
  });
});

describe("a TypeScript consumer, skipLibCheck off", () => {
  const tsc = join(workspaceRoot, "node_modules", "typescript", "bin", "tsc");

  /** tsc's diagnostics for `files` under one module resolution, as `file(line,col): error TS...` lines. */
  async function diagnostics(
    resolution: "bundler" | "nodenext",
    files: string[],
  ): Promise<string[]> {
    const config = join(project, `tsconfig.${resolution}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: "es2022",
          module: resolution === "bundler" ? "esnext" : "nodenext",
          moduleResolution: resolution,
          lib: ["es2023", "dom"],
          types: ["node"],
        },
        files,
      }),
    );
    const result = await run(process.execPath, [tsc, "-p", config], { cwd: project }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    );
    return result.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
  }

  /** Diagnostics in saikei's declarations or in the consumer's own files (not tfjs's or the DOM's). */
  const ours = (lines: string[]) =>
    lines.filter((line) => !/^(node_modules\/@(tensorflow|webgpu)\/|\.\.\/)/.test(line));

  it.each(["bundler", "nodenext"] as const)(
    "type-checks with moduleResolution %s and no error from saikei's declarations",
    async (resolution) => {
      cpSync(join(scripts, "consumer.ts"), join(project, "consumer.ts"));
      expect(ours(await diagnostics(resolution, ["consumer.ts"]))).toEqual([]);
    },
  );

  it("reports a type error in consumer code (the check can fail)", async () => {
    writeFileSync(
      join(project, "wrong.ts"),
      'import { Struct, field } from "@saikei/struct";\n' +
        "class P extends Struct.define({ x: field<number>() }) {}\n" +
        'export const p = new P({ x: "three" });\n',
    );
    const lines = ours(await diagnostics("nodenext", ["wrong.ts"]));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^wrong\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/,
    );
  });
});
