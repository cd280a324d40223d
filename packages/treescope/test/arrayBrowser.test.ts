/**
 * The array and token views in Chromium: colours at sampled pixels of the screen, sliders, hover
 * text, the facet grid, array leaves opened in a tree, and hostile axis names. One browser for the
 * file; screenshots go to screenshots/ (not committed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NamedArray, ready } from "@saikei/named";
import { renderArray, renderToHTML, renderTokens } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";

const screenshots = fileURLToPath(new URL("../../../screenshots/", import.meta.url));
let dir: string;
let launched: ReturnType<typeof launchChromium> | undefined;
let baseline = 0;
const owned: tf.Tensor[] = [];

function browser(): ReturnType<typeof launchChromium> {
  launched ??= launchChromium();
  return launched;
}

beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
  dir = mkdtempSync(join(tmpdir(), "skts-array-pages-"));
  mkdirSync(screenshots, { recursive: true });
});

afterAll(async () => {
  const b = await launched?.catch(() => undefined);
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
  tf.dispose(owned);
  expect(tf.memory().numTensors).toBe(baseline);
});

function keep<T extends tf.Tensor>(t: T): T {
  owned.push(t);
  return t;
}

let pageCount = 0;
/** Opens `html` from a file, failing the test on console errors. */
async function open(html: string): Promise<{ page: Page; errors: string[] }> {
  const file = join(dir, `page${pageCount++}.html`);
  writeFileSync(file, html);
  const page = await (await browser()).context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.setDefaultTimeout(10_000);
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector(".skts-root[data-skts-ready]");
  return { page, errors };
}

type RGB = [number, number, number];

/**
 * The colours on screen at points of an element (CSS pixels from its top left corner): one
 * screenshot of the element, decoded in the page.
 */
async function pixels(page: Page, selector: string, points: [number, number][]): Promise<RGB[]> {
  const box = (await page.locator(selector).boundingBox())!;
  const png = await page.screenshot({ clip: box });
  return page.evaluate(
    async ({ b64, points }) => {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const canvas = document.createElement("canvas");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      const ctx = canvas.getContext("2d")!;
      ctx.drawImage(bitmap, 0, 0);
      return points.map(([x, y]) => {
        const d = ctx.getImageData(x, y, 1, 1).data;
        return [d[0]!, d[1]!, d[2]!] as [number, number, number];
      });
    },
    { b64: png.toString("base64"), points },
  );
}

/** Centres of cells of a facet drawn with `cell`-pixel cells: [row, column] → [x, y]. */
const centres = (cell: number, cells: [number, number][]): [number, number][] =>
  cells.map(([r, c]) => [c * cell + cell / 2, r * cell + cell / 2]);

/** {batch: 2, heads: 3, seq: 4, kv_seq: 5} with value 1000 batch + 100 heads + 10 seq + kv_seq. */
function attention(): NamedArray {
  const values: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let h = 0; h < 3; h++)
      for (let s = 0; s < 4; s++)
        for (let k = 0; k < 5; k++) values.push(1000 * b + 100 * h + 10 * s + k);
  return NamedArray.wrap(keep(tf.tensor(values, [2, 3, 4, 5]))).tag(
    "batch",
    "heads",
    "seq",
    "kv_seq",
  );
}

describe("renderArray in Chromium", () => {
  it("draws known values in the expected colours on screen", async () => {
    const { page, errors } = await open(
      renderArray(
        keep(
          tf.tensor2d([
            [0, 1],
            [2, 3],
          ]),
        ),
        { cellSize: 20 },
      ),
    );
    // sequential 0..3: levels 0, 85, 170, 255 of the map (see colormap.test.ts for the arithmetic)
    expect(
      await pixels(
        page,
        ".skts-facet",
        centres(20, [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ]),
      ),
    ).toEqual([
      [68, 1, 84],
      [50, 103, 139],
      [74, 182, 112],
      [253, 231, 37],
    ]);
    await page.close();

    const diverging = await open(renderArray([[-1, 1]], { around: 0, cellSize: 20 }));
    expect(
      await pixels(
        diverging.page,
        ".skts-facet",
        centres(20, [
          [0, 0],
          [0, 1],
        ]),
      ),
    ).toEqual([
      [5, 48, 97],
      [103, 0, 31],
    ]);
    await diverging.page.close();

    const categories = await open(
      renderArray(keep(tf.tensor2d([[7, 3]], [1, 2], "int32")), { cellSize: 20 }),
    );
    expect(
      await pixels(
        categories.page,
        ".skts-facet",
        centres(20, [
          [0, 0],
          [0, 1],
        ]),
      ),
    ).toEqual([
      [255, 127, 14],
      [31, 119, 180],
    ]);
    expect(await categories.page.locator(".skts-array-legend").textContent()).toBe("37");
    await categories.page.close();
    expect([...errors, ...diverging.errors, ...categories.errors]).toEqual([]);
  });

  it("draws NaN, +inf, -inf and masked cells distinctly, and lists them in the legend", async () => {
    const { page, errors } = await open(
      renderArray([[Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5, 6]], {
        valid: [[true, true, true, false, true]],
        cellSize: 20,
      }),
    );
    const [nan, pos, neg, masked, six] = await pixels(
      page,
      ".skts-facet",
      centres(20, [
        [0, 0],
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
      ]),
    );
    expect([nan, pos, neg]).toEqual([
      [255, 0, 255],
      [0, 255, 255],
      [0, 0, 0],
    ]);
    // a masked cell is transparent over the grey checkerboard
    expect([
      [176, 176, 176],
      [224, 224, 224],
    ]).toContainEqual(masked);
    // the only finite shown value, 6, is both limits: the middle level, 128, at t = 128/255 of
    // the map, just past its middle stop (33,145,140) towards (94,201,98) by 0.0078 of the step
    expect(six).toEqual([33, 145, 140]);
    expect(await page.locator(".skts-array-legend").textContent()).toBe(
      "6  6NaN ×1+inf ×1-inf ×1masked ×1",
    );
    await page.locator(".skts-facet").hover({ position: { x: 70, y: 10 } });
    expect(await page.locator(".skts-array-info").textContent()).toBe("[0, 3] \u2192 masked (5)");
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "array-special.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("lays out nested facets in the expected grid, with labels and ticks", async () => {
    const { page, errors } = await open(
      renderArray(attention(), { rows: ["heads"], columns: ["batch"], cellSize: 10 }),
    );
    const facets = page.locator(".skts-facet");
    expect(await facets.count()).toBe(6);
    const boxes = await Promise.all((await facets.all()).map((f) => f.boundingBox()));
    const xs = [...new Set(boxes.map((b) => b!.x))].sort((a, b) => a - b);
    const ys = [...new Set(boxes.map((b) => b!.y))].sort((a, b) => a - b);
    expect([xs.length, ys.length]).toEqual([2, 3]);
    for (const b of boxes) expect([b!.width, b!.height]).toEqual([50, 40]);
    // facet (row r, column c) is heads r, batch c
    for (let i = 0; i < 6; i++) {
      const f = facets.nth(i);
      const [r, c] = [
        Number(await f.getAttribute("data-row")),
        Number(await f.getAttribute("data-column")),
      ];
      expect(boxes[i]!.y).toBe(ys[r]);
      expect(boxes[i]!.x).toBe(xs[c]);
      expect(await f.getAttribute("aria-label")).toBe(`heads=${r}, batch=${c}`);
    }
    expect(await page.locator(".skts-rowlabel").allTextContents()).toEqual([
      "heads=0",
      "heads=1",
      "heads=2",
    ]);
    expect(await page.locator(".skts-collabel").allTextContents()).toEqual(["batch=0", "batch=1"]);
    expect(await page.locator(".skts-corner").textContent()).toBe("seq \u2193 kv_seq \u2192");
    expect(await page.locator(".skts-ticks-x").first().locator("span").allTextContents()).toEqual([
      "0",
      "2",
      "4",
    ]);
    expect(await page.locator(".skts-array-axes").textContent()).toBe(
      "rows: heads \u203a seq   columns: batch \u203a kv_seq",
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows the index by axis name and the value of the cell under the pointer", async () => {
    const { page, errors } = await open(
      renderArray(attention(), { rows: ["heads"], columns: ["batch"], cellSize: 10 }),
    );
    const facet = page.locator('.skts-facet[data-row="2"][data-column="1"]');
    // cell seq 3, kv_seq 4 of heads 2, batch 1
    await facet.hover({ position: { x: 45, y: 35 } });
    expect(await page.locator(".skts-array-info").textContent()).toBe(
      "batch=1, heads=2, seq=3, kv_seq=4 \u2192 1234",
    );
    await page
      .locator('.skts-facet[data-row="0"][data-column="0"]')
      .hover({ position: { x: 15, y: 5 } });
    expect(await page.locator(".skts-array-info").textContent()).toBe(
      "batch=0, heads=0, seq=0, kv_seq=1 \u2192 1",
    );
    await page.close();

    const plain = await open(
      renderArray(
        keep(
          tf.tensor2d([
            [0.5, 1.25],
            [2, -3.125],
          ]),
        ),
        { cellSize: 20 },
      ),
    );
    await plain.page.locator(".skts-facet").hover({ position: { x: 30, y: 30 } });
    expect(await plain.page.locator(".skts-array-info").textContent()).toBe("[1, 1] \u2192 -3.125");
    await plain.page.close();
    expect([...errors, ...plain.errors]).toEqual([]);
  });

  it("moves a slider to show another slice, with the same colour scale", async () => {
    // slice 0 holds 0s, slice 1 holds 3s; heads 0..1 on a slider
    const x = NamedArray.wrap(keep(tf.tensor([0, 0, 0, 0, 3, 3, 3, 3], [2, 2, 2]))).tag(
      "heads",
      "seq",
      "kv_seq",
    );
    const { page, errors } = await open(renderArray(x, { cellSize: 20 }));
    const slider = page.locator('input[type="range"][data-axis="heads"]');
    expect(await slider.count()).toBe(1);
    expect(await pixels(page, ".skts-facet", centres(20, [[1, 1]]))).toEqual([[68, 1, 84]]);
    await slider.fill("1");
    expect(await page.locator(".skts-array-slider .skts-number").textContent()).toBe("1 / 1");
    expect(await pixels(page, ".skts-facet", centres(20, [[1, 1]]))).toEqual([[253, 231, 37]]);
    await page.locator(".skts-facet").hover({ position: { x: 30, y: 10 } });
    expect(await page.locator(".skts-array-info").textContent()).toBe(
      "heads=1, seq=0, kv_seq=1 \u2192 3",
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it("summarises a large array with a marker, ticks and hover giving true indices", async () => {
    const big = NamedArray.wrap(keep(tf.reshape(keep(tf.range(0, 4 * 64 * 64)), [4, 64, 64]))).tag(
      "heads",
      "seq",
      "kv_seq",
    );
    const { page, errors } = await open(renderArray(big, { maxValues: 4096, rows: ["heads"] }));
    expect(await page.locator(".skts-array-note").textContent()).toBe(
      "Summarised: 4,096 of 16,384 values shown (every 2nd seq index, every 2nd kv_seq index); raise maxValues to see more.",
    );
    const facet = page.locator(".skts-facet").nth(1);
    const box = (await facet.boundingBox())!;
    const cell = box.width / 32;
    // kept cell (row 1, column 2) is seq 2, kv_seq 4 of heads 1: 4096 + 2 * 64 + 4
    await facet.hover({ position: { x: 2.5 * cell, y: 1.5 * cell } });
    expect(await page.locator(".skts-array-info").textContent()).toBe(
      "heads=1, seq=2, kv_seq=4 \u2192 4228",
    );
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "array-summarised.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("switches theme, and saves screenshots of an attention pattern", async () => {
    const { page, errors } = await open(
      renderArray(attention(), { rows: ["heads"], columns: ["batch"], cellSize: 12 }),
    );
    const background = () =>
      page.locator(".skts-root").evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await background()).toBe("rgb(255, 255, 255)");
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "array-attention.png") });
    await page.click(".skts-theme");
    expect(await background()).toBe("rgb(30, 30, 30)");
    expect(await page.locator(".skts-theme").textContent()).toBe("Light theme");
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "array-attention-dark.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("works as a fragment in a page without a policy, as notebooks show it", async () => {
    const fragment = () => renderArray([[1, 2]], { fragment: true, cellSize: 20 });
    const { page, errors } = await open(
      `<!doctype html><html><body>${fragment()}${fragment()}</body></html>`,
    );
    expect(await page.locator(".skts-facet").count()).toBe(2);
    expect(await pixels(page, ".skts-facet >> nth=1", centres(20, [[0, 1]]))).toEqual([
      [253, 231, 37],
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("draws a scalar as one cell and an empty array as an empty facet", async () => {
    const scalar = keep(tf.scalar(2.5));
    const empty = keep(tf.zeros([0, 3]));
    const { page, errors } = await open(
      `<!doctype html><html><body>${renderArray(scalar, { fragment: true, cellSize: 20 })}` +
        `${renderArray(empty, { fragment: true })}</body></html>`,
    );
    const facets = page.locator(".skts-facet");
    expect(await facets.count()).toBe(2);
    await facets.first().hover({ position: { x: 10, y: 10 } });
    expect(await page.locator(".skts-array-info").first().textContent()).toBe("scalar \u2192 2.5");
    expect((await facets.nth(1).boundingBox())!.height).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows hostile axis names as text and runs nothing", async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const x = NamedArray.wrap(keep(tf.ones([2, 2]))).tag(
      evil,
      "</script><script>window.__pwned=2</script>",
    );
    const { page, errors } = await open(renderArray(x, { fragment: false }));
    await page.locator(".skts-facet").hover({ position: { x: 1, y: 1 } });
    expect(await page.locator(".skts-corner").textContent()).toBe(
      `${evil} \u2193 </script><script>window.__pwned=2</script> \u2192`,
    );
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBe(
      undefined,
    );
    expect(await page.locator("img").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("array leaves of a tree and token views in Chromium", () => {
  it("opens an array leaf of renderToHTML into the array view and closes it", async () => {
    const tree = { attention: attention(), bias: keep(tf.tensor1d([1, 2, 3])) };
    const { page, errors } = await open(renderToHTML(tree));
    const leaf = ".skts-node[data-path=\"['attention']\"]";
    expect(await page.locator(`${leaf} .skts-facet`).count()).toBe(0);
    await page.click(`${leaf} .skts-array-open`);
    expect(await page.locator(`${leaf} .skts-facet`).count()).toBe(1);
    expect(await page.locator(`${leaf} .skts-array-slider`).count()).toBe(2);
    await page.locator(`${leaf} .skts-facet`).hover({ position: { x: 1, y: 1 } });
    expect(await page.locator(`${leaf} .skts-array-info`).textContent()).toBe(
      "batch=0, heads=0, seq=0, kv_seq=0 \u2192 0",
    );
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "tree-array.png") });
    await page.click(`${leaf} .skts-array-open`);
    expect(await page.locator(`${leaf} .skts-array-panel`).isVisible()).toBe(false);
    expect(await page.locator(`${leaf} .skts-array-open`).textContent()).toBe("show array");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("draws a tree leaf's array view with the colours, legend and hover values of renderArray", async () => {
    const values = [
      0.1234567,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -2.5,
      Number.NEGATIVE_INFINITY,
      7,
    ];
    const leaf = keep(tf.tensor2d(values, [2, 3]));
    const cells: [number, number][] = [
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ];
    const tree = await open(renderToHTML({ w: leaf, other: keep(tf.ones([4, 4])) }));
    const node = ".skts-node[data-path=\"['w']\"]";
    // the leaf's heat map, read from the page's bulk text: one cell per value, NaN and the
    // infinities magenta, the zero-centred finite values on the diverging map
    const heat = await tree.page.locator(`${node} canvas.skts-heat`).evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      return {
        size: [canvas.width, canvas.height],
        rgb: [0, 1, 2, 3, 4, 5].map((i) => [d[4 * i], d[4 * i + 1], d[4 * i + 2]]),
      };
    });
    expect(heat.size).toEqual([3, 2]);
    expect([heat.rgb[1], heat.rgb[2], heat.rgb[4]]).toEqual([
      [255, 0, 255],
      [255, 0, 255],
      [255, 0, 255],
    ]);
    // -2.5 is on the blue side, 7 (the largest magnitude) the darkest red
    expect(heat.rgb[3]![2]!).toBeGreaterThan(heat.rgb[3]![0]!);
    expect(heat.rgb[5]).toEqual([178, 24, 43]);
    await tree.page.click(`${node} .skts-array-open`);
    const alone = await open(renderArray(leaf));
    // the same cell size is chosen for both, so the same points hit the same cells
    const cell = await alone.page.evaluate(
      () =>
        document.querySelector<HTMLCanvasElement>(".skts-facet")!.getBoundingClientRect().width / 3,
    );
    const points = centres(cell, cells);
    expect(await pixels(tree.page, `${node} .skts-facet`, points)).toEqual(
      await pixels(alone.page, ".skts-facet", points),
    );
    expect(await tree.page.locator(`${node} .skts-array-legend`).textContent()).toBe(
      await alone.page.locator(".skts-array-legend").textContent(),
    );
    const hovers: string[] = [];
    for (const [x, y] of points) {
      await tree.page.locator(`${node} .skts-facet`).hover({ position: { x, y } });
      const text = (await tree.page.locator(`${node} .skts-array-info`).textContent())!;
      await alone.page.locator(".skts-facet").hover({ position: { x, y } });
      expect(text).toBe(await alone.page.locator(".skts-array-info").textContent());
      hovers.push(text);
    }
    expect(hovers).toEqual([
      "[0, 0] \u2192 0.123457",
      "[0, 1] \u2192 NaN",
      "[0, 2] \u2192 +inf",
      "[1, 0] \u2192 -2.5",
      "[1, 1] \u2192 -inf",
      "[1, 2] \u2192 7",
    ]);
    expect([...tree.errors, ...alone.errors]).toEqual([]);
    await tree.page.close();
    await alone.page.close();
  });

  it("shows hostile token texts as text, in a page without a policy, and runs nothing", async () => {
    const evil = ['<img src=x onerror="window.__pwned=1">', '"><svg onload="window.__pwned=2">'];
    const { page, errors } = await openStatic(
      `<!doctype html><html><body>${renderTokens([0, 1], { vocabulary: evil, scores: [1, 2], fragment: true })}</body></html>`,
    );
    expect(await page.locator(".skts-token").allTextContents()).toEqual(evil);
    await page.locator(".skts-token").nth(1).hover();
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBe(
      undefined,
    );
    expect(await page.locator("img, svg").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("colours tokens by score and shows id and score on hover", async () => {
    const vocabulary = ["<pad>", " the", " cat", " sat", "\n"];
    const { page, errors } = await openStatic(
      renderTokens([1, 2, 3, 4], { vocabulary, scores: [0, 1, 2, 3] }),
    );
    const tokens = page.locator(".skts-token");
    expect(await tokens.allTextContents()).toEqual([" the", " cat", " sat", "\u21b5"]);
    expect(await pixels(page, ".skts-token >> nth=3", [[3, 3]])).toEqual([[253, 231, 37]]);
    await tokens.nth(2).hover();
    expect(await tokens.nth(2).evaluate((el) => getComputedStyle(el, "::after").content)).toBe(
      '"[2] id 3 \\" sat\\" score 2"',
    );
    await page
      .locator(".skts-root")
      .first()
      .screenshot({ path: join(screenshots, "tokens.png") });
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** Token views have no script: open them without waiting for one. */
async function openStatic(html: string): Promise<{ page: Page; errors: string[] }> {
  const file = join(dir, `page${pageCount++}.html`);
  writeFileSync(file, html);
  const page = await (await browser()).context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href);
  return { page, errors };
}
