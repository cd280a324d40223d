import { nx, random, ready } from "@saikei/named";
import { checkStructure } from "@saikei/shapecheck";
import * as tf from "@tensorflow/tfjs-core";
import { initializeParameters, Linear, Standardize } from "./src/index.js";
import { contractNamed } from "./src/internal/named.js";
await ready();
const lin = initializeParameters(Linear.fromConfig({ e: 8 }, { o: 8 }), random.key(0)) as Linear;
const x = nx.ones({ b: 2, e: 8 });
function time(name: string, f: () => any) {
  for (let i = 0; i < 50; i++) { const y = f(); if (y) tf.dispose(y.dataArray ?? y); }
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) { const y = f(); if (y) tf.dispose(y.dataArray ?? y); }
  console.log(name, ((performance.now() - t0) / 500 * 1000).toFixed(1), "us");
}
const w = lin.weights.value.dataArray as tf.Tensor2D;
time("raw matMul", () => tf.matMul(x.dataArray as tf.Tensor2D, w));
time("contractNamed", () => contractNamed(["e"], x, lin.weights.value));
time("Linear.call", () => lin.call(x));
time("inputStructure()", () => { lin.inputStructure(); });
const spec = lin.inputStructure();
time("checkStructure cached spec", () => { checkStructure(x, spec); });
time("valueStructure", () => { lin.weights.valueStructure; });
