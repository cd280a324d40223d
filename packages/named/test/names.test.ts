import { structure } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AxisNameError, NamedArray, nameRecord, nx, ready } from "../src/index.js";
import { values } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const objectProtoNames = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectProtoNames);
});

const PROTO_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"];

describe("axis names that are Object.prototype members are ordinary names", () => {
  it.each(PROTO_NAMES)("wrap, namedShape, untag and sum keep the axis %s", (name) => {
    const x = nx.wrap(
      tf.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      name,
      "b",
    );
    expect(Object.keys(x.namedShape).sort()).toEqual([name, "b"].sort());
    expect(Object.getOwnPropertyDescriptor(x.namedShape, name)!.value).toBe(2);
    expect(x.positionalShape).toEqual([]);
    expect(values(x.unwrap(name, "b"))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const summed = x.sum(name);
    expect(Object.keys(summed.namedShape)).toEqual(["b"]);
    expect(values(summed.unwrap("b"))).toEqual([5, 7, 9]);
    // A name absent from the array is absent, even if Object.prototype has it.
    const other = nx.wrap(tf.tensor([1, 2]), "b");
    expect(() => other.untag(name)).toThrow(AxisNameError);
  });

  it("elementwise ops and transposition match names such as constructor", () => {
    const a = nx.wrap(tf.tensor([[1, 2]]), "constructor", "__proto__");
    const b = nx.wrap(tf.tensor([[10], [20]]), "__proto__", "constructor");
    const sum = a.add(b);
    expect(values(sum.unwrap("constructor", "__proto__"))).toEqual([[11, 22]]);
  });

  it("a NamedArray built from prototype-free records has the structure of one built from a literal", () => {
    const data = tf.zeros([2]);
    const literal = new NamedArray({ namedAxes: { a: 2 }, dataArray: data });
    const fromOps = nx.wrap(data, "a");
    expect(structure(literal).equals(structure(fromOps))).toBe(true);
  });

  it("nameRecord has no prototype and copies own entries", () => {
    const r = nameRecord(JSON.parse('{"__proto__": 3}') as Record<string, number>, { a: 1 });
    expect(Object.getPrototypeOf(r)).toBe(null);
    expect(Object.keys(r)).toEqual(["__proto__", "a"]);
    expect(r.__proto__).toBe(3);
  });
});

describe("empty and non-string axis names", () => {
  it("the empty name is rejected with AxisNameError", () => {
    expect(() => nx.wrap(tf.zeros([2]), "")).toThrow(
      /tag: the empty string is not an axis name\. Give every axis a non-empty name/,
    );
    expect(() => nx.zeros({ "": 2 })).toThrow(AxisNameError);
    expect(() => nx.wrap(tf.zeros([2]), 3 as never)).toThrow(AxisNameError);
  });
});
