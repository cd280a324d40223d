import { WithSideInputsFromInputTuple } from "@saikei/effects";
import { jit, type NamedArray, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ApplyRoPE,
  DtypeMismatchError,
  EmbeddingLookup,
  EmbeddingTable,
  EmptyAxisError,
  Parameter,
  setTokenIdChecks,
  TokenIdOutOfRangeError,
} from "../src/index.js";
import { expectNoLeakedTensors, kernelsOf } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

expectNoLeakedTensors();

function rope(maxWavelength = 10_000) {
  return WithSideInputsFromInputTuple.handling(
    ApplyRoPE.fromConfig("token_positions", "projection", maxWavelength),
    ["token_positions"],
  );
}

/** Float64 reference of the half-split rotation for x laid out `[batch, seq, heads, d]`. */
function reference(x: number[], shape: number[], positions: number[][], maxWavelength: number) {
  const [batch, seq, heads, d] = shape as [number, number, number, number];
  const half = d / 2;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++)
    for (let s = 0; s < seq; s++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < half; i++) {
          const theta = positions[b]![s]! / maxWavelength ** ((2 * i) / d);
          const base = ((b * seq + s) * heads + h) * d;
          const a = x[base + i]!;
          const c = x[base + half + i]!;
          out[base + i] = a * Math.cos(theta) - c * Math.sin(theta);
          out[base + half + i] = c * Math.cos(theta) + a * Math.sin(theta);
        }
  return out;
}

function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol + 1e-5 * Math.abs(want[i]!));
}

describe("ApplyRoPE", () => {
  const shape = [2, 3, 2, 8];
  const values = Array.from({ length: 2 * 3 * 2 * 8 }, (_, i) => Math.sin(i * 1.7) * 2);
  const positions = [
    [0, 1, 2],
    [5, 100, 7],
  ];

  it("rotates half-split pairs by integer positions", () => {
    const x = nx.wrap(tf.tensor(values, shape), "batch", "seq", "heads", "projection");
    const want = reference(values, shape, positions, 10_000);
    const pos = nx.wrap(tf.tensor2d(positions, [2, 3], "int32"), "batch", "seq");
    const y = rope().call([x, pos]) as NamedArray;
    expect(y.dataArray.dtype).toBe("float32");
    expectNear(y.orderAs("batch", "seq", "heads", "projection").dataArray.dataSync(), want);
    tf.dispose([pos.dataArray, y.dataArray, x.dataArray]);
  });

  it("rejects float positions with a DtypeMismatchError that shows the conversion", () => {
    const x = nx.wrap(tf.tensor(values, shape), "batch", "seq", "heads", "projection");
    const pos = nx.wrap(
      tf.tensor2d(
        [
          [0, 1.5, 2],
          [5, 100, 7],
        ],
        [2, 3],
        "float32",
      ),
      "batch",
      "seq",
    );
    expect(() => rope().call([x, pos])).toThrow(DtypeMismatchError);
    expect(() => rope().call([x, pos])).toThrow(
      "ApplyRoPE: the positions side input must hold integer token positions (int32), but it has " +
        'dtype float32 (axes {"batch":2,"seq":3}). Build positions with integers, e.g. ' +
        'nx.arange("seq", n), or convert them with positions.astype("int32").',
    );
    tf.dispose([pos.dataArray, x.dataArray]);
  });

  it("rejects a seq axis of size 0 with an EmptyAxisError", () => {
    const x = nx.wrap(tf.zeros([1, 0, 2, 8]), "batch", "seq", "heads", "projection");
    const pos = nx.wrap(tf.zeros([1, 0], "int32"), "batch", "seq");
    expect(() => rope().call([x, pos])).toThrow(EmptyAxisError);
    expect(() => rope().call([x, pos])).toThrow(
      'ApplyRoPE: the input {"batch":1,"seq":0,"heads":2,"projection":8} has axis "seq" of size 0',
    );
    tf.dispose([pos.dataArray, x.dataArray]);
  });

  it("works along the embedding axis wherever it is, with positions in any axis order", () => {
    const x = nx.wrap(tf.tensor(values, shape), "batch", "seq", "heads", "projection");
    const want = reference(values, shape, positions, 500);
    const moved = x.orderAs("projection", "seq", "heads", "batch");
    const pos = nx.wrap(tf.tensor2d(positions, [2, 3], "int32"), "batch", "seq");
    const posTransposed = pos.orderAs("seq", "batch");
    const y = rope(500).call([moved, posTransposed]) as NamedArray;
    expectNear(
      tf.tidy(() => y.orderAs("batch", "seq", "heads", "projection").dataArray.dataSync()),
      want,
    );
    tf.dispose([x, moved, pos, posTransposed, y].map((a) => a.dataArray));
  });

  it("decoding one token: one kernel each for the angles, sin, cos, the swap and the combination", () => {
    const x = nx.wrap(tf.randomNormal([1, 1, 4, 16]), "batch", "seq", "heads", "projection");
    const intPos = nx.wrap(tf.tensor2d([[7]], [1, 1], "int32"), "batch", "seq");
    const layer = rope();
    expect(kernelsOf(() => layer.call([x, intPos]) as NamedArray)).toEqual({
      Cast: 1,
      Reshape: 1,
      Multiply: 3,
      Sin: 1,
      Cos: 1,
      GatherV2: 1,
      Add: 1,
    });
    tf.dispose([x, intPos].map((a) => a.dataArray));
  });

  it("passes gradients back as the inverse rotation", async () => {
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
    const weights = values.map((v, i) => v * 0.5 + (i % 3));
    const w = tf.tensor(weights, shape);
    const x = tf.tensor(values, shape);
    const pos = nx.wrap(tf.tensor2d(positions, [2, 3], "int32"), "batch", "seq");
    const layer = rope();
    const grad = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(
          (
            layer.call([nx.wrap(t, "batch", "seq", "heads", "projection"), pos]) as NamedArray
          ).orderAs("batch", "seq", "heads", "projection").dataArray,
          w,
        ),
      ),
    )(x);
    const negated = positions.map((row) => row.map((p) => -p));
    expectNear(grad.dataSync(), reference(weights, shape, negated, 10_000), 1e-5);
    tf.dispose([w, x, pos.dataArray, grad]);
  });

  it("rejects an odd embedding size", () => {
    const x = nx.wrap(tf.zeros([2, 3]), "seq", "projection");
    const pos = nx.wrap(tf.tensor1d([0, 1], "int32"), "seq");
    expect(() => rope().call([x, pos])).toThrow(/must be even/);
    tf.dispose([x.dataArray, pos.dataArray]);
  });
});

describe("EmbeddingLookup", () => {
  it("gathers int32 ids without a cast", () => {
    const table = new EmbeddingTable({
      embeddings: new Parameter({
        value: nx.wrap(tf.tensor2d([0, 1, 2, 3, 4, 5], [3, 2]), "vocabulary", "embedding"),
        name: "embeddings",
      }),
      vocabularyAxis: "vocabulary",
    });
    const lookup = new EmbeddingLookup({ table });
    const ids = nx.wrap(tf.tensor1d([2, 0], "int32"), "seq");
    // One gather through named's indexing; its flattening of the index is a metadata-only reshape.
    const { GatherV2, Reshape = 0, ...others } = kernelsOf(() => lookup.call(ids));
    expect(GatherV2).toBe(1);
    expect(Reshape).toBeLessThanOrEqual(1);
    expect(others).toEqual({});
    const y = lookup.call(ids);
    expect(y.orderAs("seq", "embedding").dataArray.arraySync()).toEqual([
      [4, 5],
      [0, 1],
    ]);
    tf.dispose([ids.dataArray, y.dataArray, table.embeddings.value.dataArray]);
  });

  function smallTable(): EmbeddingTable {
    return new EmbeddingTable({
      embeddings: new Parameter({
        value: nx.wrap(tf.tensor2d([0, 1, 2, 3, 4, 5], [3, 2]), "vocabulary", "embedding"),
        name: "embeddings",
      }),
      vocabularyAxis: "vocabulary",
    });
  }

  /** How many times `f` reads tensor data back to the host. */
  function readsOf(f: () => void): number {
    const engine = tf.engine() as unknown as { readSync: (...args: unknown[]) => unknown };
    const original = engine.readSync;
    let reads = 0;
    engine.readSync = function (this: unknown, ...args: unknown[]) {
      reads++;
      return original.apply(this, args);
    };
    try {
      f();
    } finally {
      engine.readSync = original;
    }
    return reads;
  }

  it("rejects ids outside [0, vocabulary) with a TokenIdOutOfRangeError naming the vocabulary size", () => {
    const table = smallTable();
    const lookup = new EmbeddingLookup({ table });
    const ids = nx.wrap(
      tf.tensor2d(
        [
          [0, 2],
          [3, 1],
        ],
        [2, 2],
        "int32",
      ),
      "batch",
      "seq",
    );
    expect(() => lookup.call(ids)).toThrow(TokenIdOutOfRangeError);
    expect(() => lookup.call(ids)).toThrow(
      'EmbeddingLookup: token id 3 at {"batch":1,"seq":0} is outside [0, 3), the vocabulary of ' +
        'the embedding table (axis "vocabulary" of size 3). Use a tokenizer that matches the ' +
        "model's vocabulary, or map unknown tokens to a valid id (such as an <unk> token).",
    );
    const several = nx.wrap(tf.tensor1d([1, -1, 7], "int32"), "seq");
    expect(() => lookup.call(several)).toThrow(
      'token id -1 at {"seq":1} is outside [0, 3), the vocabulary of the embedding table (axis ' +
        '"vocabulary" of size 3); 2 ids are out of range (smallest -1, largest 7).',
    );
    tf.dispose([ids.dataArray, several.dataArray, table.embeddings.value.dataArray]);
  });

  it("reads the ids once per ids tensor, and not at all when checks are off", () => {
    const table = smallTable();
    const lookup = new EmbeddingLookup({ table });
    const ids = nx.wrap(tf.tensor1d([2, 0], "int32"), "seq");
    expect(readsOf(() => lookup.call(ids).dataArray.dispose())).toBe(1);
    expect(readsOf(() => lookup.call(ids).dataArray.dispose())).toBe(0);
    const other = nx.wrap(tf.tensor1d([1, 1], "int32"), "seq");
    const bad = nx.wrap(tf.tensor1d([1, 9], "int32"), "seq");
    const previous = setTokenIdChecks(false);
    try {
      expect(previous).toBe(true);
      expect(readsOf(() => lookup.call(other).dataArray.dispose())).toBe(0);
      // Unchecked, a bad id reaches tfjs, which reports it without the layer or the fix.
      expect(() => lookup.call(bad)).toThrow(/^GatherV2: the index value 9 is not in \[0, 2\]$/);
    } finally {
      expect(setTokenIdChecks(previous)).toBe(false);
    }
    expect(() => lookup.call(bad)).toThrow(TokenIdOutOfRangeError);
    tf.dispose([ids, other, bad, table.embeddings.value].map((a) => a.dataArray));
  });

  it("does not read the ids inside a jit trace, so the trace replays", () => {
    const table = smallTable();
    const lookup = new EmbeddingLookup({ table });
    const traced = jit((ids: NamedArray) => lookup.call(ids));
    const first = nx.wrap(tf.tensor1d([2, 0], "int32"), "seq");
    const second = nx.wrap(tf.tensor1d([1, 2], "int32"), "seq");
    const a = traced(first);
    const b = traced(second);
    expect(traced.stats.unreplayable).toBeUndefined();
    expect(traced.stats.replays).toBe(1);
    expect(b.orderAs("seq", "embedding").dataArray.arraySync()).toEqual([
      [2, 3],
      [4, 5],
    ]);
    traced.dispose();
    tf.dispose([first, second, a, b, table.embeddings.value].map((x) => x.dataArray));
  });
});
