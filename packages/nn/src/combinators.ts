/**
 * Combinators: `Residual`, `BranchAndAddTogether`, `BranchAndMultiplyTogether` (penzai v1
 * `nn/combinators.py`).
 *
 * @module
 */

import { callLayer, Layer, type LayerLike } from "@saikei/layer";
import { tidy } from "@saikei/named";
import { field } from "@saikei/struct";
import { EmptyBranchesError } from "./errors.js";
import { addValues, multiplyValues } from "./internal/arith.js";

/**
 * Adds a layer's output to its input: `delta(x) + x` (penzai's `Residual`). Named arrays add by
 * axis name; numbers and tensors add as usual.
 *
 * @example
 * new Residual({ delta: (x: number) => 10 * x }).call(2); // 22
 */
export class Residual extends Layer.define({ delta: field<LayerLike>() }, { name: "Residual" }) {
  /** Returns `delta(x) + x`. */
  call(x: any): any {
    return tidy(() => addValues(callLayer(this.delta, x), x));
  }
}

/**
 * Runs every branch on the same input and sums the outputs, left to right (penzai's
 * `BranchAndAddTogether`).
 *
 * @throws EmptyBranchesError when built with no branches.
 * @example
 * new BranchAndAddTogether({ branches: [(x: number) => x, (x: number) => 2 * x] }).call(3); // 9
 */
export class BranchAndAddTogether extends Layer.define(
  {
    branches: field<readonly LayerLike[]>(),
  },
  { name: "BranchAndAddTogether" },
) {
  constructor(props: { branches: readonly LayerLike[] }) {
    if (props?.branches !== undefined && props.branches.length === 0) {
      throw new EmptyBranchesError(
        "BranchAndAddTogether requires at least one branch. Pass branches: [layerA, layerB, ...].",
      );
    }
    super(props);
  }

  /** Returns `b0(x) + b1(x) + ...`. */
  call(x: any): any {
    return tidy(() => {
      let total = callLayer(this.branches[0]!, x);
      for (const branch of this.branches.slice(1)) total = addValues(total, callLayer(branch, x));
      return total;
    });
  }
}

/**
 * Runs every branch on the same input and multiplies the outputs, left to right (penzai's
 * `BranchAndMultiplyTogether`; gated MLPs use it).
 *
 * @throws EmptyBranchesError when built with no branches.
 * @example
 * new BranchAndMultiplyTogether({ branches: [(x: number) => x, (x: number) => x + 1] }).call(3); // 12
 */
export class BranchAndMultiplyTogether extends Layer.define(
  {
    branches: field<readonly LayerLike[]>(),
  },
  { name: "BranchAndMultiplyTogether" },
) {
  constructor(props: { branches: readonly LayerLike[] }) {
    if (props?.branches !== undefined && props.branches.length === 0) {
      throw new EmptyBranchesError(
        "BranchAndMultiplyTogether requires at least one branch. Pass branches: [layerA, layerB, ...].",
      );
    }
    super(props);
  }

  /** Returns `b0(x) * b1(x) * ...`. */
  call(x: any): any {
    return tidy(() => {
      let total = callLayer(this.branches[0]!, x);
      for (const branch of this.branches.slice(1))
        total = multiplyValues(total, callLayer(branch, x));
      return total;
    });
  }
}
