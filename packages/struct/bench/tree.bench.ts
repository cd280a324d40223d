/**
 * flatten, flattenWithPath and unflatten on a 10,000-leaf model-like tree, each against a
 * hand-written recursive walk over the same data.
 */
import { compare } from "../../../bench/harness.js";
import { DictKey, GetAttrKey, type KeyPath, type PathKey, SequenceKey } from "../src/keys.js";
import { Struct } from "../src/struct.js";
import { flatten, flattenWithPath, unflatten } from "../src/tree.js";
import {
  Attention,
  Block,
  buildModelTree,
  Linear,
  Mlp,
  Model,
  Norm,
  Parameter,
} from "./modelTree.js";

// The hand-written walk knows the child fields and static fields of each class of the model.
const CHILDREN = new Map<Function, readonly string[]>([
  [Model, ["blocks"]],
  [Block, ["norm1", "attention", "norm2", "mlp"]],
  [Attention, ["query", "key", "value", "output"]],
  [Mlp, ["up", "down"]],
  [Norm, ["scale", "offset"]],
  [Linear, ["weights", "bias"]],
  [Parameter, ["value"]],
]);
const STATICS = new Map<Function, readonly string[]>([[Parameter, ["label"]]]);
const KEYS = new Map<Function, readonly GetAttrKey[]>(
  [...CHILDREN].map(([cls, names]) => [cls, names.map((n) => new GetAttrKey(n))]),
);

function walkLeaves(node: unknown, out: unknown[]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) walkLeaves(node[i], out);
  } else if (node instanceof Struct) {
    const names = CHILDREN.get(node.constructor)!;
    for (let i = 0; i < names.length; i++) walkLeaves((node as any)[names[i]!], out);
  } else {
    out.push(node);
  }
}

function walkPaths(node: unknown, path: PathKey[], out: [KeyPath, unknown][]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const p = path.slice();
      p.push(new SequenceKey(i));
      walkPaths(node[i], p, out);
    }
  } else if (node instanceof Struct) {
    const names = CHILDREN.get(node.constructor)!;
    const keys = KEYS.get(node.constructor)!;
    for (let i = 0; i < names.length; i++) {
      const p = path.slice();
      p.push(keys[i]!);
      walkPaths((node as any)[names[i]!], p, out);
    }
  } else {
    out.push([path, node]);
  }
}

function rebuild(template: unknown, leaves: readonly unknown[], cursor: { i: number }): unknown {
  if (Array.isArray(template)) {
    const out = new Array(template.length);
    for (let i = 0; i < template.length; i++) out[i] = rebuild(template[i], leaves, cursor);
    return out;
  }
  if (template instanceof Struct) {
    const obj: any = Object.create(Object.getPrototypeOf(template));
    const names = CHILDREN.get(template.constructor)!;
    for (let i = 0; i < names.length; i++) {
      obj[names[i]!] = rebuild((template as any)[names[i]!], leaves, cursor);
    }
    const statics = STATICS.get(template.constructor);
    if (statics !== undefined) for (const n of statics) obj[n] = (template as any)[n];
    return Object.freeze(obj);
  }
  return leaves[cursor.i++];
}

const model = buildModelTree(625);
const [leaves, def] = flatten(model);
if (leaves.length !== 10_000) throw new Error(`expected 10,000 leaves, got ${leaves.length}`);
// Sanity: the baselines compute the same thing.
const walked: unknown[] = [];
walkLeaves(model, walked);
if (walked.some((x, i) => x !== leaves[i])) throw new Error("baseline leaves differ from flatten");
void DictKey;

// Fifteen interleaved rounds, each after 50 untimed calls (both sides optimised by V8): the
// minimum of their medians is robust to a busy machine.
const options = { warmup: 50, iterations: 31, rounds: 15 };
await compare(
  "flattenWithPath-10k",
  () => flattenWithPath(model),
  "hand-written walk collecting [path, leaf]",
  () => {
    const out: [KeyPath, unknown][] = [];
    walkPaths(model, [], out);
    return out;
  },
  options,
);
await compare(
  "flatten-10k",
  () => flatten(model),
  "hand-written walk collecting leaves",
  () => {
    const out: unknown[] = [];
    walkLeaves(model, out);
    return out;
  },
  options,
);
await compare(
  "unflatten-10k",
  () => unflatten(def, leaves),
  "hand-written rebuild of frozen instances",
  () => rebuild(model, leaves, { i: 0 }),
  options,
);
