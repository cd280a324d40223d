/**
 * The page script of the browser test, bundled by esbuild: loads a saved `.onnx` file with
 * `session` from `@saikei/onnx` (which imports onnxruntime-web itself) and publishes the logits.
 */
import { NamedArray } from "@saikei/named";
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { session } from "../../src/index.js";

/** Each input's axis names, dtype and nested values, as the test wrote them. */
type PageInputs = Record<string, { names: string[]; dtype: tf.DataType; values: unknown }>;

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  // One thread: threads need a cross-origin isolated page.
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  const bytes = new Uint8Array(await (await fetch("model.onnx")).arrayBuffer());
  const inputs = (await (await fetch("inputs.json")).json()) as PageInputs;
  const wrap = ({ values, dtype, names }: PageInputs[string]) => {
    const data = tf.tensor(values as number[], undefined, dtype);
    const namedAxes: Record<string, number> = {};
    names.forEach((n, i) => {
      namedAxes[n] = data.shape[i]!;
    });
    return new NamedArray({ namedAxes, dataArray: data });
  };
  const s = await session(bytes);
  const feeds: Record<string, NamedArray> = {};
  for (const [name, input] of Object.entries(inputs)) feeds[name] = wrap(input);
  const { logits } = await s.run(feeds);
  const out = logits as NamedArray;
  (window as unknown as { __result: unknown }).__result = {
    namedShape: { ...out.namedShape },
    values: Array.from(out.orderAs("batch", "seq", "vocabulary").dataArray.dataSync()),
  };
  await s.dispose();
}

main().catch((error: unknown) => {
  (window as unknown as { __result: unknown }).__result = { error: String(error) };
});
