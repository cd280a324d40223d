import { describe, expect, it } from "vitest";
import {
  canonicalizeDType,
  concreteDTypesOf,
  dtypes,
  isConcreteDType,
  isSubDType,
  UnknownDTypeError,
} from "../src/index.js";

describe("dtype lattice", () => {
  it("places tfjs dtypes under NumPy's abstract dtypes", () => {
    expect(isSubDType("float32", dtypes.floating)).toBe(true);
    expect(isSubDType("float32", dtypes.inexact)).toBe(true);
    expect(isSubDType("float32", dtypes.number)).toBe(true);
    expect(isSubDType("float32", dtypes.integer)).toBe(false);
    expect(isSubDType("int32", dtypes.signedinteger)).toBe(true);
    expect(isSubDType("int32", dtypes.unsignedinteger)).toBe(false);
    expect(isSubDType("uint8", dtypes.unsignedinteger)).toBe(true);
    expect(isSubDType("complex64", dtypes.complexfloating)).toBe(true);
    expect(isSubDType("complex64", dtypes.floating)).toBe(false);
    expect(isSubDType("bool", dtypes.number)).toBe(false);
    expect(isSubDType("bool", dtypes.bool)).toBe(true);
    expect(isSubDType("string", dtypes.character)).toBe(true);
    for (const d of ["float32", "int32", "bool", "complex64", "string"] as const) {
      expect(isSubDType(d, dtypes.generic)).toBe(true);
    }
  });

  it("orders abstract dtypes", () => {
    expect(isSubDType(dtypes.floating, dtypes.number)).toBe(true);
    expect(isSubDType(dtypes.number, dtypes.floating)).toBe(false);
    expect(isSubDType(dtypes.floating, "float32")).toBe(false);
  });

  it("canonicalises 64-bit dtypes as JAX does without x64", () => {
    expect(canonicalizeDType("float64")).toBe("float32");
    expect(canonicalizeDType("int64")).toBe("int32");
    expect(canonicalizeDType("uint64")).toBe("uint32");
    expect(canonicalizeDType("complex128")).toBe("complex64");
    expect(canonicalizeDType("bfloat16")).toBe("bfloat16");
    expect(isSubDType("int64", "int32")).toBe(true);
  });

  it("lists the concrete dtypes of an abstract one", () => {
    expect(concreteDTypesOf(dtypes.floating)).toEqual(["float16", "bfloat16", "float32"]);
    expect(concreteDTypesOf(dtypes.integer)).toEqual([
      "int8",
      "int16",
      "int32",
      "uint8",
      "uint16",
      "uint32",
    ]);
  });

  it("rejects unknown dtype names", () => {
    expect(isConcreteDType("float")).toBe(false);
    expect(() => canonicalizeDType("float")).toThrow(UnknownDTypeError);
    expect(() => canonicalizeDType("float")).toThrow('Unknown dtype "float".');
  });

  it("renders abstract dtypes as the expression that names them", () => {
    expect(String(dtypes.floating)).toBe("dtypes.floating");
    expect(dtypes.floating.equals(dtypes.floating)).toBe(true);
    expect(dtypes.floating.equals(dtypes.integer)).toBe(false);
  });
});
