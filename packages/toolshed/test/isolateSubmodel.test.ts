import {
  CollectingSideOutputs,
  handleLocalStates,
  InitialLocalStateRequest,
  type LocalStateEffect,
  type RandomEffect,
  RandomRequest,
  type SideInputEffect,
  SideInputRequest,
  TellIntermediate,
  WithRandomKeyFromArg,
  WithSideInputsFromInputTuple,
} from "@saikei/effects";
import { Layer } from "@saikei/layer";
import {
  TransformerAttention,
  type TransformerConfig,
  TransformerInputs,
  TransformerLM,
} from "@saikei/models";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  addParameterPrefix,
  Elementwise,
  EmbeddingDecode,
  initializeParameters,
  Linear,
  Sequential,
} from "@saikei/nn";
import { select } from "@saikei/select";
import { field, leaves as treeLeaves } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  callAndExtractSubmodel,
  disposeIsolatedSubmodel,
  IsolatedSubmodel,
  IsolationError,
} from "../src/index.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

function model(): Sequential {
  return initializeParameters(
    new Sequential({
      sublayers: [
        addParameterPrefix("a", Linear.fromConfig({ features: 3 }, { hidden: 4 })),
        new Elementwise({ fn: tf.relu }),
        addParameterPrefix("b", Linear.fromConfig({ hidden: 4 }, { out: 2 })),
      ],
    }),
    random.key(0),
  );
}

/** Calls its sublayer twice. */
class Twice extends Layer.define({ inner: field<Layer>() }) {
  call(x: unknown): unknown {
    return this.inner.call(this.inner.call(x));
  }
}

const disposeParams = (m: Sequential) => {
  for (const l of m.sublayers)
    if (l instanceof Linear) (l.weights.value as NamedArray).dataArray.dispose();
};

describe("callAndExtractSubmodel", () => {
  it("returns the selected layer with the input and output of its call", () => {
    const m = model();
    const x = nx.wrap(tf.tensor2d([1, -2, 3, 0, 1, -1], [2, 3]), "batch", "features");
    const isolated = callAndExtractSubmodel(
      select(m).at((s) => s.sublayers[1]),
      x,
    ) as IsolatedSubmodel;
    expect(isolated).toBeInstanceOf(IsolatedSubmodel);
    expect(isolated.submodel).toBe(m.sublayers[1]);
    const input = isolated.savedInput as NamedArray;
    const output = isolated.savedOutput as NamedArray;
    expect(input.namedShape).toEqual({ batch: 2, hidden: 4 });
    const replay = (isolated.submodel as Elementwise).call(input) as NamedArray;
    expect(Array.from(replay.dataArray.dataSync())).toEqual(
      Array.from(output.dataArray.dataSync()),
    );
    for (const t of [replay.dataArray, input.dataArray, output.dataArray, x.dataArray]) t.dispose();
    disposeParams(m);
  });

  it("returns one record per call", () => {
    const twice = new Twice({ inner: new Elementwise({ fn: tf.neg }) });
    const x = tf.tensor([1, 2]);
    const records = callAndExtractSubmodel(select(twice).atInstancesOf(Elementwise), x);
    expect(records).toHaveLength(2);
    const [first, second] = records as IsolatedSubmodel[];
    expect(Array.from((second!.savedInput as tf.Tensor).dataSync())).toEqual([-1, -2]);
    // Each record holds tensors of its own: the second input is not the first output.
    expect(second!.savedInput).not.toBe(first!.savedOutput);
    disposeIsolatedSubmodel(first!);
    expect(Array.from((second!.savedInput as tf.Tensor).dataSync())).toEqual([-1, -2]);
    disposeIsolatedSubmodel(second!);
    x.dispose();
  });

  it("rejects selections of zero or several layers, non-layers, and non-layer roots", () => {
    const m = new Sequential({
      sublayers: [new Elementwise({ fn: tf.neg }), new Elementwise({ fn: tf.abs })],
    });
    expect(() => callAndExtractSubmodel(select(m).atInstancesOf(Elementwise), 1)).toThrow(
      /exactly one sublayer, but it selects 2/,
    );
    expect(() =>
      callAndExtractSubmodel(
        select({ a: m }).at((t) => t.a),
        1,
      ),
    ).toThrow(/must be a layer/);
    expect(() =>
      callAndExtractSubmodel(
        select(m).at((t) => t.sublayers),
        1,
      ),
    ).toThrow(IsolationError);
  });
});

const small: TransformerConfig = {
  numHeads: 2,
  embeddingDim: 8,
  projectionDim: 4,
  mlpHiddenDim: 16,
  numDecoderBlocks: 2,
  vocabSize: 11,
};

function transformerInputs(): TransformerInputs {
  const tokens = nx.wrap(tf.tensor2d([[1, 4, 2, 7, 3]], undefined, "int32")).tag("batch", "seq");
  return TransformerInputs.fromBasicSegments(tokens);
}

const disposeInputs = (inputs: TransformerInputs) =>
  tf.dispose([inputs.tokens.dataArray, inputs.positions.dataArray, inputs.attentionMask.dataArray]);

const values = (tree: unknown) =>
  tree instanceof tf.Tensor
    ? Array.from(tree.dataSync())
    : Array.from((tree as NamedArray).dataArray.dataSync());

/** Calls the isolated submodel on its saved input and checks it gives the saved output exactly. */
function expectReplays(isolated: IsolatedSubmodel): void {
  const replay = (isolated.submodel as Layer).call(isolated.savedInput);
  const got = leavesOf(replay);
  const want = leavesOf(isolated.savedOutput);
  expect(got.length).toBe(want.length);
  got.forEach((t, i) => {
    expect(Array.from(t.dataSync())).toEqual(Array.from(want[i]!.dataSync()));
  });
  tf.dispose(got);
}

function leavesOf(tree: unknown): tf.Tensor[] {
  return tree instanceof tf.Tensor
    ? [tree]
    : (treeLeaves(tree).filter((t) => t instanceof tf.Tensor) as tf.Tensor[]);
}

describe("callAndExtractSubmodel rebinds effects handled outside the submodel", () => {
  it("a TransformerAttention of a TransformerLM: positions and mask become inputs", () => {
    const model = initializeParameters(TransformerLM.fromConfig(small), random.key(3));
    const inputs = transformerInputs();
    const isolated = callAndExtractSubmodel(
      select(model).atInstancesOf(TransformerAttention).pickNthSelected(1),
      inputs,
    ) as IsolatedSubmodel;
    expect(isolated.submodel).toBeInstanceOf(WithSideInputsFromInputTuple);
    const [x, ...sideInputs] = isolated.savedInput as [NamedArray, ...NamedArray[]];
    expect(x.namedShape).toEqual({ batch: 1, seq: 5, embedding: 8 });
    // One side input per tag the block asks for: the token positions and the attention mask.
    expect(sideInputs.map((v) => v.namedShape)).toEqual([{ seq: 5 }, { seq: 5, kv_seq: 5 }]);
    expect(values(sideInputs[0])).toEqual([0, 1, 2, 3, 4]);
    expectReplays(isolated);
    disposeIsolatedSubmodel(isolated);
    disposeInputs(inputs);
    tf.dispose(treeLeaves(model).filter((t) => t instanceof tf.Tensor) as tf.Tensor[]);
  });

  it("an EmbeddingDecode of a TransformerLM: the shared embedding table is bound as a constant", () => {
    const model = initializeParameters(TransformerLM.fromConfig(small), random.key(4));
    const inputs = transformerInputs();
    const logits = model.call(inputs);
    const isolated = callAndExtractSubmodel(
      select(model).atInstancesOf(EmbeddingDecode),
      inputs,
    ) as IsolatedSubmodel;
    expect((isolated.savedInput as NamedArray).namedShape).toEqual({
      batch: 1,
      seq: 5,
      embedding: 8,
    });
    // What the isolated decoder produced is the model's output.
    expect(values(isolated.savedOutput)).toEqual(values(logits));
    expectReplays(isolated);
    disposeIsolatedSubmodel(isolated);
    disposeInputs(inputs);
    logits.dataArray.dispose();
    tf.dispose(treeLeaves(model).filter((t) => t instanceof tf.Tensor) as tf.Tensor[]);
  });

  it("local states become a state handler; random streams are frozen where they stood", () => {
    const noisy = new NoisyAccumulate({
      total: new InitialLocalStateRequest({
        stateInitializer: () => tf.zeros([3]),
        category: "total",
        name: "total",
      }),
      rng: new RandomRequest(),
    });
    const first = new NoisyAccumulate({
      total: new InitialLocalStateRequest({
        stateInitializer: () => tf.ones([3]),
        category: "total",
        name: "first",
      }),
      rng: new RandomRequest(),
    });
    const [stateful, states] = handleLocalStates(
      WithRandomKeyFromArg.handling(new Sequential({ sublayers: [first, noisy] })),
      "total",
    );
    const x = tf.tensor1d([1, 2, 3]);
    const key = random.key(7);
    const argument = [[x, key], states] as const;
    const isolated = callAndExtractSubmodel(
      select(stateful).atInstancesOf(NoisyAccumulate).pickNthSelected(1),
      argument,
    ) as IsolatedSubmodel;
    // No side inputs: the saved input is [x, states].
    const [input, before] = isolated.savedInput as [tf.Tensor, Record<string, tf.Tensor>];
    const [y, after] = isolated.savedOutput as [tf.Tensor, Record<string, tf.Tensor>];
    const name = `${stateful.handlerId}:total`;
    expect(Object.keys(before)).toEqual([name]);
    expect(values(before[name])).toEqual([0, 0, 0]);
    // The first layer drew key 0 of the stream, so this one drew foldIn(key, 1): y = input + noise.
    const noise = random.uniform(random.foldIn(key, 1), [3]);
    const expected = tf.add(input, noise);
    expect(values(y)).toEqual(values(expected));
    expect(values(after[name])).toEqual(values(expected));
    tf.dispose([noise, expected]);
    // The frozen stream replays the same draw (the second of the model's stream).
    expectReplays(isolated);
    disposeIsolatedSubmodel(isolated);
    tf.dispose([x, ...Object.values(states)] as tf.Tensor[]);
  });

  it("side outputs collected outside become unhandled requests, so the submodel runs alone", () => {
    const probed = new Sequential({
      sublayers: [new Elementwise({ fn: tf.neg }), TellIntermediate.fromConfig("probe")],
    });
    const collector = CollectingSideOutputs.handling(
      new Sequential({ sublayers: [probed] }),
      "probe",
    );
    const x = tf.tensor1d([1, -2]);
    const isolated = callAndExtractSubmodel(
      select(collector).at((c) => (c.body as Sequential).sublayers[0]!),
      x,
    ) as IsolatedSubmodel;
    expect(values(isolated.savedOutput)).toEqual([-1, 2]);
    expectReplays(isolated);
    disposeIsolatedSubmodel(isolated);
    x.dispose();
  });

  it("a side input handled outside by a tuple handler is rebound with the tag [handlerId, tag]", () => {
    const handled = WithSideInputsFromInputTuple.handling(
      new Sequential({
        sublayers: [new AddOffset({ offset: new SideInputRequest({ tag: "offset" }) })],
      }),
      ["offset"],
    );
    const x = tf.tensor1d([1, 2]);
    const offset = tf.scalar(10);
    const isolated = callAndExtractSubmodel(select(handled).atInstancesOf(AddOffset), [
      x,
      offset,
    ]) as IsolatedSubmodel;
    const submodel = isolated.submodel as WithSideInputsFromInputTuple;
    expect(submodel.sideInputTags).toEqual([[handled.handlerId, "offset"]]);
    expect(values(isolated.savedOutput)).toEqual([11, 12]);
    expectReplays(isolated);
    disposeIsolatedSubmodel(isolated);
    tf.dispose([x, offset]);
  });
});

/** Adds a side input. */
class AddOffset extends Layer.define({ offset: field<SideInputEffect<tf.Tensor>>() }) {
  call(x: tf.Tensor): tf.Tensor {
    return tf.add(x, this.offset.ask());
  }
}

/** Adds uniform noise to `x`, accumulates the result in its state and returns it. */
class NoisyAccumulate extends Layer.define({
  total: field<LocalStateEffect<tf.Tensor>>(),
  rng: field<RandomEffect>(),
}) {
  call(x: tf.Tensor): tf.Tensor {
    const noise = random.uniform(this.rng.nextKey(), [3]);
    const y = tf.add(x, noise);
    noise.dispose();
    this.total.set(tf.add(this.total.get(), y));
    return y;
  }
}
