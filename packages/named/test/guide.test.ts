// The examples of docs/named.md, run as written.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { jit, type NamedArray, NamedArrayView, nx, random, ready } from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("docs/named.md", () => {
  it("introduction", () => {
    const x = nx.wrap(
      tf.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      "batch",
      "features",
    );
    expect(x.namedShape).toEqual({ batch: 2, features: 3 });
    expect(values(x.sum("features").unwrap("batch"))).toEqual([6, 15]);
    const bias = nx.wrap(tf.tensor([10, 20, 30]), "features");
    expect(values(x.add(bias).unwrap("batch", "features"))).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
  });

  it("untagging and tagging move no data", () => {
    const grid = nx.wrap(
      tf.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      "a",
      "b",
    );
    const view = grid.untag("b");
    expect(view).toBeInstanceOf(NamedArrayView);
    expect(view.positionalShape).toEqual([3]);
    expect(view.namedShape).toEqual({ a: 2 });
    expect(view.dataArray === grid.dataArray).toBe(true);
    expect(view.tag("c").namedShape).toEqual({ a: 2, c: 3 });
    expect(values(grid.unwrap("b", "a"))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(grid.orderAs("b", "a").dataArray.shape).toEqual([3, 2]);
  });

  it("elementwise ops and broadcasting", () => {
    const i = nx.arange("seq", 0, 4);
    const j = nx.arange("kv_seq", 0, 4);
    const causal = i.ge(j);
    expect(causal.namedShape).toEqual({ seq: 4, kv_seq: 4 });
    expect(causal.dtype).toBe("bool");
    expect(values(causal.unwrap("seq", "kv_seq"))).toEqual([
      [1, 0, 0, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    expect(nx.where(causal, nx.zeros({ seq: 4, kv_seq: 4 }), -1e9).dtype).toBe("float32");
  });

  it("contraction", () => {
    const tokens = nx.ones({ batch: 2, seq: 5, embedding: 8 });
    const w = nx.ones({ embedding: 8, heads: 2, projection: 4 });
    const q = nx.dot(tokens, w, { contract: ["embedding"] });
    expect(q.namedShape).toEqual({ batch: 2, seq: 5, heads: 2, projection: 4 });
    const k = q.untag("seq").tag("kv_seq");
    const logits = nx.dot(q, k, { contract: ["projection"] });
    expect(logits.namedShape).toEqual({ batch: 2, heads: 2, seq: 5, kv_seq: 5 });
    const probs = nx.softmax(logits, "kv_seq");
    expect(values(probs.sum("kv_seq").max(["batch", "heads", "seq"]).unwrap())).toBeCloseTo(1, 5);
  });

  it("jit", () => {
    const q1 = nx.ones({ seq: 3, projection: 4 });
    const k1 = nx.ones({ kv_seq: 5, projection: 4 });
    const q2 = nx.wrap(
      tf.tensor2d([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ]),
      "seq",
      "projection",
    );
    const k2 = nx.wrap(tf.reshape(tf.range(0, 20), [5, 4]), "kv_seq", "projection");
    const attend = jit((q: NamedArray, k: NamedArray) =>
      nx.softmax(nx.dot(q, k, { contract: ["projection"] }), "kv_seq"),
    );
    const a = attend(q1, k1); // traced: runs the named-axis code and records its kernels
    const b = attend(q2, k2); // replayed (q2, k2 have the shapes of q1, k1): kernels only
    expect(attend.stats).toMatchObject({ traces: 1, replays: 1, eager: 0 });
    expect(b.namedShape).toEqual({ seq: 3, kv_seq: 5 });
    const eager = nx.softmax(nx.dot(q2, k2, { contract: ["projection"] }), "kv_seq");
    expect(values(b.unwrap("seq", "kv_seq"))).toEqual(values(eager.unwrap("seq", "kv_seq")));
    expect(Array.from(a.unwrap("seq", "kv_seq").dataSync())).toEqual(
      Array(15).fill(Math.fround(0.2)),
    );
    attend.dispose(); // frees the constants the traces hold
  });

  it("nmap", () => {
    const rows = nx
      .wrap(
        tf.tensor([
          [3, 4, 0],
          [0, 0, 5],
        ]),
        "row",
        "col",
      )
      .untag("col");
    const norms = nx.nmap((v: tf.Tensor) => tf.sqrt(tf.sum(tf.square(v))))(rows);
    expect(norms.namedShape).toEqual({ row: 2 });
    expect(values(norms.unwrap("row"))).toEqual([5, 5]);
  });

  it("indexing", () => {
    const m = nx.wrap(
      tf.tensor([
        [0, 1, 2, 3],
        [10, 11, 12, 13],
        [20, 21, 22, 23],
      ]),
      "i",
      "j",
    );
    expect(values(m.index({ j: 2 }).unwrap("i"))).toEqual([2, 12, 22]);
    expect(m.index({ j: nx.slice(1, null, 2) }).namedShape).toEqual({ i: 3, j: 2 });
    expect(values(m.index({ i: [0, 2], j: [1, 3] }).unwrap())).toEqual([1, 23]);
    expect(nx.unstack(m, "i").length).toBe(3);
  });

  it("random keys", () => {
    const key = random.key(42);
    const [initKey, dropoutKey] = random.split(key);
    const stepKey = random.foldIn(key, 7);
    expect(random.normal(initKey!, [3, 4]).shape).toEqual([3, 4]);
    const u = Array.from(random.uniform(stepKey, [2], { minval: -1, maxval: 1 }).dataSync());
    expect(u.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(random.bernoulli(dropoutKey!, 0.1, [8]).dtype).toBe("bool");
    expect(values(random.categorical(key, tf.tensor([[0, 10, 0]])))).toEqual([1]);
    expect(nx.randomNormal(initKey!, { embedding: 8, neurons: 16 }).namedShape).toEqual({
      embedding: 8,
      neurons: 16,
    });
    const keys = nx.randomSplit(key, { batch: 4 });
    expect(nx.keyFromArray(keys.index({ batch: 2 })).equals(random.split(key, 4)[2])).toBe(true);
    expect(random.split(random.key(0)).map((k) => k.words)).toEqual([
      [4146024105, 967050713],
      [2718843009, 1272950319],
    ]);
    expect(values(random.uniform(random.key(0), []))).toBeCloseTo(0.41845703, 7);
  });
});
