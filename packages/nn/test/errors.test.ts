import { WithSideInputsFromInputTuple } from "@saikei/effects";
import * as named from "@saikei/named";
import { nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ApplyAttentionMask,
  ApplyRoPE,
  AxisNameError,
  contract,
  NamedShapeMismatchError,
  nn,
  PositionalAxesError,
  RenameAxes,
  UnsupportedValueError,
} from "../src/index.js";
import { expectNoLeakedTensors } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

expectNoLeakedTensors();

function masked() {
  return WithSideInputsFromInputTuple.handling(ApplyAttentionMask.fromConfig("attn_mask"), [
    "attn_mask",
  ]);
}

function rope() {
  return WithSideInputsFromInputTuple.handling(
    ApplyRoPE.fromConfig("token_positions", "projection"),
    ["token_positions"],
  );
}

describe("one error vocabulary with @saikei/named", () => {
  it("nn's axis errors are named's classes, re-exported (also on the nn namespace)", () => {
    expect(AxisNameError).toBe(named.AxisNameError);
    expect(NamedShapeMismatchError).toBe(named.NamedShapeMismatchError);
    expect(PositionalAxesError).toBe(named.PositionalAxesError);
    expect(nn.AxisNameError).toBe(named.AxisNameError);
    expect("AxisMismatchError" in nn).toBe(false);
  });

  it("positional axes where only named ones are allowed are a PositionalAxesError", () => {
    const b = nx.zeros({ k: 2, j: 3 });
    const plain = tf.zeros([2]);
    expect(() => contract("k", plain as never, b)).toThrow(PositionalAxesError);
    expect(() => contract("k", plain as never, b)).toThrow(
      "contract expects a NamedArray, but got a tf.Tensor of shape [2] (positional axes only). " +
        "Name its axes with nx.wrap(tensor, ...axisNames).",
    );
    const view = nx.zeros({ k: 2, i: 4 }).untag("i");
    expect(() => contract("k", view, b)).toThrow(PositionalAxesError);
    expect(() => contract("k", view, b)).toThrow(/positional axes of shape \[4\]/);
    tf.dispose([b.dataArray, plain, view.dataArray]);
  });

  it("a value that is not an array at all is an UnsupportedValueError", () => {
    const b = nx.zeros({ k: 2 });
    expect(() => contract("k", 3 as never, b)).toThrow(UnsupportedValueError);
    expect(() => contract("k", 3 as never, b)).toThrow(
      "contract expects a NamedArray, but got number.",
    );
    b.dataArray.dispose();
  });

  it("a mask axis of another size than the logits' is a NamedShapeMismatchError", () => {
    const logits = nx.zeros({ seq: 3, kv_seq: 3 });
    const mask = nx.ones({ seq: 2, kv_seq: 3 }, "bool");
    expect(() => masked().call([logits, mask])).toThrow(NamedShapeMismatchError);
    expect(() => masked().call([logits, mask])).toThrow(
      'ApplyAttentionMask: the mask has axis "seq" of size 2 but the logits have size 3.',
    );
    tf.dispose([logits.dataArray, mask.dataArray]);
  });

  it("ApplyRoPE: positions on the embedding axis or on missing axes are AxisNameErrors, an odd size a NamedShapeMismatchError", () => {
    const x = nx.zeros({ seq: 2, projection: 4 });
    const onEmbedding = nx.wrap(tf.zeros([2, 4], "int32"), "seq", "projection");
    expect(() => rope().call([x, onEmbedding])).toThrow(AxisNameError);
    expect(() => rope().call([x, onEmbedding])).toThrow(
      /positions have the embedding axis "projection"/,
    );
    const elsewhere = nx.wrap(tf.zeros([2], "int32"), "batch");
    expect(() => rope().call([x, elsewhere])).toThrow(AxisNameError);
    expect(() => rope().call([x, elsewhere])).toThrow(
      /position axes \["batch"\] are not axes of the input/,
    );
    const odd = nx.zeros({ seq: 2, projection: 3 });
    const pos = nx.wrap(tf.tensor1d([0, 1], "int32"), "seq");
    expect(() => rope().call([odd, pos])).toThrow(NamedShapeMismatchError);
    tf.dispose([
      x.dataArray,
      onEmbedding.dataArray,
      elsewhere.dataArray,
      odd.dataArray,
      pos.dataArray,
    ]);
  });

  it("renaming onto a name the array already has is named's AxisNameError", () => {
    const x = nx.zeros({ a: 2, b: 3 });
    expect(() => new RenameAxes({ old: "a", new: "b" }).call(x)).toThrow(AxisNameError);
    expect(() => new RenameAxes({ old: "a", new: "b" }).call(x)).toThrow(
      /Repeated axis names are not allowed; original names were \[b\] and new names passed to tag were \[b\]/,
    );
    x.dataArray.dispose();
  });
});
