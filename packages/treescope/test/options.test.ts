/** Every function of the package that takes an options object rejects keys it does not know. */
import { UnknownOptionError } from "@saikei/struct";
import { describe, expect, it } from "vitest";
import { display, renderArray, renderToHTML, renderTokens, renderToText } from "../src/index.js";

/** [function, allowed keys (a prefix of the message's list), call with one unknown key added]. */
const table: [string, string, (bad: Record<string, unknown>) => unknown][] = [
  [
    "renderToHTML",
    "fragment, theme, expandDepth, highlight, reveal, id, title, arrayViewValues",
    (bad) => renderToHTML({ a: 1 }, bad),
  ],
  [
    "renderToText",
    "multiline, color, width, arraySummaries, highlight",
    (bad) => renderToText({ a: 1 }, bad),
  ],
  [
    "display",
    "theme, expandDepth, highlight, reveal, target, write",
    (bad) => display({ a: 1 }, { write: () => {}, ...bad }),
  ],
  ["renderArray", "", (bad) => renderArray([1, 2], bad)],
  ["renderTokens", "", (bad) => renderTokens([1, 2], bad)],
];

describe("an unknown option is an UnknownOptionError naming the allowed keys", () => {
  for (const [where, allowed, call] of table) {
    it(where, () => {
      expect(() => call({ exapndDepth: 3 })).toThrow(UnknownOptionError);
      expect(() => call({ exapndDepth: 3 })).toThrow(
        `${where}: unknown option "exapndDepth". Allowed options: ${allowed}`,
      );
    });
  }
});
