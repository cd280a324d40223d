/**
 * `jvp` (forward products from two reverse passes) and `LinearizeAndAdjust`, checked against
 * penzai's own test case (hand-computed Taylor expansions) and against central finite differences
 * of the same functions written in plain float64 JavaScript.
 */
import { type NamedArrayBase, nx, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jvp, LinearizeAndAdjust, RewiringError } from "../src/index.js";

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

const data = (a: NamedArrayBase | tf.Tensor) =>
  Array.from((a instanceof tf.Tensor ? a : a.dataArray).dataSync());

describe("LinearizeAndAdjust (penzai's test case)", () => {
  it("expands a² around x and b³ around [1, 2, 3] (axis foo), evaluated at [4, 5, 6] (axis bar)", () => {
    const layer = new LinearizeAndAdjust({
      linearizeAround: (x: NamedArrayBase) => ({ a: x, b: nx.wrap([1, 2, 3]).tag("foo") }),
      evaluateAt: (x: NamedArrayBase) => ({ a: x.add(1), b: nx.wrap([4, 5, 6]).tag("bar") }),
      target: (s: { a: NamedArrayBase; b: NamedArrayBase }) => ({
        a: s.a.mul(s.a),
        b: s.b.mul(s.b).mul(s.b),
      }),
    });
    const x = nx.wrap(10);
    const result = layer.call(x) as { a: NamedArrayBase; b: NamedArrayBase };
    expect(data(result.a)).toEqual([10 ** 2 + 2 * 10 * 1]);
    // b: p³ + 3p²(e − p) for p along foo and e along bar.
    expect(result.b.namedShape).toEqual({ foo: 3, bar: 3 });
    const b = result.b.unwrap("foo", "bar").arraySync();
    const expected = [1, 2, 3].map((p) => [4, 5, 6].map((e) => p ** 3 + 3 * p ** 2 * (e - p)));
    expect(b).toEqual(expected);
    tf.dispose([x.dataArray, result.a.dataArray, result.b.dataArray]);
  });

  it("matches target(p) + central finite differences of a smooth function", () => {
    // target(u) = exp(u) * u, linearized around u = x, evaluated at u = x + 0.25 * [1, -2, 3].
    const direction = [1, -2, 3];
    const f = (u: number) => Math.exp(u) * u;
    const layer = new LinearizeAndAdjust({
      linearizeAround: (x: NamedArrayBase) => x,
      evaluateAt: (x: NamedArrayBase) => x.add(nx.wrap(direction.map((d) => 0.25 * d)).tag("i")),
      target: (u: NamedArrayBase) => u.exp().mul(u),
    });
    const points = [0.1, -0.4, 0.7];
    const x = nx.wrap(points).tag("i");
    const result = layer.call(x) as NamedArrayBase;
    const h = 1e-5;
    const want = points.map((p, i) => {
      const t = 0.25 * direction[i]!;
      return f(p) + (f(p + h * t) - f(p - h * t)) / (2 * h);
    });
    data(result).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 4);
    });
    tf.dispose([x.dataArray, result.dataArray]);
  });

  it("trees of different structures are a RewiringError, with nothing leaked", () => {
    const layer = new LinearizeAndAdjust({
      linearizeAround: (x: NamedArrayBase) => [x],
      evaluateAt: (x: NamedArrayBase) => [x, x.add(1)],
      target: (u: unknown) => u,
    });
    const x = nx.wrap(1);
    expect(() => layer.call(x)).toThrow(RewiringError);
    x.dataArray.dispose();
  });
});

describe("jvp", () => {
  it("gives J·t for several inputs and outputs (hand-computed)", () => {
    // f(x, y) = [x * y, sin(y)]: J·(tx, ty) = [tx * y + x * ty, cos(y) * ty].
    const x = tf.tensor1d([1, 2]);
    const y = tf.tensor1d([3, -1]);
    const tx = tf.tensor1d([0.5, 1]);
    const ty = tf.tensor1d([2, -3]);
    const [values, products] = jvp(([a, b]) => [tf.mul(a!, b!), tf.sin(b!)], [x, y], [tx, ty]);
    expect(data(values[0]!)).toEqual([3, -2]);
    expect(data(products[0]!)).toEqual([0.5 * 3 + 1 * 2, 1 * -1 + 2 * -3]);
    data(products[1]!).forEach((v, i) => {
      expect(v).toBeCloseTo([Math.cos(3) * 2, Math.cos(-1) * -3][i]!, 5);
    });
    tf.dispose([x, y, tx, ty, ...values, ...products]);
  });

  it("an output that does not depend on an input gets a zero product", () => {
    const x = tf.tensor1d([1, 2]);
    const c = tf.tensor1d([5, 5]);
    const ones = tf.onesLike(x);
    const [values, products] = jvp(() => [c.clone()], [x], [ones]);
    expect(data(values[0]!)).toEqual([5, 5]);
    expect(data(products[0]!)).toEqual([0, 0]);
    tf.dispose([x, c, ones, ...values, ...products]);
  });

  it("property: agrees with central finite differences of tanh(a·x + b)·x", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (xs, a, t) => {
          const g = (v: number) => Math.tanh(a * v + 0.5) * v;
          const x = tf.tensor1d(xs);
          const tangent = tf.fill([xs.length], t);
          const [values, products] = jvp(
            ([v]) => [tf.mul(tf.tanh(tf.add(tf.mul(v!, a), 0.5)), v!)],
            [x],
            [tangent],
          );
          const got = data(products[0]!);
          const h = 1e-6;
          xs.forEach((v, i) => {
            const fd = (g(v + h * t) - g(v - h * t)) / (2 * h);
            expect(Math.abs(got[i]! - fd)).toBeLessThan(1e-4 + 1e-4 * Math.abs(fd));
          });
          tf.dispose([x, tangent, ...values, ...products]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("tangents that do not match their primals are a RewiringError", () => {
    const x = tf.tensor1d([1, 2]);
    const wrong = tf.tensor1d([1, 2, 3]);
    expect(() => jvp((xs) => xs, [x], [wrong])).toThrow(/tangent 0 has shape \[3\]/);
    expect(() => jvp((xs) => xs, [x], [])).toThrow(RewiringError);
    tf.dispose([x, wrong]);
  });
});
