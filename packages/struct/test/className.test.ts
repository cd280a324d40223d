import { describe, expect, it } from "vitest";
import {
  className,
  field,
  reprValue,
  Struct,
  StructConstructionError,
  StructDefinitionError,
  tree,
} from "../src/index.js";

/** What a minifier does to a class: its `name` becomes a short unrelated identifier. */
function minified<C extends Function>(cls: C, short: string): C {
  Object.defineProperty(cls, "name", { value: short });
  return cls;
}

class Linear extends Struct.define(
  { weights: field<number[]>(), axis: field<string>({ static: true }) },
  { name: "Linear" },
) {}
minified(Linear, "vf");

describe("className", () => {
  it("returns the name recorded by the define call a class extends, whatever cls.name says", () => {
    expect(Linear.name).toBe("vf");
    expect(className(Linear)).toBe("Linear");
  });

  it("gives a subclass that did not call define its own cls.name, not its parent's record", () => {
    class MyLinear extends Linear {}
    expect(className(MyLinear)).toBe("MyLinear");
    minified(MyLinear, "Qe");
    expect(className(MyLinear)).toBe("Qe");
  });

  it("gives a subclass that records its own name through define({}, { name }) that name", () => {
    const Scaled = minified(
      class Scaled extends Linear.define({}, { name: "ScaledLinear" }) {},
      "Je",
    );
    expect(className(Scaled)).toBe("ScaledLinear");
    expect(String(new Scaled({ weights: [1], axis: "x" }))).toBe(
      "ScaledLinear(weights=[1], axis='x')",
    );
  });

  it("falls back to cls.name for classes that never recorded one", () => {
    class Plain extends Struct.define({ x: field<number>() }) {}
    expect(className(Plain)).toBe("Plain");
    expect(className(Map)).toBe("Map");
    expect(className(Struct)).toBe("Struct");
    expect(className(undefined)).toBe("");
    expect(className(Object.create(null).constructor) || "object").toBe("object");
  });

  it("is what renderings and messages print", () => {
    const linear = new Linear({ weights: [1, 2], axis: "x" });
    expect(reprValue(linear)).toBe("Linear(weights=[1, 2], axis='x')");
    expect(String(linear)).toBe("Linear(weights=[1, 2], axis='x')");
    expect(tree.structure(linear).toString()).toMatch(/^Linear\(/);
    expect(() => new Linear({ weights: [] } as never)).toThrow(
      new StructConstructionError(
        "Linear: missing required field(s) axis. Its fields are: weights, axis (? marks optional). " +
          "Call it as new Linear({ weights: …, axis: … }).",
      ),
    );
    expect(() => linear.replace({ bias: 1 } as never)).toThrow(
      "Linear.replace: unknown field(s) bias. Its fields are: weights, axis.",
    );
    expect(() => Linear.fromAttributes({ weights: [] } as never)).toThrow(
      /^Incorrect fields provided to Linear\.fromAttributes/,
    );
    expect(() => Linear.define({ axis: field<string>() })).toThrow(
      'Linear.define: field "axis" is already declared by Linear.',
    );
  });
});

describe("define options", () => {
  it("rejects anything but { name?: non-empty string }, showing the call to write", () => {
    for (const options of [{ name: "" }, { name: 3 }, { label: "X" }, null, "Point"]) {
      expect(() => Struct.define({}, options as never)).toThrow(
        new StructDefinitionError(
          `Struct.define takes options { name?: string } as its second argument, but got ${reprValue(options)}. ` +
            'Pass the name of the class you are declaring, like class Point extends Struct.define({ ... }, { name: "Point" }) {}.',
        ),
      );
    }
  });

  it("accepts no options and an empty options object", () => {
    class A extends Struct.define({ x: field<number>() }, {}) {}
    expect(className(A)).toBe("A");
    expect(new A({ x: 1 }).x).toBe(1);
  });
});
