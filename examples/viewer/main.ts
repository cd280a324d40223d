/**
 * The viewer page: builds a small decoder-only transformer LM with saikei (`@saikei/models`) on
 * the tfjs cpu backend, runs it once, and renders it, a selection of its Linear layers and the
 * text form of one block with `@saikei/treescope`. Everything happens in the browser.
 */
import { TransformerInputs, TransformerLM } from "@saikei/models";
import { NamedArray, random, ready } from "@saikei/named";
import { initializeParameters, Linear } from "@saikei/nn";
import { select } from "@saikei/select";
import { display, renderToText } from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";

const CONFIG = {
  numHeads: 2,
  embeddingDim: 16,
  projectionDim: 4,
  mlpHiddenDim: 32,
  numDecoderBlocks: 2,
  vocabSize: 11,
};

async function main(): Promise<void> {
  const status = document.getElementById("status")!;
  const backend = await ready({ backends: ["cpu"] });
  const model = initializeParameters(TransformerLM.fromConfig(CONFIG), random.key(2));

  const tokens = NamedArray.wrap(tf.tensor2d([[1, 5, 9, 2]], [1, 4], "int32")).tag("batch", "seq");
  const inputs = TransformerInputs.fromBasicSegments(tokens);
  const logits = model.call(inputs);
  status.textContent =
    `Built and ran on the ${backend} backend; logits have named shape ` +
    `${JSON.stringify(logits.namedShape)}.`;
  tf.dispose([
    tokens.dataArray,
    inputs.positions.dataArray,
    inputs.attentionMask.dataArray,
    logits.dataArray,
  ]);

  display(model, { target: document.getElementById("model")!, expandDepth: 3 });
  const linears = select(model).atInstancesOf(Linear);
  display(linears, { target: document.getElementById("selection")! });
  document.body.dataset.linears = String(linears.count());
  document.getElementById("text")!.textContent = renderToText(model, {
    multiline: true,
    color: false,
  });
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  console.error(error);
  document.getElementById("status")!.textContent = `Failed: ${error}`;
});
