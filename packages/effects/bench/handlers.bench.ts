/**
 * Per-call overhead of effect handlers around a 12-layer body: each layer holds two effect
 * references (24 in all) and does one [128,256] x [256,256] matMul. The baseline is the same
 * computation with the values held directly. Target ratio <= 1.05.
 *
 * Run: npx tsx --conditions=@saikei/source packages/effects/bench/handlers.bench.ts
 */

import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { ready } from "@saikei/named";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { compare, measure, round } from "../../../bench/harness.js";
import {
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  type SideInputEffect,
  SideInputRequest,
  WithSideInputsFromInputTuple,
} from "../src/index.js";

const LAYERS = 12;

class Sequential extends Layer.define({ sublayers: field<readonly LayerLike[]>() }) {
  call(x: unknown): unknown {
    let out = x;
    for (const layer of this.sublayers) out = callLayer(layer, out);
    return out;
  }
}

/** Side-input version: asks for its weight and for a shared scale. */
class AskingMatMul extends Layer.define({
  weight: field<SideInputEffect<tf.Tensor2D>>(),
  scale: field<SideInputEffect<number>>(),
}) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    const scale = this.scale.ask();
    return scale === 1 ? tf.matMul(x, this.weight.ask()) : tf.mul(tf.matMul(x, this.weight.ask()), scale);
  }
}

/** Local-state version: reads its weight from state and counts its calls in another state. */
class StatefulMatMul extends Layer.define({
  weight: field<LocalStateEffect<tf.Tensor2D>>(),
  calls: field<LocalStateEffect<number>>(),
}) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    this.calls.set(this.calls.get() + 1);
    return tf.matMul(x, this.weight.get());
  }
}

/** Baseline: the same layer holding its values directly. */
class DirectMatMul extends Layer.define({ weight: field<tf.Tensor2D>(), scale: field<number>() }) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return this.scale === 1 ? tf.matMul(x, this.weight) : tf.mul(tf.matMul(x, this.weight), this.scale);
  }
}

/**
 * The handler's own cost per call, without tensor work: the same handler around a body of 12
 * layers that only read their effects, minus the same layers reading plain fields. Reported next
 * to the ratio because the matMul timings on a shared machine are noisier than this difference.
 */
async function overheadMs(ours: () => unknown, baseline: () => unknown): Promise<number> {
  const reps = 200;
  const loop = (fn: () => unknown) => () => {
    for (let i = 0; i < reps; i++) fn();
  };
  let oursMs = Number.POSITIVE_INFINITY;
  let baseMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    oursMs = Math.min(oursMs, await measure(loop(ours), { warmup: 3, iterations: 15 }));
    baseMs = Math.min(baseMs, await measure(loop(baseline), { warmup: 3, iterations: 15 }));
  }
  return round(Math.max(0, oursMs - baseMs) / reps);
}

/** Reads both side inputs and passes its input on (no tensor work). */
class AskingIdentity extends Layer.define({
  weight: field<SideInputEffect<unknown>>(),
  scale: field<SideInputEffect<number>>(),
}) {
  call(x: number): number {
    return this.weight.ask() === undefined ? x : x + this.scale.ask();
  }
}

/** Reads and updates its states and passes its input on (no tensor work). */
class StatefulIdentity extends Layer.define({
  weight: field<LocalStateEffect<unknown>>(),
  calls: field<LocalStateEffect<number>>(),
}) {
  call(x: number): number {
    this.calls.set(this.calls.get() + 1);
    return this.weight.get() === undefined ? x : x + 1;
  }
}

/** Baseline of both: the values held directly. */
class DirectIdentity extends Layer.define({ weight: field<unknown>(), scale: field<number>() }) {
  call(x: number): number {
    return this.weight === undefined ? x : x + this.scale;
  }
}

async function main(): Promise<void> {
  const backend = await ready();
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([128, 256]) as tf.Tensor2D;
  const weights = Array.from({ length: LAYERS }, () =>
    tf.tidy(() => tf.mul(tf.randomNormal([256, 256]), 0.06) as tf.Tensor2D),
  );

  // Side inputs: 12 weight tags + 1 shared scale tag, 24 references.
  const tags = [...weights.map((_, i) => `w${i}`), "scale"];
  const asking = new Sequential({
    sublayers: weights.map(
      (_, i) =>
        new AskingMatMul({
          weight: new SideInputRequest({ tag: `w${i}` }),
          scale: new SideInputRequest({ tag: "scale" }),
        }),
    ),
  });
  const withSideInputs = WithSideInputsFromInputTuple.handling(asking, tags);
  const sideArgs = [x, ...weights, 1] as const;
  const direct = new Sequential({
    sublayers: weights.map((weight) => new DirectMatMul({ weight, scale: 1 })),
  });

  const runHandled = () => tf.tidy(() => withSideInputs.call(sideArgs) as tf.Tensor).dispose();
  const runDirect = () => tf.tidy(() => direct.call(x) as tf.Tensor).dispose();

  // Same numbers either way.
  const a = tf.tidy(() => withSideInputs.call(sideArgs) as tf.Tensor);
  const b = tf.tidy(() => direct.call(x) as tf.Tensor);
  const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  tf.dispose([a, b]);
  if (maxDiff !== 0) throw new Error(`side-input body and direct body disagree by ${maxDiff}`);

  const sideOverhead = await overheadMs(
    (() => {
      const h = WithSideInputsFromInputTuple.handling(
        new Sequential({
          sublayers: weights.map(
            (_, i) =>
              new AskingIdentity({
                weight: new SideInputRequest({ tag: `w${i}` }),
                scale: new SideInputRequest({ tag: "scale" }),
              }),
          ),
        }),
        tags,
      );
      const args = [0, ...weights, 1];
      return () => h.call(args);
    })(),
    (() => {
      const d = new Sequential({ sublayers: weights.map((weight) => new DirectIdentity({ weight, scale: 1 })) });
      return () => d.call(0);
    })(),
  );

  await compare("WithSideInputsFromInputTuple-12x-matmul128x256x256", runHandled, "same body, values held directly", runDirect, {
    warmup: 5,
    iterations: 15,
    rounds: 10,
    extra: { backend, references: 24, handler_overhead_ms: sideOverhead },
  });

  // Local state: 12 weight states + 12 counters, 24 references.
  const stateful = new Sequential({
    sublayers: weights.map(
      (weight, i) =>
        new StatefulMatMul({
          weight: new InitialLocalStateRequest({ stateInitializer: () => weight, category: "w", name: `w${i}` }),
          calls: new InitialLocalStateRequest({ stateInitializer: () => 0, category: "w", name: `calls${i}` }),
        }),
    ),
  });
  const [withState, initialStates] = handleLocalStates(stateful, "w");
  let states = initialStates;
  let directCalls = Array.from({ length: LAYERS }, () => 0);
  // The handler hands back states of the caller's own (new handles on the weights' data, see
  // docs/effects.md), so each step disposes the previous ones, except the weights themselves.
  const stateTensors = (s: Record<string, unknown>) =>
    Object.values(s).filter((v): v is tf.Tensor => v instanceof tf.Tensor);
  const runStateful = () => {
    const [y, next] = tf.tidy(
      () => withState.call([x, states]) as unknown as tf.TensorContainer,
    ) as [tf.Tensor, Record<string, unknown>];
    if (states !== initialStates) tf.dispose(stateTensors(states));
    states = next;
    y.dispose();
  };
  const runDirectCounting = () => {
    const counts = directCalls.slice();
    for (let i = 0; i < LAYERS; i++) counts[i]! += 1;
    const out = tf.tidy(() => direct.call(x) as tf.Tensor);
    directCalls = counts;
    out.dispose();
  };
  let overheadInitial: Record<string, unknown> = {};
  let overheadStates: Record<string, unknown> = {};
  const stateOverhead = await overheadMs(
    (() => {
      const [h, s0] = handleLocalStates(
        new Sequential({
          sublayers: weights.map(
            (weight, i) =>
              new StatefulIdentity({
                weight: new InitialLocalStateRequest({ stateInitializer: () => weight, category: "w", name: `w${i}` }),
                calls: new InitialLocalStateRequest({ stateInitializer: () => 0, category: "w", name: `calls${i}` }),
              }),
          ),
        }),
        "w",
      );
      overheadInitial = s0;
      overheadStates = s0;
      return () => {
        const next = h.call([0, overheadStates])[1];
        if (overheadStates !== s0) tf.dispose(stateTensors(overheadStates));
        overheadStates = next;
      };
    })(),
    (() => {
      const d = new Sequential({ sublayers: weights.map((weight) => new DirectIdentity({ weight, scale: 1 })) });
      let counts = Array.from({ length: LAYERS }, () => 0);
      return () => {
        counts = counts.map((c) => c + 1);
        return d.call(0);
      };
    })(),
  );

  await compare("WithFunctionalLocalState-12x-matmul128x256x256", runStateful, "same body, values held directly", runDirectCounting, {
    warmup: 5,
    iterations: 15,
    rounds: 10,
    extra: { backend, references: 24, handler_overhead_ms: stateOverhead },
  });

  if (states !== initialStates) tf.dispose(stateTensors(states));
  if (overheadStates !== overheadInitial) tf.dispose(stateTensors(overheadStates));
  tf.dispose([x, ...weights]);
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`benchmark leaked ${leaked} tensors`);
}

await main();
