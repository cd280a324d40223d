// A user's CommonJS script: inference through require("saikei"). Prints one JSON line.
const tf = require("@tensorflow/tfjs-core");
const { pz } = require("saikei");

pz.ready().then((backend) => {
  const model = pz.nn.initializeParameters(pz.models.MLP.fromConfig([3, 4, 2]), pz.random.key(0));
  const x = pz.nx.wrap(tf.tensor2d([[1, 2, 3]]), "batch", "features");
  const before = tf.memory().numTensors;
  const y = model.call(x);
  const out = {
    backend,
    axes: y.namedShape,
    finite: Array.from(y.unwrap("batch", "features").dataSync()).every(Number.isFinite),
    text: pz.ts.renderToText(model).split("\n")[0],
    leaked: tf.memory().numTensors - before,
  };
  y.dataArray.dispose();
  out.leaked = tf.memory().numTensors - before;
  console.log(JSON.stringify(out));
});
