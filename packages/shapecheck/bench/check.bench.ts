/**
 * How much checkStructure costs next to the hand-written checks it replaces: once per layer call
 * (one input with named axes and dimension variables), and over a model-sized parameter tree.
 */
import { compare } from "../../../bench/harness.js";
import { ArraySpec, checkStructure, var as dim, dtypes, ShapeDtypeStruct } from "../src/index.js";

// A layer input: a named array with positional batch axes and named seq / embedding axes.
const input = new ArraySpec({ shape: [4, 2], namedShape: { seq: 128, embedding: 256 }, dtype: "float32" });
const inputPattern = new ArraySpec({
  shape: [...dim("batch").unpack()],
  namedShape: { seq: dim("seq"), embedding: 256 },
  dtype: dtypes.floating,
});

function handCheckInput(x: ArraySpec): Record<string, unknown> {
  if (x.dtype !== "float32") throw new Error("dtype");
  const named = x.namedShape as Record<string, number>;
  const keys = Object.keys(named);
  if (keys.length !== 2 || named.embedding !== 256 || named.seq === undefined) throw new Error("named");
  return { batch: [...(x.shape as number[])], seq: named.seq };
}

// A parameter tree: 24 blocks of 6 weight matrices, every one tied to the model width.
const width = 512;
const params: Record<string, Record<string, ShapeDtypeStruct>> = {};
const paramPattern: Record<string, Record<string, ArraySpec>> = {};
for (let b = 0; b < 24; b++) {
  const block: Record<string, ShapeDtypeStruct> = {};
  const blockPattern: Record<string, ArraySpec> = {};
  for (const name of ["q", "k", "v", "o", "up", "down"]) {
    block[name] = new ShapeDtypeStruct([width, 4 * width], "float32");
    blockPattern[name] = new ArraySpec({ shape: [dim("width"), dim("hidden")], dtype: dtypes.floating });
  }
  params[`block${String(b).padStart(2, "0")}`] = block;
  paramPattern[`block${String(b).padStart(2, "0")}`] = blockPattern;
}

function handCheckParams(tree: typeof params): Record<string, number> {
  let w: number | undefined;
  let h: number | undefined;
  for (const block of Object.keys(tree).sort()) {
    const entries = tree[block]!;
    for (const name of Object.keys(entries).sort()) {
      const p = entries[name]!;
      if (p.dtype !== "float32" || p.shape.length !== 2) throw new Error(`${block}.${name}`);
      w ??= p.shape[0];
      h ??= p.shape[1];
      if (p.shape[0] !== w || p.shape[1] !== h) throw new Error(`${block}.${name}`);
    }
  }
  return { width: w!, hidden: h! };
}

/**
 * One call takes well under a microsecond, below what one timer reading resolves: every timed
 * sample runs `times` calls, and the JSON line reports the time of one call.
 */
function batch(fn: () => unknown, times: number): () => unknown {
  return () => {
    let last: unknown;
    for (let i = 0; i < times; i++) last = fn();
    return last;
  };
}

const INPUT_CALLS = 1000;
const PARAMS_CALLS = 20;
const perCall = (calls: number) => ({ warmup: 20, iterations: 31, rounds: 9, scale: 1 / calls });
await compare(
  "checkStructure-layer-input",
  batch(() => checkStructure(input, inputPattern), INPUT_CALLS),
  "hand-written checks",
  batch(() => handCheckInput(input), INPUT_CALLS),
  perCall(INPUT_CALLS),
);
await compare(
  "checkStructure-144-params",
  batch(() => checkStructure(params, paramPattern), PARAMS_CALLS),
  "hand-written walk",
  batch(() => handCheckParams(params), PARAMS_CALLS),
  perCall(PARAMS_CALLS),
);
