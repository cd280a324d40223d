/**
 * Training-step throughput: `buildTrainStepFn` + `adam` against a hand-written tfjs training step
 * (tf.valueAndGrads and the same Adam arithmetic) of the same two-layer MLP, in the same process.
 *
 * Cases:
 * - `train-step-mlp-tree`: the model is a plain tree of tensors and both sides run the same
 *   forward function, so the ratio measures the training machinery alone (target <= 1.1).
 * - `train-step-mlp-nn`: the model is an `@saikei/nn` Sequential of Affine layers (named axes,
 *   checked layer calls) against the hand-written step; the ratio includes the layers' overhead.
 *
 * Run: npx tsx --conditions=@saikei/source packages/toolshed/bench/train.bench.ts
 */

import { type NamedArray, nx, random, ready } from "@saikei/named";
import { Affine, addParameterPrefix, Elementwise, initializeParameters, Sequential } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import { compare } from "../../../bench/harness.js";
import { adam, buildTrainStepFn, TrainState } from "../src/index.js";

await ready();

const BATCH = 64;
const FEATURES = 32;
const HIDDEN = 128;
const LR = 1e-3;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

interface Mlp {
  w1: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
}

const [kx, ky, k1, k2] = random.split(random.key(0), 4);
const x = random.normal(kx!, [BATCH, FEATURES]);
const y = tf.tidy(() => tf.cast(tf.greater(random.normal(ky!, [BATCH, 1]), 0), "float32"));

function initMlp(): Mlp {
  return tf.tidy(() => ({
    w1: tf.mul(random.normal(k1!, [FEATURES, HIDDEN]), 1 / Math.sqrt(FEATURES)),
    b1: tf.zeros([HIDDEN]),
    w2: tf.mul(random.normal(k2!, [HIDDEN, 1]), 1 / Math.sqrt(HIDDEN)),
    b2: tf.zeros([1]),
  }));
}

function forward(m: Mlp, input: tf.Tensor): tf.Tensor {
  const h = tf.tanh(tf.add(tf.matMul(input, m.w1), m.b1));
  return tf.add(tf.matMul(h, m.w2), m.b2);
}

function lossOf(m: Mlp): tf.Scalar {
  return tf.losses.sigmoidCrossEntropy(y, forward(m, x)) as tf.Scalar;
}

// --- hand-written tfjs: valueAndGrads + Adam on arrays of tensors --------------------------------
const hand = (() => {
  let params = Object.values(initMlp());
  let m = params.map((p) => tf.zerosLike(p));
  let v = params.map((p) => tf.zerosLike(p));
  let count = 0;
  const f = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => lossOf({ w1, b1, w2, b2 });
  const valueAndGrads = tf.valueAndGrads(f as (...args: tf.Tensor[]) => tf.Scalar);
  return () => {
    count++;
    const c1 = 1 - B1 ** count;
    const c2 = 1 - B2 ** count;
    const { value, grads } = valueAndGrads(params);
    const next = tf.tidy(() => {
      const out: tf.Tensor[] = [];
      for (let i = 0; i < params.length; i++) {
        const g = grads[i]!;
        const mi = tf.add(tf.mul(m[i]!, B1), tf.mul(g, 1 - B1));
        const vi = tf.add(tf.mul(v[i]!, B2), tf.mul(tf.square(g), 1 - B2));
        const step = tf.div(tf.mul(mi, 1 / c1), tf.add(tf.sqrt(tf.mul(vi, 1 / c2)), EPS));
        out.push(tf.sub(params[i]!, tf.mul(step, LR)), mi, vi);
      }
      return out;
    });
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...grads, ...params, ...m, ...v]);
    params = next.filter((_, i) => i % 3 === 0);
    m = next.filter((_, i) => i % 3 === 1);
    v = next.filter((_, i) => i % 3 === 2);
    return loss;
  };
})();

// --- saikei: buildTrainStepFn over a plain tree -------------------------------------------------
const treeStep = (() => {
  const step = buildTrainStepFn<Mlp, null, number>(({ model, state }) => {
    const loss = lossOf(model);
    return [loss, state, loss.dataSync()[0]!];
  });
  let state = TrainState.initialState(initMlp(), adam({ learningRate: LR, b1: B1, b2: B2, eps: EPS }), random.key(0));
  return () => {
    const [next, loss] = step(state, {});
    state = next;
    return loss;
  };
})();

// --- saikei: buildTrainStepFn over an @saikei/nn model -------------------------------------------
const nnStep = (() => {
  const model = initializeParameters(
    new Sequential({
      sublayers: [
        addParameterPrefix("0", Affine.fromConfig({ features: FEATURES }, { hidden: HIDDEN })),
        new Elementwise({ fn: tf.tanh }),
        addParameterPrefix("2", Affine.fromConfig({ hidden: HIDDEN }, { out: 1 })),
      ],
    }),
    random.key(1),
  );
  const namedX = nx.wrap(x).tag("batch", "features");
  const step = buildTrainStepFn<Sequential, null, number>(({ model, state }) => {
    const logits = (model.call(namedX) as NamedArray).unwrap("batch", "out");
    const loss = tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
    return [loss, state, loss.dataSync()[0]!];
  });
  let state = TrainState.initialState(model, adam({ learningRate: LR, b1: B1, b2: B2, eps: EPS }), random.key(0));
  return () => {
    const [next, loss] = step(state, {});
    state = next;
    return loss;
  };
})();

// Steady state, as in a training run of thousands of steps: 100 untimed steps per round let V8
// optimise both sides before timing (with 5, the ratio measured how fast the JIT warms up to our
// larger number of functions, and moved by ±0.2 between runs); 30 interleaved rounds, of which
// the fastest median counts, keep a noisy shared machine's slow spells out of the ratio.
const options = {
  warmup: Number(process.env.WARMUP ?? 100),
  iterations: Number(process.env.ITER ?? 20),
  rounds: Number(process.env.ROUNDS ?? 30),
};
const before = tf.memory().numTensors;
await compare("train-step-mlp-tree", treeStep, "hand-written tfjs valueAndGrads + Adam", hand, {
  ...options,
  extra: { batch: BATCH, features: FEATURES, hidden: HIDDEN },
});
if (process.env.ONLY_TREE === undefined) await compare("train-step-mlp-nn", nnStep, "hand-written tfjs valueAndGrads + Adam", hand, {
  ...options,
  extra: { batch: BATCH, features: FEATURES, hidden: HIDDEN },
});
if (tf.memory().numTensors !== before) {
  throw new Error(`train.bench leaked ${tf.memory().numTensors - before} tensors across steps`);
}
