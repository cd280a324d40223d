/**
 * Low-rank adaptation (LoRA, Hu et al. 2021) of `Linear` layers, as penzai's `toolshed.lora`: a
 * pretrained `Linear` is wrapped so that its output becomes `linear(x) + B(A(x))`, where `A` maps
 * the input axes to a small `lowrank` axis and `B` maps it back to the output axes. `B` starts at
 * zero, so the adapted model computes exactly what the original did until `A` and `B` are trained.
 *
 * @module
 */

import {
  addParameterPrefix,
  BranchAndAddTogether,
  Linear,
  NamedGroup,
  Sequential,
  zeroInitializer,
} from "@saikei/nn";
import type { Selection } from "@saikei/select";
import { checkOptions, className, prettyKeystr } from "@saikei/struct";
import { LoraConfigError } from "./errors.js";

/** Options for {@link LowRankAdapter.fromLinear}. */
export interface LowRankAdapterOptions {
  /** The size of the low-rank axis. */
  rank: number;
  /** Prefix of the new parameters: `"{name}/LoRA_A.weights"`, `"{name}/LoRA_B.weights"`. */
  name: string;
  /** Name of the low-rank axis (default `"lowrank"`). */
  lowrankAxis?: string;
}

/**
 * A LoRA block (penzai's `LowRankAdapter`): a `Sequential` holding
 * `BranchAndAddTogether([NamedGroup("Pretrained", [linear]), NamedGroup("Update", [A, B])])`.
 * Its call is `Sequential`'s.
 *
 * @example
 * const adapted = LowRankAdapter.fromLinear(linear, { rank: 2, name: "mlp" });
 * const ready = initializeParameters(adapted, random.key(0)); // A random, B zero
 */
export class LowRankAdapter extends Sequential.define({}, { name: "LowRankAdapter" }) {
  /**
   * Builds a LoRA block around a `Linear`. `A` (`"{name}/LoRA_A.weights"`) has the linear's
   * input and parallel axes plus `lowrankAxis`, Xavier-uniform initialised; `B`
   * (`"{name}/LoRA_B.weights"`) has `lowrankAxis` plus the linear's output and parallel axes, zero
   * initialised. Both are uninitialized until `initializeParameters`.
   *
   * @param linear the pretrained layer (kept unchanged in the "Pretrained" group).
   * @param options `rank`, `name`, and `lowrankAxis` (default `"lowrank"`).
   * @returns the adapter.
   * @throws LoraConfigError for a rank that is not a positive integer, or a `lowrankAxis` the
   *   linear's weights already use.
   * @example
   * LowRankAdapter.fromLinear(Linear.fromConfig({ features: 8 }, { out: 4 }), { rank: 2, name: "proj" });
   */
  static fromLinear(linear: Linear, options: LowRankAdapterOptions): LowRankAdapter {
    checkOptions("LowRankAdapter.fromLinear", options, ["rank", "name", "lowrankAxis"]);
    const { rank, name } = options;
    const lowrankAxis = options.lowrankAxis ?? "lowrank";
    if (!(linear instanceof Linear)) {
      throw new LoraConfigError(
        `LowRankAdapter.fromLinear expects a Linear layer, got ${describe(linear)}. ` +
          "Select Linear layers (selection.atInstancesOf(Linear)) before adapting them.",
      );
    }
    if (!Number.isInteger(rank) || rank <= 0) {
      throw new LoraConfigError(
        `LowRankAdapter.fromLinear(${JSON.stringify(name)}): rank must be a positive integer, got ${rank}.`,
      );
    }
    const inputAxes = linear.inputAxes;
    const outputAxes = linear.outputAxes;
    const parallelAxes = linear.parallelAxes;
    if (Object.hasOwn({ ...inputAxes, ...outputAxes, ...parallelAxes }, lowrankAxis)) {
      throw new LoraConfigError(
        `LowRankAdapter.fromLinear(${JSON.stringify(name)}): the Linear's weights already have an axis named ` +
          `${JSON.stringify(lowrankAxis)}. Pass another { lowrankAxis } name.`,
      );
    }
    const a = addParameterPrefix(
      `${name}/LoRA_A`,
      Linear.fromConfig(inputAxes, { [lowrankAxis]: rank }, { parallelAxes }),
    );
    const b = addParameterPrefix(
      `${name}/LoRA_B`,
      Linear.fromConfig({ [lowrankAxis]: rank }, outputAxes, {
        parallelAxes,
        initializer: zeroInitializer,
      }),
    );
    return new LowRankAdapter({
      sublayers: [
        new BranchAndAddTogether({
          branches: [
            new NamedGroup({ name: "Pretrained", sublayers: [linear] }),
            new NamedGroup({ name: "Update", sublayers: [a, b] }),
          ],
        }),
      ],
    });
  }

  /** The wrapped pretrained `Linear`. */
  get pretrained(): Linear {
    const branch = this.sublayers[0] as BranchAndAddTogether;
    return (branch.branches[0] as NamedGroup).sublayers[0] as Linear;
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return className((value as object).constructor) || "an object";
}

/**
 * Replaces every `Linear` inside a selection of a model by a {@link LowRankAdapter} named after
 * its place in the model (`prettyKeystr(keyPath, model)`), and returns the whole model (penzai's
 * `loraify_linears_in_selection`). Initialise the new parameters with `initializeParameters`.
 *
 * @param selection a selection of (parts of) a model, e.g. `select(model).atInstancesOf(Attention)`.
 * @param rank the low-rank size.
 * @param options `lowrankAxis` (default `"lowrank"`).
 * @returns the model with adapters in place of the selected Linears.
 * @example
 * const adapted = loraifyLinearsInSelection(select(model).atInstancesOf(Linear), 4);
 */
export function loraifyLinearsInSelection<R>(
  selection: Selection<unknown, R>,
  rank: number,
  options: { lowrankAxis?: string } = {},
): R {
  checkOptions("loraifyLinearsInSelection", options, ["lowrankAxis"]);
  const model = selection.deselect();
  return selection.atInstancesOf(Linear).apply(
    (keyPath, linear) =>
      LowRankAdapter.fromLinear(linear as Linear, {
        rank,
        name: prettyKeystr(keyPath, model),
        lowrankAxis: options.lowrankAxis,
      }),
    { withKeypath: true },
  );
}
