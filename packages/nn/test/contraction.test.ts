import { type NamedArray, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { contract } from "../src/index.js";
import { expectNoLeakedTensors, kernelsOf } from "./helpers.js";

beforeAll(async () => {
  await ready();
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
});

expectNoLeakedTensors();

function random(shape: Record<string, number>, seed: number): NamedArray {
  return nx.wrap(
    tf.randomNormal(Object.values(shape), 0, 1, "float32", seed),
    ...Object.keys(shape),
  );
}

/** Strides of a row-major shape. */
function strides(shape: number[]): number[] {
  const out = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

/** Sum over `names` of `left * right`, by loops over float64 host copies, in axis order `outNames`. */
function referenceContraction(
  names: string[],
  left: NamedArray,
  right: NamedArray,
  outNames: string[],
): Float64Array {
  const sizes: Record<string, number> = { ...left.namedShape, ...right.namedShape };
  const lNames = Object.keys(left.namedShape);
  const rNames = Object.keys(right.namedShape);
  const lData = left.dataArray.dataSync();
  const rData = right.dataArray.dataSync();
  const lStrides = strides(lNames.map((n) => sizes[n]!));
  const rStrides = strides(rNames.map((n) => sizes[n]!));
  const loopNames = [...outNames, ...names];
  const loopShape = loopNames.map((n) => sizes[n]!);
  const outSize = outNames.reduce((p, n) => p * sizes[n]!, 1);
  const inner = names.reduce((p, n) => p * sizes[n]!, 1);
  const out = new Float64Array(outSize);
  const loopStrides = strides(loopShape);
  for (let flat = 0; flat < outSize * inner; flat++) {
    const index: Record<string, number> = {};
    loopNames.forEach((n, i) => {
      index[n] = Math.floor(flat / loopStrides[i]!) % loopShape[i]!;
    });
    const li = lNames.reduce((p, n, i) => p + index[n]! * lStrides[i]!, 0);
    const ri = rNames.reduce((p, n, i) => p + index[n]! * rStrides[i]!, 0);
    out[Math.floor(flat / inner)] += lData[li]! * rData[ri]!;
  }
  return out;
}

/** `contract` (that is, `nx.dot`) against {@link referenceContraction}; also checks the result's axis order. */
function checkAgainstReference(
  names: string[],
  lShape: Record<string, number>,
  rShape: Record<string, number>,
  expectedOrder: string[],
): void {
  const left = random(lShape, 1);
  const right = random(rShape, 2);
  const result = contract(names, left, right);
  expect(Object.keys(result.namedShape)).toEqual(expectedOrder);
  expect(result.dataArray.shape).toEqual(expectedOrder.map((n) => result.namedShape[n]));
  const got = result.dataArray.dataSync();
  const want = referenceContraction(names, left, right, expectedOrder);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
  tf.dispose([left.dataArray, right.dataArray, result.dataArray]);
}

describe("contract lowers through nx.dot", () => {
  it("matches a reference without batch axes, whatever the layouts", () => {
    checkAgainstReference(["e"], { b: 1, s: 1, e: 8 }, { e: 8, h: 2, p: 3 }, ["b", "s", "h", "p"]);
    checkAgainstReference(["e"], { b: 2, s: 3, e: 8 }, { e: 8, h: 2, p: 3 }, ["b", "s", "h", "p"]);
    checkAgainstReference(["e"], { e: 8, b: 2 }, { o: 5, e: 8 }, ["b", "o"]);
    checkAgainstReference(["h", "p"], { h: 2, b: 1, s: 1, p: 3 }, { h: 2, p: 3, e: 4 }, [
      "b",
      "s",
      "e",
    ]);
    checkAgainstReference(["p", "h"], { b: 1, h: 2, s: 1, p: 3 }, { p: 3, e: 4, h: 2 }, [
      "b",
      "s",
      "e",
    ]);
    checkAgainstReference(["e"], { e: 4 }, { e: 4, o: 5 }, ["o"]);
    checkAgainstReference(["e"], { b: 2, e: 4 }, { e: 4 }, ["b"]);
    checkAgainstReference(["e"], { s: 1, b: 1, e: 4 }, { e: 4 }, ["s", "b"]);
  });

  it("matches a reference with batch axes, small and large", () => {
    const decode = { b: 1, s: 1, h: 4, p: 16 };
    checkAgainstReference(["p"], decode, { b: 1, t: 72, h: 4, p: 16 }, ["b", "h", "s", "t"]);
    checkAgainstReference(["p"], { s: 3, h: 2, p: 4 }, { t: 5, h: 2, p: 4 }, ["h", "s", "t"]);
    checkAgainstReference(["t"], { h: 2, s: 3, t: 5 }, { t: 5, h: 2, p: 4 }, ["h", "s", "p"]);
    checkAgainstReference(["p"], { h: 1, s: 3, p: 4 }, { t: 5, h: 1, p: 4 }, ["h", "s", "t"]);
    // Large enough for the host split on wasm.
    checkAgainstReference(["p"], { h: 3, s: 32, p: 16 }, { h: 3, t: 72, p: 16 }, ["h", "s", "t"]);
  });

  it("accepts named array views", () => {
    const left = random({ s: 3, e: 4 }, 3);
    const right = random({ e: 4, o: 2 }, 4);
    const view = left.untag("e").tag("e");
    const viaView = contract(["e"], view as unknown as NamedArray, right);
    const direct = contract(["e"], left, right);
    expect(Array.from(viaView.orderAs("s", "o").dataArray.dataSync())).toEqual(
      Array.from(direct.orderAs("s", "o").dataArray.dataSync()),
    );
    tf.dispose([
      left.dataArray,
      right.dataArray,
      view.dataArray,
      viaView.dataArray,
      direct.dataArray,
    ]);
  });

  it("decoding one token: no reshape or transpose the layout does not need", () => {
    const x = random({ batch: 1, seq: 1, embedding: 8 }, 5);
    const square = random({ embedding: 8, out: 6 }, 6);
    const heads = random({ embedding: 8, heads: 2, projection: 3 }, 7);
    expect(kernelsOf(() => contract(["embedding"], x, square).dataArray)).toEqual({
      BatchMatMul: 1,
    });
    // The weights [8, 2, 3] go in as [8, 6] and the result [1, 1, 6] comes out as [1, 1, 2, 3].
    expect(kernelsOf(() => contract(["embedding"], x, heads).dataArray)).toEqual({
      BatchMatMul: 1,
      Reshape: 2,
    });
    // Query {batch, seq, heads, projection} . keys {batch, kv_seq, heads, projection}: moving
    // the size-1 seq axis is a reshape; the keys need a real transpose; one batched matMul.
    const q = random({ batch: 1, seq: 1, heads: 4, projection: 16 }, 8);
    const k = random({ batch: 1, kv_seq: 72, heads: 4, projection: 16 }, 9);
    expect(kernelsOf(() => contract(["projection"], q, k).dataArray)).toEqual({
      BatchMatMul: 1,
      Reshape: 1,
      Transpose: 1,
    });
    tf.dispose([x, square, heads, q, k].map((a) => a.dataArray));
  });
});

describe("gradients through contract", () => {
  it("gradients through a decoding-shaped contraction keep the operands' shapes", () => {
    const x = tf.randomNormal([1, 1, 8]);
    const w = tf.randomNormal([8, 2, 3]);
    const f = (xs: tf.Tensor, ws: tf.Tensor) =>
      tf.sum(
        tf.square(
          contract(["e"], nx.wrap(xs, "b", "s", "e"), nx.wrap(ws, "e", "h", "p")).dataArray,
        ),
      );
    const [dx, dw] = tf.grads(f)([x, w]);
    expect(dx!.shape).toEqual([1, 1, 8]);
    expect(dw!.shape).toEqual([8, 2, 3]);
    tf.dispose([x, w, dx!, dw!]);
  });
});
