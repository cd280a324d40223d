/**
 * Dropout: `StochasticDropout`, `DisabledDropout` and `maybeDropout` (penzai v1 `nn/dropout.py`).
 *
 * @module
 */

import { type RandomEffect, RandomRequest } from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import {
  type NamedArray,
  type NamedArrayBase,
  nameRecord,
  randomBernoulli,
  tidy,
  where,
} from "@saikei/named";
import { ArraySpec, var as dimVar, varsForAxes } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import { Identity } from "./grouping.js";
import { requireNamed } from "./internal/named.js";

/**
 * Randomly zeroes elements with probability `dropRate` and scales the kept ones by
 * `1 / (1 - dropRate)` (penzai's `StochasticDropout`). One mask value is shared along each axis of
 * `shareAcrossAxes`. Needs a random handler (e.g. `WithRandomKeyFromArg.handling(model)`).
 *
 * @example
 * const dropout = new StochasticDropout({ dropRate: 0.1 });
 */
export class StochasticDropout extends Layer.define(
  {
    dropRate: field<number>(),
    shareAcrossAxes: field<readonly string[]>({ static: true, default: [] }),
    rng: field<RandomEffect>(),
  },
  { name: "StochasticDropout" },
) {
  constructor(props: {
    dropRate: number;
    shareAcrossAxes?: readonly string[];
    rng?: RandomEffect;
  }) {
    super({ ...props, rng: props?.rng ?? new RandomRequest() });
  }

  /** Any named array with the shared axes. */
  inputStructure(): unknown {
    return new ArraySpec({
      namedShape: {
        ...varsForAxes("across", this.shareAcrossAxes),
        ...dimVar("others").unpackNamed(),
      },
    });
  }

  /** Same as the input. */
  outputStructure(): unknown {
    return this.inputStructure();
  }

  /** Applies a fresh dropout mask. */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArray {
    const key = this.rng.nextKey();
    return tidy(() => {
      const named = requireNamed(x, "StochasticDropout");
      // One draw per position of the axes not shared, in the input's data order; the mask meets
      // the input by axis name, so it is the same along every shared axis.
      const { names, nameAxis } = named.layout();
      const maskShape = nameRecord();
      for (const n of [...names].sort((a, b) => nameAxis[a]! - nameAxis[b]!)) {
        if (!this.shareAcrossAxes.includes(n)) maskShape[n] = named.namedShape[n]!;
      }
      const dropped = randomBernoulli(key, this.dropRate, maskShape);
      return where(dropped, 0, named.div(1 - this.dropRate));
    });
  }

  /** The same configuration as a `DisabledDropout`. */
  disable(): DisabledDropout {
    return new DisabledDropout({ dropRate: this.dropRate, shareAcrossAxes: this.shareAcrossAxes });
  }
}

/**
 * Dropout switched off (penzai's `DisabledDropout`): the identity, keeping the configuration so it
 * can be re-enabled.
 *
 * @example
 * new DisabledDropout({ dropRate: 0.1, shareAcrossAxes: [] }).enable(); // StochasticDropout
 */
export class DisabledDropout extends Identity.define(
  {
    dropRate: field<number>(),
    shareAcrossAxes: field<readonly string[]>({ static: true }),
  },
  { name: "DisabledDropout" },
) {
  /** The same configuration as a `StochasticDropout` with an unhandled random request. */
  enable(): StochasticDropout {
    return new StochasticDropout({
      dropRate: this.dropRate,
      shareAcrossAxes: this.shareAcrossAxes,
    });
  }
}

/**
 * `DisabledDropout(0)` when `dropRate` is null or undefined, else a `StochasticDropout` (penzai's
 * `maybe_dropout`).
 *
 * @example
 * maybeDropout(undefined); // DisabledDropout
 * maybeDropout(0.1); // StochasticDropout
 */
export function maybeDropout(
  dropRate: number | null | undefined,
  shareAcrossAxes: readonly string[] = [],
): StochasticDropout | DisabledDropout {
  if (dropRate === null || dropRate === undefined)
    return new DisabledDropout({ dropRate: 0, shareAcrossAxes });
  return new StochasticDropout({ dropRate, shareAcrossAxes });
}
