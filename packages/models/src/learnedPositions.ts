/**
 * Learned absolute position embeddings (GPT-2's `wpe`): a table indexed by token position whose
 * rows are added to the residual stream. The positions come from the same side input RoPE reads,
 * so cached sampling feeds them exactly as it feeds rotary attention.
 *
 * @module
 */

import { SideInputRequest } from "@saikei/effects";
import { checkedLayerCall, Layer } from "@saikei/layer";
import { type NamedArray, type NamedArrayBase, tidy } from "@saikei/named";
import { EmbeddingLookup, EmbeddingTable } from "@saikei/nn";
import { Wildcard } from "@saikei/shapecheck";
import { field } from "@saikei/struct";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * Adds `table[position]` to its input (`{...batch, seq, embedding}`), with the positions asked
 * for as a side input. Its parameter is `embeddings` of axes `{position, embedding}`.
 *
 * @example
 * const add = AddLearnedPositions.fromConfig("token_positions", 1024, { embedding: 768 });
 */
export class AddLearnedPositions extends Layer.define(
  {
    table: field<EmbeddingTable>(),
    positions: field<any>(),
  },
  { name: "AddLearnedPositions" },
) {
  /**
   * Builds the layer with an uninitialized `{position: maxPositions, ...embeddingAxes}` table,
   * asking for positions under `positionsTag`.
   *
   * @example
   * AddLearnedPositions.fromConfig("token_positions", 64, { embedding: 32 });
   */
  static fromConfig(
    positionsTag: unknown,
    maxPositions: number,
    embeddingAxes: Record<string, number>,
    options: { dtype?: tf.DataType } = {},
  ): AddLearnedPositions {
    return new AddLearnedPositions({
      table: EmbeddingTable.fromConfig(maxPositions, embeddingAxes, {
        vocabularyAxis: "position",
        dtype: options.dtype ?? "float32",
      }),
      positions: new SideInputRequest({ tag: positionsTag }),
    });
  }

  /** The residual stream. */
  inputStructure(): unknown {
    return new Wildcard({ description: "residual stream with the embedding axes" });
  }

  /** The residual stream. */
  outputStructure(): unknown {
    return new Wildcard({ description: "residual stream with the embedding axes" });
  }

  /**
   * Returns `x + table[positions]`.
   *
   * @throws TokenIdOutOfRangeError (from `@saikei/nn`) for a position beyond the table.
   */
  @checkedLayerCall
  call(x: NamedArrayBase): NamedArrayBase {
    const positions = this.positions.ask() as NamedArray;
    return tidy(() => x.add(new EmbeddingLookup({ table: this.table }).call(positions)));
  }
}
