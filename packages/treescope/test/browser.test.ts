import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ready } from "@saikei/named";
import { DictKey, GetAttrKey, leaves, SequenceKey } from "@saikei/struct";
import { describe as describeNode, renderToHTML, renderToText } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";
import { type TransformerLM, transformerLike } from "./fixtures.js";

const screenshots = fileURLToPath(new URL("../../../screenshots/", import.meta.url));
let dir: string;
let model: TransformerLM;
let baseline = 0;
let launched: ReturnType<typeof launchChromium> | undefined;

/**
 * The shared browser, launched by the first test that needs it: a missing Chromium then fails
 * every test with the launcher's message instead of skipping them after a failed `beforeAll`.
 */
function browser(): ReturnType<typeof launchChromium> {
  launched ??= launchChromium().then(async (b) => {
    // Record what "copy path" writes instead of depending on the system clipboard.
    await b.context.addInitScript(() => {
      const w = window as unknown as { __copied: string[] };
      w.__copied = [];
      Object.defineProperty(navigator, "clipboard", {
        configurable: true,
        value: {
          writeText(text: string) {
            w.__copied.push(text);
            return Promise.resolve();
          },
        },
      });
    });
    return b;
  });
  return launched;
}

beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
  model = transformerLike(2, 8);
  dir = mkdtempSync(join(tmpdir(), "skts-pages-"));
});

afterAll(async () => {
  const b = await launched?.catch(() => undefined);
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const leaf of leaves(model)) if (leaf instanceof tf.Tensor) leaf.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

let pageCount = 0;
/** Opens `html` from a file in a new tab, failing the test on any console error. */
async function open(html: string, ready = true): Promise<{ page: Page; errors: string[] }> {
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
  if (ready) await page.waitForSelector(".skts-root[data-skts-ready]");
  return { page, errors };
}

/** Nodes treescope shows for a tree: every node and leaf, static fields included. */
function countNodes(value: unknown): number {
  return 1 + describeNode(value).entries.reduce((n, e) => n + countNodes(e.value), 0);
}

const node = (path: string) => `.skts-node[data-path="${path}"]`;
const toggle = (path: string) => `${node(path)} > .skts-head > .skts-toggle`;

describe("HTML view in Chromium", () => {
  it("renders the first levels and the rest lazily, expanding and collapsing on click", async () => {
    const { page, errors } = await open(renderToHTML(model, { title: "transformer" }));
    expect(await page.title()).toBe("transformer");
    // depth 0 and 1 are open; the sublayers list (depth 2) is collapsed and its children not built
    expect(await page.locator(node(".body")).getAttribute("class")).toContain("skts-open");
    expect(await page.locator(node(".body.sublayers")).getAttribute("class")).not.toContain(
      "skts-open",
    );
    expect(await page.locator(node(".body.sublayers[0]")).count()).toBe(0);
    expect(
      await page.locator(`${node(".body.sublayers")} > .skts-head > .skts-ellipsis`).textContent(),
    ).toBe("\u2026]  4 items");

    await page.click(toggle(".body.sublayers"));
    expect(await page.locator(node(".body.sublayers[0]")).count()).toBe(1);
    expect(await page.locator(`${node(".body.sublayers")} > .skts-body > .skts-node`).count()).toBe(
      4,
    );
    expect(await page.locator(toggle(".body.sublayers")).getAttribute("aria-expanded")).toBe(
      "true",
    );

    await page.click(toggle(".body.sublayers"));
    expect(await page.locator(node(".body.sublayers[0]")).isVisible()).toBe(false);
    await page.click(toggle(".body.sublayers"));
    expect(await page.locator(node(".body.sublayers[0]")).isVisible()).toBe(true);
    // re-expanding reuses the nodes built the first time
    expect(await page.locator(node(".body.sublayers[0]")).count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("copies the key path of a node as code", async () => {
    const { page, errors } = await open(renderToHTML(model));
    for (const path of [
      ".body.sublayers",
      ".body.sublayers[0]",
      ".body.sublayers[0].delta",
      ".body.sublayers[0].delta.queryKeyToAttn",
      ".body.sublayers[0].delta.queryKeyToAttn.sublayers",
      ".body.sublayers[0].delta.queryKeyToAttn.sublayers[0]",
    ]) {
      await page.click(toggle(path));
    }
    const mask = ".body.sublayers[0].delta.queryKeyToAttn.sublayers[0].mask";
    await page.hover(`${node(mask)} > .skts-head`);
    await page.click(`${node(mask)} > .skts-head > .skts-copy`);
    await page.waitForFunction(
      () => (window as unknown as { __copied: string[] }).__copied.length === 1,
    );
    expect(
      await page.evaluate(() => (window as unknown as { __copied: string[] }).__copied),
    ).toEqual([mask]);
    expect(await page.locator(`${node(mask)} > .skts-head > .skts-copy`).textContent()).toBe(
      "copied",
    );

    await page.click(`${node(".embedding.value")} > .skts-head > .skts-copy`);
    await page.waitForFunction(
      () => (window as unknown as { __copied: string[] }).__copied.length === 2,
    );
    expect(
      await page.evaluate(() => (window as unknown as { __copied: string[] }).__copied[1]),
    ).toBe(".embedding.value");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("switches to the dark theme and back", async () => {
    const { page, errors } = await open(renderToHTML(model));
    const background = () =>
      page.locator(".skts-root").evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await background()).toBe("rgb(255, 255, 255)");
    await page.click(".skts-theme");
    expect(await page.locator(".skts-root").getAttribute("class")).toBe("skts-root skts-dark");
    expect(await background()).toBe("rgb(30, 30, 30)");
    expect(await page.locator(".skts-theme").getAttribute("aria-pressed")).toBe("true");
    await page.click(".skts-theme");
    expect(await background()).toBe("rgb(255, 255, 255)");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("colours struct types through CSS custom properties", async () => {
    const { page } = await open(renderToHTML(model));
    const typeBackground = await page
      .locator(`${node(".embedding")} > .skts-head > .skts-type`)
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    // #93cce1 mixed 75% with white
    expect(typeBackground).toMatch(
      /^(rgb\(174, 217, 233\)|color\(srgb 0\.68\d* 0\.85\d* 0\.91\d*\))$/,
    );
    expect(
      await page
        .locator(".skts-root")
        .evaluate((el) => getComputedStyle(el).getPropertyValue("--skts-color-Parameter")),
    ).toBe("#93cce1");
    await page.close();
  });

  it("highlights the selected nodes, opening the way to them, and saves a screenshot", async () => {
    const linears: (GetAttrKey | SequenceKey)[][] = [];
    for (const block of [0, 2]) {
      for (const proj of ["inputToQuery", "inputToKey"]) {
        linears.push([
          new GetAttrKey("body"),
          new GetAttrKey("sublayers"),
          new SequenceKey(block),
          new GetAttrKey("delta"),
          new GetAttrKey(proj),
          new GetAttrKey("sublayers"),
          new SequenceKey(0),
        ]);
      }
    }
    const { page, errors } = await open(
      renderToHTML(model, { highlight: linears, expandDepth: 1 }),
    );
    const selected = page.locator(".skts-selected");
    expect(await selected.count()).toBe(4);
    expect(
      await selected.evaluateAll((els) => els.map((e) => e.getAttribute("data-path"))),
    ).toEqual([
      ".body.sublayers[0].delta.inputToQuery.sublayers[0]",
      ".body.sublayers[0].delta.inputToKey.sublayers[0]",
      ".body.sublayers[2].delta.inputToQuery.sublayers[0]",
      ".body.sublayers[2].delta.inputToKey.sublayers[0]",
    ]);
    for (const el of await selected.all()) expect(await el.isVisible()).toBe(true);
    expect(await selected.first().evaluate((el) => getComputedStyle(el).outlineStyle)).toBe(
      "solid",
    );
    // the way to the selection is open, the rest keeps the collapsed default
    expect(await page.locator(node(".body.sublayers[1]")).getAttribute("class")).not.toContain(
      "skts-open",
    );
    // selected nodes start collapsed; heat maps of their weights are drawn once opened
    await page.click(toggle(".body.sublayers[0].delta.inputToQuery.sublayers[0]"));
    await page.click(toggle(".body.sublayers[0].delta.inputToQuery.sublayers[0].weights"));
    const heat = page.locator(
      `${node(".body.sublayers[0].delta.inputToQuery.sublayers[0].weights.value")} canvas`,
    );
    expect(
      await heat.evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]),
    ).toEqual([8, 8]);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, "treescope-selection.png"), fullPage: true });
    await page.click(".skts-theme");
    await page.screenshot({
      path: join(screenshots, "treescope-selection-dark.png"),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("keeps several renderings on one page independent", async () => {
    const a = renderToHTML({ a: { x: [1, 2] } }, { fragment: true, expandDepth: 1 });
    const b = renderToHTML({ a: { x: [1, 2] } }, { fragment: true, expandDepth: 1 });
    const { page, errors } = await open(`<!doctype html><html><body>${a}${b}</body></html>`);
    await page.waitForFunction(
      () => document.querySelectorAll(".skts-root[data-skts-ready]").length === 2,
    );
    const roots = page.locator(".skts-root");
    await roots.nth(0).locator(toggle("['a']")).click();
    expect(await roots.nth(0).locator(node("['a']['x']")).count()).toBe(1);
    expect(await roots.nth(1).locator(node("['a']['x']")).count()).toBe(0);
    await roots.nth(1).locator(".skts-theme").click();
    expect(await roots.nth(0).getAttribute("class")).toBe("skts-root");
    expect(await roots.nth(1).getAttribute("class")).toBe("skts-root skts-dark");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("expands everything with Expand all and shows layer structures", async () => {
    const { page, errors } = await open(renderToHTML({ model, mask: [new DictKey("x")] }));
    await page.click(".skts-expand-all");
    expect(await page.locator(".skts-node.skts-branch:not(.skts-open)").count()).toBe(0);
    expect(await page.locator(".skts-node").count()).toBe(
      countNodes({ model, mask: [new DictKey("x")] }),
    );
    const linear = node(
      ".model.body.sublayers[0].delta.inputToQuery.sublayers[0]".replace(".model", "['model']"),
    );
    expect(await page.locator(`${linear} > .skts-body > .skts-io`).allTextContents()).toEqual([
      `# input: {"input": 'ArraySpec(features=4)'}`,
      `# output: {"output": 'ArraySpec(features=8)'}`,
    ]);
    await page.click(".skts-collapse-all");
    expect(await page.locator(".skts-node.skts-open").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows the text form where scripts are stripped and replaces it by the view where they run", async () => {
    const tree = { model, note: "<b>not bold</b>" };
    const fragment = renderToHTML(tree, { fragment: true });
    // GitHub's notebook view and untrusted Jupyter notebooks drop every script element
    const stripped = fragment.replace(/<script\b[\s\S]*?<\/script>/g, "");
    const still = await open(`<!doctype html><html><body>${stripped}</body></html>`, false);
    expect(await still.page.locator(".skts-text").isVisible()).toBe(true);
    expect(await still.page.locator(".skts-text").textContent()).toBe(
      renderToText(tree, { multiline: true, color: false, width: 100 }),
    );
    expect(await still.page.locator("button, b").count()).toBe(0);
    await still.page.close();

    const live = await open(`<!doctype html><html><body>${fragment}</body></html>`);
    expect(await live.page.locator(".skts-text").count()).toBe(0);
    expect(await live.page.locator(".skts-toolbar > button").allTextContents()).toEqual([
      "Expand all",
      "Collapse all",
      "Dark theme",
    ]);
    expect(live.errors).toEqual([]);
    await live.page.close();
  });

  it("starts in the dark theme with the toolbar offering the light one", async () => {
    const { page, errors } = await open(renderToHTML([1], { theme: "dark" }));
    expect(await page.locator(".skts-theme").textContent()).toBe("Light theme");
    expect(await page.locator(".skts-theme").getAttribute("aria-pressed")).toBe("true");
    expect(
      await page.locator(".skts-root").evaluate((el) => getComputedStyle(el).backgroundColor),
    ).toBe("rgb(30, 30, 30)");
    expect(errors).toEqual([]);
    await page.close();
  });
});
