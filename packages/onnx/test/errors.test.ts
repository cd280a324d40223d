import { MLP } from "@saikei/models";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import { initializeParameters } from "@saikei/nn";
import { leaves, UnknownOptionError } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as onnx from "../src/index.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
  baseline = tf.memory().numTensors;
});

const features = (rows: number) =>
  nx.wrap(random.normal(random.key(rows), [rows, 4])).tag("batch", "features");

describe("export errors", () => {
  it("an unsupported kernel inside a layer names the kernel and the layer", () => {
    const model = initializeParameters(
      MLP.fromConfig([4, 8, 2], { activationFn: tf.atan }),
      random.key(1),
    );
    const x = features(3);
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      onnx.export((v: NamedArray) => model.call(v), [x]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(onnx.UnsupportedKernelError);
    const e = error as onnx.UnsupportedKernelError;
    expect(e.kernel).toBe("Atan");
    expect(e.message).toContain('the tfjs kernel "Atan" has no ONNX translation');
    expect(e.message).toContain("It ran in a layer of type Elementwise.");
    expect(e.layers[0]).toBe(model.sublayers[1]);
    expect(tf.memory().numTensors).toBe(before);
    x.dataArray.dispose();
    tf.dispose(leaves(model).filter((l): l is tf.Tensor => l instanceof tf.Tensor));
  });

  it("an unsupported kernel outside layers names the kernel only", () => {
    const x = tf.tensor1d([1, 2]);
    expect(() => onnx.export((v: tf.Tensor) => tf.acosh(v), [x])).toThrow(
      /onnx\.export: the tfjs kernel "Acosh" has no ONNX translation\. docs\/onnx\.md lists/,
    );
    x.dispose();
  });

  it("a kernel of constants only is folded, so it needs no translation", async () => {
    const x = tf.tensor1d([1, 2]);
    const bytes = onnx.export((v: tf.Tensor) => tf.add(v, tf.atan(tf.scalar(1))), [x]);
    const s = await onnx.session(bytes);
    const { output } = await s.run({ input: x });
    expect(Array.from((output as tf.Tensor).dataSync()).map((v) => Number(v.toFixed(5)))).toEqual([
      1.7854, 2.7854,
    ]);
    (output as tf.Tensor).dispose();
    await s.dispose();
    x.dispose();
  });

  it("reading a computed value back to the host is an ExportError", () => {
    const x = tf.tensor1d([1, 2]);
    expect(() => onnx.export((v: tf.Tensor) => tf.mul(v, tf.sum(v).dataSync()[0]!), [x])).toThrow(
      /onnx\.export: the function cannot be traced: the function reads the value of a tensor computed from its arguments/,
    );
    x.dispose();
  });

  it("checks its options", () => {
    const x = features(2);
    expect(() => onnx.export((v: NamedArray) => v, [x], { dynamic: ["batch"] } as never)).toThrow(
      UnknownOptionError,
    );
    expect(() => onnx.export((v: NamedArray) => v.exp(), [x], { dynamicAxes: ["time"] })).toThrow(
      'onnx.export: dynamic axis "time" is not an axis of any NamedArray input.',
    );
    expect(() =>
      onnx.export((v: NamedArray) => v.exp(), [x], { dynamicAxes: [1] as never }),
    ).toThrow(onnx.ExportError);
    expect(() => onnx.export((v: NamedArray) => v.exp(), [x], { inputNames: ["a", "b"] })).toThrow(
      /inputNames must be 1 distinct non-empty names/,
    );
    const one = features(1);
    expect(() =>
      onnx.export((v: NamedArray) => v.exp(), [one], { dynamicAxes: ["batch"] }),
    ).toThrow(/dynamic axis "batch" has example size 1; export with an example size of at least 2/);
    for (const t of [x, one]) t.dataArray.dispose();
  });

  it("a constant whose size and values follow a dynamic axis is an ExportError", () => {
    const x = features(3);
    expect(() =>
      onnx.export((v: NamedArray) => v.add(nx.arange("batch", v.namedShape.batch!)), [x], {
        dynamicAxes: ["batch"],
      }),
    ).toThrow(
      /makes a constant of shape \[3, 1\] whose size follows a dynamic axis and whose values vary/,
    );
    x.dataArray.dispose();
  });

  it("leaves no tensors behind", () => {
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe("session errors", () => {
  it("names missing, unknown and mismatched inputs, and leaks nothing", async () => {
    const x = features(2);
    const bytes = onnx.export((v: NamedArray) => v.mul(2), [x], { dynamicAxes: ["batch"] });
    const s = await onnx.session(bytes, { threads: 1 });
    const before = tf.memory().numTensors;
    await expect(s.run({})).rejects.toThrow(
      'session.run: input "input" (NamedArray float32 {batch: batch, features: 4}) is missing.',
    );
    await expect(s.run({ input: x, extra: x })).rejects.toThrow(
      'session.run: unknown input "extra". The model\'s inputs: input.',
    );
    const wrongAxes = nx.wrap(tf.zeros([2, 4])).tag("batch", "hidden");
    await expect(s.run({ input: wrongAxes })).rejects.toThrow(onnx.SessionInputError);
    const wrongSize = nx.wrap(tf.zeros([5, 3])).tag("batch", "features");
    await expect(s.run({ input: wrongSize })).rejects.toThrow(
      'session.run: input "input" must be a NamedArray float32 {batch: batch, features: 4}, got float32 [5, 3].',
    );
    // Axes in another order are reordered; the batch size may change.
    const transposed = nx.wrap(tf.ones([4, 5])).tag("features", "batch");
    const { output } = await s.run({ input: transposed });
    expect((output as NamedArray).namedShape).toEqual({ batch: 5, features: 4 });
    expect(Array.from((output as NamedArray).dataArray.dataSync())).toEqual(new Array(20).fill(2));
    (output as NamedArray).dataArray.dispose();
    for (const t of [wrongAxes, wrongSize, transposed]) t.dataArray.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await s.dispose();
    await expect(s.run({ input: x })).rejects.toThrow(/the session was disposed/);
    await expect(onnx.session(bytes, { threads: 0 })).rejects.toThrow(
      /threads must be a positive integer/,
    );
    await expect(onnx.session(new Uint8Array([1, 2, 3]))).rejects.toThrow(onnx.OnnxError);
    x.dataArray.dispose();
  });

  it("repeated runs do not leak tensors", async () => {
    const x = features(3);
    const bytes = onnx.export((v: NamedArray) => v.exp().sum("features"), [x]);
    const s = await onnx.session(bytes);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const { output } = await s.run({ input: x });
      (output as NamedArray).dataArray.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    await s.dispose();
    x.dataArray.dispose();
  });
});
