/**
 * Hostile input in Chromium. Every payload of a set of script-, markup- and CSS-breaking strings is
 * placed in every place where a tree or an option puts text into the HTML view (the `id` and
 * `title` options, string leaves, object and Map keys, struct field and class names,
 * `treescopeColor()`, axis names, layer structures and their errors, function names), and each
 * rendering is loaded three ways: as a complete page, as a fragment written into a static page (a
 * notebook exported to HTML), and as a fragment mounted with `mountHTML`. No trial may run script,
 * open a dialog or make any request; names and values must show as text.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NamedArray, ready } from "@saikei/named";
import { field, Struct } from "@saikei/struct";
import { type HTMLOptions, mountHTML, quoteString, renderToHTML } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeControls } from "../src/escape.js";
import { launchChromium } from "./chromium.js";

/** `$N` is replaced by the trial number, so whatever runs or is requested names its trial. */
const PAYLOADS: readonly string[] = [
  "</script><script>pw($N)</script>",
  "</SCRIPT ><script>pw($N)</script>",
  "<img src=x onerror=pw($N)>",
  '"><svg onload=pw($N)>',
  "'><svg onload=pw($N)>",
  '" onmouseover="pw($N)" x="',
  "<!--<script>pw($N)</script>-->",
  "]]></script><script>pw($N)</script>",
  "&lt;img src=x onerror=pw($N)&gt;",
  '");pw($N);//',
  '\\");pw($N);//',
  "\u2028pw($N)\u2029",
  "javascript:pw($N)",
  "<script>alert($N)</script>",
  "</style><script>pw($N)</script>",
  "red;background-image:url(http://127.0.0.1:9/$N)",
  "red}*{background:url(http://127.0.0.1:9/$N)}",
  "@import url(http://127.0.0.1:9/$N);",
  "url(http://127.0.0.1:9/$N)",
  "var(--x,url(http://127.0.0.1:9/$N))",
  "expression(pw($N))",
  "</style><link rel=stylesheet href=http://127.0.0.1:9/$N>",
  '<meta http-equiv=refresh content="0;url=http://127.0.0.1:9/$N">',
  "<iframe src=http://127.0.0.1:9/$N></iframe>",
  "<base href=http://127.0.0.1:9/$N/>",
  "\x1b[2J\u202e$N\u202c",
];

interface Rendering {
  tree: unknown;
  options?: HTMLOptions;
  /** Text the view must show once everything is expanded. */
  visible?: string;
}

const tensors: tf.Tensor[] = [];

/** Each place a payload can reach the HTML, as a tree (real struct classes) and options. */
const PLACEMENTS: Record<string, (p: string) => Rendering> = {
  "id option": (p) => ({ tree: [1], options: { id: p } }),
  "title option": (p) => ({ tree: [1], options: { title: p } }),
  "string leaf": (p) => ({ tree: { s: p }, visible: quoteString(p) }),
  "object key": (p) => ({ tree: { [p]: 1 }, visible: escapeControls(JSON.stringify(p)) }),
  "Map key": (p) => ({
    tree: new Map([[p, 1]]),
    visible: `${escapeControls(JSON.stringify(p))} => `,
  }),
  "struct field name": (p) => {
    class Hostile extends Struct.define({ [p]: field<number>() }) {}
    return { tree: new Hostile({ [p]: 1 } as never), visible: `${escapeControls(p)}=1` };
  },
  "class name": (p) => {
    class Hostile extends Struct.define({ v: field<number>() }) {}
    Object.defineProperty(Hostile, "name", { value: p });
    return { tree: { x: new Hostile({ v: 1 }) }, visible: `${escapeControls(p)}(` };
  },
  "treescopeColor()": (p) => {
    class Colored extends Struct.define({ v: field<number>() }) {
      treescopeColor(): string {
        return p;
      }
    }
    return { tree: new Colored({ v: 1 }), visible: "Colored(" };
  },
  "axis name": (p) => {
    const data = tf.zeros([2]);
    tensors.push(data);
    return {
      tree: { a: new NamedArray({ namedAxes: { [p]: 2 }, dataArray: data }) },
      visible: `${escapeControls(p)}:2`,
    };
  },
  "layer structure": (p) => {
    class Layer extends Struct.define({ v: field<number>() }) {
      call(x: unknown): unknown {
        return x;
      }
      inputStructure(): unknown {
        return { [p]: p };
      }
    }
    return {
      tree: new Layer({ v: 1 }),
      visible: `# input: {${escapeControls(JSON.stringify(p))}: ${quoteString(p)}}`,
    };
  },
  "layer error message": (p) => {
    class Broken extends Struct.define({ v: field<number>() }) {
      call(x: unknown): unknown {
        return x;
      }
      outputStructure(): unknown {
        throw new Error(p);
      }
    }
    return { tree: new Broken({ v: 1 }), visible: `# output: \u26a0 Error: ${escapeControls(p)}` };
  },
  "function name": (p) => {
    const fn = () => 0;
    Object.defineProperty(fn, "name", { value: p });
    return { tree: { f: fn }, visible: `<function ${escapeControls(p)}>` };
  },
};

const MODES = ["page", "embedded fragment", "mounted fragment"] as const;
type Mode = (typeof MODES)[number];

interface Trial {
  n: number;
  placement: string;
  mode: Mode;
  payload: string;
  rendering?: Rendering;
  /** The rendering on its own: a complete page or a fragment, as the mode loads it. */
  html?: string;
  /** The option error treescope raised instead of rendering. */
  rejected?: string;
}

interface Findings {
  executed: Set<number>;
  /** requests seen and not blocked by a Content-Security-Policy, until attributed */
  requests: Map<object, string>;
  /** requests a Content-Security-Policy stopped */
  blocked: string[];
  requested: Set<number>;
  unattributed: string[];
  dialogs: string[];
  invisible: string[];
}

let dir: string;
let launched: Awaited<ReturnType<typeof launchChromium>> | undefined;
let pageCount = 0;

beforeAll(async () => {
  await ready();
  dir = mkdtempSync(join(tmpdir(), "skts-hostile-"));
  launched = await launchChromium();
  await launched.context.addInitScript(() => {
    const w = window as unknown as { __pwned: number[]; pw(n: number): void };
    w.__pwned = [];
    w.pw = (n) => w.__pwned.push(n);
  });
  // Nothing may leave the page; answer every network request with a failure, after recording it.
  await launched.context.route(/^(https?|wss?|ftp):/, (route) => route.abort());
});

afterAll(async () => {
  await launched?.close();
  rmSync(dir, { recursive: true, force: true });
  tf.dispose(tensors);
});

function trialsFor(mode: Mode, first: number): Trial[] {
  const trials: Trial[] = [];
  let n = first;
  for (const [placement, place] of Object.entries(PLACEMENTS)) {
    for (const template of PAYLOADS) {
      const payload = template.replaceAll("$N", String(n));
      const trial: Trial = { n, placement, mode, payload };
      try {
        trial.rendering = place(payload);
        const { tree, options } = trial.rendering;
        trial.html = renderToHTML(tree, { ...options, fragment: mode !== "page" });
      } catch (error) {
        trial.rejected = `${(error as Error).name}: ${(error as Error).message}`;
      }
      trials.push(trial);
      n++;
    }
  }
  return trials;
}

function file(html: string): string {
  const path = join(dir, `p${pageCount++}.html`);
  writeFileSync(path, html);
  return pathToFileURL(path).href;
}

/**
 * Watches a page: what was requested (other than `own`) and which dialogs opened. A request the
 * page's Content-Security-Policy blocked never leaves the browser; it is not counted.
 */
function watch(page: Page, own: () => string, findings: Findings): void {
  page.on("request", (request) => {
    const url = request.url();
    if (url !== own() && !url.startsWith("data:")) findings.requests.set(request, url);
  });
  page.on("requestfailed", (request) => {
    if (request.failure()?.errorText === "csp") {
      findings.blocked.push(request.url());
      findings.requests.delete(request);
    }
  });
  page.on("dialog", (dialog) => {
    findings.dialogs.push(dialog.message());
    void dialog.dismiss().catch(() => undefined);
  });
}

/** Sorts the requests that left the page by the trial their URL names. */
function attribute(findings: Findings): void {
  for (const url of findings.requests.values()) {
    const m = /127\.0\.0\.1:9\/(\d+)/.exec(url);
    if (m) findings.requested.add(Number(m[1]));
    else findings.unattributed.push(url);
  }
  findings.requests.clear();
}

function noFindings(): Findings {
  return {
    executed: new Set(),
    requests: new Map(),
    blocked: [],
    requested: new Set(),
    unattributed: [],
    dialogs: [],
    invisible: [],
  };
}

/** Expands every view under `selector`'s elements and returns their text, in order. */
async function settle(page: Page, findings: Findings, selector: string): Promise<string[]> {
  // Images and frames hold the load event back; a refresh starts right after it.
  await page.waitForTimeout(20);
  try {
    const ran = await page.evaluate(() => (window as unknown as { __pwned: number[] }).__pwned);
    for (const n of ran) findings.executed.add(n);
    return await page.locator(selector).evaluateAll((els) =>
      els.map((el) => {
        for (const b of el.querySelectorAll<HTMLButtonElement>(".skts-expand-all")) b.click();
        return (el.querySelector(".skts-tree") as HTMLElement | null)?.textContent ?? "";
      }),
    );
  } catch {
    // The page navigated away (a refresh that was not escaped): its requests are recorded.
    return [];
  }
}

/** `texts[i]` is the text of the view that holds `trials[i]`. */
function check(trials: Trial[], texts: string[], findings: Findings): void {
  trials.forEach((t, i) => {
    const visible = t.rendering?.visible;
    if (visible !== undefined && !(texts[i] ?? "").includes(visible)) {
      findings.invisible.push(`${t.placement} #${t.n}: ${JSON.stringify(visible)}`);
    }
  });
}

/**
 * Complete pages: one per trial for payloads in options; one per place for payloads in trees,
 * whose tree holds every payload's tree (what runs or is requested still names its trial).
 */
async function runPages(trials: Trial[], findings: Findings): Promise<void> {
  const pages: { html: string; trials: Trial[] }[] = [];
  const shown = trials.filter((t) => t.html !== undefined);
  for (const placement of new Set(shown.map((t) => t.placement))) {
    const here = shown.filter((t) => t.placement === placement);
    if (here[0]!.rendering!.options !== undefined) {
      for (const t of here) pages.push({ html: t.html!, trials: [t] });
    } else {
      pages.push({ html: renderToHTML(here.map((t) => t.rendering!.tree)), trials: here });
    }
  }
  const tab = async () => {
    const page = await launched!.context.newPage();
    let own = "";
    watch(page, () => own, findings);
    for (let p = pages.shift(); p !== undefined; p = pages.shift()) {
      own = file(p.html);
      await page.goto(own, { waitUntil: "load" }).catch(() => undefined);
      const [text = ""] = await settle(page, findings, ".skts-root");
      check(
        p.trials,
        p.trials.map(() => text),
        findings,
      );
    }
    await page.close();
  };
  await Promise.all([tab(), tab()]);
}

async function runEmbedded(trials: Trial[], findings: Findings): Promise<void> {
  const page = await launched!.context.newPage();
  const shown = trials.filter((t) => t.html !== undefined);
  const own = file(
    `<!doctype html><html><head><meta charset="utf-8"></head><body>` +
      shown.map((t) => `<div class="trial">${t.html}</div>`).join("") +
      `</body></html>`,
  );
  watch(page, () => own, findings);
  await page.goto(own, { waitUntil: "load" }).catch(() => undefined);
  check(shown, await settle(page, findings, ".trial"), findings);
  await page.close();
}

async function runMounted(trials: Trial[], findings: Findings): Promise<void> {
  const page = await launched!.context.newPage();
  const shown = trials.filter((t) => t.html !== undefined);
  const own = file(`<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>`);
  watch(page, () => own, findings);
  await page.goto(own, { waitUntil: "load" });
  await page.evaluate(
    ([source, fragments]) => {
      const mount = new Function(`return (${source})`)() as typeof mountHTML;
      for (const html of fragments) {
        const trial = document.createElement("div");
        trial.className = "trial";
        document.body.appendChild(trial);
        mount(trial, html);
      }
    },
    [mountHTML.toString(), shown.map((t) => t.html!)] as const,
  );
  check(shown, await settle(page, findings, ".trial"), findings);
  await page.close();
}

describe("hostile names and values in Chromium", () => {
  it(`run no script, open no dialog and make no request (${PAYLOADS.length} payloads x ${Object.keys(PLACEMENTS).length} places x ${MODES.length} ways to load)`, async () => {
    const findings = noFindings();
    const all: Trial[] = [];
    for (const mode of MODES) {
      const trials = trialsFor(mode, all.length + 1);
      all.push(...trials);
      if (mode === "page") await runPages(trials, findings);
      else if (mode === "embedded fragment") await runEmbedded(trials, findings);
      else await runMounted(trials, findings);
    }
    attribute(findings);
    const byNumber = new Map(all.map((t) => [t.n, t]));
    const name = (n: number) => {
      const t = byNumber.get(n)!;
      return `#${n} ${t.placement} (${t.mode}): ${JSON.stringify(t.payload)}`;
    };
    const rejected = all.filter((t) => t.rejected !== undefined);
    const summary = {
      trials: all.length,
      rejected: rejected.length,
      executed: [...findings.executed].sort((a, b) => a - b).map(name),
      requested: [...findings.requested].sort((a, b) => a - b).map(name),
      unattributed: findings.unattributed,
      blocked: findings.blocked,
      dialogs: findings.dialogs,
      invisible: findings.invisible,
    };
    expect(summary).toEqual({
      trials: PAYLOADS.length * Object.keys(PLACEMENTS).length * MODES.length,
      // only the id option refuses payloads: every one of them is an unsafe element id
      rejected: PAYLOADS.length * MODES.length,
      executed: [],
      requested: [],
      unattributed: [],
      // escaping holds on its own: the policy of complete pages never had anything to stop
      blocked: [],
      dialogs: [],
      invisible: [],
    });
    expect(new Set(rejected.map((t) => t.placement))).toEqual(new Set(["id option"]));
    expect(rejected[0]!.rejected).toMatch(/^RenderOptionError: renderToHTML option `id`/);
  }, 240_000);

  it("a complete page's Content-Security-Policy stops what a missed escape would let in", async () => {
    const missed =
      '<img src="http://127.0.0.1:9/1"><script>pw(2)</script><img src=x onerror=pw(3)>' +
      '<div style="background:url(http://127.0.0.1:9/4)">x</div>' +
      '<link rel=stylesheet href="http://127.0.0.1:9/5"><iframe src="http://127.0.0.1:9/6"></iframe>' +
      "<style>@import url(http://127.0.0.1:9/7);</style>";
    const html = renderToHTML({ a: [1, 2] }, { id: "v" }).replace(
      '<body style="margin:12px">',
      `<body style="margin:12px">${missed}`,
    );
    const load = async (page: string) => {
      const findings = noFindings();
      const tab = await launched!.context.newPage();
      const own = file(page);
      watch(tab, () => own, findings);
      await tab.goto(own, { waitUntil: "load" });
      await settle(tab, findings, ".skts-root");
      const ready = await tab.locator("#v[data-skts-ready]").count();
      await tab.close();
      attribute(findings);
      return {
        ready,
        executed: [...findings.executed].sort(),
        requested: [...findings.requested].sort(),
        unattributed: findings.unattributed.length,
        blocked: findings.blocked.length,
      };
    };
    // the page's own script still runs; nothing else does, and nothing is requested
    expect(await load(html)).toEqual({
      ready: 1,
      executed: [],
      requested: [],
      unattributed: 0,
      // 1, 4, 5, 7 and the image "x" (the frame is refused without a request)
      blocked: 5,
    });
    // the same page without its policy: the injected markup runs and reaches the network
    const open = await load(html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ""));
    expect(open.executed).toEqual([2, 3]);
    expect(open.requested).toEqual([1, 4, 5, 6, 7]);
  });
});
