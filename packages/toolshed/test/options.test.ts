/**
 * Every function of the package that takes an options object rejects keys it does not know.
 */
import { ready } from "@saikei/named";
import { Linear } from "@saikei/nn";
import { select } from "@saikei/select";
import { UnknownOptionError } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  adam,
  adamw,
  buildTrainStepFn,
  checkLayer,
  LowRankAdapter,
  loadParameters,
  loadSafetensors,
  loraifyLinearsInSelection,
  saveParameters,
  saveSafetensors,
  sgd,
} from "../src/index.js";

let baseline = 0;
beforeAll(async () => {
  await ready();
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

const linear = () => Linear.fromConfig({ features: 3 }, { out: 2 }) as Linear;
const noLoss = () => [tf.scalar(0), null, null] as never;

/** [function, allowed keys, call with one unknown key added]. */
const table: [string, string[], (bad: Record<string, unknown>) => unknown][] = [
  ["checkLayer", ["argument", "initialize"], (bad) => checkLayer(linear(), bad)],
  [
    "LowRankAdapter.fromLinear",
    ["rank", "name", "lowrankAxis"],
    (bad) => LowRankAdapter.fromLinear(linear(), { rank: 1, name: "a", ...bad }),
  ],
  [
    "loraifyLinearsInSelection",
    ["lowrankAxis"],
    (bad) => loraifyLinearsInSelection(select(linear()), 1, bad),
  ],
  ["sgd", ["learningRate", "momentum", "nesterov"], (bad) => sgd({ learningRate: 0.1, ...bad })],
  ["adam", ["learningRate", "b1", "b2", "eps"], (bad) => adam({ learningRate: 0.1, ...bad })],
  [
    "adamw",
    ["learningRate", "b1", "b2", "eps", "weightDecay", "mask"],
    (bad) => adamw({ learningRate: 0.1, ...bad }),
  ],
  ["buildTrainStepFn", ["donateParamsAndState"], (bad) => buildTrainStepFn(noLoss, bad)],
  ["saveSafetensors", ["metadata", "nameOf"], (bad) => saveSafetensors({}, bad)],
  ["loadSafetensors", ["strict", "nameOf"], (bad) => loadSafetensors(new Uint8Array(), {}, bad)],
  ["saveParameters", ["metadata", "frozen"], (bad) => saveParameters(linear(), bad)],
  ["loadParameters", ["strict", "frozen"], (bad) => loadParameters({}, linear(), bad)],
];

describe("an unknown option is an UnknownOptionError naming the allowed keys", () => {
  for (const [where, allowed, call] of table) {
    it(where, () => {
      expect(() => call({ learning_rate: 0.1 })).toThrow(UnknownOptionError);
      expect(() => call({ learning_rate: 0.1 })).toThrow(
        `${where}: unknown option "learning_rate". Allowed options: ${allowed.join(", ")}.`,
      );
    });
  }
});
