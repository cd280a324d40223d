/**
 * Selections on the 10,000-leaf model tree of the struct benchmark:
 * (a) one deep `.at(...).set(...)` against immer's `produce` making the same edit;
 * (b) `atInstancesOf(Mlp).apply(...)` over 625 matches against a hand-written rebuild.
 */
import { Struct } from "@saikei/struct";
import { produce } from "immer";
import { compare } from "../../../bench/harness.js";
import { select } from "../src/index.js";
import {
  Attention,
  Block,
  buildModelTree,
  Linear,
  Mlp,
  Model,
  Norm,
  Parameter,
} from "../../struct/bench/modelTree.js";

const model = buildModelTree(625);
const replacement = new Float32Array(4).fill(7);
const BLOCK = 400;

// (a) one deep edit: model.blocks[400].mlp.up.weights.value
await compare(
  "select.at(deep).set vs immer produce (10,000 leaves)",
  () =>
    select(model)
      .at((m) => m.blocks[BLOCK]!.mlp.up.weights.value)
      .set(replacement),
  "immer.produce",
  () =>
    produce(model, (draft: any) => {
      draft.blocks[BLOCK].mlp.up.weights.value = replacement;
    }),
  { iterations: 200, warmup: 50, rounds: 5 },
);

// (b) atInstancesOf(Mlp).apply over every block's Mlp (625 matches), against the rebuild a user
// would write by hand: a recursive walk that knows the child fields of every class of the model,
// replaces each Mlp and rebuilds (frozen, without constructors) only the changed ancestors.
const swap = (mlp: Mlp): Mlp => Mlp.fromAttributes({ up: mlp.down, down: mlp.up });

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

function handRebuild(node: unknown): unknown {
  if (node instanceof Mlp) return swap(node);
  if (Array.isArray(node)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < node.length; i++) {
      const r = handRebuild(node[i]);
      if (r !== node[i]) {
        out ??= node.slice();
        out[i] = r;
      }
    }
    return out ?? node;
  }
  if (node instanceof Struct) {
    const names = CHILDREN.get(node.constructor)!;
    let changed: unknown[] | undefined;
    for (let i = 0; i < names.length; i++) {
      const child = (node as any)[names[i]!];
      const r = handRebuild(child);
      if (r !== child) {
        changed ??= names.map((n) => (node as any)[n]);
        changed[i] = r;
      }
    }
    if (changed === undefined) return node;
    const obj: any = Object.create(Object.getPrototypeOf(node));
    for (let i = 0; i < names.length; i++) obj[names[i]!] = changed[i];
    for (const n of STATICS.get(node.constructor) ?? []) obj[n] = (node as any)[n];
    return Object.freeze(obj);
  }
  return node;
}

await compare(
  "atInstancesOf(Mlp).apply, 625 matches (10,000 leaves)",
  () => select(model).atInstancesOf(Mlp).apply(swap),
  "hand-written recursive rebuild",
  () => handRebuild(model),
  { iterations: 31, warmup: 50, rounds: 15, extra: { matches: select(model).atInstancesOf(Mlp).count() } },
);
