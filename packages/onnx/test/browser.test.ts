import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TransformerInputs, TransformerLM } from "@saikei/models";
import { type NamedArray, type NamedArrayBase, nx, random, ready } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import { leaves } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../treescope/test/chromium.js";
import * as onnx from "../src/index.js";

const ortDist = fileURLToPath(
  new URL("../../../node_modules/onnxruntime-web/dist/", import.meta.url),
);
let dir: string;
let server: Server | undefined;

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".onnx": "application/octet-stream",
};

/** Serves the test folder, and onnxruntime-web's files (the wasm it fetches) from the same root. */
function serve(root: string): Promise<string> {
  const created = createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname).slice(1);
    const file = [join(root, name), join(ortDist, name)].find(
      (f) => !name.includes("..") && existsSync(f),
    );
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  server = created;
  return new Promise((resolve) => {
    created.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(created.address() as AddressInfo).port}/`),
    );
  });
}

beforeAll(async () => {
  await ready();
  dir = mkdtempSync(join(tmpdir(), "saikei-onnx-browser-"));
});

afterAll(async () => {
  const running: Server | undefined = server;
  if (running !== undefined) await new Promise((resolve) => running.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("onnxruntime-web in Chromium", () => {
  it("loads a saved .onnx file through onnx.session and gives the Node logits", async () => {
    const model = initializeParameters(
      TransformerLM.fromConfig({
        numHeads: 2,
        numKvHeads: 1,
        embeddingDim: 16,
        projectionDim: 8,
        mlpHiddenDim: 32,
        numDecoderBlocks: 2,
        vocabSize: 11,
      }),
      random.key(8),
    );
    const example = TransformerInputs.fromBasicSegments(
      nx.wrap(
        tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          undefined,
          "int32",
        ),
        "batch",
        "seq",
      ),
    );
    const bytes = onnx.export(
      (tokens: NamedArrayBase, positions: NamedArrayBase, attentionMask: NamedArrayBase) =>
        model.call(new TransformerInputs({ tokens, positions, attentionMask })),
      [example.tokens, example.positions, example.attentionMask],
      {
        dynamicAxes: ["batch", ["seq", "kv_seq"]],
        inputNames: ["tokens", "positions", "mask"],
        outputNames: ["logits"],
      },
    );
    writeFileSync(join(dir, "model.onnx"), bytes);
    const inputs = TransformerInputs.fromBasicSegments(
      nx.wrap(tf.tensor2d([[3, 1, 4, 1, 5]], undefined, "int32"), "batch", "seq"),
    );
    const expected = model.call(inputs) as NamedArray;
    writeFileSync(
      join(dir, "inputs.json"),
      JSON.stringify(
        Object.fromEntries(
          (
            [
              ["tokens", inputs.tokens],
              ["positions", inputs.positions],
              ["mask", inputs.attentionMask],
            ] as const
          ).map(([name, array]) => {
            const names = Object.keys(array.namedShape);
            const data = array.unwrap(...names);
            return [name, { names, dtype: data.dtype, values: data.arraySync() }];
          }),
        ),
      ),
    );
    await build({
      entryPoints: [fileURLToPath(new URL("./browser/entry.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      conditions: ["@saikei/source"],
      external: ["onnxruntime-node"],
      outfile: join(dir, "bundle.js"),
      logLevel: "silent",
    });
    writeFileSync(
      join(dir, "index.html"),
      '<!doctype html><script type="module" src="bundle.js"></script>',
    );
    const url = await serve(dir);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}index.html`);
      await page.waitForFunction(
        () => (window as unknown as { __result?: unknown }).__result !== undefined,
        undefined,
        { timeout: 60_000 },
      );
      const result = (await page.evaluate(
        () => (window as unknown as { __result: unknown }).__result,
      )) as {
        error?: string;
        namedShape: Record<string, number>;
        values: number[];
      };
      expect(result.error).toBeUndefined();
      expect(result.namedShape).toEqual({ batch: 1, seq: 5, vocabulary: 11 });
      const want = expected.orderAs("batch", "seq", "vocabulary").dataArray.dataSync();
      const worst = result.values.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await browser.close();
    }
    tf.dispose([
      expected.dataArray,
      inputs.tokens.dataArray,
      inputs.positions.dataArray,
      inputs.attentionMask.dataArray,
    ]);
    tf.dispose([
      example.tokens.dataArray,
      example.positions.dataArray,
      example.attentionMask.dataArray,
    ]);
    tf.dispose(leaves(model).filter((l): l is tf.Tensor => l instanceof tf.Tensor));
  });
});
