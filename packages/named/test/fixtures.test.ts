import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type IndexEntry, nx, ready, slice } from "../src/index.js";
import { expectClose, values } from "./helpers.js";

// Reference values computed by NumPy: see ../fixtures/generate_named.py.
const fixtures = JSON.parse(
  readFileSync(new URL("../fixtures/named_fixtures.json", import.meta.url), "utf8"),
);

beforeAll(async () => {
  await ready();
});

describe("contraction and normalisation match NumPy", () => {
  it("dot of a linear layer (einsum bse,eho->bsho)", () => {
    const f = fixtures.dot_linear;
    const y = nx.dot(nx.wrap(f.x, ...f.x_names), nx.wrap(f.w, ...f.w_names), {
      contract: ["embedding"],
    });
    expect(Object.keys(y.namedShape)).toEqual(f.expected_names);
    expectClose(values(y.unwrap(...f.expected_names)), f.expected, 1e-4);
  });

  const attention = () => {
    const f = fixtures.dot_attention;
    const q = nx.wrap(f.q, ...f.q_names);
    const k = nx.wrap(f.k, ...f.k_names);
    return { f, logits: nx.dot(q, k, { contract: ["projection"] }) };
  };

  it("dot with shared batch axes stored in different orders", () => {
    const { f, logits } = attention();
    expect(Object.keys(logits.namedShape)).toEqual(f.expected_names);
    expectClose(values(logits.unwrap(...f.expected_names)), f.expected, 1e-4);
  });

  it("softmax over the last and a middle axis, logSoftmax, logsumexp", () => {
    const { f, logits } = attention();
    const order = f.expected_names as string[];
    expectClose(values(nx.softmax(logits, "kv_seq").unwrap(...order)), f.softmax_kv_seq, 1e-4);
    expectClose(values(nx.softmax(logits, "seq").unwrap(...order)), f.softmax_seq, 1e-4);
    expectClose(
      values(nx.logSoftmax(logits, "kv_seq").unwrap(...order)),
      f.log_softmax_kv_seq,
      1e-4,
    );
    expectClose(
      values(nx.logsumexp(logits, "kv_seq").unwrap("batch", "heads", "seq")),
      f.logsumexp_kv_seq,
      1e-4,
    );
  });

  it("mean and max over named axes", () => {
    const { f, logits } = attention();
    expectClose(
      values(logits.mean(["seq", "kv_seq"]).unwrap("batch", "heads")),
      f.mean_seq_kv_seq,
      1e-4,
    );
    expectClose(values(logits.max("heads").unwrap("batch", "seq", "kv_seq")), f.max_heads, 1e-4);
  });
});

function decode(entry: unknown): IndexEntry {
  if (typeof entry === "string" && entry.startsWith("slice:")) {
    const [start, stop, step] = entry
      .slice("slice:".length)
      .split(":")
      .map((s) => (s === "" ? null : Number(s)));
    return slice(start ?? null, stop ?? null, step ?? null);
  }
  return entry as IndexEntry;
}

describe("positional indexing matches NumPy", () => {
  const f = fixtures.index_positional;
  for (const c of f.cases as { name: string; index: unknown[]; expected: unknown }[]) {
    it(c.name, () => {
      const a = nx.wrap(tf.tensor(f.a, undefined, "int32"));
      const r = a.index(c.index.map(decode));
      expect(values(r.unwrap())).toEqual(c.expected);
    });
  }

  it("is vectorized over named axes", () => {
    const a = nx.wrap(tf.tensor(f.a, undefined, "int32")).tagPrefix("n"); // n: 4, positional [5, 6]
    const c = f.cases[1]; // a[:, [1, 2], [0, 5]] with the first axis named
    const r = a.index([
      [1, 2],
      [0, 5],
    ]);
    expect(values(r.untagPrefix("n").unwrap())).toEqual(c.expected);
  });
});
