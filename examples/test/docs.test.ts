/**
 * Every TypeScript example of README.md and docs/*.md runs (the rules are in docs/contributing.md,
 * "Examples in docs run", and in examples/lib/docBlocks.ts). The examples of one markdown file
 * become one module, run by `node --import tsx` in a child process against the packages as built
 * (`dist/`, no source condition), as a user of the published packages would run them.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExampleMarkerError,
  exampleModule,
  fencedBlocks,
  typescriptExamples,
} from "../lib/docBlocks.js";
import type { DocReport } from "../lib/docRuntime.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const runtimeUrl = pathToFileURL(
  fileURLToPath(new URL("../lib/docRuntime.ts", import.meta.url)),
).href;
const docFiles = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];
/** At most this many examples may be marked `norun`, each with its reason. */
const MAX_NORUN = 3;
/** A file's examples must finish within this time (they share 2 cores with the other files). */
const FILE_TIMEOUT_MS = 75_000;

const read = (file: string) => readFileSync(join(root, file), "utf8");

let workDir = "";
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "saikei-docs-"));
  // The modules resolve the workspace's packages, tsx and tfjs through this link; the local
  // tsconfig keeps the workspace's `@saikei/source` condition away, so `dist/` is what runs.
  symlinkSync(join(root, "node_modules"), join(workDir, "node_modules"), "dir");
  writeFileSync(join(workDir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    join(workDir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        useDefineForClassFields: true,
      },
    }),
  );
  mkdirSync(join(workDir, "reports"));
});
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
}

function runModule(path: string, reportPath: string): Promise<ChildRun> {
  return new Promise((resolve) => {
    // The examples run as a user would run them: default backend order, no extra node options.
    const { SAIKEI_BACKEND: _backend, ...env } = process.env;
    const child = spawn(process.execPath, ["--import", "tsx", path], {
      cwd: workDir,
      env: { ...env, NODE_OPTIONS: "", NO_COLOR: "1", SAIKEI_DOCS_REPORT: reportPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, FILE_TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, output });
    });
  });
}

describe("the markdown example extractor", () => {
  it("finds backtick and tilde fences with their info strings and lines", () => {
    const markdown = [
      "# t", //  1
      "```ts", // 2
      "const a = 1;", // 3
      "```", // 4
      "~~~~typescript throws=ShapeError", // 5
      "```", // 6: inside a tilde fence, not a fence
      "~~~~", // 7
      "``` `not` a fence", // 8
      "  ```sh", // 9
      "  ls", // 10
      "  ```", // 11
    ].join("\n");
    expect(fencedBlocks(markdown)).toEqual([
      { info: "ts", code: "const a = 1;\n", fenceLine: 2, firstLine: 3 },
      { info: "typescript throws=ShapeError", code: "```\n", fenceLine: 5, firstLine: 6 },
      { info: "sh", code: "ls\n", fenceLine: 9, firstLine: 10 },
    ]);
  });

  it("reads the markers of TypeScript examples and rejects unknown ones", () => {
    const examples = typescriptExamples(
      "```ts\na;\n```\n```sh\nls\n```\n```ts throws=LeafCountError\nb;\n```\n```ts norun: needs a model folder\nc;\n```\n",
    );
    expect(examples.map((e) => [e.index, e.mode])).toEqual([
      [1, { kind: "run" }],
      [2, { kind: "throws", errorName: "LeafCountError" }],
      [3, { kind: "norun", reason: "needs a model folder" }],
    ]);
    expect(() => typescriptExamples("```ts norun\nx;\n```\n")).toThrow(ExampleMarkerError);
    expect(() => typescriptExamples("```ts throw=X\nx;\n```\n")).toThrow(
      'line 1: unknown example marker "ts throw=X"',
    );
  });

  it("builds one module: hoisted, merged imports; nested scopes; checks in place", () => {
    const markdown = [
      "```ts",
      'import { a } from "m";',
      "const x = a + 1; // → 2",
      "x; // → 2",
      "```",
      "```ts",
      'import { a, b as c } from "m";',
      "const x = 3;",
      "f(x);",
      "// → 4 — prose after the dash",
      "g(); // throws BadError",
      "```",
    ].join("\n");
    const { source, run, skipped } = exampleModule("docs/t.md", markdown, "file:///r.ts");
    expect(run).toHaveLength(2);
    expect(skipped).toHaveLength(0);
    const lines = source.split("\n");
    expect(lines.slice(0, 3)).toEqual([
      'import { DocRun as __SaikeiDocRun } from "file:///r.ts";',
      'import { a } from "m";',
      'import { b as c } from "m";',
    ]);
    expect(source).toContain("const x = a + 1; // → 2"); // declarations are not checked
    expect(source).toContain(
      'await __saikeiDocs.expect(4, async () => (x), () => (2), "2"); // → 2',
    );
    expect(source).toContain('await __saikeiDocs.expect(9, async () => (f(x)), () => (4), "4");');
    expect(source).toContain(
      'await __saikeiDocs.throws(11, "BadError", async () => { g(); }); // throws BadError',
    );
    // Example 2 opens a scope inside example 1's, so `const x` may be declared again.
    expect(source.indexOf("__saikeiDocs.enter(2, 6);")).toBeLessThan(
      source.indexOf("const x = 3;"),
    );
    expect(source).toContain("}}\n");
    expect(() =>
      exampleModule(
        "docs/t.md",
        '```ts\nimport { a } from "m";\n```\n```ts\nimport { a } from "n";\n```\n',
        "",
      ),
    ).toThrow('docs/t.md line 5: "a" is imported from n here but from m in an earlier example');
  });

  it("misses no TypeScript fence of the docs", () => {
    for (const file of docFiles) {
      const text = read(file);
      const opened = text
        .split("\n")
        .filter((line) => /^\s*(`{3,}|~{3,})\s*(ts|typescript)\b/.test(line));
      expect(typescriptExamples(text), file).toHaveLength(opened.length);
    }
  });

  it(`marks at most ${MAX_NORUN} examples norun, each with a reason`, () => {
    const skipped = docFiles.flatMap((file) =>
      typescriptExamples(read(file))
        .filter((e) => e.mode.kind === "norun")
        .map((e) => `${file}:${e.fenceLine} ${e.mode.kind === "norun" ? e.mode.reason : ""}`),
    );
    expect(skipped.length, skipped.join("\n")).toBeLessThanOrEqual(MAX_NORUN);
  });

  it("runs against the built packages", () => {
    expect(
      existsSync(join(root, "packages/saikei/dist/index.js")),
      "build the packages first: npx turbo run build",
    ).toBe(true);
  });
});

describe.concurrent("every TypeScript example of README.md and docs/*.md runs", () => {
  for (const file of docFiles) {
    const examples = typescriptExamples(read(file));
    if (examples.length === 0) continue;
    it(`${file} (${examples.length} examples)`, { timeout: FILE_TIMEOUT_MS + 15_000 }, async ({
      expect,
    }) => {
      const { source, run } = exampleModule(file, read(file), runtimeUrl);
      const name = `docs-${basename(file, ".md")}`;
      const modulePath = join(workDir, `${name}.ts`);
      const reportPath = join(workDir, "reports", `${name}.json`);
      writeFileSync(modulePath, source);
      const child = await runModule(modulePath, reportPath);
      const report: DocReport | null = existsSync(reportPath)
        ? JSON.parse(readFileSync(reportPath, "utf8"))
        : null;
      const problems = (report?.failures ?? []).map(
        (f) => `${file} block ${f.block} (line ${f.line}): ${f.message}`,
      );
      if (report === null) {
        problems.push(
          child.timedOut
            ? `${file}: did not finish within ${FILE_TIMEOUT_MS / 1000}s`
            : `${file}: the module stopped without a report (exit ${child.code ?? child.signal})`,
        );
      }
      expect(
        problems,
        `${problems.join("\n")}\n--- output ---\n${child.output.slice(-4000)}`,
      ).toEqual([]);
      expect(report!.blocksEntered).toEqual(run.map((e) => e.index));
      expect(child.code).toBe(0);
    });
  }
});

describe("docs/architecture.md", () => {
  /** The workspace packages each package's sources import (comments ignored), by directory name. */
  function importGraph(): Map<string, Set<string>> {
    const graph = new Map<string, Set<string>>();
    const names = new Map<string, string>(); // npm name -> directory
    for (const dir of readdirSync(join(root, "packages"))) {
      const manifest = join(root, "packages", dir, "package.json");
      if (existsSync(manifest)) names.set(JSON.parse(readFileSync(manifest, "utf8")).name, dir);
    }
    for (const dir of names.values()) {
      const imports = new Set<string>();
      const src = join(root, "packages", dir, "src");
      for (const entry of readdirSync(src, { recursive: true, encoding: "utf8" })) {
        if (!entry.endsWith(".ts")) continue;
        for (const specifier of moduleSpecifiers(join(src, entry))) {
          const target = names.get(specifier);
          if (target !== undefined && target !== dir) imports.add(target);
        }
      }
      graph.set(dir, imports);
    }
    return graph;
  }

  /** Every module a file imports or re-exports from, statically, dynamically or as a type. */
  function moduleSpecifiers(path: string): string[] {
    const file = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022);
    const found: string[] = [];
    const visit = (node: ts.Node) => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier !== undefined &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        found.push(node.moduleSpecifier.text);
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] !== undefined &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        found.push(node.arguments[0].text);
      } else if (
        ts.isImportTypeNode(node) &&
        ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        found.push(node.argument.literal.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    return found;
  }

  /** Import cycles among one package's source files (relative imports, types included). */
  function moduleCycles(dir: string): string[] {
    const src = join(root, "packages", dir, "src");
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".ts"),
    );
    const deps = new Map<string, string[]>();
    for (const file of files) {
      const local = moduleSpecifiers(join(src, file)).filter((s) => s.startsWith("."));
      const targets = local.map((s) =>
        relative(src, resolve(dirname(join(src, file)), s)).replace(/\.js$/, ".ts"),
      );
      deps.set(file, targets);
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]) => {
      state.set(file, "open");
      for (const next of deps.get(file) ?? []) {
        if (state.get(next) === "open") {
          cycles.push([...path.slice(path.indexOf(next)), file, next].join(" → "));
        } else if (!state.has(next)) visit(next, [...path, file]);
      }
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file, []);
    return cycles;
  }

  it("has no import cycle among the modules of any package", () => {
    const cycles = [...importGraph().keys()].flatMap((dir) =>
      moduleCycles(dir).map((c) => `${dir}: ${c}`),
    );
    expect(cycles).toEqual([]);
  });

  it("draws every import between packages, and nothing else", () => {
    const text = read("docs/architecture.md");
    const block = fencedBlocks(text).find((b) => b.info === "text" && b.code.includes(" → "));
    expect(block, "the arrow block of docs/architecture.md").toBeDefined();
    const drawn = new Map<string, Set<string>>();
    for (const line of block!.code.split("\n").filter((l) => l.trim() !== "")) {
      const [name, arrows = ""] = line.split(/\s+→\s+|\s+\(/);
      drawn.set(name!.trim(), new Set(line.includes("→") ? arrows.split(/,\s*/) : []));
    }
    const sorted = (graph: Map<string, Set<string>>) =>
      Object.fromEntries([...graph].map(([k, v]) => [k, [...v].sort()]).sort());
    expect(sorted(drawn)).toEqual(sorted(importGraph()));
  });
});
