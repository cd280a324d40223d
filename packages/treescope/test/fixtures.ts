/**
 * Small trees shared by the treescope tests: structs, a layer with declared structures, a fake
 * named array (the `@saikei/named` layout: a struct with `namedAxes` and `dataArray`), and a
 * transformer-like model of structs holding tfjs tensors.
 */
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";

export class Point extends Struct.define({
  x: field<number>(),
  y: field<number>(),
  label: field<string>({ static: true }),
}) {}

export class Empty extends Struct.define({}) {}

/** Same layout as `@saikei/named`'s NamedArray: static `namedAxes`, child `dataArray`. */
export class NamedArray extends Struct.define({
  namedAxes: field<Record<string, number>>({ static: true }),
  dataArray: field<tf.Tensor>(),
}) {}

export class Parameter extends Struct.define({
  value: field<unknown>(),
  name: field<string>({ static: true }),
}) {
  treescopeColor(): string {
    return "#93cce1";
  }
}

export class Linear extends Struct.define({ weights: field<Parameter>() }) {
  call(x: unknown): unknown {
    return x;
  }
  treescopeColor(): string {
    return "#eba875";
  }
  inputStructure(): unknown {
    return { input: "ArraySpec(features=4)" };
  }
  /** Throws for a parameter named "broken", as a misconfigured layer would. */
  outputStructure(): unknown {
    if (this.weights.name === "broken") {
      throw Object.assign(new Error("weights and bias disagree on 'features'"), {
        name: "MisconfiguredLayerError",
      });
    }
    return { output: "ArraySpec(features=8)" };
  }
}

export class AddBias extends Struct.define({ bias: field<Parameter>() }) {
  call(x: unknown): unknown {
    return x;
  }
  treescopeColor(): string {
    return "#65cfbc";
  }
}

export class Sequential extends Struct.define({ sublayers: field<unknown[]>() }) {
  call(x: unknown): unknown {
    return x;
  }
  treescopeColor(): string {
    return "#cdcdcd";
  }
}

export class SideInputRequest extends Struct.define({ tag: field<string>({ static: true }) }) {
  treescopeColor(): string {
    return "#5eb3e5";
  }
}

export class ApplyAttentionMask extends Struct.define({
  mask: field<SideInputRequest>(),
  maskedOutValue: field<number>({ static: true }),
}) {
  call(x: unknown): unknown {
    return x;
  }
}

export class Attention extends Struct.define({
  inputToQuery: field<unknown>(),
  inputToKey: field<unknown>(),
  inputToValue: field<unknown>(),
  queryKeyToAttn: field<Sequential>(),
  attnValueToOutput: field<unknown>(),
}) {
  call(x: unknown): unknown {
    return x;
  }
}

export class Residual extends Struct.define({ delta: field<unknown>() }) {
  call(x: unknown): unknown {
    return x;
  }
}

export class TransformerLM extends Struct.define({
  embedding: field<Parameter>(),
  body: field<Sequential>(),
  config: field<Record<string, number>>({ static: true }),
}) {
  call(x: unknown): unknown {
    return x;
  }
}

/** A named array holding `values` with the given named axes (all named, no positional axes). */
export function named(values: tf.Tensor, axes: Record<string, number>): NamedArray {
  return new NamedArray({ namedAxes: axes, dataArray: values });
}

function affine(name: string, fanIn: number, fanOut: number, seed: number): Sequential {
  return new Sequential({
    sublayers: [
      new Linear({
        weights: new Parameter({
          name: `${name}.weights`,
          value: named(tf.randomUniform([fanIn, fanOut], -1, 1, "float32", seed), {
            in: fanIn,
            out: fanOut,
          }),
        }),
      }),
      new AddBias({
        bias: new Parameter({
          name: `${name}.bias`,
          value: named(tf.zeros([fanOut]), { out: fanOut }),
        }),
      }),
    ],
  });
}

/**
 * A decoder-only transformer-like tree: `blocks` blocks of attention (with a side-input mask) and
 * a feed-forward network. Call inside `tf.tidy` or dispose its tensors afterwards.
 */
export function transformerLike(blocks = 2, width = 8): TransformerLM {
  const body: unknown[] = [];
  for (let b = 0; b < blocks; b++) {
    body.push(
      new Residual({
        delta: new Attention({
          inputToQuery: affine(`block${b}.query`, width, width, 10 * b + 1),
          inputToKey: affine(`block${b}.key`, width, width, 10 * b + 2),
          inputToValue: affine(`block${b}.value`, width, width, 10 * b + 3),
          queryKeyToAttn: new Sequential({
            sublayers: [
              new ApplyAttentionMask({
                mask: new SideInputRequest({ tag: "attn_mask" }),
                maskedOutValue: -2.3819763e38,
              }),
            ],
          }),
          attnValueToOutput: affine(`block${b}.out`, width, width, 10 * b + 4),
        }),
      }),
      new Residual({ delta: affine(`block${b}.mlp`, width, 2 * width, 10 * b + 5) }),
    );
  }
  return new TransformerLM({
    embedding: new Parameter({
      name: "embedding",
      value: named(tf.randomNormal([11, width], 0, 1, "float32", 99), {
        vocabulary: 11,
        embedding: width,
      }),
    }),
    body: new Sequential({ sublayers: body }),
    config: { blocks, width },
  });
}
