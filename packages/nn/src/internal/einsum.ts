/**
 * The einsum behind `NamedEinsum`: operand axes renamed to their index names, diagonals taken
 * where one operand gives an index to several axes, then a left-to-right fold of `nx.dot`s that
 * sums every index as soon as no later operand and not the output needs it.
 *
 * @module
 */

import {
  arange,
  dot,
  type NamedArray,
  type NamedArrayBase,
  NamedShapeMismatchError,
  where,
} from "@saikei/named";
import { bugInSaikei } from "@saikei/struct";
import { UnsupportedValueError } from "../errors.js";
import { renameAxes, requireNamed } from "./named.js";

/** An einsum operand or output spec: axis names (each its own index) or axis name → index name. */
export type EinsumAxes = readonly string[] | Readonly<Record<string, string>>;

/** The spec as a record from axis name to index name. */
export function specMap(spec: EinsumAxes): Record<string, string> {
  if (isNameList(spec)) return Object.fromEntries(spec.map((n) => [n, n]));
  return { ...spec };
}

function isNameList(spec: EinsumAxes): spec is readonly string[] {
  return Array.isArray(spec);
}

/** Index names become axis names with this prefix, which no user axis name has. */
const INDEX_PREFIX = "\u0000einsum:";

function indexAxis(index: string): string {
  return INDEX_PREFIX + index;
}

/** The index names among the axes of `x`. */
function indicesOf(x: NamedArrayBase): string[] {
  return Object.keys(x.namedShape)
    .filter((n) => n.startsWith(INDEX_PREFIX))
    .map((n) => n.slice(INDEX_PREFIX.length));
}

/**
 * The einsum of `operands` (see `NamedEinsum`).
 *
 * @throws UnsupportedValueError when the number of operands differs from the number of specs.
 * @throws NamedShapeMismatchError when axes sharing an index have different sizes.
 */
export function namedEinsum(
  inputSpecs: readonly EinsumAxes[],
  outputSpec: EinsumAxes,
  operands: readonly unknown[],
): NamedArray {
  if (operands.length !== inputSpecs.length) {
    throw new UnsupportedValueError(
      `NamedEinsum has ${inputSpecs.length} operand specs but was called with ${operands.length} operands; ` +
        "pass one array per spec.",
    );
  }
  const outMap = specMap(outputSpec);
  const outIndices = new Set(Object.values(outMap));
  const renamed = operands.map((op, i) =>
    operandByIndex(requireNamed(op, `NamedEinsum operand ${i}`), specMap(inputSpecs[i]!), i),
  );
  const neededFrom = (from: number) => {
    const needed = new Set(outIndices);
    for (let j = from; j < renamed.length; j++)
      for (const ix of indicesOf(renamed[j]!)) needed.add(ix);
    return needed;
  };
  const sumOut = (
    x: NamedArrayBase,
    keep: Set<string>,
    other: NamedArrayBase | undefined,
  ): NamedArrayBase => {
    const otherIndices = other === undefined ? [] : indicesOf(other);
    const drop = indicesOf(x).filter((ix) => !keep.has(ix) && !otherIndices.includes(ix));
    return drop.length === 0 ? x : x.sum(drop.map(indexAxis));
  };
  let acc = sumOut(renamed[0]!, neededFrom(1), renamed[1]);
  for (let i = 1; i < renamed.length; i++) {
    const later = neededFrom(i + 1);
    const next = sumOut(renamed[i]!, later, acc);
    const accIndices = new Set(indicesOf(acc));
    const shared = indicesOf(next).filter((ix) => accIndices.has(ix) && !later.has(ix));
    acc = dot(acc, next, { contract: shared.map(indexAxis) });
  }
  acc = sumOut(acc, outIndices, undefined);
  const left = indicesOf(acc).filter((ix) => !outIndices.has(ix));
  if (left.length > 0) {
    throw bugInSaikei("NamedEinsum", "indices are left over after the last sum.", left);
  }
  const outAxes = Object.keys(outMap);
  return renameAxes(
    acc,
    outAxes.map((axis) => indexAxis(outMap[axis]!)),
    outAxes,
  );
}

/**
 * Operand `x` with each spec axis renamed to its index; axes sharing one index are replaced by
 * their diagonal, under the index name.
 */
function operandByIndex(
  x: NamedArrayBase,
  spec: Readonly<Record<string, string>>,
  position: number,
): NamedArray {
  const axesOfIndex = new Map<string, string[]>();
  for (const [axis, index] of Object.entries(spec)) {
    const axes = axesOfIndex.get(index);
    if (axes === undefined) axesOfIndex.set(index, [axis]);
    else axes.push(axis);
  }
  let out = x;
  const from: string[] = [];
  const to: string[] = [];
  for (const [index, axes] of axesOfIndex) {
    if (axes.length > 1) out = diagonal(out, axes, `NamedEinsum operand ${position}`, index);
    from.push(axes[0]!);
    to.push(indexAxis(index));
  }
  return renameAxes(out, from, to);
}

/**
 * The diagonal of `x` over `axes` (all of one size), kept under the first of them: the entries
 * where every index along `axes` is equal. Each further axis is folded in by masking the entries
 * off the diagonal and summing that axis away, so the gradient is the usual one of `where` and
 * `sum`.
 *
 * @throws NamedShapeMismatchError when the axes have different sizes.
 */
function diagonal(
  x: NamedArrayBase,
  axes: readonly string[],
  context: string,
  index: string,
): NamedArrayBase {
  const [kept, ...folded] = axes as [string, ...string[]];
  const size = x.namedShape[kept]!;
  const sizes = axes.map((a) => x.namedShape[a]!);
  if (sizes.some((s) => s !== size)) {
    throw new NamedShapeMismatchError(
      `${context}: axes ${axes.map((a) => `"${a}"`).join(", ")} share the index "${index}", so the ` +
        `einsum takes their diagonal, which needs equal sizes; they have sizes ${sizes.join(", ")}. ` +
        "Give them one size or map them to different indices.",
    );
  }
  let out = x;
  const along = arange(kept, size);
  for (const axis of folded) {
    out = where(along.eq(arange(axis, size)), out, 0).sum(axis);
  }
  return out;
}
