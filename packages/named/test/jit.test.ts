import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { isTracing, JitError, type Jitted, jit, type NamedArray, nx, ready } from "../src/index.js";

beforeAll(async () => {
  await ready();
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
});

const read = (t: tf.Tensor) => Array.from(t.dataSync());

/** Kernels dispatched by one run of `f`. */
function kernelsOf(f: () => void): string[] {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    names.push(args[0] as string);
    return original.apply(this, args);
  };
  try {
    f();
  } finally {
    engine.runKernel = original;
  }
  return names;
}

describe("jit", () => {
  it("replays the recorded kernels with the new inputs and gives the eager values", () => {
    const body = (x: tf.Tensor, w: { a: tf.Tensor; scale: number }) => {
      const bias = tf.mul(tf.tensor1d([1, 2]), 2); // folded into a constant [2, 4]
      const y = tf.add(tf.matMul(x, w.a), bias);
      const again = tf.add(tf.matMul(x, w.a), bias); // the same kernels: shared
      tf.sin(x); // unused: dropped
      return { y: tf.mul(y, w.scale), again, next: w.scale + 1 };
    };
    const f = jit(body);
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const x1 = tf.tensor2d([[1, 2, 3]]);
    const x2 = tf.tensor2d([[2, 1, 0]]);
    const first = f(x1, { a, scale: 3 });
    expect(read(first.y)).toEqual([18, 27]); // ([4, 5] + [2, 4]) * 3
    expect(first.next).toBe(4);
    const kernels = kernelsOf(() => {
      const second = f(x2, { a, scale: 3 });
      expect(read(second.y)).toEqual([12, 15]); // ([2, 1] + [2, 4]) * 3
      expect(read(second.again)).toEqual([4, 5]);
      expect(second.next).toBe(4);
      tf.dispose([second.y, second.again]);
    });
    // MatMul, Add, Mul: no Sin, no second MatMul/Add, no folded Multiply.
    expect(kernels.filter((k) => k !== "Reshape").sort()).toEqual([
      "Add",
      "BatchMatMul",
      "Multiply",
    ]);
    expect(f.stats).toMatchObject({
      traces: 1,
      replays: 1,
      eager: 0,
      recordedKernels: 7,
      kernels: 3,
    });
    f.dispose();
    tf.dispose([a, x1, x2, first.y, first.again]);
  });

  it("traces again for a new shape, dtype, static value or aliasing of its arguments", () => {
    const f = jit((x: tf.Tensor, y: tf.Tensor, k: number) => tf.add(tf.mul(x, k), y));
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([10, 20]);
    const c = tf.tensor1d([1, 2, 3]);
    const out: tf.Tensor[] = [];
    out.push(f(a, b, 2)); // trace 1
    out.push(f(b, a, 2)); // replay
    out.push(f(c, c, 2)); // new shape (and aliasing): trace 2
    out.push(f(a, a, 2)); // aliasing differs from trace 1: trace 3
    out.push(f(a, b, 5)); // new static value: trace 4
    out.push(f(b, b, 2)); // replays trace 3
    expect(out.map(read)).toEqual([
      [12, 24],
      [21, 42],
      [3, 6, 9],
      [3, 6],
      [15, 30],
      [30, 60],
    ]);
    expect(f.stats).toMatchObject({ traces: 4, replays: 2, eager: 0 });
    f.dispose();
    tf.dispose([a, b, c, ...out]);
  });

  it("runs eagerly, with the reason, when the function reads a computed value back", () => {
    const f = jit((x: tf.Tensor) => tf.mul(x, tf.sum(x).dataSync()[0]!));
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([3, 4]);
    const ra = f(a);
    const rb = f(b);
    expect(read(ra)).toEqual([3, 6]);
    expect(read(rb)).toEqual([21, 28]);
    expect(f.stats).toMatchObject({ traces: 1, replays: 0, eager: 1 });
    expect(f.stats.unreplayable).toMatch(/reads the value of a tensor computed from its arguments/);
    f.dispose();
    tf.dispose([a, b, ra, rb]);
  });

  it("lets the function read constants it made itself", () => {
    const f = jit((x: tf.Tensor) => tf.mul(x, tf.scalar(3).dataSync()[0]!));
    const a = tf.tensor1d([1, 2]);
    const r1 = f(a);
    const r2 = f(a);
    expect(read(r2)).toEqual([3, 6]);
    expect(f.stats).toMatchObject({ traces: 1, replays: 1, eager: 0, unreplayable: undefined });
    f.dispose();
    tf.dispose([a, r1, r2]);
  });

  it("runs eagerly while gradients are recorded, so gradients flow through it", () => {
    const f = jit((x: tf.Tensor) => tf.mul(tf.square(x), 3));
    const x = tf.tensor1d([1, -2]);
    tf.dispose(f(x)); // traced outside the tape
    const grad = tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x);
    expect(read(grad)).toEqual([6, -12]);
    expect(f.stats).toMatchObject({ traces: 1, replays: 0, eager: 1 });
    f.dispose();
    tf.dispose([x, grad]);
  });

  it("does not leak: replays free their intermediates, dispose frees the constants", () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const baseline = tf.memory().numTensors;
    const f = jit((t: tf.Tensor) => tf.add(tf.relu(tf.sub(t, tf.scalar(2))), tf.ones([2, 2])));
    tf.dispose(f(x));
    const afterTrace = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(f(x));
    expect(tf.memory().numTensors).toBe(afterTrace);
    f.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    tf.dispose(x);
  });

  it("returns arguments as they are and fresh copies of constants", () => {
    const f = jit((x: tf.Tensor) => ({ same: x, table: tf.range(0, 3), sum: tf.add(x, 1) }));
    const x = tf.tensor1d([5, 6, 7]);
    for (let i = 0; i < 3; i++) {
      const r = f(x);
      expect(r.same).toBe(x);
      expect(read(r.table)).toEqual([0, 1, 2]);
      expect(read(r.sum)).toEqual([6, 7, 8]);
      tf.dispose([r.table, r.sum]); // the caller owns them; the next replay still works
    }
    expect(f.stats.replays).toBe(2);
    f.dispose();
    x.dispose();
  });

  it("traces again when a tensor it captured was disposed", () => {
    let captured = tf.tensor1d([1, 1]);
    const f = jit((x: tf.Tensor) => tf.add(x, captured));
    const x = tf.tensor1d([1, 2]);
    const r1 = f(x);
    captured.dispose();
    captured = tf.tensor1d([10, 10]);
    const r2 = f(x);
    expect(read(r2)).toEqual([11, 12]);
    expect(f.stats).toMatchObject({ traces: 2, replays: 0 });
    f.dispose();
    tf.dispose([x, r1, r2, captured]);
  });

  it("takes and returns NamedArrays (their data tensors are the traced leaves)", () => {
    const f = jit((x: NamedArray) => x.sum("a").mul(2));
    const x1 = nx.wrap(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      "a",
      "b",
    );
    const x2 = nx.wrap(
      tf.tensor2d([
        [0, 1],
        [1, 0],
      ]),
      "a",
      "b",
    );
    const r1 = f(x1);
    const r2 = f(x2);
    expect(r2.namedShape).toEqual({ b: 2 });
    expect(read(r1.unwrap("b"))).toEqual([8, 12]);
    expect(read(r2.unwrap("b"))).toEqual([2, 2]);
    expect(f.stats).toMatchObject({ traces: 1, replays: 1 });
    f.dispose();
    tf.dispose([x1.dataArray, x2.dataArray, r1.dataArray, r2.dataArray]);
  });

  it("keeps at most maxTraces signatures and rejects a bad maxTraces", () => {
    const f = jit((x: tf.Tensor) => tf.add(x, tf.scalar(1)), { maxTraces: 2 });
    const xs = [1, 2, 3].map((n) => tf.zeros([n]));
    for (const x of [...xs, xs[0]!]) tf.dispose(f(x)); // the first shape was dropped: traced again
    expect(f.stats).toMatchObject({ traces: 4, replays: 0 });
    tf.dispose(f(xs[0]!));
    expect(f.stats.replays).toBe(1);
    f.dispose();
    tf.dispose(xs);
    expect(() => jit((x: tf.Tensor) => x, { maxTraces: 0 })).toThrow(JitError);
    expect(() => jit((x: tf.Tensor) => x, { maxTraces: 0 })).toThrow(
      /maxTraces must be a positive integer, got 0/,
    );
  });

  it("rejects a disposed tensor argument with a JitError that says where it is", () => {
    const f = jit((x: { a: tf.Tensor; b: tf.Tensor[] }) => tf.add(x.a, x.b[0]!));
    const a = tf.tensor1d([1]);
    const b = tf.tensor1d([2]);
    tf.dispose(f({ a, b: [b] }));
    b.dispose();
    expect(() => f({ a, b: [b] })).toThrow(JitError);
    expect(() => f({ a, b: [b] })).toThrow(
      "jit: argument [0]['b'][0] is a disposed tensor (shape [1], float32). Pass live tensors: dispose arguments only after the call.",
    );
    expect(f.stats).toMatchObject({ traces: 1, replays: 0 });
    f.dispose();
    a.dispose();
  });

  it("nests: a jitted function called inside another's trace is recorded into it", () => {
    const inner = jit((x: tf.Tensor) => tf.mul(x, 2));
    const outer = jit((x: tf.Tensor) => tf.add(inner(x), inner(tf.add(x, 1))));
    const results = [tf.tensor1d([1, 2]), tf.tensor1d([5, 6]), tf.tensor1d([0, 0])].map((x) => {
      const y = outer(x);
      const v = read(y);
      tf.dispose([x, y]);
      return v;
    });
    expect(results).toEqual([
      [6, 10],
      [22, 26],
      [2, 2],
    ]); // 2x + 2(x + 1)
    expect(outer.stats).toMatchObject({ traces: 1, replays: 2 });
    expect(inner.stats).toMatchObject({ traces: 1, replays: 1 }); // only while outer traced
    outer.dispose();
    inner.dispose();
  });

  it("reads the current value of a variable argument on every replay", () => {
    const v = tf.variable(tf.tensor1d([1, 1]));
    const f = jit((w: tf.Variable, x: tf.Tensor) => tf.mul(w, x));
    const x = tf.tensor1d([3, 4]);
    const first = f(v, x);
    v.assign(tf.tensor1d([10, -1]));
    const second = f(v, x);
    expect(read(first)).toEqual([3, 4]);
    expect(read(second)).toEqual([30, -4]);
    expect(f.stats).toMatchObject({ traces: 1, replays: 1 });
    f.dispose();
    tf.dispose([v, x, first, second]);
  });

  it("rejects an async function", () => {
    const f = jit(async (x: tf.Tensor) => tf.add(x, 1));
    const x = tf.tensor1d([1]);
    expect(() => f(x)).toThrow(JitError);
    expect(() => f(x)).toThrow(/returned a promise\. jit traces synchronous functions/);
    x.dispose();
  });

  it("leaves the engine as it was when the traced function throws", () => {
    const engine = tf.engine() as unknown as Record<string, unknown>;
    const f = jit((x: tf.Tensor) => {
      expect(isTracing()).toBe(true);
      tf.add(x, 1);
      throw new RangeError("boom");
    });
    const x = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    expect(() => f(x)).toThrow(RangeError);
    expect(isTracing()).toBe(false);
    for (const key of ["runKernel", "makeTensor", "trackTensor", "readSync", "read"]) {
      expect(Object.hasOwn(engine, key)).toBe(false);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(f.stats).toMatchObject({ traces: 1, replays: 0 });
    x.dispose();
  });

  it("replays agree with eager calls on random inputs (property)", () => {
    const body = (x: tf.Tensor, y: tf.Tensor) => {
      const s = tf.softmax(tf.mul(x, y));
      const t = tf.concat([tf.maximum(x, y), s], 1);
      return tf.sum(tf.mul(t, tf.sigmoid(tf.tile(x, [1, 2]))), 1);
    };
    const f = jit(body);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: 24, maxLength: 24 }),
        (rows, data) => {
          const x = tf.tensor2d(data.slice(0, rows * 3), [rows, 3]);
          const y = tf.tensor2d(data.slice(12, 12 + rows * 3), [rows, 3]);
          const replayed = f(x, y);
          const eager = tf.tidy(() => body(x, y));
          const ok = read(replayed).every((v, i) => Math.abs(v - eager.dataSync()[i]!) <= 1e-6);
          tf.dispose([x, y, replayed, eager]);
          return ok;
        },
      ),
      { numRuns: 40 },
    );
    expect(f.stats.traces).toBeLessThanOrEqual(4);
    expect(f.stats.replays).toBeGreaterThan(30);
    f.dispose();
  });

  it("has precise types", () => {
    const f = jit((x: tf.Tensor, n: number) => ({ y: x, n }));
    expectTypeOf(f).toEqualTypeOf<Jitted<[tf.Tensor, number], { y: tf.Tensor; n: number }>>();
    expectTypeOf(f.dispose).toEqualTypeOf<() => void>();
    f.dispose();
  });
});
