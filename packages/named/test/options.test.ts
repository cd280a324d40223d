/** Every exported function of @saikei/named that takes an options object rejects unknown keys. */
import { UnknownOptionError } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { jit, nmap, nx, random, ready, traceKernels } from "../src/index.js";

beforeAll(async () => {
  await ready();
});

describe("unknown options are errors naming the allowed keys", () => {
  const x = () =>
    nx.wrap(
      tf.tensor([
        [1, 2],
        [3, 4],
      ]),
      "a",
      "b",
    );

  it("ready rejects its promise", async () => {
    await expect(ready({ backend: ["cpu"] } as never)).rejects.toThrow(
      /ready: unknown option "backend". Allowed options: backends, wasmPaths/,
    );
  });

  it("nmap, random.uniform, nx.randomUniform, nx.dot", () => {
    expect(() => nmap((t: tf.Tensor) => t, { vectorised: true } as never)).toThrow(
      /Allowed options: vectorized/,
    );
    expect(() => random.uniform(random.key(0), [2], { min: 0 } as never)).toThrow(
      UnknownOptionError,
    );
    expect(() => nx.randomUniform(random.key(0), { a: 2 }, { max: 1 } as never)).toThrow(
      /nx.randomUniform: unknown option "max". Allowed options: minval, maxval/,
    );
    expect(() => nx.dot(x(), x(), { contract: ["a"], batch: [] } as never)).toThrow(
      /nx.dot: unknown option "batch"/,
    );
  });

  it("jit and traceKernels", () => {
    expect(() => jit((t: tf.Tensor) => t, { maxTrace: 2 } as never)).toThrow(
      'jit: unknown option "maxTrace". Allowed options: maxTraces.',
    );
    expect(() => traceKernels((t: tf.Tensor) => t, [], { onKernel: () => {} } as never)).toThrow(
      'traceKernels: unknown option "onKernel". Allowed options: beforeKernel.',
    );
  });

  it("array methods and at(...) updaters", () => {
    const y = x().untag("a");
    expect(() => y.var(0, { ddof: 1, axis: 0 } as never)).toThrow(/Allowed options: ddof/);
    expect(() => y.std(0, { dof: 1 } as never)).toThrow(UnknownOptionError);
    expect(() => y.take([0], { axes: 0 } as never)).toThrow(
      /Allowed options: axis, mode, fillValue/,
    );
    expect(() => y.searchsorted(1, { sides: "left" } as never)).toThrow(/Allowed options: side/);
    expect(() =>
      x()
        .at({ a: 0 })
        .get({ fill_value: 0 } as never),
    ).toThrow(/Allowed options: mode, fillValue/);
    for (const op of ["set", "add", "mul", "min", "max"] as const) {
      expect(() =>
        x()
          .at({ a: 0 })
          [op](1, { unique: true } as never),
      ).toThrow(/Allowed options: mode/);
    }
    expect(() =>
      x()
        .at({ a: 0 })
        .apply(tf.neg, { sorted: true } as never),
    ).toThrow(UnknownOptionError);
  });
});
