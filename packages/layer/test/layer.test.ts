import { ANY, ArraySpec, var as dim, StructureMismatchError } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  ADD_LAYER_CONTEXT,
  addLayerContext,
  CHECKED_LAYER_CALL,
  callLayer,
  checkedLayerCall,
  Layer,
  LayerDefinitionError,
  type LayerLike,
  MisconfiguredLayerError,
  uncheckedLayerCall,
} from "../src/index.js";

/** A fake array: shapecheck reads `shape` and `dtype` from array-like leaves. */
function spec(shape: number[]): ArraySpec {
  return new ArraySpec({ shape, dtype: "float32" });
}

class Double extends Layer {
  call(x: number): number {
    return 2 * x;
  }
}

class Transpose extends Layer.define({ log: field<string[]>() }) {
  override inputStructure() {
    return new ArraySpec({ shape: [dim("a"), dim("b")] });
  }
  override outputStructure() {
    return new ArraySpec({ shape: [dim("b"), dim("a")] });
  }
  @checkedLayerCall
  call(x: ArraySpec): ArraySpec {
    this.log.push("body");
    return spec([x.shape[1] as number, x.shape[0] as number]);
  }
}

class Broken extends Layer.define({ log: field<string[]>() }) {
  override inputStructure() {
    return new ArraySpec({ shape: [dim("n")] });
  }
  override outputStructure() {
    return new ArraySpec({ shape: [dim("n")] });
  }
  @checkedLayerCall
  call(x: ArraySpec): ArraySpec {
    this.log.push("body");
    return spec([(x.shape[0] as number) + 1]);
  }
}

class Misconfigured extends Layer.define({ log: field<string[]>() }) {
  override outputStructure(): unknown {
    throw new MisconfiguredLayerError("Misconfigured: sizes disagree.");
  }
  @checkedLayerCall
  call(x: unknown): unknown {
    this.log.push("body");
    return x;
  }
}

describe("Layer and callLayer", () => {
  it("calls layers and plain functions alike", () => {
    expect(new Double().call(3)).toBe(6);
    expect(callLayer(new Double(), 4)).toBe(8);
    expect(callLayer((x: number) => x + 1, 1)).toBe(2);
  });

  it("has ANY as its default input and output structures", () => {
    expect(new Double().inputStructure()).toBe(ANY);
    expect(new Double().outputStructure()).toBe(ANY);
  });
});

describe("checkedLayerCall", () => {
  it("checks input and output with shared dimension variables and returns the body's result", () => {
    const log: string[] = [];
    const out = new Transpose({ log }).call(spec([2, 3]));
    expect(out.shape).toEqual([3, 2]);
    expect(log).toEqual(["body"]);
  });

  it("rejects a wrong input before running the body, naming the layer and its input structure", () => {
    const log: string[] = [];
    const layer = new Transpose({ log });
    expect(() => layer.call(spec([2, 3, 4]))).toThrow(StructureMismatchError);
    expect(() => layer.call(spec([2, 3, 4]))).toThrow(
      /Error while checking the input of a layer of type Transpose[\s\S]*The input structure of Transpose is/,
    );
    expect(log).toEqual([]);
  });

  it("rejects an output that breaks a variable bound by the input", () => {
    const log: string[] = [];
    expect(() => new Broken({ log }).call(spec([4]))).toThrow(
      /Error while checking the output of a layer of type Broken/,
    );
    expect(log).toEqual(["body"]);
  });

  it("computes the output structure before the body, so misconfiguration stops the call early", () => {
    const log: string[] = [];
    expect(() => new Misconfigured({ log }).call(1)).toThrow(MisconfiguredLayerError);
    expect(log).toEqual([]);
  });

  it("passes errors escaping the body to their ADD_LAYER_CONTEXT hook, innermost layer first", () => {
    const seen: string[] = [];
    class ContextError extends Error {
      [ADD_LAYER_CONTEXT](layer: Layer) {
        seen.push(layer.constructor.name);
      }
    }
    class Inner extends Layer {
      override outputStructure() {
        return ANY;
      }
      @checkedLayerCall
      call(_x: unknown): never {
        throw new ContextError("boom");
      }
    }
    class Outer extends Layer.define({ inner: field<Inner>() }) {
      override inputStructure() {
        return ANY;
      }
      @checkedLayerCall
      call(x: unknown): unknown {
        return this.inner.call(x as never);
      }
    }
    expect(() => new Outer({ inner: new Inner() }).call(1)).toThrow("boom");
    expect(seen).toEqual(["Inner", "Outer"]);
    addLayerContext(new ContextError("x"), new Double());
    expect(seen).toEqual(["Inner", "Outer", "Double"]);
    expect(() => addLayerContext("not an error", new Double())).not.toThrow();
  });

  it("marks the decorated method", () => {
    expect((Transpose.prototype.call as any)[CHECKED_LAYER_CALL]).toBe(true);
  });

  it("refuses to decorate anything but call", () => {
    expect(() => {
      class Wrong extends Layer {
        @checkedLayerCall
        helper(x: number) {
          return x;
        }
        call(x: number) {
          return x;
        }
      }
      return Wrong;
    }).toThrow(/decorates the instance method call\(argument\)[\s\S]*method helper/);
  });
});

describe("uncheckedLayerCall and the checked-call rule", () => {
  it("lets a layer declare structures without checking them", () => {
    class Loose extends Layer {
      override outputStructure() {
        return spec([3]);
      }
      @uncheckedLayerCall
      call(x: number) {
        return x;
      }
    }
    expect(new Loose().call(5)).toBe(5);
    expect((Loose.prototype.call as any)[CHECKED_LAYER_CALL]).toBe(false);
  });

  it("throws LayerDefinitionError with the fix when structures are declared without a decorator", () => {
    class Forgetful extends Layer {
      override inputStructure() {
        return spec([3]);
      }
      call(x: number) {
        return x;
      }
    }
    expect(() => new Forgetful()).toThrow(LayerDefinitionError);
    expect(() => new Forgetful()).toThrow(
      /Forgetful overrides inputStructure\(\)[\s\S]*@checkedLayerCall\n {4}call\(argument\)/,
    );
  });

  it("requires the decorator again when a subclass overrides a checked call", () => {
    class Override extends Transpose {
      override call(x: ArraySpec): ArraySpec {
        return x;
      }
    }
    expect(() => new Override({ log: [] })).toThrow(LayerDefinitionError);
    expect(() => new Override({ log: [] })).toThrow(
      /Override overrides inputStructure\(\) or outputStructure\(\)/,
    );
  });

  it("accepts subclasses that inherit a checked call or declare no structures", () => {
    class Sub extends Transpose {}
    expect(new Sub({ log: [] }).call(spec([1, 2])).shape).toEqual([2, 1]);
    class Plain extends Layer {
      call(x: number) {
        return x;
      }
    }
    expect(new Plain().call(1)).toBe(1);
  });
});

describe("types", () => {
  it("LayerLike covers layers and functions, and callLayer keeps the result type", () => {
    expectTypeOf<Double>().toMatchTypeOf<LayerLike<number, number>>();
    expectTypeOf<(x: string) => number>().toMatchTypeOf<LayerLike<string, number>>();
    expectTypeOf(callLayer((x: number) => `${x}`, 1)).toEqualTypeOf<string>();
    expectTypeOf(new Transpose({ log: [] }).call).returns.toEqualTypeOf<ArraySpec>();
  });
});
