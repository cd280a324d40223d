import { type NamedArrayBase, NamedShapeMismatchError, nx, ready } from "@saikei/named";
import { StructureMismatchError } from "@saikei/shapecheck";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type EinsumAxes, NamedEinsum } from "../src/index.js";
import { namedEinsum } from "../src/internal/einsum.js";
import { expectNoLeakedTensors, values } from "./helpers.js";

beforeAll(async () => {
  await ready();
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
});

expectNoLeakedTensors();

/** a = [[1, 2], [3, 4]] on axes r (rows) and c (columns). */
function matrix(): NamedArrayBase {
  return nx.wrap(tf.tensor2d([1, 2, 3, 4], [2, 2]), "r", "c");
}

function einsum(inputAxes: readonly EinsumAxes[], outputAxes: EinsumAxes): NamedEinsum {
  return new NamedEinsum({ inputAxes, outputAxes });
}

describe("NamedEinsum with an index repeated inside one operand (a diagonal)", () => {
  it("keeps the diagonal when the index is in the output, and sums it (a trace) when not", () => {
    const a = matrix();
    const diagonal = einsum([{ r: "i", c: "i" }], { d: "i" }).call([a]);
    expect(diagonal.namedShape).toEqual({ d: 2 });
    expect(values(diagonal)).toEqual([1, 4]);
    const trace = einsum([{ r: "i", c: "i" }], {}).call([a]);
    expect(Array.from(trace.dataArray.dataSync())).toEqual([5]);
    tf.dispose([a.dataArray, diagonal.dataArray, trace.dataArray]);
  });

  it("meets the other operands by index: sum_i a_ii * v_i and sum_i a_ii * a_ij", () => {
    const a = matrix();
    const v = nx.wrap(tf.tensor1d([10, 100]), "v");
    const scaled = einsum([{ r: "i", c: "i" }, { v: "i" }], { v: "i" }).call([a, v]);
    expect(values(scaled)).toEqual([10, 400]);
    // 1 * [1, 2] + 4 * [3, 4]
    const rows = einsum(
      [
        { r: "i", c: "i" },
        { r: "i", c: "j" },
      ],
      { c: "j" },
    ).call([a, a]);
    expect(values(rows)).toEqual([13, 18]);
    tf.dispose([a.dataArray, v.dataArray, scaled.dataArray, rows.dataArray]);
  });

  it("carries batch axes through and takes a diagonal over three axes", () => {
    const batched = nx.wrap(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), "b", "r", "c");
    const perBatch = einsum([{ r: "i", c: "i" }], { r: "i" }).call([batched]);
    expect(values(perBatch, "b", "r")).toEqual([1, 4, 5, 8]);
    // t[p, q, s] = 4p + 2q + s: the diagonal is t[0, 0, 0] = 0 and t[1, 1, 1] = 7.
    const cube = nx.wrap(
      tf.tidy(() => tf.reshape(tf.range(0, 8), [2, 2, 2])),
      "p",
      "q",
      "s",
    );
    const threeWay = einsum([{ p: "i", q: "i", s: "i" }], { x: "i" }).call([cube]);
    expect(values(threeWay)).toEqual([0, 7]);
    tf.dispose([batched.dataArray, perBatch.dataArray, cube.dataArray, threeWay.dataArray]);
  });

  it("passes gradients to the diagonal: d/da sum_i a_ii v_i = diag(v), d/da sum_ij a_ii a_ij", () => {
    const [first, second] = tf.tidy(() => {
      const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
      const v = nx.wrap(tf.tensor1d([10, 100]), "v");
      const weighted = einsum([{ r: "i", c: "i" }, { v: "i" }], {});
      const byWeights = (x: tf.Tensor) => weighted.call([nx.wrap(x, "r", "c"), v]).dataArray;
      // f = sum_i a_ii (sum_j a_ij): df/da_kl = [k = l] rowSum_k + a_kk; row sums of a are 3 and 7.
      const rows = einsum(
        [
          { r: "i", c: "i" },
          { r: "i", c: "j" },
        ],
        {},
      );
      const byRows = (x: tf.Tensor) =>
        rows.call([nx.wrap(x, "r", "c"), nx.wrap(x, "r", "c")]).dataArray;
      return [tf.grad(byWeights)(a).arraySync(), tf.grad(byRows)(a).arraySync()];
    });
    expect(first).toEqual([
      [10, 0],
      [0, 100],
    ]);
    expect(second).toEqual([
      [4, 1],
      [4, 11],
    ]);
  });

  it("rejects axes of different sizes sharing an index, naming them", () => {
    const wide = nx.wrap(tf.zeros([2, 3]), "r", "c");
    const layer = einsum([{ r: "i", c: "i" }], {});
    expect(() => layer.call([wide])).toThrow(StructureMismatchError);
    expect(() => namedEinsum([{ r: "i", c: "i" }], {}, [wide])).toThrow(NamedShapeMismatchError);
    expect(() => namedEinsum([{ r: "i", c: "i" }], {}, [wide])).toThrow(
      /"r", "c" share the index "i"/,
    );
    wide.dataArray.dispose();
  });

  it("leaves no tensors behind over repeated calls", () => {
    const a = matrix();
    const layer = einsum(
      [
        { r: "i", c: "i" },
        { r: "i", c: "j" },
      ],
      { c: "j" },
    );
    layer.call([a, a]).dataArray.dispose();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) layer.call([a, a]).dataArray.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    a.dataArray.dispose();
  });
});
