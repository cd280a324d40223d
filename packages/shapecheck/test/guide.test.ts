// The examples of docs/shapecheck.md, run as written.
import { ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import * as chk from "../src/index.js";
import {
  ArraySpec,
  checkStructure,
  DimensionVariableSubstitution,
  var as dim,
  dtypes,
  fullSubstituteDimensionVariables,
  ShapeDtypeStruct,
} from "../src/index.js";

beforeAll(async () => {
  await ready();
});

describe("docs/shapecheck.md", () => {
  it("introduction: solves batch and seq", () => {
    tf.tidy(() => {
      const batch = { tokens: tf.zeros([8, 128], "int32"), mask: tf.zeros([8, 128], "bool") };
      const match = checkStructure(batch, {
        tokens: new ArraySpec({ shape: [dim("batch"), dim("seq")], dtype: dtypes.integer }),
        mask: new ArraySpec({ shape: [dim("batch"), dim("seq")], dtype: "bool" }),
      });
      expect(match.get("batch")).toBe(8);
      expect(match.toObject()).toEqual({ batch: 8, seq: 128 });
    });
  });

  it("the namespace spelling is the same function", () => {
    expect(chk.var).toBe(dim);
  });

  it("what a match binds", () => {
    const result = checkStructure(
      new ArraySpec({ shape: [2, 3, 5], namedShape: { heads: 4, kv: 1 } }),
      new ArraySpec({
        shape: [...dim("lead").unpack(), dim("last")],
        namedShape: { heads: dim("h"), ...dim("rest").unpackNamed() },
      }),
    );
    expect(result.toObject()).toEqual({ lead: [2, 3], last: 5, h: 4, rest: { kv: 1 } });
    expect(result.dims("lead")).toEqual([2, 3]);
    expect(result.namedDims("rest")).toEqual({ kv: 1 });
    expect(() => result.dim("lead")).toThrow(
      'Variable "lead" is bound to a positional run of sizes (from var(name).unpack()), not a single size.',
    );
  });

  it("several checks that must agree", () => {
    tf.tidy(() => {
      const first = checkStructure(
        tf.zeros([3, 4]),
        new ArraySpec({ shape: [dim("x"), dim("y")] }),
      );
      const second = checkStructure(
        tf.zeros([3, 6]),
        new ArraySpec({ shape: [dim("x"), dim("z")] }),
        {
          knownVars: first,
        },
      );
      expect(second.toObject()).toEqual({ x: 3, y: 4, z: 6 });
    });
  });

  it("when a check fails: the example message", () => {
    expect(() =>
      checkStructure(
        { a: new ShapeDtypeStruct([3, 4, 5], "float32"), b: new ShapeDtypeStruct([2], "int32") },
        {
          a: new ArraySpec({ shape: [dim("x"), 4, dim("x")] }),
          b: new ArraySpec({ shape: [2], dtype: dtypes.floating }),
        },
      ),
    ).toThrow(
      [
        "Mismatch while checking structures:",
        "At root['b']: Value has the wrong dtype: expected a sub-dtype of dtypes.floating but got dtype int32.",
        "At root['a']: Positional shape mismatch between value (3, 4, 5) and pattern (var('x'), 4, var('x')):",
        "  Dim 2: Size 5 does not match previous size 3 for var('x') from root['a']",
        "Variables solved so far:",
        "  var('x') = 3 from root['a']",
      ].join("\n"),
    );
  });

  it("substituting the solved variables", () => {
    tf.tidy(() => {
      const pattern = { x: new ArraySpec({ shape: [dim("n"), ...dim("rest").unpack()] }) };
      const solved = checkStructure({ x: tf.zeros([2, 3, 4]) }, pattern);
      const concrete = fullSubstituteDimensionVariables(
        pattern,
        DimensionVariableSubstitution.fromMatchResult(solved),
      );
      expect(concrete.x.toString()).toBe(
        "ArraySpec(shape=(2, 3, 4), dtype=dtypes.generic, namedShape={})",
      );
    });
  });

  it("the unpack helpers print as penzai's patterns", () => {
    const seqModel = new ArraySpec({
      shape: [...dim("batch").unpack(), dim("seq")],
      namedShape: { ...dim("extra").unpackNamed(), embedding: 16 },
      dtype: dtypes.floating,
    });
    expect(seqModel.toString()).toBe(
      "ArraySpec(shape=(*var('batch'), var('seq')), dtype=dtypes.floating, namedShape={**var('extra'), 'embedding': 16})",
    );
  });
});
