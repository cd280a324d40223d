import type { NamedArray, NamedArrayBase } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";

/** Largest absolute difference between two arrays' values, after ordering `b` like `a`. */
export function maxAbsDiff(a: NamedArrayBase | tf.Tensor, b: NamedArrayBase | tf.Tensor): number {
  const left = a instanceof tf.Tensor ? a : a.withPositionalPrefix().dataArray;
  const right =
    b instanceof tf.Tensor
      ? b
      : a instanceof tf.Tensor
        ? b.withPositionalPrefix().dataArray
        : b.orderAs(...Object.keys((a.withPositionalPrefix() as NamedArray).namedAxes)).dataArray;
  expectSameShape(left.shape, right.shape);
  const x = left.dataSync();
  const y = right.dataSync();
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(Number(x[i]) - Number(y[i])));
  return max;
}

function expectSameShape(a: readonly number[], b: readonly number[]): void {
  if (a.join() !== b.join()) throw new Error(`shapes differ: [${a}] vs [${b}]`);
}

/** Disposes every tensor of a session result. */
export function disposeResults(results: Record<string, NamedArray | tf.Tensor>): void {
  for (const v of Object.values(results)) (v instanceof tf.Tensor ? v : v.dataArray).dispose();
}
