import { describe, expect, it } from "vitest";
import {
  DictKey,
  FlattenedIndexKey,
  GetAttrKey,
  keyEquals,
  keyPathEquals,
  keystr,
  SequenceKey,
} from "../src/index.js";

describe("key path entries", () => {
  it("render like JAX's keys", () => {
    expect(String(new GetAttrKey("body"))).toBe(".body");
    expect(String(new SequenceKey(2))).toBe("[2]");
    expect(String(new DictKey("mask"))).toBe("['mask']");
    expect(String(new DictKey(1))).toBe("[1]");
    expect(String(new DictKey("it's"))).toBe(`["it's"]`);
    expect(String(new DictKey("a\\b"))).toBe("['a\\\\b']");
    expect(String(new DictKey("line\nbreak"))).toBe("['line\\nbreak']");
    expect(String(new FlattenedIndexKey(1))).toBe("[<flat index 1>]");
  });

  it("are frozen", () => {
    for (const key of [
      new GetAttrKey("a"),
      new SequenceKey(0),
      new DictKey("a"),
      new FlattenedIndexKey(0),
    ]) {
      expect(Object.isFrozen(key)).toBe(true);
    }
  });

  it("keyEquals compares kind and value", () => {
    expect(keyEquals(new DictKey("a"), new DictKey("a"))).toBe(true);
    expect(keyEquals(new DictKey("a"), new DictKey("b"))).toBe(false);
    expect(keyEquals(new DictKey("a"), new GetAttrKey("a"))).toBe(false);
    expect(keyEquals(new SequenceKey(1), new SequenceKey(1))).toBe(true);
    expect(keyEquals(new GetAttrKey("x"), new GetAttrKey("x"))).toBe(true);
    expect(keyEquals(new FlattenedIndexKey(3), new FlattenedIndexKey(3))).toBe(true);
    expect(keyEquals("foo", "foo")).toBe(true);
    expect(keyEquals("foo", new GetAttrKey("foo"))).toBe(false);
    expect(keyEquals(new DictKey(Number.NaN), new DictKey(Number.NaN))).toBe(true);
  });

  it("keyPathEquals compares step by step", () => {
    expect(
      keyPathEquals(
        [new GetAttrKey("a"), new SequenceKey(0)],
        [new GetAttrKey("a"), new SequenceKey(0)],
      ),
    ).toBe(true);
    expect(keyPathEquals([new GetAttrKey("a")], [new GetAttrKey("a"), new SequenceKey(0)])).toBe(
      false,
    );
    expect(keyPathEquals([], [])).toBe(true);
  });

  it("keystr concatenates the steps; the root path is empty", () => {
    expect(keystr([new GetAttrKey("body"), new SequenceKey(2), new DictKey("w")])).toBe(
      ".body[2]['w']",
    );
    expect(keystr([])).toBe("");
    expect(keystr(["foo", new SequenceKey(0)])).toBe("foo[0]");
  });
});
