/**
 * Rendering an attention pattern `{batch: 4, heads: 8, seq: 128, kv_seq: 128}` (524,288 values,
 * all embedded) with `renderArray`, faceted by heads and batch, against `JSON.stringify` of the
 * same data (its shape and values as a plain array); and the time to first paint of that page in
 * Chromium. Extra fields: `html_kb`, `json_kb`, `first_paint_ms`, `client_render_ms` (the
 * script's own drawing time).
 *
 * Run: npx tsx --conditions=@saikei/source packages/treescope/bench/array.bench.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NamedArray, ready } from "@saikei/named";
import { renderArray } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import { compare } from "../../../bench/harness.js";
import { launchChromium } from "../test/chromium.js";

await ready();
const shape = { batch: 4, heads: 8, seq: 128, kv_seq: 128 };
const data = tf.tidy(() => tf.softmax(tf.randomNormal([4, 8, 128, 128], 0, 2, "float32", 7)));
const attention = NamedArray.wrap(data).tag("batch", "heads", "seq", "kv_seq");
const options = { rows: ["heads"], columns: ["batch"], id: "bench" } as const;
const html = renderArray(attention, options);
const json = JSON.stringify({ shape, values: Array.from(data.dataSync()) });

/** Median time to first contentful paint and the script's drawing time, over 5 loads. */
async function firstPaint(): Promise<{ paint: number; render: number }> {
  const dir = mkdtempSync(join(tmpdir(), "skts-bench-"));
  const file = join(dir, "attention.html");
  writeFileSync(file, html);
  const browser = await launchChromium();
  const paints: number[] = [];
  const renders: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const page = await browser.context.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector(".skts-root[data-skts-ready]", { timeout: 60_000 });
      const [paint, render] = await page.evaluate(async () => {
        for (
          let k = 0;
          k < 100 && performance.getEntriesByName("first-contentful-paint").length === 0;
          k++
        ) {
          await new Promise((r) => requestAnimationFrame(r));
        }
        const entry = performance.getEntriesByName("first-contentful-paint")[0];
        return [
          entry?.startTime ?? Number.NaN,
          Number(document.querySelector(".skts-root")!.getAttribute("data-render-ms")),
        ];
      });
      if (i > 0) {
        paints.push(paint!);
        renders.push(render!);
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
  "render-array-4x8x128x128",
  () => renderArray(attention, options),
  "JSON.stringify",
  () => JSON.stringify({ shape, values: Array.from(data.dataSync()) }),
  {
    warmup: 2,
    iterations: 7,
    extra: {
      values: data.size,
      html_kb: Math.round(html.length / 1024),
      json_kb: Math.round(json.length / 1024),
      first_paint_ms: Math.round(paint * 10) / 10,
      client_render_ms: render,
    },
  },
);
data.dispose();
