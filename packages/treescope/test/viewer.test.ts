import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";

const viewer = fileURLToPath(new URL("../../../examples/viewer/", import.meta.url));
const screenshots = fileURLToPath(new URL("../../../screenshots/", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
};

let outDir: string;
let server: Server;
let origin: string;

/** Serves `dir` over HTTP: module scripts do not load from file:// URLs. */
function serve(dir: string): Promise<Server> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const file = normalize(join(dir, url.pathname === "/" ? "index.html" : url.pathname));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "skts-viewer-"));
  const { build } = await import("vite");
  await build({
    configFile: join(viewer, "vite.config.ts"),
    // Unminified: the test checks the page, and minifying tfjs only costs time here.
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
    logLevel: "silent",
  });
  server = await serve(outDir);
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(outDir, { recursive: true, force: true });
});

describe("examples/viewer", () => {
  it("builds with vite into a page with one script bundle", () => {
    expect(existsSync(join(outDir, "index.html"))).toBe(true);
  });

  it("builds and renders the model in Chromium with no console errors", {
    timeout: 120_000,
  }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
      await page.goto(`${origin}/`);
      await page.waitForSelector("body[data-ready='true']");
      expect(await page.locator("#status").textContent()).toBe(
        'Built and ran on the cpu backend; logits have named shape {"batch":1,"seq":4,"vocabulary":11}.',
      );
      // jit in the browser: the compiled decoding step replays and samples what the eager loop does
      expect(await page.locator("#sampled").textContent()).toMatch(
        /^Sampled tokens \[(\d+,){5}\d+\]: 2 traces, 4 replays of \d+ kernels\.$/,
      );
      expect(await page.locator("body").getAttribute("data-sampled-same")).toBe("true");
      expect(await page.locator(".skts-root[data-skts-ready]").count()).toBe(2);
      // every Linear layer of the selection is highlighted, and the way to each one is open
      const linears = Number(await page.locator("body").getAttribute("data-linears"));
      expect(linears).toBeGreaterThan(10);
      const highlighted = page.locator("#selection .skts-selected");
      expect(await highlighted.count()).toBe(linears);
      for (const el of await highlighted.all()) expect(await el.isVisible()).toBe(true);
      expect(await highlighted.first().locator(".skts-type").first().textContent()).toBe("Linear");
      expect(await page.locator("#text").textContent()).toMatch(
        /^TransformerLM\(\n {2}config=\{\n/,
      );
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, "viewer.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
