import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
const packages = readdirSync(`${root}packages`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

// Tests run against the TypeScript sources of every workspace package, so a change in one
// package is visible to the tests of the packages above it without a rebuild.
const alias = [
  { find: /^saikei$/, replacement: `${root}packages/saikei/src/index.ts` },
  { find: /^@saikei\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, root: `${root}packages/${name}`, include: ["test/**/*.test.ts"] },
      })),
      {
        extends: true as const,
        test: { name: "examples", root: `${root}examples`, include: ["test/**/*.test.ts"] },
      },
      {
        // The packages as users get them: packed, installed outside the workspace, run with node.
        test: {
          name: "installed",
          root: `${root}test/installed`,
          include: ["**/*.test.ts"],
          globalSetup: ["./setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
