import { WithConstantSideInputs } from "@saikei/effects";
import { type NamedArray, nx, random, ready } from "@saikei/named";
import {
  ArraySpec,
  ArraySpecError,
  checkStructure,
  var as dimVar,
  ShapeDtypeStruct,
  StructureMismatchError,
} from "@saikei/shapecheck";
import { className, tree } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AddBias,
  Affine,
  addParameterPrefix,
  attachSharedParameters,
  checkNoDuplicateParameters,
  DuplicateParameterError,
  EmbeddingDecode,
  EmbeddingLookup,
  EmbeddingTable,
  FrozenParameter,
  freezeParameters,
  initializeParameters,
  isAnyParameter,
  Linear,
  LinearInPlace,
  markShareable,
  Parameter,
  ParameterBase,
  parameterNameHash,
  parameterNames,
  type RenameAxes,
  Sequential,
  ShareableUninitializedParameter,
  SharedParameterConflictError,
  SharedParameterLookup,
  SharedParamTag,
  UninitializedParameter,
  UninitializedParameterError,
  unfreezeParameters,
} from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

/** Disposes every tensor held by parameters in `model`. */
function disposeParams(model: unknown): void {
  for (const leaf of tree.leaves(model)) if (leaf instanceof tf.Tensor) leaf.dispose();
}

describe("parameter name hashes", () => {
  it("fold the first four bytes of SHA-1(name), big-endian, as penzai does", () => {
    expect(parameterNameHash("Affine_0.Linear.weights")).toBe(3806767005);
    expect(parameterNameHash("Affine_0.AddBias.bias")).toBe(3361933467);
    expect(parameterNameHash("param_foo")).toBe(1604010695);
    expect(parameterNameHash("param_bar")).toBe(281983363);
    expect(parameterNameHash("embedder.embeddings")).toBe(189431785);
    expect(parameterNameHash("weights")).toBe(1554749429);
  });
});

describe("isAnyParameter", () => {
  it("is true for the three parameter kinds only", () => {
    const layer = Linear.fromConfig({ a: 2 }, { b: 3 }) as Linear;
    const uninitialized = layer.weights;
    const value = nx.zeros({ a: 2, b: 3 });
    expect(isAnyParameter(uninitialized)).toBe(true);
    expect(isAnyParameter(new Parameter({ value, name: "w" }))).toBe(true);
    expect(isAnyParameter(new FrozenParameter({ value, name: "w" }))).toBe(true);
    expect(isAnyParameter(value)).toBe(false);
    expect(isAnyParameter({ value, name: "w" })).toBe(false);
    expect(isAnyParameter(layer)).toBe(false);
    value.dataArray.dispose();
  });
});

describe("Parameter and FrozenParameter", () => {
  it("share one base but are not instances of each other, and keep their own names", () => {
    const value = nx.zeros({ a: 2 });
    const p = new Parameter({ value, name: "w" });
    const f = new FrozenParameter({ value, name: "w" });
    expect(p).toBeInstanceOf(ParameterBase);
    expect(f).toBeInstanceOf(ParameterBase);
    expect(f instanceof Parameter).toBe(false);
    expect(p instanceof FrozenParameter).toBe(false);
    expect([className(p.constructor), className(f.constructor)]).toEqual([
      "Parameter",
      "FrozenParameter",
    ]);
    expect(f.withRenamedParameters((n) => `x.${n}`)).toBeInstanceOf(FrozenParameter);
    expect(f.withRenamedParameters((n) => `x.${n}`).name).toBe("x.w");
    expect(tree.structure(p).equals(tree.structure(f))).toBe(false);
    value.dataArray.dispose();
  });
});

describe("building parameters", () => {
  it("Linear.fromConfig declares an uninitialized 'weights' with the axis order parallel, input, output", () => {
    const linear = Linear.fromConfig(
      { embedding: 16 },
      { heads: 2, projection: 4 },
      { parallelAxes: { layer: 3 } },
    );
    expect(linear).toBeInstanceOf(Linear);
    const l = linear as Linear;
    expect(l.weights).toBeInstanceOf(UninitializedParameter);
    expect((l.weights as UninitializedParameter).name).toBe("weights");
    const spec = l.weights.valueStructure as ArraySpec;
    expect(Object.keys(spec.namedShape)).toEqual(["layer", "embedding", "heads", "projection"]);
    expect(l.inAxisNames).toEqual(["embedding"]);
    expect(l.outAxisNames).toEqual(["heads", "projection"]);
    expect(l.inputAxes).toEqual({ embedding: 16 });
    expect(l.outputAxes).toEqual({ heads: 2, projection: 4 });
    expect(l.parallelAxes).toEqual({ layer: 3 });
    expect(() => l.weights.value).toThrow(UninitializedParameterError);
  });

  it("overlapping input and output axes give a LinearInPlace through '<name>_out'", () => {
    const inPlace = Linear.fromConfig({ features: 8 }, { features: 16 });
    expect(inPlace).toBeInstanceOf(LinearInPlace);
    const [linear, rename] = (inPlace as LinearInPlace).sublayers as [Linear, RenameAxes];
    expect((linear.weights.valueStructure as ArraySpec).namedShape).toEqual({
      features: 8,
      features_out: 16,
    });
    expect(rename.old).toEqual(["features_out"]);
    expect(rename.new).toEqual(["features"]);
    expect(() =>
      Linear.fromConfig({ features: 8 }, { features: 16 }, { renameOutputsIfNecessary: false }),
    ).toThrow(/must not overlap/);
    expect(() => Linear.fromConfig({ a: 2, a_out: 3 }, { a: 4 })).toThrow(
      /both names are already in inputAxes/,
    );
    expect(() => Linear.fromConfig({ a: 2 }, { b: 4 }, { parallelAxes: { a: 2 } })).toThrow(
      /must not overlap/,
    );
  });

  it("Affine names its parameters Linear.weights and AddBias.bias, as penzai's MLP example shows", () => {
    const affine = addParameterPrefix(
      "Affine_0",
      Affine.fromConfig({ features: 8 }, { features: 16 }),
    );
    expect(affine.sublayers.map((s) => className(s.constructor))).toEqual([
      "Linear",
      "RenameAxes",
      "AddBias",
    ]);
    expect(parameterNames(affine)).toEqual(["Affine_0.Linear.weights", "Affine_0.AddBias.bias"]);
    const bias = (affine.sublayers[2] as AddBias).bias.valueStructure as ArraySpec;
    expect(bias.namedShape).toEqual({ features: 16 });
  });

  it("infers the value structure by running the initializer when it is not given", () => {
    const before = tf.memory().numTensors;
    const p = new UninitializedParameter({
      initializer: (key) => nx.wrap(random.normal(key, [2, 3]), "a", "b"),
      name: "p",
    });
    expect(tf.memory().numTensors).toBe(before);
    const spec = p.valueStructure as ArraySpec;
    expect(spec.namedShape).toEqual({ a: 2, b: 3 });
    expect(spec.dtype).toBe("float32");
  });
});

describe("initializeParameters", () => {
  const model = () =>
    new Sequential({
      sublayers: [
        addParameterPrefix("first", Affine.fromConfig({ features: 4 }, { hidden: 6 })),
        addParameterPrefix("second", Linear.fromConfig({ hidden: 6 }, { out: 3 })),
      ],
    });

  it("is deterministic: the same key gives identical parameters", () => {
    const a = initializeParameters(model(), random.key(7));
    const b = initializeParameters(model(), random.key(7));
    const c = initializeParameters(model(), random.key(8));
    const la = tree.leaves(a).filter((l) => l instanceof tf.Tensor) as tf.Tensor[];
    const lb = tree.leaves(b).filter((l) => l instanceof tf.Tensor) as tf.Tensor[];
    const lc = tree.leaves(c).filter((l) => l instanceof tf.Tensor) as tf.Tensor[];
    expect(la.length).toBe(3);
    for (const [i, t] of la.entries())
      expect(Array.from(t.dataSync())).toEqual(Array.from(lb[i]!.dataSync()));
    expect(Array.from(la[0]!.dataSync())).not.toEqual(Array.from(lc[0]!.dataSync()));
    for (const m of [a, b, c]) disposeParams(m);
  });

  it("derives each parameter's key from its name, not its position", () => {
    const one = model();
    const swapped = new Sequential({ sublayers: [one.sublayers[1]!, one.sublayers[0]!] });
    const a = initializeParameters(one, random.key(3));
    const b = initializeParameters(swapped, random.key(3));
    const byName = (m: unknown) =>
      Object.fromEntries(
        tree
          .leaves(m, (n) => n instanceof Parameter)
          .filter((p): p is Parameter => p instanceof Parameter)
          .map((p) => [
            p.name,
            values(
              p.value as NamedArray,
              ...Object.keys((p.value as NamedArray).namedShape).sort(),
            ),
          ]),
      );
    expect(byName(a)).toEqual(byName(b));
    expect(values((a.sublayers[1] as Linear).weights.value, "hidden", "out")).toEqual(
      tf.tidy(() =>
        Array.from(
          (Linear.fromConfig({ hidden: 6 }, { out: 3 }) as Linear).weights instanceof
            UninitializedParameter
            ? ((
                (Linear.fromConfig({ hidden: 6 }, { out: 3 }) as Linear)
                  .weights as UninitializedParameter
              )
                .initialize(random.foldIn(random.key(3), parameterNameHash("second.weights")))
                .value.dataArray.dataSync() as Float32Array)
            : [],
        ),
      ),
    );
    disposeParams(a);
    disposeParams(b);
  });

  it("fills xavier-uniform weights within ±sqrt(6 / (fanIn + fanOut)) and zero biases", () => {
    const m = initializeParameters(model(), random.key(0));
    const w = values(((m.sublayers[0] as Affine).sublayers[0] as Linear).weights.value);
    const limit = Math.sqrt(6 / (4 + 6));
    expect(w.every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(limit / 2);
    expect(values(((m.sublayers[0] as Affine).sublayers[1] as AddBias).bias.value)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
    disposeParams(m);
  });

  it("rejects duplicate names before creating anything", () => {
    const dup = new Sequential({
      sublayers: [Linear.fromConfig({ a: 2 }, { b: 2 }), Linear.fromConfig({ b: 2 }, { c: 2 })],
    });
    const before = tf.memory().numTensors;
    expect(() => initializeParameters(dup, random.key(0))).toThrow(DuplicateParameterError);
    expect(() => checkNoDuplicateParameters(dup)).toThrow(/Repeated names: \["weights"\]/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("initializes any number of uniquely named parameters (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        (names) => {
          const params = names.map((name) =>
            addParameterPrefix(name, Linear.fromConfig({ a: 2 }, { b: 2 })),
          );
          const init = initializeParameters(params, random.key(1));
          expect(parameterNames(init)).toEqual(names.map((n) => `${n}.weights`));
          expect(init.every((l) => (l as Linear).weights instanceof Parameter)).toBe(true);
          disposeParams(init);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe("shared parameters", () => {
  it("markShareable + attachSharedParameters tie two uses of one table to one parameter", () => {
    const table = markShareable(EmbeddingTable.fromConfig(5, { embedding: 3 }));
    expect(table.embeddings).toBeInstanceOf(ShareableUninitializedParameter);
    const body = new Sequential({
      sublayers: [new EmbeddingLookup({ table }), new EmbeddingDecode({ table })],
    });
    const tied = attachSharedParameters(body);
    expect(tied).toBeInstanceOf(WithConstantSideInputs);
    expect(tied.handlerId.startsWith("shared_params_")).toBe(true);
    expect(parameterNames(tied)).toEqual(["embeddings"]);
    const lookups = tree
      .leaves(tied, (n) => n instanceof SharedParameterLookup)
      .filter((n) => n instanceof SharedParameterLookup);
    expect(lookups.length).toBe(2);
    const init = initializeParameters(tied, random.key(0));
    const tokens = nx.wrap(tf.tensor1d([0, 4], "int32"), "seq");
    const logits = init.call(tokens) as NamedArray;
    expect(logits.namedShape).toEqual({ seq: 2, vocabulary: 5 });
    const table0 = (init.sideInputs as Map<SharedParamTag, Parameter>).get(
      [...(init.sideInputs as Map<any, any>).keys()][0],
    )!;
    const t = values(table0.value, "vocabulary", "embedding");
    const row = (i: number) => t.slice(3 * i, 3 * i + 3);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const got = values(logits, "seq", "vocabulary");
    for (let v = 0; v < 5; v++) expect(got[v]).toBeCloseTo(dot(row(0), row(v)), 5);
    tokens.dataArray.dispose();
    logits.dataArray.dispose();
    disposeParams(init);
  });

  it("rejects shared parameters with one name but different structures", () => {
    const a = markShareable(EmbeddingTable.fromConfig(5, { embedding: 3 }));
    const b = markShareable(EmbeddingTable.fromConfig(6, { embedding: 3 }));
    expect(() => attachSharedParameters([a, b])).toThrow(SharedParameterConflictError);
    const c = markShareable(EmbeddingTable.fromConfig(5, { embedding: 3 }));
    expect(() => attachSharedParameters([a, c])).toThrow(/non-identical initializers/);
    expect(() => attachSharedParameters([a, c], { strict: false })).not.toThrow();
  });

  it("SharedParamTag compares by name", () => {
    expect(new SharedParamTag("x").equals(new SharedParamTag("x"))).toBe(true);
    expect(new SharedParamTag("x").equals(new SharedParamTag("y"))).toBe(false);
    expect(String(new SharedParamTag("x"))).toBe('SharedParamTag("x")');
  });
});

describe("freezing", () => {
  it("freezeParameters and unfreezeParameters round-trip, optionally by name", () => {
    const value = nx.ones({ a: 2 });
    const model = [
      new Parameter({ value, name: "keep" }),
      new Parameter({ value, name: "freeze.me" }),
    ];
    const frozen = freezeParameters(model, (name) => name.startsWith("freeze"));
    expect(frozen[0]).toBeInstanceOf(Parameter);
    expect(frozen[1]).toBeInstanceOf(FrozenParameter);
    expect(frozen[1]!.value).toBe(value);
    expect(frozen[1]!.treescopeColor()).toBe("#a0b0c9");
    const back = unfreezeParameters(frozen);
    expect(back.every((p) => p instanceof Parameter)).toBe(true);
    expect(back.map((p) => p.name)).toEqual(["keep", "freeze.me"]);
    value.dataArray.dispose();
  });

  it("parameter rewrites rebuild only the ancestors of rewritten parameters", () => {
    const value = nx.ones({ a: 2 });
    const untouched = { settings: [1, 2], other: new Parameter({ value, name: "keep" }) };
    const model = { untouched, target: [new Parameter({ value, name: "freeze.me" })] };
    const frozen = freezeParameters(model, (name) => name.startsWith("freeze"));
    expect(frozen.untouched).toBe(untouched);
    expect(frozen.target[0]).toBeInstanceOf(FrozenParameter);
    expect(freezeParameters(model, () => false)).toBe(model);
    expect(addParameterPrefix("p", untouched).settings).toBe(untouched.settings);
    expect(parameterNames(model)).toEqual(["freeze.me", "keep"]); // object keys in sorted order
    value.dataArray.dispose();
  });

  it("initializeWithValue checks shape, and dtype unless strictDtype is false", () => {
    const p = new UninitializedParameter({
      initializer: () => nx.zeros({ a: 2 }),
      name: "loaded",
      valueStructure: new ArraySpec({ namedShape: { a: 2 }, dtype: "float32" }),
    });
    const ints = nx.wrap(tf.tensor1d([1, 2], "int32"), "a");
    expect(() => p.initializeWithValue(ints)).toThrow(StructureMismatchError);
    const loaded = p.initializeWithValue(ints, { strictDtype: false });
    expect(loaded).toBeInstanceOf(Parameter);
    expect(loaded.name).toBe("loaded");
    const wrongShape = nx.zeros({ a: 3 });
    expect(() => p.initializeWithValue(wrongShape, { strictDtype: false })).toThrow(/loaded/);
    expect(p.initializeWithValue(wrongShape, { checkStructure: false }).value).toBe(wrongShape);
    ints.dataArray.dispose();
    wrongShape.dataArray.dispose();
  });

  it("initialize checks the value against the declared structure", () => {
    const p = new UninitializedParameter({
      initializer: () => nx.zeros({ a: 3 }),
      name: "wrong",
      valueStructure: new ArraySpec({ namedShape: { a: 2 }, dtype: "float32" }),
    });
    const before = tf.memory().numTensors;
    expect(() => p.initialize(random.key(0))).toThrow(StructureMismatchError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("asEmptyParameter gives a Parameter of the same name holding shapes and dtypes, no tensors", () => {
    const structure = {
      weights: new ArraySpec({ shape: [3, 4], dtype: "float32" }),
      extras: [new ArraySpec({ shape: [2], dtype: "int32" }), "note"],
    };
    const p = new UninitializedParameter({
      initializer: () => {
        throw new Error("asEmptyParameter must not run the initializer");
      },
      name: "block.weights",
      valueStructure: structure,
    });
    const before = tf.memory().numTensors;
    const empty = p.asEmptyParameter();
    expect(tf.memory().numTensors).toBe(before);
    expect(empty).toBeInstanceOf(Parameter);
    expect(empty.name).toBe("block.weights");
    expect(empty.value).toEqual({
      weights: new ShapeDtypeStruct([3, 4], "float32"),
      extras: [new ShapeDtypeStruct([2], "int32"), "note"],
    });
    expect(String(empty.value.weights)).toBe("ShapeDtypeStruct(shape=(3, 4), dtype=float32)");
    // The empty value matches the structure the real value must have.
    expect(() => checkStructure(empty.value, structure)).not.toThrow();
  });

  it("asEmptyParameter keeps named axes: a Linear's weights become a ShapeDtypeStruct with its named shape", () => {
    const linear = Linear.fromConfig({ features: 3 }, { hidden: 4 }) as Linear;
    const placeholder = linear.weights as UninitializedParameter;
    const before = tf.memory().numTensors;
    const empty = placeholder.asEmptyParameter();
    expect(tf.memory().numTensors).toBe(before);
    expect(empty.name).toBe("weights");
    expect(empty.value).toEqual(new ShapeDtypeStruct([], "float32", { features: 3, hidden: 4 }));
    expect(empty.value.dataShape).toEqual([3, 4]);
    // The empty value has the structure the initialized weights will have.
    expect(() => checkStructure(empty.value, placeholder.valueStructure)).not.toThrow();
  });

  it("asEmptyParameter refuses a structure with variable dimensions, naming the spec", () => {
    const p = new UninitializedParameter({
      initializer: () => tf.zeros([2]),
      name: "open",
      valueStructure: new ArraySpec({ shape: [dimVar("n")], dtype: "float32" }),
    });
    expect(() => p.asEmptyParameter()).toThrow(ArraySpecError);
    expect(() => p.asEmptyParameter()).toThrow(/variable dimensions/);
  });
});
