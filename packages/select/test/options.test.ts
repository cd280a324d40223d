import { UnknownOptionError } from "@saikei/struct";
import { describe, expect, it } from "vitest";
import { type Selection, select } from "../src/index.js";

const tree = { a: 1, b: [2, 3] };
const numbers = (): Selection<number, typeof tree> => select(tree).atInstancesOf(Number);
const elements = () => select(tree).at((t) => t.b[0]!);

/** Each method that takes options, called with one misspelled key, and the keys it allows. */
const cases: [string, (bad: never) => unknown, string][] = [
  ["Selection.apply", (bad) => numbers().apply((x) => x, bad), "keepSelected, withKeypath"],
  [
    "Selection.applyWithSelectedIndex",
    (bad) => numbers().applyWithSelectedIndex((_, x) => x, bad),
    "keepSelected",
  ],
  ["Selection.at", (bad) => select(tree).at((t) => t.a, bad), "multiple"],
  ["Selection.where", (bad) => numbers().where(() => true, bad), "withKeypath"],
  ["Selection.atInstancesOf", (bad) => select(tree).atInstancesOf(Number, bad), "innermost"],
  [
    "Selection.atSubtreesWhere",
    (bad) => select(tree).atSubtreesWhere(() => false, bad),
    "innermost, absoluteKeypath, withKeypath",
  ],
  ["Selection.partition", (bad) => numbers().partition(bad), "atLeaves"],
  ["Selection.applyAndInline", (bad) => elements().applyAndInline((x) => [x], bad), "withKeypath"],
  ["Selection.insertAfter", (bad) => elements().insertAfter(0, bad), "andSelect"],
  ["Selection.insertBefore", (bad) => elements().insertBefore(0, bad), "andSelect"],
];

describe("options are checked, never ignored", () => {
  it.each(cases)("%s rejects an unknown key, naming the allowed ones", (where, call, allowed) => {
    const bad = { withKeyPath: true } as never;
    expect(() => call(bad)).toThrow(UnknownOptionError);
    expect(() => call(bad)).toThrow(
      `${where}: unknown option "withKeyPath". Allowed options: ${allowed}.`,
    );
  });

  it("known keys still work: insertAfter with andSelect selects the inserted values", () => {
    expect(elements().insertAfter(0, { andSelect: true }).getSequence()).toEqual([0]);
    expect(
      numbers()
        .apply((x) => x + 1, { keepSelected: true })
        .getSequence(),
    ).toEqual([2, 3, 4]);
  });
});
