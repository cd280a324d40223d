/**
 * The parts of the notebook runner that turn what tslab's kernel reports into nbformat outputs
 * and a stable file. Running notebooks through tslab itself is tested against the installed
 * packages, in test/installed/notebooks.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  htmlOutputs,
  lines,
  type Notebook,
  type NotebookRun,
  serializeNotebook,
  stableIds,
  toNotebookOutputs,
  withOutputs,
} from "../notebooks/runner.js";

const notebook = (): Notebook => ({
  cells: [
    { cell_type: "markdown", metadata: {}, source: ["# Title"] },
    { cell_type: "code", metadata: {}, source: ["const x = 1;\n", "console.log(x);"] },
    { cell_type: "code", metadata: {}, source: "console.log(x + 1);" },
  ],
  metadata: { kernelspec: { name: "tslab" } },
  nbformat: 4,
  nbformat_minor: 5,
});

describe("lines", () => {
  it("splits text as Jupyter stores it, each line keeping its newline", () => {
    expect(lines("a\nb\n")).toEqual(["a\n", "b\n"]);
    expect(lines("a\n\nb")).toEqual(["a\n", "\n", "b"]);
    expect(lines("")).toEqual([]);
  });
});

describe("toNotebookOutputs", () => {
  it("merges consecutive writes to one stream and keeps stdout and stderr apart, in order", () => {
    const outputs = toNotebookOutputs([
      { kind: "stream", name: "stdout", text: "one " },
      { kind: "stream", name: "stdout", text: "two\nthree\n" },
      { kind: "stream", name: "stderr", text: "oops\n" },
      { kind: "stream", name: "stdout", text: "four\n" },
    ]);
    expect(outputs).toEqual([
      { output_type: "stream", name: "stdout", text: ["one two\n", "three\n"] },
      { output_type: "stream", name: "stderr", text: ["oops\n"] },
      { output_type: "stream", name: "stdout", text: ["four\n"] },
    ]);
  });

  it("records display data with sorted MIME types, and applies display updates in place", () => {
    const outputs = toNotebookOutputs([
      {
        kind: "display",
        data: { "text/plain": "p", "text/html": "<b>1</b>\n<i>2</i>" },
        metadata: {},
        displayId: "d1",
        update: false,
      },
      { kind: "stream", name: "stdout", text: "between\n" },
      {
        kind: "display",
        data: { "text/html": "<b>3</b>" },
        metadata: {},
        displayId: "d1",
        update: true,
      },
    ]);
    expect(outputs).toEqual([
      { output_type: "display_data", data: { "text/html": ["<b>3</b>"] }, metadata: {} },
      { output_type: "stream", name: "stdout", text: ["between\n"] },
    ]);
    const first = toNotebookOutputs([
      {
        kind: "display",
        data: { "text/plain": "p", "text/html": "<b>1</b>\n<i>2</i>" },
        metadata: {},
        displayId: null,
        update: false,
      },
    ])[0]!;
    expect(Object.keys((first as { data: object }).data)).toEqual(["text/html", "text/plain"]);
    expect(first).toMatchObject({ data: { "text/html": ["<b>1</b>\n", "<i>2</i>"] } });
  });
});

describe("withOutputs and serializeNotebook", () => {
  const run: NotebookRun = {
    notebook: "t.ipynb",
    ok: true,
    failure: undefined,
    kernelOutput: "",
    versions: undefined,
    durationMs: 1,
    cells: [
      {
        codeIndex: 0,
        cellIndex: 1,
        source: "",
        status: "ok",
        executionCount: 1,
        outputs: [{ output_type: "stream", name: "stdout", text: ["1\n"] }],
        stdout: "1\n",
        stderr: "",
        durationMs: 1,
      },
    ],
  };

  it("stores each code cell's outputs and execution count; cells that did not run get none", () => {
    const stored = withOutputs(notebook(), run);
    expect(stored.cells[0]).toEqual(notebook().cells[0]);
    expect(stored.cells[1]).toMatchObject({
      execution_count: 1,
      outputs: [{ output_type: "stream", name: "stdout", text: ["1\n"] }],
    });
    expect(stored.cells[2]).toMatchObject({ execution_count: null, outputs: [] });
  });

  it("writes JSON as Jupyter does: sorted keys, one-space indentation, final newline", () => {
    const text = serializeNotebook(withOutputs(notebook(), run));
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",')).toBe(true);
    const keys = Object.keys(JSON.parse(text).cells[1]);
    expect(keys).toEqual(["cell_type", "execution_count", "metadata", "outputs", "source"]);
  });
});

describe("stableIds", () => {
  const html = (ids: string[]) =>
    ids.map((id) => `<div id="${id}"></div><script>f("${id}")</script>`).join("");
  const withHtml = (...outputs: string[]): Notebook => ({
    ...notebook(),
    cells: outputs.map((h) => ({
      cell_type: "code",
      metadata: {},
      source: "",
      outputs: [{ output_type: "display_data", data: { "text/html": [h] }, metadata: {} }],
    })),
  });

  it("replaces random treescope ids by ones derived from the notebook name and their order", () => {
    const a = "skts-0123456789abcdef";
    const b = "skts-fedcba9876543210";
    const once = stableIds(withHtml(html([a, b]), html([a])), "n.ipynb");
    const [first, second] = htmlOutputs(once).map((o) => o.html);
    const ids = [...new Set(first!.match(/skts-[0-9a-f]{16}/g))];
    expect(ids).toHaveLength(2);
    expect(ids).not.toContain(a);
    expect(ids).not.toContain(b);
    expect(second).toBe(html([ids[0]!]));
    // Other random ids in the same order give the same file; another notebook, other ids.
    const again = stableIds(
      withHtml(
        html(["skts-1111111111111111", "skts-2222222222222222"]),
        html(["skts-1111111111111111"]),
      ),
      "n.ipynb",
    );
    expect(again).toEqual(once);
    expect(stableIds(once, "n.ipynb")).toEqual(once);
    expect(htmlOutputs(stableIds(withHtml(html([a])), "m.ipynb"))[0]!.html).not.toContain(ids[0]);
  });
});
