import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NamedArrayBase, nx, random, ready, slice } from "../src/index.js";

let inputs: tf.Tensor[] = [];
let q: NamedArrayBase;
let k: NamedArrayBase;
let mask: NamedArrayBase;
let kSlice: NamedArrayBase;
let logits: NamedArrayBase;
let small: NamedArrayBase;
let wrongSize: NamedArrayBase;
let positive: NamedArrayBase;

beforeAll(async () => {
  await ready();
  const [a, b] = random.split(random.key(1));
  const qt = random.normal(a!, [2, 3, 4, 5]);
  const kt = random.normal(b!, [2, 3, 4, 5]);
  inputs = [qt, kt];
  q = nx.wrap(qt, "batch", "heads", "seq", "proj");
  k = nx.wrap(kt, "batch", "heads", "kv", "proj");
  mask = nx.arange("seq", 0, 4).ge(nx.arange("kv", 0, 4));
  kSlice = k.index({ kv: 0 });
  logits = nx.dot(q, k, { contract: ["proj"] });
  small = q.index({ batch: 0, heads: 0 }).untag("proj");
  wrongSize = nx.zeros({ proj: 6 });
  positive = q.gt(0);
});

afterAll(() => {
  for (const t of inputs) t.dispose();
  for (const x of [mask, kSlice, logits, small, wrongSize, positive]) x.dataArray.dispose();
});

/** Disposes whatever `result` holds that the inputs do not. */
function release(result: unknown): void {
  const keep = new Set(
    [q, k, mask, kSlice, logits, small, wrongSize, positive].map((x) => x.dataArray),
  );
  const visit = (v: unknown) => {
    if (v instanceof tf.Tensor) {
      if (!keep.has(v)) v.dispose();
    } else if (nx.isNamedArray(v)) visit(v.dataArray);
    else if (Array.isArray(v)) v.forEach(visit);
  };
  visit(result);
}

const OPS: Record<string, () => unknown> = {
  add: () => q.add(kSlice),
  scalarOps: () => [q.mul(2), q.pow(2), q.div(3), q.neg(), q.exp()],
  compare: () => [q.gt(0), q.le(kSlice), positive.and(mask), positive.or(true), positive.not()],
  where: () => nx.where(mask, logits, -1e9),
  dot: () => nx.dot(q, k, { contract: ["proj"] }),
  softmax: () => nx.softmax(q, "seq"),
  logsumexp: () => nx.logsumexp(q, ["seq", "proj"]),
  reductions: () => [q.sum("proj"), q.mean(["batch", "seq"]), q.max("heads"), q.min("batch")],
  structure: () => [
    q.untag("seq").tag("s2"),
    q.orderAs("proj", "seq", "heads", "batch"),
    q.untag("heads").withPositionalPrefix(),
  ],
  index: () => [q.index({ seq: slice(1, 3), proj: [0, 4, 2] }), q.index({ heads: -1 })],
  broadcast: () => q.broadcastTo([2], { extra: 3 }),
  nmapSlices: () => nx.nmap((x: tf.Tensor) => tf.sum(x))(small),
  nmapVectorized: () =>
    nx.nmap((x: tf.Tensor) => tf.softmax(x), { vectorized: true })(q.untag("proj")),
  stack: () => nx.stack([q, q], "copy"),
  concatenate: () => nx.concatenate([q, q], "seq"),
  astype: () => q.astype("int32"),
  throwingNmap: () => {
    try {
      return nx.nmap((x: tf.Tensor) => {
        tf.add(x, 1);
        throw new Error("boom");
      })(small);
    } catch {
      return undefined;
    }
  },
  failing: () => {
    try {
      return nx.dot(q, wrongSize, { contract: ["proj"] });
    } catch {
      return undefined;
    }
  },
};

describe("no tensor leaks over 1,000 repeated calls", () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => {
      release(op()); // warm up: kernels may allocate once
      const before = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) release(op());
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("inputs are never disposed", () => {
    for (const op of Object.values(OPS)) release(op());
    expect(q.dataArray.isDisposed).toBe(false);
    expect(k.dataArray.isDisposed).toBe(false);
  });
});

describe("tidy keeps what its result reaches", () => {
  class Holder {
    constructor(readonly inner: { tensor: tf.Tensor }) {}
  }

  it("keeps tensors of structs, arrays, records and other objects, and frees the rest", () => {
    const before = tf.memory().numTensors;
    const [named, plain, held] = nx.tidy(() => {
      tf.mul(tf.ones([3]), 2); // an intermediate: freed
      return [
        nx.zeros({ a: 2 }).add(1),
        { t: tf.scalar(5) },
        new Holder({ tensor: tf.scalar(7) }), // no tree node: tf.tidy walks its properties
      ] as const;
    });
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(Array.from(named.dataArray.dataSync())).toEqual([1, 1]);
    expect(plain.t.dataSync()[0]).toBe(5);
    expect(held.inner.tensor.dataSync()[0]).toBe(7);
    tf.dispose([named.dataArray, plain.t, held.inner.tensor]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("keeps nothing but the result's tensors when the result is one tensor", () => {
    const before = tf.memory().numTensors;
    const t = nx.tidy(() => tf.add(tf.ones([2]), tf.ones([2])));
    expect(tf.memory().numTensors).toBe(before + 1);
    t.dispose();
  });
});
