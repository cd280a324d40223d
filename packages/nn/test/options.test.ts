import { nx, random, ready } from "@saikei/named";
import { ArraySpec } from "@saikei/shapecheck";
import { UnknownOptionError } from "@saikei/struct";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AddBias,
  Affine,
  Attention,
  attachSharedParameters,
  constantInitializer,
  EmbeddingTable,
  KVCachingAttention,
  LayerNorm,
  Linear,
  RMSLayerNorm,
  UninitializedParameter,
  varianceScalingInitializer,
  xavierUniformInitializer,
} from "../src/index.js";
import { expectNoLeakedTensors } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

expectNoLeakedTensors();

const attention = new Attention({
  inputToQuery: (x: unknown) => x,
  inputToKey: (x: unknown) => x,
  inputToValue: (x: unknown) => x,
  queryKeyToAttn: (x: unknown) => x,
  attnValueToOutput: (x: unknown) => x,
});
const parameter = new UninitializedParameter({
  initializer: () => nx.zeros({ a: 2 }),
  name: "p",
  valueStructure: new ArraySpec({ namedShape: { a: 2 }, dtype: "float32" }),
});
const axes = { inputAxes: { a: 2 }, outputAxes: { b: 3 } };
const uniform = { scale: 1, mode: "fan_in", distribution: "uniform" } as const;

/** Each function with an options object, called with one misspelled key, and its allowed keys. */
const cases: [string, (bad: never) => unknown, string][] = [
  [
    "Linear.fromConfig",
    (bad) => Linear.fromConfig({ a: 2 }, { b: 3 }, bad),
    "parallelAxes, parallelBroadcastAxes, initializer, dtype, renameOutputsIfNecessary",
  ],
  [
    "AddBias.fromConfig",
    (bad) => AddBias.fromConfig({ a: 2 }, bad),
    "newOutputAxes, initializer, dtype",
  ],
  [
    "Affine.fromConfig",
    (bad) => Affine.fromConfig({ a: 2 }, { b: 3 }, bad),
    "parallelAxes, parallelBroadcastAxes, dtype, renameOutputsIfNecessary, linearInitializer, biasInitializer",
  ],
  [
    "EmbeddingTable.fromConfig",
    (bad) => EmbeddingTable.fromConfig(5, { embedding: 4 }, bad),
    "vocabularyAxis, initializer, dtype",
  ],
  ["LayerNorm.fromConfig", (bad) => LayerNorm.fromConfig({ a: 2 }, bad), "epsilon, dtype"],
  ["RMSLayerNorm.fromConfig", (bad) => RMSLayerNorm.fromConfig({ a: 2 }, bad), "epsilon, dtype"],
  [
    "KVCachingAttention.fromUncached",
    (bad) =>
      KVCachingAttention.fromUncached(attention, {
        sequenceAxis: "seq",
        cacheLen: 4,
        cachedAxes: { batch: 1 },
        ...(bad as object),
      }),
    "sequenceAxis, cacheLen, cachedAxes, cacheEndIndexTag, stateCategory, cacheDtype",
  ],
  [
    "varianceScalingInitializer",
    (bad) => varianceScalingInitializer(random.key(0), axes, { ...uniform, ...(bad as object) }),
    "scale, mode, distribution",
  ],
  [
    "varianceScalingInitializer",
    (bad) => xavierUniformInitializer(random.key(0), { ...axes, ...(bad as object) }),
    "inputAxes, outputAxes, parallelAxes, convolutionSpatialAxes, dtype",
  ],
  [
    "constantInitializer",
    (bad) => constantInitializer(1)(random.key(0), { ...axes, ...(bad as object) }),
    "inputAxes, outputAxes, parallelAxes, convolutionSpatialAxes, dtype",
  ],
  [
    "UninitializedParameter.initializeWithValue",
    (bad) => parameter.initializeWithValue(undefined as never, bad),
    "checkStructure, strictDtype",
  ],
  ["attachSharedParameters", (bad) => attachSharedParameters(parameter, bad), "strict"],
];

describe("options objects are checked, never ignored", () => {
  it.each(cases)("%s rejects an unknown key, naming the allowed ones", (where, call, allowed) => {
    const bad = { dtpye: "float32" } as never;
    let thrown: unknown;
    try {
      call(bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnknownOptionError);
    expect((thrown as Error).message).toBe(
      `${where}: unknown option "dtpye". Allowed options: ${allowed}.`,
    );
  });
});
