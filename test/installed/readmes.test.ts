/**
 * The example in each package's README runs as a user would run it: compiled from TypeScript to a
 * plain ES module and executed with `node` in the consumer project, where the package is installed
 * from its tarball. Each `// value` comment after a `console.log` is what that line prints.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { describe, expect, inject, it } from "vitest";
import { workspacePackages } from "../../scripts/pack.js";

const run = promisify(execFile);

/** The first ```ts block of a README. */
function firstTsBlock(markdown: string): string {
  const match = /^```ts\n([\s\S]*?)^```$/m.exec(markdown);
  if (match === null) throw new Error("no ```ts block");
  return match[1]!;
}

/** What each `console.log(...); // expected` line announces, in order. */
function announcedOutputs(source: string): string[] {
  return [...source.matchAll(/^console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]!);
}

describe("package README examples", () => {
  it.each(workspacePackages())(
    "$name's example runs with node from the installed package",
    async ({ dir, name }) => {
      const source = firstTsBlock(readFileSync(join(dir, "README.md"), "utf8"));
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      const file = join(inject("consumerDir"), `readme-${name.replace(/\W/g, "_")}.mjs`);
      writeFileSync(file, outputText);
      const { stdout } = await run(process.execPath, [file], { cwd: inject("consumerDir") });
      const printed = stdout.trim().split("\n");
      const announced = announcedOutputs(source);
      expect(announced.length).toBeGreaterThan(0);
      expect(printed).toHaveLength(announced.length);
      announced.forEach((expected, i) => {
        // The comment may go on after " — " with an explanation; the line printed starts with the rest.
        const value = expected.split(" — ")[0]!;
        expect(
          printed[i]!.startsWith(value),
          `${name} line ${i}: printed ${printed[i]}, README says ${expected}`,
        ).toBe(true);
      });
    },
  );
});
