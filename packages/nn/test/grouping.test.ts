import { Layer } from "@saikei/layer";
import { nx, ready } from "@saikei/named";
import { ArraySpec, StructureMismatchError } from "@saikei/shapecheck";
import { field, tree } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  Affine,
  BranchAndAddTogether,
  BranchAndMultiplyTogether,
  CheckedSequential,
  CheckStructure,
  EmptyBranchesError,
  Identity,
  inlineAnonymousSequentials,
  inlineGroups,
  isAnonymousSequential,
  isSequentialOrNamed,
  LayerNorm,
  NamedGroup,
  Residual,
  Sequential,
  UnsupportedValueError,
} from "../src/index.js";

beforeAll(async () => {
  await ready();
});

class AddN extends Layer.define({ n: field<number>({ static: true }) }) {
  call(x: number): number {
    return x + this.n;
  }
}

describe("Sequential and NamedGroup", () => {
  it("run sublayers in order, layers and functions alike", () => {
    const seq = new Sequential({
      sublayers: [new AddN({ n: 1 }), (x: number) => x * 10, new AddN({ n: 2 })],
    });
    expect(seq.call(3)).toBe(42);
    expect(new NamedGroup({ name: "g", sublayers: [(x: number) => x - 1] }).call(3)).toBe(2);
    expect(new Sequential({ sublayers: [] }).call(7)).toBe(7);
  });

  it("releases the tensors made between sublayers and keeps the result", () => {
    const x = nx.ones({ a: 4 });
    const before = tf.memory().numTensors;
    const seq = new Sequential({
      sublayers: [(v: any) => v.add(1), (v: any) => v.mul(3), (v: any) => v.sub(1)],
    });
    const y = seq.call(x);
    expect(Array.from(y.dataArray.dataSync())).toEqual([5, 5, 5, 5]);
    expect(tf.memory().numTensors).toBe(before + 1);
    y.dataArray.dispose();
    x.dataArray.dispose();
  });

  it("colours exact Sequentials and groups grey", () => {
    expect(new Sequential({ sublayers: [] }).treescopeColor()).toBe("#cdcdcd");
    expect(new NamedGroup({ name: "g", sublayers: [] }).treescopeColor()).toBe("#cdcdcd");
    expect(new Affine({ sublayers: [] }).treescopeColor()).toBeUndefined();
  });
});

describe("CheckedSequential and CheckStructure", () => {
  it("check the argument against the declared structure and name the layer", () => {
    const spec = new ArraySpec({ namedShape: { features: 4 } });
    const seq = new CheckedSequential({ inputLike: spec, outputLike: spec, sublayers: [] });
    const ok = nx.ones({ features: 4 });
    expect(seq.call(ok)).toBe(ok);
    const bad = nx.ones({ features: 3 });
    expect(() => seq.call(bad)).toThrow(StructureMismatchError);
    expect(() => seq.call(bad)).toThrow(/CheckedSequential/);
    expect(() => new CheckStructure({ expected: spec }).call(bad)).toThrow(
      /CheckStructure[\s\S]*features/,
    );
    expect(new CheckStructure({ expected: spec }).call(ok)).toBe(ok);
    ok.dataArray.dispose();
    bad.dataArray.dispose();
  });
});

describe("Identity and combinators", () => {
  it("Identity returns its argument", () => {
    const value = { a: 1 };
    expect(new Identity().call(value)).toBe(value);
  });

  it("Identity and CheckStructure return their argument's type; combinators return any", () => {
    const x = nx.zeros({ seq: 3 });
    expectTypeOf(new Identity().call(x)).toEqualTypeOf(x);
    expectTypeOf(
      new CheckStructure({ expected: new ArraySpec({}) }).call(5),
    ).toEqualTypeOf<number>();
    expectTypeOf(new Sequential({ sublayers: [] }).call(x)).toBeAny();
    x.dataArray.dispose();
  });

  it("Residual adds the input back; branches add or multiply left to right", () => {
    expect(new Residual({ delta: (x: number) => 10 * x }).call(2)).toBe(22);
    expect(
      new BranchAndAddTogether({
        branches: [(x: number) => x, (x: number) => 2 * x, () => 1],
      }).call(3),
    ).toBe(10);
    expect(
      new BranchAndMultiplyTogether({ branches: [(x: number) => x, (x: number) => x + 1] }).call(3),
    ).toBe(12);
  });

  it("combine named arrays by axis name", () => {
    const x = nx.wrap(tf.tensor1d([1, 2, 3]), "a");
    const y = new BranchAndMultiplyTogether({
      branches: [(v: any) => v, (v: any) => v.add(1)],
    }).call(x);
    expect(Array.from(y.dataArray.dataSync())).toEqual([2, 6, 12]);
    const r = new Residual({ delta: (v: any) => v.mul(2) }).call(x);
    expect(Array.from(r.dataArray.dataSync())).toEqual([3, 6, 9]);
    for (const t of [x, y, r]) t.dataArray.dispose();
  });

  it("reject empty branch lists and values that cannot be combined", () => {
    expect(() => new BranchAndAddTogether({ branches: [] })).toThrow(EmptyBranchesError);
    expect(() => new BranchAndMultiplyTogether({ branches: [] })).toThrow(/at least one branch/);
    expect(() => new Residual({ delta: () => "text" }).call(1)).toThrow(UnsupportedValueError);
  });

  it("Residual obeys residual(x) = delta(x) + x for numbers", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -50, max: 50 }),
        (x, k) => {
          expect(new Residual({ delta: (v: number) => k * v }).call(x)).toBe(k * x + x);
        },
      ),
    );
  });
});

describe("grouping helpers", () => {
  const f = (x: number) => x + 1;
  const g = (x: number) => x * 2;
  const h = (x: number) => x - 3;

  it("classify groups", () => {
    expect(isSequentialOrNamed(new Sequential({ sublayers: [] }))).toBe(true);
    expect(isSequentialOrNamed(new NamedGroup({ name: "n", sublayers: [] }))).toBe(true);
    expect(isSequentialOrNamed(new LayerNorm({ sublayers: [] }))).toBe(true);
    expect(isSequentialOrNamed(new Identity())).toBe(false);
    expect(isAnonymousSequential(new Sequential({ sublayers: [] }))).toBe(true);
    expect(isAnonymousSequential(new LayerNorm({ sublayers: [] }))).toBe(false);
    expect(isAnonymousSequential(new NamedGroup({ name: "n", sublayers: [] }))).toBe(false);
  });

  it("inlineAnonymousSequentials flattens nested anonymous Sequentials bottom-up, keeping the parent class", () => {
    const nested = new NamedGroup({
      name: "outer",
      sublayers: [new Sequential({ sublayers: [f, new Sequential({ sublayers: [g] })] }), h],
    });
    const flat = inlineAnonymousSequentials(nested);
    expect(flat).toBeInstanceOf(NamedGroup);
    expect(flat.name).toBe("outer");
    expect(flat.sublayers).toEqual([f, g, h]);
    expect(flat.call(5)).toBe(nested.call(5));
  });

  it("inlines groups anywhere in a tree of plain containers, leaving leaves as they are", () => {
    const inner = new Sequential({ sublayers: [new Sequential({ sublayers: [f] }), g] });
    const out = inlineAnonymousSequentials({ models: [inner, h], note: 3 });
    expect(Object.keys(out)).toEqual(["models", "note"]);
    expect(out.note).toBe(3);
    expect(out.models[1]).toBe(h);
    expect(out.models[0]).toBeInstanceOf(Sequential);
    expect((out.models[0] as Sequential).sublayers).toEqual([f, g]);
    expect(inlineAnonymousSequentials(7)).toBe(7);
  });

  it("inlineGroups leaves subclasses and non-matching parents alone", () => {
    const norm = new LayerNorm({ sublayers: [f] });
    const tree1 = new Sequential({ sublayers: [norm, new Sequential({ sublayers: [g] })] });
    const onlyNamed = inlineGroups(
      tree1,
      (p) => p instanceof NamedGroup,
      () => true,
    );
    expect(onlyNamed.sublayers.length).toBe(2);
    const inlined = inlineAnonymousSequentials(tree1);
    expect(inlined.sublayers).toEqual([norm, g]);
  });

  it("inlining preserves the result of calling the model (property)", () => {
    const fns = [f, g, h];
    const arbTree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.integer({ min: 0, max: 2 }).map((i) => fns[i]!),
        fc
          .array(tie("node"), { maxLength: 3 })
          .map((subs) => new Sequential({ sublayers: subs as any })),
      ),
    })).node;
    fc.assert(
      fc.property(arbTree, fc.integer({ min: -20, max: 20 }), (model, x) => {
        const root = new Sequential({ sublayers: [model as any] });
        const flat = inlineAnonymousSequentials(root);
        expect(flat.call(x)).toBe(root.call(x));
        expect(flat.sublayers.every((s) => !isAnonymousSequential(s))).toBe(true);
      }),
    );
  });

  it("does not change the input tree", () => {
    const nested = new Sequential({ sublayers: [new Sequential({ sublayers: [f] })] });
    const [, before] = tree.flatten(nested);
    inlineAnonymousSequentials(nested);
    expect(tree.structure(nested).equals(before)).toBe(true);
  });
});
