/**
 * The published packages themselves: each tarball holds what a user needs and nothing of the
 * repository's own, and passes publint and Are The Types Wrong.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { workspaceRoot } from "./consumer.js";

const run = promisify(execFile);
const bin = (name: string) => join(workspaceRoot, "node_modules", ".bin", name);
const packed = inject("packed");

describe("every published package", () => {
  it("is one of the twelve packages, each packed", () => {
    expect(packed.map((p) => p.name).sort()).toEqual([
      "@saikei/effects",
      "@saikei/layer",
      "@saikei/models",
      "@saikei/named",
      "@saikei/nn",
      "@saikei/onnx",
      "@saikei/select",
      "@saikei/shapecheck",
      "@saikei/struct",
      "@saikei/toolshed",
      "@saikei/treescope",
      "saikei",
    ]);
    for (const { tarball } of packed) expect(existsSync(tarball), tarball).toBe(true);
  });

  it.each(packed)(
    "$name carries LICENSE, NOTICE, a README with an example, and dist",
    ({ stage }) => {
      const files = readdirSync(stage).sort();
      expect(files).toEqual(
        expect.arrayContaining(["LICENSE", "NOTICE", "README.md", "dist", "package.json"]),
      );
      expect(readFileSync(join(stage, "LICENSE"), "utf8")).toContain("Apache License");
      expect(readFileSync(join(stage, "NOTICE"), "utf8")).toContain("penzai");
      const readme = readFileSync(join(stage, "README.md"), "utf8");
      expect(readme).toMatch(/npm install/);
      expect(readme).toMatch(/```ts\n[\s\S]*import[\s\S]*```/);
      expect(readdirSync(join(stage, "dist"))).toContain("index.js");
      expect(readdirSync(join(stage, "dist"))).toContain("index.d.ts");
    },
  );

  it.each(packed)(
    "$name has a manifest fit for npm and no development condition",
    ({ stage, name }) => {
      const text = readFileSync(join(stage, "package.json"), "utf8");
      const manifest = JSON.parse(text);
      expect(text).not.toContain("@saikei/source");
      expect(manifest.scripts).toBeUndefined();
      expect(manifest).toMatchObject({
        license: "Apache-2.0",
        type: "module",
        main: "./dist/index.js",
        types: "./dist/index.d.ts",
        engines: { node: ">=20.19" },
        exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
      });
      expect(manifest.repository.directory).toMatch(/^packages\//);
      // Only the two modules that install hooks when imported are kept by tree-shaking regardless.
      expect(manifest.sideEffects).toEqual(
        {
          "@saikei/select": ["./dist/structSelect.js"],
          "@saikei/treescope": ["./dist/install.js"],
        }[name as string] ?? false,
      );
      if (name.startsWith("@saikei/")) expect(manifest.publishConfig).toEqual({ access: "public" });
      // tfjs is a peer: one copy, the application's. Every range is a caret range.
      expect(
        Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith("@tensorflow/")),
      ).toEqual([]);
      for (const range of Object.values({
        ...manifest.dependencies,
        ...manifest.peerDependencies,
      })) {
        expect(range).toMatch(/^\^\d+\.\d+\.\d+$/);
      }
    },
  );

  it.each(packed)("$name passes publint with suggestions as errors", async ({ stage }) => {
    const { stdout } = await run(bin("publint"), [stage, "--level", "suggestion", "--strict"]);
    expect(stdout).toContain("All good!");
  });

  // Node >= 20.19 loads these ES modules through `require` (the consumer test proves it), so the
  // one rule waived is attw's "a require call resolved to an ESM file".
  it.each(packed)(
    "$name passes Are The Types Wrong in node10, node16 and bundler resolution",
    async ({ tarball }) => {
      const { stdout } = await run(bin("attw"), [
        tarball,
        "--ignore-rules",
        "cjs-resolves-to-esm",
        "--format",
        "json",
      ]);
      const report = JSON.parse(stdout) as { analysis: { problems: unknown[] } };
      expect(
        report.analysis.problems.filter((p) => (p as { kind: string }).kind !== "CJSResolvesToESM"),
      ).toEqual([]);
    },
  );
});

describe("declared dependencies", () => {
  /** Bare package names imported by the published JavaScript and declarations of one package. */
  function importedPackages(stage: string): string[] {
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(js|d\.ts)$/.test(entry.name)) {
          const code = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "");
          const statements =
            /^\s*(?:(?:import|export)\b[^'";]*?\bfrom|import)\s*["']([^"'./#][^"']*)["']/gm;
          const inline = /\bimport\(\s*["']([^"'./#][^"']*)["']\s*\)/g;
          for (const [, spec] of [...code.matchAll(statements), ...code.matchAll(inline)]) {
            if (spec!.startsWith("node:")) continue;
            found.add(
              spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!,
            );
          }
        }
      }
    };
    walk(join(stage, "dist"));
    if (existsSync(join(stage, "types"))) walk(join(stage, "types"));
    return [...found].sort();
  }

  it.each(packed)("$name declares exactly the packages it imports", ({ stage, name }) => {
    const manifest = JSON.parse(readFileSync(join(stage, "package.json"), "utf8"));
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).sort();
    expect(importedPackages(stage).filter((p) => p !== name)).toEqual(declared);
  });
});
