/** Shared fixtures for the selection tests (penzai's `make_example_object` and friends). */
import { field, Struct } from "@saikei/struct";

/** A leaf class (not a registered node). */
export class CustomLeaf {
  constructor(readonly tag: number) {}
}

/** Marks the selected part in expected results (penzai's `SELECTED_PART`). */
export class Marked extends Struct.define({ value: field<unknown>() }) {}

/** `(x) => new Marked({ value: x })`. */
export const mark = (value: unknown): Marked => new Marked({ value });

/** Penzai's example object. */
export function makeExampleObject() {
  return {
    a: 1,
    b: new CustomLeaf(10),
    c: [{ value: new CustomLeaf(12) }, { value: new CustomLeaf(13) }, { value: 3 as unknown }],
  };
}

/** A two-field struct. */
export class Foo extends Struct.define({ a: field<unknown>(), b: field<unknown>() }) {
  kind(): "foo" {
    return "foo";
  }
}
/** Another two-field struct. */
export class Bar extends Struct.define({ a: field<unknown>(), b: field<unknown>() }) {
  kind(): "bar" {
    return "bar";
  }
}
