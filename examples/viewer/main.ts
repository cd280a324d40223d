/**
 * The viewer page: builds the model with the tfjs cpu backend, runs it once, and renders it, a
 * selection of its Linear layers and its text form with `@saikei/treescope`.
 */

import { flattenWithPath, isStruct } from "@saikei/struct";
import { display, renderToText } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { buildModel, Linear } from "./model.js";

async function main(): Promise<void> {
  const status = document.getElementById("status")!;
  await tf.setBackend("cpu");
  await tf.ready();
  const model = buildModel();
  const logits = tf.tidy(() => model.call(tf.tensor1d([1, 5, 9, 2], "int32")));
  status.textContent = `Built on the ${tf.getBackend()} backend; logits for 4 tokens: [${logits.shape.join(", ")}].`;
  logits.dispose();

  display({ model }, { target: document.getElementById("model")!, expandDepth: 3 });

  // Highlight every Linear layer: the paths of the nodes that are Linear instances.
  const linearPaths = flattenWithPath(model, (node) => node instanceof Linear)[0]
    .filter(([, node]) => node instanceof Linear)
    .map(([path]) => path);
  display(model, {
    target: document.getElementById("selection")!,
    highlight: linearPaths,
    expandDepth: 1,
  });

  document.getElementById("text")!.textContent = renderToText(model.body.sublayers[0], {
    multiline: true,
    color: false,
  });
  document.body.dataset.ready = String(isStruct(model));
}

main().catch((error) => {
  console.error(error);
  document.getElementById("status")!.textContent = `Failed: ${error}`;
});
