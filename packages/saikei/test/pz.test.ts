import * as tf from "@tensorflow/tfjs-core";
import { pz } from "saikei";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";

class Point extends pz.Struct.define({
  x: pz.field<number>(),
  y: pz.field<number>(),
  label: pz.field<string>({ static: true }),
}) {
  norm() {
    return Math.hypot(this.x, this.y);
  }
}

describe("import { pz } from 'saikei'", () => {
  beforeAll(async () => {
    await pz.ready();
  });

  it("gives the struct core and tree utilities", () => {
    const p = new Point({ x: 3, y: 4, label: "p" });
    expect(p.norm()).toBe(5);
    const [pairs] = pz.tree.flattenWithPath(p);
    expect(pairs.map(([path, leaf]) => [pz.tree.keystr(path), leaf])).toEqual([
      [".x", 3],
      [".y", 4],
    ]);
    expectTypeOf(p.label).toEqualTypeOf<string>();
  });

  it("gives selections that rebuild struct instances", () => {
    const p = new Point({ x: 3, y: 4, label: "p" });
    const moved = pz
      .select(p)
      .at((q) => q.x)
      .set(6);
    expect(moved).toBeInstanceOf(Point);
    expect(moved.norm()).toBeCloseTo(Math.hypot(6, 4), 12);
    expect(p.x).toBe(3);
  });

  it("gives named axes, random keys, shape checks, effects, nn and treescope", () => {
    const a = pz.nx
      .wrap(
        tf.tensor2d([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      )
      .tag("batch", "features");
    expect(a.namedShape).toEqual({ batch: 2, features: 3 });
    const summed = a.sum("features");
    expect(Array.from(summed.unwrap("batch").dataSync())).toEqual([6, 15]);
    expect(pz.random.key(0)).toBeInstanceOf(pz.random.RandomKey);
    expect(typeof pz.chk.checkStructure).toBe("function");
    expect(typeof pz.de.WithSideInputsFromInputTuple.handling).toBe("function");
    expect(typeof pz.nn.Linear.fromConfig).toBe("function");
    expect(pz.ts.renderToText(new Point({ x: 1, y: 2, label: "q" }))).toContain("Point(");
    summed.dataArray.dispose();
    a.dataArray.dispose();
  });

  it("gives jit at the top, for layers as for functions", () => {
    const layer = pz.nn.initializeParameters(
      pz.nn.Linear.fromConfig({ features: 4 }, { out: 2 }),
      pz.random.key(0),
    );
    const call = pz.jit((l: typeof layer, x: pz.NamedArray): pz.NamedArray => l.call(x));
    const x = pz.nx.wrap(tf.ones([3, 4])).tag("batch", "features");
    const first = call(layer, x);
    const again = call(layer, x);
    expect(again.namedShape).toEqual({ batch: 3, out: 2 });
    expect(Array.from(again.unwrap("batch", "out").dataSync())).toEqual(
      Array.from(first.unwrap("batch", "out").dataSync()),
    );
    expect(call.stats).toMatchObject({ traces: 1, replays: 1 });
    expectTypeOf(call).toEqualTypeOf<pz.Jitted<[typeof layer, pz.NamedArray], pz.NamedArray>>();
    call.dispose();
    tf.dispose([x.dataArray, first.dataArray, again.dataArray]);
  });
});
