import { ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ANY,
  ArraySpec,
  abstractLeaf,
  asArrayStructure,
  checkStructure,
  dtypes,
  isNamedArrayLike,
  ShapeDtypeStruct,
} from "../src/index.js";

const v = chk.var;

/** A stand-in with the surface of @saikei/named's NamedArray that shapecheck reads. */
class FakeNamedArray {
  constructor(
    readonly positionalShape: readonly number[],
    readonly namedShape: Readonly<Record<string, number>>,
    readonly dtype: string,
    readonly valid = true,
  ) {}
  checkValid(): void {
    if (!this.valid) throw new RangeError("FakeNamedArray is invalid");
  }
}

beforeAll(async () => {
  await ready();
});

describe("abstractLeaf", () => {
  it("describes tensors by shape and dtype", () => {
    const t = tf.zeros([2, 3], "int32");
    try {
      expect(abstractLeaf(t)).toEqual(new ArraySpec({ shape: [2, 3], dtype: "int32" }));
    } finally {
      t.dispose();
    }
  });

  it("describes JavaScript scalars", () => {
    expect(abstractLeaf(3)).toEqual(new ArraySpec({ dtype: "int32" }));
    expect(abstractLeaf(2.5)).toEqual(new ArraySpec({ dtype: "float32" }));
    expect(abstractLeaf(true)).toEqual(new ArraySpec({ dtype: "bool" }));
  });

  it("describes typed arrays as one axis", () => {
    expect(abstractLeaf(new Float32Array(4))).toEqual(
      new ArraySpec({ shape: [4], dtype: "float32" }),
    );
    expect(abstractLeaf(new Uint8Array(2))).toEqual(new ArraySpec({ shape: [2], dtype: "uint8" }));
    expect(abstractLeaf(new BigInt64Array(2))).toBe(ANY);
  });

  it("describes named arrays, ShapeDtypeStructs and ArraySpecs", () => {
    expect(abstractLeaf(new FakeNamedArray([5], { foo: 3 }, "float32"))).toEqual(
      new ArraySpec({ shape: [5], namedShape: { foo: 3 }, dtype: "float32" }),
    );
    expect(abstractLeaf(new ShapeDtypeStruct([1], "bool"))).toEqual(
      new ArraySpec({ shape: [1], dtype: "bool" }),
    );
    const spec = new ArraySpec({ shape: [v("x")] });
    expect(abstractLeaf(spec)).toBe(spec);
  });

  it("gives ANY for anything else", () => {
    for (const x of ["s", null, undefined, () => 1, { shape: [1] }, { shape: [1], dtype: "f" }])
      expect(abstractLeaf(x)).toBe(ANY);
  });

  it("lets an invalid named array's own error through", () => {
    expect(() => abstractLeaf(new FakeNamedArray([1], {}, "float32", false))).toThrow(
      "FakeNamedArray is invalid",
    );
  });
});

describe("isNamedArrayLike", () => {
  it("recognises the named-array surface only", () => {
    expect(isNamedArrayLike(new FakeNamedArray([], {}, "float32"))).toBe(true);
    expect(isNamedArrayLike(new ArraySpec())).toBe(false);
    expect(isNamedArrayLike({ shape: [1], dtype: "float32" })).toBe(false);
    expect(isNamedArrayLike(3)).toBe(false);
  });
});

describe("asArrayStructure", () => {
  it("replaces arrays by specs and other leaves by ANY", () => {
    const t = tf.ones([2, 2]);
    try {
      const out = asArrayStructure<Record<string, unknown>>({
        w: t,
        n: new FakeNamedArray([], { b: 2 }, "int32"),
        name: "layer",
        k: 4,
        nested: [null, new Float32Array(3)],
      });
      expect(out).toEqual({
        w: new ArraySpec({ shape: [2, 2], dtype: "float32" }),
        n: new ArraySpec({ namedShape: { b: 2 }, dtype: "int32" }),
        name: ANY,
        k: new ArraySpec({ dtype: "int32" }),
        nested: [null, new ArraySpec({ shape: [3], dtype: "float32" })],
      });
    } finally {
      t.dispose();
    }
  });
});

describe("checkStructure on tensors", () => {
  it("solves variables from tensor shapes and checks dtypes", () => {
    const x = tf.zeros([8, 3]);
    const y = tf.zeros([8], "int32");
    try {
      const r = checkStructure(
        { x, y },
        {
          x: new ArraySpec({ shape: [v("batch"), 3], dtype: dtypes.floating }),
          y: new ArraySpec({ shape: [v("batch")], dtype: dtypes.integer }),
        },
      );
      expect(r.dim("batch")).toBe(8);
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  it("compares tensor leaves by shape, dtype and values", () => {
    const a = tf.tensor1d([3, 5], "int32");
    const b = tf.tensor1d([3, 5], "int32");
    const c = tf.tensor1d([3, 6], "int32");
    try {
      expect(checkStructure([a], [b]).size).toBe(0);
      expect(() => checkStructure([a], [c])).toThrow(
        "At root[0]: Value Tensor([3, 5], shape=[2], dtype=int32) was not equal to the non-ArraySpec pattern Tensor([3, 6], shape=[2], dtype=int32).",
      );
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  it("creates no tensors, on success or on failure", () => {
    const x = tf.zeros([4, 2]);
    const pattern = tf.zeros([4, 2]);
    try {
      const before = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) {
        checkStructure({ x, p: x }, { x: new ArraySpec({ shape: [v("n"), 2] }), p: pattern });
        chk.checkStructureEither({ x }, { x: new ArraySpec({ shape: [v("n"), 3] }) });
        asArrayStructure({ x });
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      x.dispose();
      pattern.dispose();
    }
  });
});
