import { ready } from "@saikei/named";
import { UnknownOptionError } from "@saikei/struct";
import {
  ArrayInputError,
  displayTokens,
  RenderOptionError,
  renderTokens,
  tokensText,
} from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

beforeAll(async () => {
  await ready();
});

const VOCABULARY = ["<pad>", " the", " cat", "\n", ""];

/** The boxes of a rendering: class, inline style, tooltip and content. */
function boxes(html: string): { style: string; tip: string; text: string; digits: boolean }[] {
  return [
    ...html.matchAll(
      /<span class="skts-token( skts-digits)?"(?: style="([^"]*)")? data-tip="([^"]*)" title="[^"]*">(.*?)<\/span>(?=<span class="skts-token|<\/div>)/g,
    ),
  ].map((m) => ({ digits: m[1] !== undefined, style: m[2] ?? "", tip: m[3]!, text: m[4]! }));
}

describe("renderTokens", () => {
  it("shows each token's text from a vocabulary, with its position and id on hover", () => {
    const html = renderTokens([1, 2, 3, 4], { vocabulary: VOCABULARY, fragment: true });
    expect(boxes(html)).toEqual([
      { digits: false, style: "", tip: "[0] id 1 &#34; the&#34;", text: " the" },
      { digits: false, style: "", tip: "[1] id 2 &#34; cat&#34;", text: " cat" },
      { digits: false, style: "", tip: "[2] id 3 &#34;\u21b5&#34;", text: "\u21b5" },
      {
        digits: false,
        style: "",
        tip: "[3] id 4 &#34;&#34;",
        text: '<span class="skts-empty">\u2205</span>',
      },
    ]);
  });

  it("decodes with anything that has decode(ids), one id at a time", () => {
    const calls: number[][] = [];
    const tokenizer = {
      decode(ids: number[]) {
        calls.push(ids);
        return ids.map((i) => String.fromCharCode(97 + i)).join("");
      },
    };
    const html = renderTokens(tf.tensor1d([0, 2], "int32"), { tokenizer, fragment: true });
    expect(calls).toEqual([[0], [2]]);
    expect(boxes(html).map((b) => b.text)).toEqual(["a", "c"]);
  });

  it("colours boxes by score, with readable text and the score on hover", () => {
    const html = renderTokens([[1, 2]], {
      vocabulary: VOCABULARY,
      scores: [[0, 1]],
      fragment: true,
    });
    // sequential from 0 to 1: the first and last colours of the map, white text on the dark one
    expect(boxes(html).map((b) => [b.style, b.tip])).toEqual([
      ["background:rgb(68,1,84);color:rgb(255,255,255)", "[0, 0] id 1 &#34; the&#34; score 0"],
      ["background:rgb(253,231,37);color:rgb(0,0,0)", "[0, 1] id 2 &#34; cat&#34; score 1"],
    ]);
    expect(html).toContain(
      '<div class="skts-tokens-legend">score <span class="skts-number">0</span>',
    );
    const diverging = renderTokens([1, 2], { scores: [-2, 1], around: 0, fragment: true });
    // limits -2..2: -2 is the first colour of the diverging map
    expect(boxes(diverging)[0]!.style).toBe("background:rgb(5,48,97);color:rgb(255,255,255)");
  });

  it("shows ids as digit boxes without a tokenizer or vocabulary, one line per sequence", () => {
    const html = renderTokens(
      [
        [12, 345],
        [6, 7],
      ],
      { fragment: true },
    );
    expect(boxes(html).map((b) => [b.digits, b.text, b.tip])).toEqual([
      [true, "12", "[0, 0] id 12"],
      [true, "345", "[0, 1] id 345"],
      [true, "6", "[1, 0] id 6"],
      [true, "7", "[1, 1] id 7"],
    ]);
    expect(html.match(/class="skts-tokens-line"/g)).toHaveLength(2);
  });

  it("escapes token texts: markup shows as text and control characters as escapes", () => {
    const html = renderTokens([0, 1], {
      vocabulary: ["</script><img src=x onerror=alert(1)>", "a\u202eb\x1b[2J"],
    });
    expect(html).not.toContain("<img");
    expect(html).not.toContain("\u202e");
    expect(html).not.toContain("\x1b");
    expect(boxes(html).map((b) => b.text)).toEqual([
      "&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;",
      "a\\u202eb\\x1b[2J",
    ]);
    expect(html).toContain("default-src 'none'");
  });

  it("rejects ids, scores and vocabularies it cannot show, saying how to fix them", () => {
    expect(() => renderTokens([1.5])).toThrow(ArrayInputError);
    expect(() => renderTokens([1.5])).toThrow(
      "renderTokens: token 0 is 1.5, not a token id (a whole number from 0). Pass integer ids, " +
        "e.g. the int32 output of a tokenizer or of argMax.",
    );
    expect(() => renderTokens([[[1]]])).toThrow(/must be a 1-D sequence or a 2-D batch/);
    expect(() => renderTokens([1, 2], { scores: [1] })).toThrow(
      "renderTokens: scores have shape [1] but ids have [2]. Pass one score per token.",
    );
    expect(() => renderTokens([9], { vocabulary: VOCABULARY })).toThrow(
      "renderTokens option `vocabulary`: token 0 has id 9, which the vocabulary has no text for. " +
        "Pass a vocabulary that covers every id, or a tokenizer.",
    );
    expect(() =>
      renderTokens([1], { vocabulary: VOCABULARY, tokenizer: { decode: () => "" } }),
    ).toThrow(RenderOptionError);
    expect(() => renderTokens([1], { tokenizer: {} as never })).toThrow(
      /has no decode\(ids\) method/,
    );
    expect(() =>
      renderTokens([1], {
        tokenizer: {
          decode() {
            throw new Error("unknown id");
          },
        },
      }),
    ).toThrow("renderTokens option `tokenizer`: decode([1]) threw Error: unknown id.");
    expect(() => renderTokens([1], { score: [1] } as never)).toThrow(UnknownOptionError);
  });

  it("reads tensors without disposing them or leaking", () => {
    const ids = tf.tensor2d([[1, 2]], [1, 2], "int32");
    const scores = tf.tensor2d([[0.5, 0.25]]);
    const before = tf.memory().numTensors;
    renderTokens(ids, { scores, vocabulary: VOCABULARY });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, scores]);
  });

  it("prints the tokens between bars where HTML cannot be shown", () => {
    expect(tokensText([1, 2, 3], { vocabulary: VOCABULARY })).toBe("| the| cat|\u21b5|");
    const lines: string[] = [];
    displayTokens([[4, 5]], { write: (t) => lines.push(t) });
    expect(lines).toEqual(["|4|5|"]);
  });
});
