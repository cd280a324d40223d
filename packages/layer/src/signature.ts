/**
 * Signatures: what a structure check depends on in a value (its tree structure and, per leaf, the
 * shape, named shape and dtype of arrays and the value of primitives), as one comparable record.
 * Checked layer calls remember the signatures of calls that passed, and group layer instances that
 * can share their checks.
 *
 * @module
 */

import { isNamedArray, NamedArray } from "@saikei/named";
import { flatten, LEAF, type TreeDef } from "@saikei/struct";
import * as tf from "@tensorflow/tfjs-core";

/**
 * The signature of a value: its structure (named arrays kept whole) and one text holding every
 * leaf's part. Two values with equal signatures pass and fail the same structure checks.
 */
export interface Signature {
  readonly treedef: TreeDef;
  readonly leaves: string;
}

/**
 * Signatures of the arrays seen last: named arrays and tensors are immutable (frozen structs, fixed
 * shapes), and a result checked by one layer is the argument of the next, so a short ring of
 * recent arrays describes each array of a chain of calls once, without a weak table that every
 * intermediate array would enter (and the garbage collector would have to walk).
 */
const RECENT = 32;
const recentArrays: (object | undefined)[] = new Array(RECENT).fill(undefined);
const recentSignatures: (Signature | undefined)[] = new Array(RECENT).fill(undefined);
let recentNext = 0;

/** The part of a signature for a named array or tensor, without the trailing `;`. */
function arrayText(leaf: object): string {
  if (leaf instanceof NamedArray) return namedArrayText(leaf);
  if (isNamedArray(leaf)) {
    let text = `N${leaf.dtype}(${leaf.positionalShape.join(",")})`;
    for (const [name, size] of Object.entries(leaf.namedShape))
      text += `${JSON.stringify(name)}:${size},`;
    return text;
  }
  const tensor = leaf as tf.Tensor;
  return `T${tensor.dtype}(${tensor.shape.join(",")})`;
}

const MAX_VALID_TEXTS = 1024;

/**
 * Texts of `NamedArray`s already found valid. A `NamedArray`'s text is read from its fields (data
 * dtype and shape, axis names and sizes), which determine both its positional and named shapes and
 * whether it is valid, so an array whose text is here needs no `checkValid` (which `positionalShape`
 * runs on every read); any other is validated once, throwing as `positionalShape` does.
 */
const validTexts = new Set<string>();

function namedArrayText(array: NamedArray): string {
  const data = array.dataArray as unknown;
  const axes = array.namedAxes as unknown;
  if (!(data instanceof tf.Tensor) || axes === null || typeof axes !== "object") {
    array.checkValid(); // throws InvalidNamedArrayError saying what is wrong
  }
  const tensor = data as tf.Tensor;
  const shape = tensor.shape;
  let text = `R${tensor.dtype}(`;
  for (let i = 0; i < shape.length; i++) text += `${shape[i]},`;
  text += ")";
  // Each name behind its length, so that no name can end early; a size that is not a number
  // ("2", say) is marked, so that no invalid size writes a valid array's text.
  const record = axes as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const size = record[name];
    text +=
      typeof size === "number"
        ? `${name.length}:${name}=${size},`
        : `${name.length}:${name}=?${typeof size}:${String(size)},`;
  }
  if (!validTexts.has(text)) {
    array.checkValid();
    if (validTexts.size >= MAX_VALID_TEXTS) validTexts.clear();
    validTexts.add(text);
  }
  return text;
}

/**
 * The signature of a value that is one named array or tensor (recent arrays' are remembered).
 *
 * @throws InvalidNamedArrayError (from `@saikei/named`) for a named array whose axes do not fit
 *   its data.
 */
export function arraySignatureOf(array: object): Signature {
  for (let i = 0; i < RECENT; i++) {
    if (recentArrays[i] === array) return recentSignatures[i]!;
  }
  const found: Signature = { treedef: LEAF, leaves: `${arrayText(array)};` };
  recentArrays[recentNext] = array;
  recentSignatures[recentNext] = found;
  recentNext = (recentNext + 1) % RECENT;
  return found;
}

/** Whether `value` is a named array or a tensor: a leaf whose signature is cached per array. */
export function isArrayLeaf(value: unknown): value is object {
  return value instanceof tf.Tensor || isNamedArray(value);
}

/**
 * The signature of `value`, or `undefined` when a leaf is something other than an array or a
 * primitive (an object whose equality a pattern might test).
 *
 * @example
 * signatureOf([nx.zeros({ a: 2 }), 3])?.leaves; // 'Nfloat32()"a":2,;Pnumber:3;'
 */
export function signatureOf(value: unknown): Signature | undefined {
  if (isArrayLeaf(value)) return arraySignatureOf(value);
  const [leaves, treedef] = flatten(value, isNamedArray);
  return signatureFromLeaves(leaves, treedef);
}

/** The signature of a value already flattened with named arrays kept whole. */
export function signatureFromLeaves(
  leaves: readonly unknown[],
  treedef: TreeDef,
): Signature | undefined {
  let text = "";
  for (const leaf of leaves) {
    if (isArrayLeaf(leaf)) {
      text += arraySignatureOf(leaf).leaves;
      continue;
    }
    if (typeof leaf === "number" || typeof leaf === "boolean" || typeof leaf === "string") {
      text += `P${typeof leaf}:${JSON.stringify(leaf)}`;
    } else if (leaf === null || leaf === undefined) {
      text += `P${String(leaf)}`;
    } else {
      return undefined;
    }
    text += ";";
  }
  return { treedef, leaves: text };
}

/** Whether two signatures are equal. */
export function sameSignature(a: Signature, b: Signature): boolean {
  return a.leaves === b.leaves && a.treedef.equals(b.treedef);
}
