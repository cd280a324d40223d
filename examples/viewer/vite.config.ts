import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

// A plain production build: the @saikei packages resolve through node_modules to their dist, as in
// an application that installs them. Class names shown by treescope survive minification because
// saikei records them (Struct.define(fields, { name })), so no keepNames is needed.
export default defineConfig({
  root,
  base: "./",
  build: { outDir: `${root}dist`, emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  logLevel: "warn",
});
