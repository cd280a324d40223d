import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  BranchAndAddTogether,
  Elementwise,
  initializeParameters,
  Linear,
  type NamedGroup,
  parameterNames,
  Sequential,
  UninitializedParameter,
} from "@saikei/nn";
import { select } from "@saikei/select";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { LoraConfigError, LowRankAdapter, loraifyLinearsInSelection } from "../src/index.js";

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

function disposeTree(tree: unknown, seen = new Set<unknown>()): void {
  if (tree instanceof tf.Tensor) {
    if (!tree.isDisposed) tree.dispose();
    return;
  }
  if (tree === null || typeof tree !== "object" || seen.has(tree)) return;
  seen.add(tree);
  for (const v of Object.values(tree)) disposeTree(v, seen);
}

const pretrainedLinear = () =>
  initializeParameters(Linear.fromConfig({ features: 4 }, { out: 3 }) as Linear, random.key(7));

describe("LowRankAdapter.fromLinear", () => {
  it("wraps the linear in Pretrained and Update groups with named A and B parameters", () => {
    const linear = pretrainedLinear();
    const adapter = LowRankAdapter.fromLinear(linear, { rank: 2, name: "proj" });
    const branch = adapter.sublayers[0] as BranchAndAddTogether;
    expect(branch).toBeInstanceOf(BranchAndAddTogether);
    const [pretrained, update] = branch.branches as [NamedGroup, NamedGroup];
    expect([pretrained.name, update.name]).toEqual(["Pretrained", "Update"]);
    expect(adapter.pretrained).toBe(linear);
    expect(parameterNames(adapter)).toEqual([
      "weights",
      "proj/LoRA_A.weights",
      "proj/LoRA_B.weights",
    ]);
    const [a, b] = update.sublayers as [Linear, Linear];
    expect(a.weights).toBeInstanceOf(UninitializedParameter);
    expect(a.weightShape()).toEqual({ features: 4, lowrank: 2 });
    expect(b.weightShape()).toEqual({ lowrank: 2, out: 3 });
    expect(a.inAxisNames).toEqual(["features"]);
    expect(b.outAxisNames).toEqual(["out"]);
    disposeTree(linear);
  });

  it("computes exactly the pretrained output after initialisation (B starts at zero)", () => {
    const linear = pretrainedLinear();
    const adapter = initializeParameters(
      LowRankAdapter.fromLinear(linear, { rank: 2, name: "proj" }),
      random.key(1),
    );
    const x = nx.wrap(tf.tensor2d([1, 2, 3, 4, -1, 0.5, 0, 2], [2, 4])).tag("batch", "features");
    const expected = linear.call(x) as NamedArray;
    const got = adapter.call(x) as NamedArray;
    expect(got.namedShape).toEqual(expected.namedShape);
    const [e, g] = [expected.unwrap("batch", "out"), got.unwrap("batch", "out")];
    expect(Array.from(g.dataSync())).toEqual(Array.from(e.dataSync()));
    const update = ((adapter.sublayers[0] as BranchAndAddTogether).branches[1] as NamedGroup)
      .sublayers as Linear[];
    expect(
      Array.from((update[1]!.weights.value as NamedArray).dataArray.dataSync()).every(
        (v) => v === 0,
      ),
    ).toBe(true);
    expect(
      Array.from((update[0]!.weights.value as NamedArray).dataArray.dataSync()).some(
        (v) => v !== 0,
      ),
    ).toBe(true);
    for (const t of [e, g, expected.dataArray, got.dataArray, x.dataArray]) t.dispose();
    disposeTree(adapter);
  });

  it("keeps parallel axes on A and B and honours a custom lowrank axis", () => {
    const linear = Linear.fromConfig(
      { features: 4 },
      { out: 3 },
      { parallelAxes: { heads: 2 } },
    ) as Linear;
    const adapter = LowRankAdapter.fromLinear(linear, { rank: 5, name: "attn", lowrankAxis: "r" });
    const [a, b] = ((adapter.sublayers[0] as BranchAndAddTogether).branches[1] as NamedGroup)
      .sublayers as [Linear, Linear];
    expect(a.weightShape()).toEqual({ heads: 2, features: 4, r: 5 });
    expect(b.weightShape()).toEqual({ heads: 2, r: 5, out: 3 });
  });

  it("rejects bad ranks, clashing axis names and non-Linear layers", () => {
    const linear = Linear.fromConfig({ features: 4 }, { lowrank: 3 }) as Linear;
    expect(() => LowRankAdapter.fromLinear(linear, { rank: 2, name: "x" })).toThrow(
      LoraConfigError,
    );
    expect(() => LowRankAdapter.fromLinear(linear, { rank: 2, name: "x" })).toThrow(
      /already have an axis named "lowrank"/,
    );
    expect(() =>
      LowRankAdapter.fromLinear(linear, { rank: 0, name: "x", lowrankAxis: "r" }),
    ).toThrow(/positive integer, got 0/);
    expect(() =>
      LowRankAdapter.fromLinear(new Elementwise({ fn: tf.relu }) as never, { rank: 1, name: "x" }),
    ).toThrow(/expects a Linear layer, got Elementwise/);
  });
});

describe("loraifyLinearsInSelection", () => {
  it("replaces every selected Linear by an adapter named after its path", () => {
    const model = new Sequential({
      sublayers: [
        Linear.fromConfig({ features: 4 }, { hidden: 8 }),
        new Elementwise({ fn: tf.relu }),
        Linear.fromConfig({ hidden: 8 }, { out: 2 }),
      ],
    });
    const adapted = loraifyLinearsInSelection(select(model), 2);
    expect(adapted.sublayers[0]).toBeInstanceOf(LowRankAdapter);
    expect(adapted.sublayers[1]).toBeInstanceOf(Elementwise);
    expect(adapted.sublayers[2]).toBeInstanceOf(LowRankAdapter);
    expect(parameterNames(adapted).filter((n) => n.includes("LoRA"))).toEqual([
      "Sequential.sublayers[0]/LoRA_A.weights",
      "Sequential.sublayers[0]/LoRA_B.weights",
      "Sequential.sublayers[2]/LoRA_A.weights",
      "Sequential.sublayers[2]/LoRA_B.weights",
    ]);
  });

  it("only touches Linears inside the selection", () => {
    const model = new Sequential({
      sublayers: [
        Linear.fromConfig({ features: 4 }, { hidden: 8 }),
        Linear.fromConfig({ hidden: 8 }, { out: 2 }),
      ],
    });
    const adapted = loraifyLinearsInSelection(
      select(model).at((m) => m.sublayers[1]),
      3,
    );
    expect(adapted.sublayers[0]).toBeInstanceOf(Linear);
    expect(adapted.sublayers[1]).toBeInstanceOf(LowRankAdapter);
    expectTypeOf(adapted).toEqualTypeOf<Sequential>();
  });
});
