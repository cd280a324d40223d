/**
 * A small decoder-only transformer-like model of saikei structs, built with tfjs in the browser.
 * Layers are `@saikei/layer` Layers; weights are tfjs tensors wrapped in `Parameter` structs that
 * carry penzai's treescope colours.
 */
import { Layer } from "@saikei/layer";
import { field, Struct } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";

/** A named weight (penzai's `Parameter`, coloured #93cce1). */
export class Parameter extends Struct.define({
  value: field<tf.Tensor>(),
  name: field<string>({ static: true }),
}) {
  treescopeColor(): string {
    return "#93cce1";
  }
}

/** `x @ weights`. */
export class Linear extends Layer.define({ weights: field<Parameter>() }) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.weights.value as tf.Tensor2D);
  }
  treescopeColor(): string {
    return "#eba875";
  }
}

/** `x + bias`. */
export class AddBias extends Layer.define({ bias: field<Parameter>() }) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(x, this.bias.value);
  }
  treescopeColor(): string {
    return "#65cfbc";
  }
}

/** Runs its sublayers in order. */
export class Sequential extends Layer.define({ sublayers: field<Layer[]>() }) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return this.sublayers.reduce((h, layer) => layer.call(h), x);
  }
  treescopeColor(): string {
    return "#cdcdcd";
  }
}

/** An elementwise function. */
export class Elementwise extends Layer.define({
  fn: field<(x: tf.Tensor) => tf.Tensor>({ static: true }),
}) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return this.fn(x) as tf.Tensor2D;
  }
}

/** `x + delta(x)`. */
export class Residual extends Layer.define({ delta: field<Layer>() }) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(x, this.delta.call(x));
  }
}

/** Single-head causal self-attention over the rows of `x`. */
export class Attention extends Layer.define({
  inputToQuery: field<Layer>(),
  inputToKey: field<Layer>(),
  inputToValue: field<Layer>(),
  attnValueToOutput: field<Layer>(),
}) {
  call(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const q = this.inputToQuery.call(x);
      const k = this.inputToKey.call(x);
      const v = this.inputToValue.call(x);
      const n = x.shape[0];
      const logits = tf.div(tf.matMul(q, k, false, true), Math.sqrt(q.shape[1]));
      const causal = tf.linalg.bandPart(tf.ones([n, n]), -1, 0);
      const masked = tf.where(tf.cast(causal, "bool"), logits, tf.fill([n, n], -2.3819763e38));
      return this.attnValueToOutput.call(tf.matMul(tf.softmax(masked), v) as tf.Tensor2D);
    });
  }
}

/** Token embedding, a stack of blocks and an unembedding. */
export class TransformerLM extends Layer.define({
  embeddings: field<Parameter>(),
  body: field<Sequential>(),
  config: field<{ vocabulary: number; width: number; blocks: number }>({ static: true }),
}) {
  call(tokens: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const x = tf.gather(this.embeddings.value, tokens) as tf.Tensor2D;
      return tf.matMul(this.body.call(x), this.embeddings.value as tf.Tensor2D, false, true);
    });
  }
}

function affine(name: string, fanIn: number, fanOut: number, seed: number): Sequential {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return new Sequential({
    sublayers: [
      new Linear({
        weights: new Parameter({
          name: `${name}.weights`,
          value: tf.randomUniform([fanIn, fanOut], -limit, limit, "float32", seed),
        }),
      }),
      new AddBias({ bias: new Parameter({ name: `${name}.bias`, value: tf.zeros([fanOut]) }) }),
    ],
  });
}

/** Builds the model with deterministic random weights. */
export function buildModel(config = { vocabulary: 32, width: 16, blocks: 2 }): TransformerLM {
  const { vocabulary, width, blocks } = config;
  const body: Layer[] = [];
  for (let b = 0; b < blocks; b++) {
    body.push(
      new Residual({
        delta: new Attention({
          inputToQuery: affine(`block${b}.query`, width, width, 100 * b + 1),
          inputToKey: affine(`block${b}.key`, width, width, 100 * b + 2),
          inputToValue: affine(`block${b}.value`, width, width, 100 * b + 3),
          attnValueToOutput: affine(`block${b}.output`, width, width, 100 * b + 4),
        }),
      }),
      new Residual({
        delta: new Sequential({
          sublayers: [
            affine(`block${b}.mlp_in`, width, 2 * width, 100 * b + 5),
            new Elementwise({ fn: tf.relu }),
            affine(`block${b}.mlp_out`, 2 * width, width, 100 * b + 6),
          ],
        }),
      }),
    );
  }
  return new TransformerLM({
    embeddings: new Parameter({
      name: "embeddings",
      value: tf.randomNormal([vocabulary, width], 0, 1, "float32", 7),
    }),
    body: new Sequential({ sublayers: body }),
    config,
  });
}
