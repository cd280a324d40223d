import { type NamedArrayBase, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  From,
  KnockOutAttentionHeads,
  RewireComputationPaths,
  RewiringError,
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

function valuesOf(x: NamedArrayBase, ...order: string[]): number[] {
  const t = x.unwrap(...order);
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

describe("KnockOutAttentionHeads", () => {
  it("keeps heads with mask 1, sends heads with mask 0 to the first position, interpolates between", () => {
    const attn = nx.wrap(
      tf.tensor2d([0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 0.1, 0.1, 0.8], [3, 3]),
      "heads",
      "kv_seq",
    );
    const headMask = nx.wrap([1, 0, 0.5], "heads");
    const out = new KnockOutAttentionHeads({ headMask }).call(attn);
    const got = valuesOf(out, "heads", "kv_seq");
    const expected = [0.2, 0.3, 0.5, 1, 0, 0, 0.55, 0.05, 0.4];
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i]!, 6);
    for (const x of [attn, headMask, out]) x.dataArray.dispose();
  });

  it("adds the mask's axes to the output", () => {
    const attn = nx.wrap([0.5, 0.5], "kv_seq");
    const headMask = nx.wrap([1, 0], "variant");
    const out = new KnockOutAttentionHeads({ headMask }).call(attn);
    expect(out.namedShape).toEqual({ variant: 2, kv_seq: 2 });
    expect(valuesOf(out, "variant", "kv_seq")).toEqual([0.5, 0.5, 1, 0]);
    for (const x of [attn, headMask, out]) x.dataArray.dispose();
  });

  it("rejects inputs without a kv_seq axis", () => {
    const attn = nx.wrap([0.5, 0.5], "seq");
    const headMask = nx.wrap([1], "heads");
    expect(() => new KnockOutAttentionHeads({ headMask }).call(attn)).toThrow(RewiringError);
    expect(() => new KnockOutAttentionHeads({ headMask }).call(attn)).toThrow(/named axes \{seq\}/);
    attn.dataArray.dispose();
    headMask.dataArray.dispose();
  });
});

describe("RewireComputationPaths", () => {
  const x = () => nx.wrap(tf.tensor2d([1, 2, 3, 10, 20, 30], [2, 3]), "worlds", "features");

  it("patches one world's activations into another", () => {
    const input = x();
    const layer = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["clean", "corrupted"],
      taking: {
        clean: new From("clean"),
        corrupted: [new From("clean", 0.5), new From("corrupted", 0.5)],
      },
    });
    const matrix = layer.pathMatrix();
    expect(Array.from(matrix.dataArray.dataSync())).toEqual([1, 0, 0.5, 0.5]);
    const out = layer.call(input);
    expect(out.namedShape).toEqual({ features: 3, worlds: 2 });
    expect(valuesOf(out, "worlds", "features")).toEqual([1, 2, 3, 5.5, 11, 16.5]);
    for (const a of [input, matrix, out]) a.dataArray.dispose();
  });

  it("gives zeros for a world that takes from nothing", () => {
    const input = x();
    const out = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["a", "b"],
      taking: { a: [], b: new From("a", 2) },
    }).call(input);
    expect(valuesOf(out, "worlds", "features")).toEqual([0, 0, 0, 2, 4, 6]);
    for (const a of [input, out]) a.dataArray.dispose();
  });

  it("adds the axes of NamedArray weights", () => {
    const input = x();
    const sweep = nx.wrap([0, 1], "alpha");
    const out = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["a", "b"],
      taking: { a: new From("a"), b: new From("a", sweep) },
    }).call(input);
    expect(out.namedShape).toMatchObject({ alpha: 2, features: 3, worlds: 2 });
    expect(valuesOf(out, "alpha", "worlds", "features")).toEqual([
      1, 2, 3, 0, 0, 0, 1, 2, 3, 1, 2, 3,
    ]);
    for (const a of [input, sweep, out]) a.dataArray.dispose();
  });

  it("rejects incomplete or unknown worlds and wrong inputs", () => {
    const input = x();
    const incomplete = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["a", "b"],
      taking: { a: [] },
    });
    expect(() => incomplete.pathMatrix()).toThrow(/missing \[b\]/);
    const unknown = new RewireComputationPaths({
      worldsAxis: "worlds",
      worldOrdering: ["a", "b"],
      taking: { a: [], b: new From("z") },
    });
    expect(() => unknown.call(input)).toThrow(/takes from "z"/);
    const wrongAxis = new RewireComputationPaths({
      worldsAxis: "w",
      worldOrdering: ["a", "b"],
      taking: { a: [], b: [] },
    });
    expect(() => wrongAxis.call(input)).toThrow(RewiringError);
    input.dataArray.dispose();
  });
});
