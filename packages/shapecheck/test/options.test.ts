/** Every function of the package that takes an options object rejects keys it does not know. */
import { UnknownOptionError } from "@saikei/struct";
import { describe, expect, it } from "vitest";
import {
  ArraySpec,
  checkStructure,
  checkStructureEither,
  DimensionVariableSubstitution,
  var as dim,
} from "../src/index.js";

const spec = new ArraySpec({ shape: [2] });
const value = { shape: [2], dtype: "float32" };

/** [label, `where` in the message, allowed keys, call with one unknown key added]. */
const table: [string, string, string[], (bad: Record<string, unknown>) => unknown][] = [
  [
    "checkStructure",
    "checkStructure",
    ["knownVars", "errorPrefix"],
    (bad) => checkStructure(value, spec, bad),
  ],
  [
    "checkStructureEither",
    "checkStructure",
    ["knownVars", "errorPrefix"],
    (bad) => checkStructureEither(value, spec, bad),
  ],
  [
    "DimensionVariableSubstitution",
    "new DimensionVariableSubstitution",
    ["sizeVariables", "sequenceVariables", "mappingVariables"],
    (bad) => new DimensionVariableSubstitution(bad),
  ],
];

describe("an unknown option is an UnknownOptionError naming the allowed keys", () => {
  for (const [label, where, allowed, call] of table) {
    it(label, () => {
      expect(() => call({ errorPrefx: "typo" })).toThrow(UnknownOptionError);
      expect(() => call({ errorPrefx: "typo" })).toThrow(
        `${where}: unknown option "errorPrefx". Allowed options: ${allowed.join(", ")}.`,
      );
    });
  }

  it("known options still work", () => {
    const known = checkStructure(value, new ArraySpec({ shape: [dim("n")] }), {
      knownVars: { m: 3 },
    });
    expect(known.dim("n")).toBe(2);
    expect(known.dim("m")).toBe(3);
  });
});
