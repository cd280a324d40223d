import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";

const viewer = fileURLToPath(new URL("../../../examples/viewer/", import.meta.url));
const screenshots = fileURLToPath(new URL("../../../screenshots/", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
};

let outDir: string | undefined;
let server: Server | undefined;
let origin = "";
let built: Promise<void> | undefined;

/** Serves `dir` over HTTP on the loopback address: module scripts do not load from file:// URLs. */
function serve(dir: string): Promise<Server> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const file = normalize(join(dir, url.pathname === "/" ? "index.html" : url.pathname));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  // Bounded: a request the page leaves open cannot keep the test process alive.
  s.requestTimeout = 10_000;
  s.keepAliveTimeout = 1_000;
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

/**
 * Builds the viewer once, for the first test that needs it, and serves it: a failed build (the
 * packages' dist missing, say) then fails every test with its message instead of skipping them.
 */
function app(): Promise<void> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "skts-viewer-"));
    outDir = dir;
    const { build } = await import("vite");
    // A production build as an application makes it: minified, the @saikei packages from their
    // dist through node_modules (build them first: npx turbo run build).
    await build({
      configFile: join(viewer, "vite.config.ts"),
      mode: "production",
      build: { outDir: dir, emptyOutDir: true, reportCompressedSize: false },
      logLevel: "silent",
    });
    server = await serve(dir);
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  })();
  return built;
}

afterAll(async () => {
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

/** What a page printed and which requests failed, while it loaded. */
interface PageLog {
  errors: string[];
  warnings: string[];
  failed: string[];
}

/** Opens the viewer at `path` and waits until it reports that it is done. */
async function openViewer(
  browser: Awaited<ReturnType<typeof launchChromium>>,
  path: string,
): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  const log: PageLog = { errors: [], warnings: [], failed: [] };
  page.on("console", (m) => {
    if (m.type() === "error") log.errors.push(m.text());
    if (m.type() === "warning") log.warnings.push(m.text());
  });
  page.on("pageerror", (e) => log.errors.push(String(e)));
  page.on("requestfailed", (r) => log.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) log.failed.push(`${r.url()}: ${r.status()}`);
  });
  await page.goto(`${origin}${path}`);
  await page.waitForSelector("body[data-ready='true'], #status:text-matches('^Failed')");
  return { page, log };
}

/** The class names a text rendering shows: every `Name(` that opens a struct. */
function typeNames(text: string): string[] {
  return [...new Set([...text.matchAll(/([A-Za-z_$][\w$]*)\(/g)].map((m) => m[1]!))].sort();
}

describe("examples/viewer", () => {
  it("builds with vite into a page, a minified script bundle and the three wasm binaries", {
    timeout: 240_000,
  }, async () => {
    await app();
    const dir = outDir!;
    expect(existsSync(join(dir, "index.html"))).toBe(true);
    const assets = readdirSync(join(dir, "assets")).sort();
    expect(assets.map((f) => f.replace(/-[\w-]{8}\./, "."))).toEqual([
      "index.js",
      "tfjs-backend-wasm.wasm",
      "tfjs-backend-wasm-simd.wasm",
      "tfjs-backend-wasm-threaded-simd.wasm",
    ]);
    // minified without keepNames: the class declarations lost their names
    const script = readFileSync(join(dir, "assets", assets[0]!), "utf8");
    expect(script).not.toMatch(/class (TransformerLM|Linear|Struct)\b/);
    expect(script).not.toContain("__name(");
  });

  it("runs on the wasm backend in Chromium and shows real class names, with no console error", {
    timeout: 120_000,
  }, async () => {
    await app();
    const browser = await launchChromium();
    try {
      const { page, log } = await openViewer(browser, "/");
      expect(await page.locator("#status").textContent()).toBe(
        'Built and ran on the wasm backend; logits have named shape {"batch":1,"seq":4,"vocabulary":11}.',
      );
      expect(await page.locator("body").getAttribute("data-backend")).toBe("wasm");
      // jit in the browser: the compiled decoding step replays and samples what the eager loop does
      expect(await page.locator("#sampled").textContent()).toMatch(
        /^Sampled tokens \[(\d+,){5}\d+\]: 2 traces, 4 replays of \d+ kernels\.$/,
      );
      expect(await page.locator("body").getAttribute("data-sampled-same")).toBe("true");
      // the model, the selection and the attention patterns
      expect(await page.locator(".skts-root[data-skts-ready]").count()).toBe(3);
      // every head of every block, captured after its softmax: causal, so the first query
      // attends to itself only and never to a later key
      expect(await page.locator("body").getAttribute("data-attention-shape")).toBe(
        '{"batch":1,"heads":2,"seq":12,"kv_seq":12,"blocks":2}',
      );
      expect(await page.locator("#attention .skts-token").count()).toBe(12);
      expect(await page.locator("#attention .skts-facet").count()).toBe(4);
      expect(await page.locator("#attention .skts-rowlabel").allTextContents()).toEqual([
        "blocks=0",
        "blocks=1",
      ]);
      const facet = page.locator('#attention .skts-facet[data-row="1"][data-column="1"]');
      const cell = (await facet.boundingBox())!.width / 12;
      await facet.hover({ position: { x: cell / 2, y: cell / 2 } });
      expect(await page.locator("#attention .skts-array-info").textContent()).toBe(
        "batch=0, heads=1, seq=0, kv_seq=0, blocks=1 \u2192 1",
      );
      await facet.hover({ position: { x: 5.5 * cell, y: 2.5 * cell } });
      expect(await page.locator("#attention .skts-array-info").textContent()).toBe(
        "batch=0, heads=1, seq=2, kv_seq=5, blocks=1 \u2192 0",
      );
      // every Linear layer of the selection is highlighted, and the way to each one is open
      const linears = Number(await page.locator("body").getAttribute("data-linears"));
      expect(linears).toBeGreaterThan(10);
      const highlighted = page.locator("#selection .skts-selected");
      expect(await highlighted.count()).toBe(linears);
      for (const el of await highlighted.all()) expect(await el.isVisible()).toBe(true);
      expect(await highlighted.first().locator(".skts-type").first().textContent()).toBe("Linear");
      expect(await page.locator("#model .skts-type").first().textContent()).toBe("TransformerLM");
      // minified, and still every struct shows the name it was declared with
      const text = (await page.locator("#text").textContent()) ?? "";
      expect(text).toMatch(/^TransformerLM\(\n {2}config=\{\n/);
      expect(text).toContain("Linear(");
      expect(typeNames(text)).toEqual([
        "ApplyAttentionMask",
        "ApplyRoPE",
        "ArraySpec",
        "BranchAndMultiplyTogether",
        "ConstantRescale",
        "Elementwise",
        "EmbeddingDecode",
        "EmbeddingLookup",
        "EmbeddingTable",
        "HandledSideInputRef",
        "Linear",
        "NamedEinsum",
        "NamedGroup",
        "Parameter",
        "RMSLayerNorm",
        "RMSStandardize",
        "Residual",
        "Sequential",
        "SharedParamTag",
        "SharedParameterLookup",
        "Softmax",
        "TransformerAttention",
        "TransformerBlock",
        "TransformerFeedForward",
        "TransformerLM",
        "WithConstantSideInputs",
        "WithSideInputsFromInputTuple",
        "float32",
      ]);
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, "viewer.png"), fullPage: true });
      expect(log).toEqual({ errors: [], warnings: [], failed: [] });
    } finally {
      await browser.close();
    }
  });

  it("falls back to cpu with one warning that names the fix when the wasm binaries are not found", {
    timeout: 120_000,
  }, async () => {
    await app();
    const browser = await launchChromium();
    try {
      const { page, log } = await openViewer(browser, "/?wasmPaths=none");
      expect(await page.locator("body").getAttribute("data-backend")).toBe("cpu");
      expect(await page.locator("body").getAttribute("data-sampled-same")).toBe("true");
      expect(log.warnings).toHaveLength(1);
      expect(log.warnings[0]).toMatch(
        /^saikei ready\(\): the tfjs wasm backend did not start \(wasm: failed to asynchronously prepare wasm: .+\), so tensors run on the much slower cpu backend\. .*ready\(\{ wasmPaths: \{ "tfjs-backend-wasm\.wasm": url, .* See https:\/\/github\.com\/saikei-dev\/saikei\/blob\/main\/docs\/browser\.md\.$/,
      );
      // what the browser itself reports about the missing binary, and nothing else
      const binary = `${origin}/tfjs-backend-wasm-simd.wasm`;
      expect(new Set(log.failed)).toEqual(
        new Set([`${binary}: 404`, `${binary}: net::ERR_ABORTED`]),
      );
      expect(new Set(log.errors)).toEqual(
        new Set(["Failed to load resource: the server responded with a status of 404 (Not Found)"]),
      );
    } finally {
      await browser.close();
    }
  });
});
