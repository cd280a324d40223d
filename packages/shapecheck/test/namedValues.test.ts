// penzai's named-array cases, run on real NamedArrays from @saikei/named.
import { nx, random, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import { ArraySpec, asArrayStructure, checkStructure, dtypes } from "../src/index.js";

const v = chk.var;

beforeAll(async () => {
  await ready();
});

describe("checkStructure on NamedArrays", () => {
  it("matches positional and named shapes (penzai test_simple_named)", () => {
    tf.tidy(() => {
      const value = { a: nx.zeros({ foo: 3, bar: 4, baz: 5 }, "float32").untag("baz") };
      expect(
        checkStructure(value, { a: new ArraySpec({ shape: [5], namedShape: { foo: 3, bar: 4 } }) })
          .size,
      ).toBe(0);
    });
  });

  it("reports bad named shapes (penzai test_bad_named_shapes)", () => {
    tf.tidy(() => {
      const value = {
        a: nx.zeros({ foo: 3, bar: 4, baz: 5 }, "float32").untag("baz"),
        b: nx.zeros({ foo: 3, bar: 4, baz: 5 }, "int32"),
        c: nx.zeros({ foo: 3, bar: 4, baz: 5 }, "float32"),
      };
      const pattern = {
        a: new ArraySpec({ namedShape: { foo: 3, bar: 4 } }),
        b: new ArraySpec({ namedShape: { foo: 3, bar: 4, baz: 5 }, dtype: dtypes.floating }),
        c: new ArraySpec({ namedShape: { foo: 3, bar: 4, qux: 6 }, dtype: "float32" }),
      };
      expect(() => checkStructure(value, pattern)).toThrow(
        [
          "Mismatch while checking structures:",
          "At root['b']: Value has the wrong dtype: expected a sub-dtype of dtypes.floating but got dtype int32.",
          "At root['a']: Positional shape (5,) had different length than pattern ()",
          "At root['c']: Named shape mismatch between value {'foo': 3, 'bar': 4, 'baz': 5} and pattern {'foo': 3, 'bar': 4, 'qux': 6}:",
          "  Axis 'qux': Expected to be present but was missing",
          "  Unexpected names in value's named shape: ['baz']",
        ].join("\n"),
      );
    });
  });

  it("binds named unpack patterns from NamedArrays", () => {
    tf.tidy(() => {
      const value = [nx.zeros({ in_axis: 2, batch: 3 }), nx.zeros({ out_axis: 4, batch: 3 })];
      const pattern = [
        new ArraySpec({ namedShape: { in_axis: 2, ...v("batch").unpackNamed() } }),
        new ArraySpec({ namedShape: { out_axis: 4, ...v("batch").unpackNamed() } }),
      ];
      expect(checkStructure(value, pattern).toObject()).toEqual({ batch: { batch: 3 } });
    });
  });

  it("asArrayStructure takes NamedArrays whole", () => {
    tf.tidy(() => {
      const value = { x: nx.zeros({ a: 2 }, "int32").untag("a"), y: nx.wrap(tf.ones([3]), "b") };
      expect(asArrayStructure(value)).toEqual({
        x: new ArraySpec({ shape: [2], dtype: "int32" }),
        y: new ArraySpec({ namedShape: { b: 3 }, dtype: "float32" }),
      });
    });
  });

  it("leaks no tensors over many checks", () => {
    const x = nx.zeros({ batch: 4, features: 8 });
    try {
      const before = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) {
        checkStructure(x, ArraySpec.floatingNamed({ batch: v("b"), features: 8 }));
        chk.checkStructureEither(x, ArraySpec.floatingNamed({ batch: 5, features: 8 }));
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      x.dataArray.dispose();
    }
  });
});

describe("random keys", () => {
  it("a RandomKey is a scalar of the prngKey dtype", () => {
    const key = random.key(0);
    expect(checkStructure({ key }, { key: new ArraySpec({ dtype: dtypes.prngKey }) }).size).toBe(0);
    expect(() => checkStructure(key, new ArraySpec({ dtype: dtypes.floating }))).toThrow(
      "At root: Value has the wrong dtype: expected a sub-dtype of dtypes.floating but got dtype key<fry>.",
    );
  });
});
