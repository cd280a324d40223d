/**
 * A model-like tree for benchmarks and tests: structs nested six deep holding `Float32Array`
 * leaves, shaped like a stack of transformer blocks.
 *
 * `Model → blocks (Array) → Block → Attention / Mlp / Norm → Linear → Parameter → Float32Array`.
 * Every block holds 16 leaves, so `buildModelTree(625)` has exactly 10,000.
 *
 * @module
 */
import { Struct, field } from "../src/index.js";

/** A leaf holder with a static label, like penzai's `Parameter`. */
export class Parameter extends Struct.define({
  value: field<Float32Array>(),
  label: field<string>({ static: true }),
}) {}

/** A weight matrix and a bias. */
export class Linear extends Struct.define({ weights: field<Parameter>(), bias: field<Parameter>() }) {}

/** A scale and an offset. */
export class Norm extends Struct.define({ scale: field<Parameter>(), offset: field<Parameter>() }) {}

/** Four projections. */
export class Attention extends Struct.define({
  query: field<Linear>(),
  key: field<Linear>(),
  value: field<Linear>(),
  output: field<Linear>(),
}) {}

/** Two projections. */
export class Mlp extends Struct.define({ up: field<Linear>(), down: field<Linear>() }) {}

/** One transformer block: 16 leaves. */
export class Block extends Struct.define({
  norm1: field<Norm>(),
  attention: field<Attention>(),
  norm2: field<Norm>(),
  mlp: field<Mlp>(),
}) {}

/** The root: a list of blocks. */
export class Model extends Struct.define({ blocks: field<Block[]>() }) {}

/** Leaves per block. */
export const LEAVES_PER_BLOCK = 16;

/**
 * Builds a model with `numBlocks` blocks (16 leaves each; 625 blocks give 10,000 leaves).
 *
 * @param numBlocks number of blocks.
 * @param size length of every `Float32Array` leaf.
 * @example
 * tree.leaves(buildModelTree(2)).length; // 32
 */
export function buildModelTree(numBlocks = 625, size = 4): Model {
  let counter = 0;
  const param = (label: string) =>
    new Parameter({ value: new Float32Array(size).fill(counter++), label });
  const linear = (name: string) =>
    new Linear({ weights: param(`${name}.w`), bias: param(`${name}.b`) });
  const norm = (name: string) =>
    new Norm({ scale: param(`${name}.scale`), offset: param(`${name}.offset`) });
  const blocks: Block[] = [];
  for (let i = 0; i < numBlocks; i++) {
    blocks.push(
      new Block({
        norm1: norm(`b${i}.norm1`),
        attention: new Attention({
          query: linear(`b${i}.q`),
          key: linear(`b${i}.k`),
          value: linear(`b${i}.v`),
          output: linear(`b${i}.o`),
        }),
        norm2: norm(`b${i}.norm2`),
        mlp: new Mlp({ up: linear(`b${i}.up`), down: linear(`b${i}.down`) }),
      }),
    );
  }
  return new Model({ blocks });
}
