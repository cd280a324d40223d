import { ready } from "@saikei/named";
import { FrozenParameter, Parameter } from "@saikei/nn";
import { NotInThisPartition } from "@saikei/select";
import { keystr, TreeCycleError } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findParameters } from "../src/index.js";

let baseline = 0;
let w: tf.Tensor;
let b: tf.Tensor;
let ids: tf.Tensor;
beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
  w = tf.tensor1d([1, 2]);
  b = tf.tensor1d([3]);
  ids = tf.tensor1d([4, 5], "int32");
});
afterAll(() => {
  for (const t of [w, b, ids]) t.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

describe("findParameters", () => {
  it("takes Parameters (not FrozenParameters) in flatten order and replaces only their values", () => {
    const frozen = new FrozenParameter({ value: b, name: "frozen" });
    const untouched = { n: 3, label: "x", none: null, t: ids };
    const model = {
      a: [new Parameter({ value: w, name: "w" }), 7],
      b: frozen,
      c: untouched,
      d: new Parameter({ value: { inner: b }, name: "tree" }),
    };
    const [entries, without] = findParameters(model);
    expect(entries.map((e) => [e.name, keystr(e.path), e.value])).toEqual([
      ["w", "['a'][0]", w],
      ["tree", "['d']", { inner: b }],
    ]);
    const out = without as typeof model;
    const first = out.a[0] as Parameter;
    expect(first).toBeInstanceOf(Parameter);
    expect(first.name).toBe("w");
    expect(first.value).toBeInstanceOf(NotInThisPartition);
    expect(out.a[1]).toBe(7);
    expect((out.d as Parameter).value).toBeInstanceOf(NotInThisPartition);
    // Subtrees without a trainable value are the input's own objects.
    expect(out.b).toBe(frozen);
    expect(out.c).toBe(untouched);
    expect(model.a[0]).toBeInstanceOf(Parameter);
    expect((model.a[0] as Parameter).value).toBe(w);
  });

  it("takes a Parameter holding another Parameter whole, as one entry", () => {
    const inner = new Parameter({ value: w, name: "inner" });
    const outer = new Parameter({ value: [inner, 1], name: "outer" });
    const [entries, without] = findParameters({ p: outer });
    expect(entries.map((e) => [e.name, keystr(e.path)])).toEqual([["outer", "['p']"]]);
    expect(entries[0]!.value).toEqual([inner, 1]);
    const replaced = (without as { p: Parameter }).p;
    expect(replaced.name).toBe("outer");
    expect(replaced.value).toBeInstanceOf(NotInThisPartition);
  });

  it("without Parameters, takes float32 tensor leaves named by their key paths", () => {
    const model = { w, sub: [ids, b, "name"], none: null };
    const [entries, without] = findParameters(model);
    // Object children come in sorted key order.
    expect(entries.map((e) => e.name)).toEqual(["['sub'][1]", "['w']"]);
    expect(entries[0]!.value).toBe(b);
    expect(entries[1]!.value).toBe(w);
    const out = without as { w: unknown; sub: unknown[]; none: null };
    expect(out.w).toBeInstanceOf(NotInThisPartition);
    expect(out.sub[0]).toBe(ids);
    expect(out.sub[1]).toBeInstanceOf(NotInThisPartition);
    expect(out.sub[2]).toBe("name");
    expect(out.none).toBeNull();
  });

  it("returns a tree with nothing trainable as it is", () => {
    const model = { ids, n: 1 };
    const [entries, without] = findParameters(model);
    expect(entries).toEqual([]);
    expect(without).toBe(model);
  });

  it("reports a tree that contains itself", () => {
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expect(() => findParameters(cyclic)).toThrow(TreeCycleError);
    expect(() => findParameters(cyclic)).toThrow(/findParameters/);
  });
});
