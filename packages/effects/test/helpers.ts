/** Small layers used by the effect tests. */
import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { field } from "@saikei/struct";
import type { SideInputEffect } from "../src/index.js";

/** Adds a side input to its argument. */
export class AddSideInput extends Layer.define({ value: field<SideInputEffect<number>>() }) {
  call(x: number): number {
    return x + this.value.ask();
  }
}

/** Multiplies its argument by a side input. */
export class MulSideInput extends Layer.define({ value: field<SideInputEffect<number>>() }) {
  call(x: number): number {
    return x * this.value.ask();
  }
}

/** Runs its sublayers in order. */
export class Chain extends Layer.define({ sublayers: field<readonly LayerLike[]>() }) {
  call(x: unknown): unknown {
    let out = x;
    for (const layer of this.sublayers) out = callLayer(layer, out);
    return out;
  }
}
