import { type NamedArray, nx, random, ready } from "@saikei/named";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  addParameterPrefix,
  FrozenParameter,
  freezeParameters,
  Linear,
  Parameter,
  parameterNames,
  RenameAxes,
  Softmax,
  unfreezeParameters,
} from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const axisName = fc.constantFrom("a", "b", "c", "d");

describe("laws", () => {
  it("renaming axes and renaming them back is the identity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), (m, n) => {
        const x = nx.wrap(random.normal(random.key(m * 10 + n), [m, n]), "a", "b");
        const there = new RenameAxes({ old: ["a", "b"], new: ["p", "q"] }).call(x);
        const back = new RenameAxes({ old: ["p", "q"], new: ["a", "b"] }).call(there);
        expect(back.namedShape).toEqual(x.namedShape);
        expect(values(back, "a", "b")).toEqual(values(x, "a", "b"));
        x.dataArray.dispose();
      }),
      { numRuns: 20 },
    );
  });

  it("addParameterPrefix composes: prefix(p, prefix(q, m)) names are p.q.name", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 5 }),
        fc.string({ minLength: 1, maxLength: 5 }),
        (p, q) => {
          const model = Linear.fromConfig({ a: 2 }, { b: 3 });
          expect(parameterNames(addParameterPrefix(p, addParameterPrefix(q, model)))).toEqual([
            `${p}.${q}.weights`,
          ]);
          expect(parameterNames(addParameterPrefix(p, model, "/"))).toEqual([`${p}/weights`]);
        },
      ),
    );
  });

  it("freezing then unfreezing restores every parameter; freezing is idempotent", () => {
    const value = nx.zeros({ a: 1 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.boolean()), { maxLength: 6 }),
        (specs) => {
          const params = specs.map(([name, frozen]) =>
            frozen ? new FrozenParameter({ value, name }) : new Parameter({ value, name }),
          );
          const frozen = freezeParameters(params);
          expect(frozen.every((p) => p instanceof FrozenParameter)).toBe(true);
          expect(freezeParameters(frozen)).toEqual(frozen);
          const thawed = unfreezeParameters(frozen);
          expect(thawed.every((p) => p instanceof Parameter)).toBe(true);
          expect(thawed.map((p) => p.name)).toEqual(specs.map(([name]) => name));
        },
      ),
    );
    value.dataArray.dispose();
  });

  it("softmax over any subset of axes sums to one over those axes", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(axisName, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 100 }),
        (axes, seed) => {
          tf.tidy(() => {
            const x = nx.wrap(random.normal(random.key(seed), [2, 3, 2, 2]), "a", "b", "c", "d");
            const y = new Softmax({ axes }).call(x) as NamedArray;
            const total = (y as any).sum(axes) as NamedArray;
            for (const v of Array.from(total.dataArray.dataSync())) expect(v).toBeCloseTo(1, 5);
          });
        },
      ),
      { numRuns: 20 },
    );
  });
});
