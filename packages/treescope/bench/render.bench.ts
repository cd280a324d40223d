/**
 * Rendering a 10,000-node model to HTML, against `JSON.stringify` of the same tree, and the time
 * to first paint of that page in Chromium (extra fields `first_paint_ms`, `client_render_ms`).
 *
 * Run: npx tsx --conditions=@saikei/source packages/treescope/bench/render.bench.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ready } from "@saikei/named";
import { leaves } from "@saikei/struct";
import { describe, renderToHTML } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import { compare } from "../../../bench/harness.js";
import { launchChromium } from "../test/chromium.js";
import { transformerLike } from "../test/fixtures.js";

function countNodes(value: unknown): number {
  return 1 + describe(value).entries.reduce((n, e) => n + countNodes(e.value), 0);
}

await ready();
// 59 nodes per block: 170 blocks give a little over 10,000 nodes.
const model = transformerLike(170, 16);
const nodes = countNodes(model);
const html = renderToHTML(model, { id: "bench" });

/** Median time to first contentful paint and the client's own render time, over 5 loads. */
async function firstPaint(): Promise<{ paint: number; render: number }> {
  const dir = mkdtempSync(join(tmpdir(), "skts-bench-"));
  const file = join(dir, "model.html");
  writeFileSync(file, html);
  const browser = await launchChromium();
  const paints: number[] = [];
  const renders: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const page = await browser.context.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector(".skts-root[data-skts-ready]");
      const [paint, render] = await page.evaluate(async () => {
        // paint entries arrive asynchronously after the first frame
        for (let k = 0; k < 100 && performance.getEntriesByName("first-contentful-paint").length === 0; k++) {
          await new Promise((r) => requestAnimationFrame(r));
        }
        const entry = performance.getEntriesByName("first-contentful-paint")[0];
        return [entry?.startTime ?? Number.NaN, Number(document.querySelector(".skts-root")!.getAttribute("data-render-ms"))];
      });
      if (i > 0) {
        paints.push(paint);
        renders.push(render);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { paint: median(paints), render: median(renders) };
}

const { paint, render } = await firstPaint();
await compare(
  `render-html-${nodes}-nodes`,
  () => renderToHTML(model, { id: "bench" }),
  "JSON.stringify",
  () => JSON.stringify(model),
  {
    warmup: 2,
    iterations: 7,
    extra: {
      nodes,
      html_kb: Math.round(html.length / 1024),
      first_paint_ms: Math.round(paint * 10) / 10,
      client_render_ms: render,
    },
  },
);
for (const leaf of leaves(model)) if (leaf instanceof tf.Tensor) leaf.dispose();
