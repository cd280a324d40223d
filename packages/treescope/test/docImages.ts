/**
 * Writes the pictures of docs/treescope.md (docs/images/treescope-*.png): each view rendered in
 * Chromium and cropped to its root element.
 *
 * Run: npx tsx --conditions=@saikei/source packages/treescope/test/docImages.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NamedArray, ready } from "@saikei/named";
import { renderArray, renderToHTML, renderTokens } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import type { Page } from "playwright-core";
import { launchChromium } from "../test/chromium.js";

const images = fileURLToPath(new URL("../../../docs/images/", import.meta.url));
mkdirSync(images, { recursive: true });
await ready();

/** A causal attention pattern: softmax of random logits over the keys up to each query. */
function causalAttention(batch: number, heads: number, seq: number): NamedArray {
  const data = tf.tidy(() => {
    const logits = tf.randomNormal([batch, heads, seq, seq], 0, 2, "float32", 3);
    const causal = tf.linalg.bandPart(tf.ones([seq, seq]), -1, 0);
    return tf.softmax(tf.where(tf.cast(causal, "bool"), logits, tf.fill(logits.shape, -1e9)));
  });
  return NamedArray.wrap(data).tag("batch", "heads", "seq", "kv_seq");
}

const attention = causalAttention(2, 4, 16);
const causalMask = NamedArray.wrap(
  tf.cast(tf.linalg.bandPart(tf.ones([16, 16]), -1, 0), "bool"),
).tag("seq", "kv_seq");
const weights = tf.randomNormal([12, 32], 0, 1, "float32", 5);
const special = tf.tensor2d([
  [0.1, 0.5, Number.NaN, 0.9],
  [Number.POSITIVE_INFINITY, 0.3, 0.7, Number.NEGATIVE_INFINITY],
]);
const long = causalAttention(1, 2, 512);

const pages: [string, string, (page: Page) => Promise<void>][] = [
  [
    "treescope-array-attention.png",
    renderArray(attention, {
      rows: ["heads"],
      columns: ["batch"],
      valid: causalMask,
      vmin: 0,
      vmax: 1,
    }),
    (page) =>
      page
        .locator('.skts-facet[data-row="2"][data-column="1"]')
        .hover({ position: { x: 60, y: 100 } }),
  ],
  [
    "treescope-array-diverging-dark.png",
    renderArray(weights, { around: 0, theme: "dark" }),
    async () => {},
  ],
  ["treescope-array-special.png", renderArray(special, { cellSize: 24 }), async () => {}],
  [
    "treescope-array-summarised.png",
    renderArray(long, { maxValues: 2 ** 16, cellSize: 1 }),
    async () => {},
  ],
  [
    "treescope-tokens.png",
    renderTokens([12, 7, 3, 9, 12, 7, 3, 9], {
      vocabulary: ["", "", "", " mat", "", "", "", " sat", "", " on", "", "", "The cat"],
      scores: [2.1, 1.7, 0.4, 1.2, 2.0, 0.2, 0.1, 0.05],
    }),
    async () => {},
  ],
  [
    "treescope-tree-array.png",
    renderToHTML({ attention: causalAttention(1, 2, 8), bias: tf.tensor1d([0.5, -1, 2]) }),
    (page) => page.click(".skts-array-open >> nth=0"),
  ],
];

const dir = mkdtempSync(join(tmpdir(), "skts-doc-images-"));
const browser = await launchChromium();
try {
  for (const [name, html, act] of pages) {
    const file = join(dir, "page.html");
    writeFileSync(file, html);
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector(".skts-root[data-skts-ready], .skts-tokens");
    await act(page);
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(images, name) });
    await page.close();
    console.log(`wrote docs/images/${name}`);
  }
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
  tf.disposeVariables();
}
