/** The examples of docs/layer.md, run as written. */
import { random, ready } from "@saikei/named";
import { ArraySpec, var as dim, StructureMismatchError } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  callLayer,
  checkedLayerCall,
  Layer,
  type LayerLike,
  RandomStream,
  uncheckedLayerCall,
} from "../src/index.js";

class Scale extends Layer.define({ factor: field<number>() }) {
  call(x: number): number {
    return this.factor * x;
  }
}

class Sequential extends Layer.define({ sublayers: field<readonly LayerLike[]>() }) {
  call(x: unknown): unknown {
    let out = x;
    for (const layer of this.sublayers) out = callLayer(layer, out);
    return out;
  }
}

class Transpose extends Layer {
  override inputStructure() {
    return new ArraySpec({ shape: [dim("rows"), dim("cols")] });
  }
  override outputStructure() {
    return new ArraySpec({ shape: [dim("cols"), dim("rows")] });
  }
  @checkedLayerCall
  call(x: tf.Tensor2D): tf.Tensor2D {
    return tf.transpose(x);
  }
}

class Fast extends Layer {
  override outputStructure() {
    return new ArraySpec({ shape: [3] });
  }
  @uncheckedLayerCall
  call(x: tf.Tensor) {
    return x;
  }
}

describe("docs/layer.md", () => {
  beforeAll(async () => {
    await ready();
  });

  it("layers compose with plain functions", () => {
    expect(
      new Sequential({ sublayers: [new Scale({ factor: 3 }), (x: number) => x + 1] }).call(2),
    ).toBe(7);
  });

  it("checked calls check input and output and leak nothing", () => {
    const x = tf.zeros([2, 5]) as tf.Tensor2D;
    const baseline = tf.memory().numTensors;
    const y = new Transpose().call(x);
    expect(y.shape).toEqual([5, 2]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    const v = tf.zeros([2]);
    expect(() => new Transpose().call(v as never)).toThrow(StructureMismatchError);
    expect(tf.memory().numTensors).toBe(baseline + 1);
    tf.dispose([x, v]);
  });

  it("unchecked calls skip the checks", () => {
    const x = tf.zeros([7]);
    expect(new Fast().call(x)).toBe(x);
    x.dispose();
  });

  it("random streams", () => {
    const keys = RandomStream.run(random.key(0), (stream) => [stream.nextKey(), stream.nextKey()]);
    expect(keys[1]!.equals(random.foldIn(random.key(0), 1))).toBe(true);
    let kept: RandomStream;
    {
      using stream = new RandomStream(random.key(0)).enter();
      kept = stream;
      stream.nextKey();
    }
    expect(kept.state).toBe("expired");
  });
});
