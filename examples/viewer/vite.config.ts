import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
const packages = fileURLToPath(new URL("../../packages/", import.meta.url));

// Workspace packages resolve to their TypeScript sources, so the viewer needs no package build.
export default defineConfig({
  root,
  base: "./",
  resolve: {
    alias: [{ find: /^@saikei\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` }],
    conditions: ["@saikei/source"],
  },
  // Treescope shows class names (Linear, Parameter...): keep them through minification.
  esbuild: { keepNames: true },
  build: { outDir: `${root}dist`, emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  logLevel: "warn",
});
