/**
 * Indexed updates and gathers with named indexers against the best hand-written tfjs for the same
 * result, measured in the same process:
 *
 * - `x.at({ row: i }).set(v)` on a `{row: 1024, col: 1024}` float32 array (one row replaced),
 *   against the faster of `tf.tensorScatterUpdate` and slice + concat.
 * - `table.index({ vocab: ids })` for 4,096 ids into a `{vocab: 32000, embedding: 256}` table,
 *   against `tf.gather(table, ids)`.
 *
 * Every variant is checked to agree before timing.
 *
 * Run: npx tsx --conditions=@saikei/source packages/named/bench/indexing.bench.ts
 */
import * as tf from "@tensorflow/tfjs-core";
import { compare, measure } from "../../../bench/harness.js";
import { type NamedArrayBase, nx, random, ready } from "../src/index.js";

const backend = await ready();

const ROWS = 1024;
const COLS = 1024;
const ROW = 517;
const VOCAB = 32000;
const EMBEDDING = 256;
const IDS = 4096;

const [kx, kv, kt, ki] = random.split(random.key(0), 4);
const xT = random.normal(kx!, [ROWS, COLS]);
const vT = random.normal(kv!, [COLS]);
const x = nx.wrap(xT, "row", "col");
const v = nx.wrap(vT, "col");

const tableT = random.normal(kt!, [VOCAB, EMBEDDING]);
const idsT = tf.cast(tf.floor(tf.mul(random.uniform(ki!, [IDS]), VOCAB)), "int32");
const table = nx.wrap(tableT, "vocab", "embedding");
const ids = nx.wrap(idsT, "batch");

const setOurs = () => x.at({ row: ROW }).set(v);
const setScatter = () =>
  tf.tidy(() => tf.tensorScatterUpdate(xT, tf.tensor2d([[ROW]], [1, 1], "int32"), tf.reshape(vT, [1, COLS])));
const setConcat = () =>
  tf.tidy(() =>
    tf.concat(
      [tf.slice(xT, [0, 0], [ROW, COLS]), tf.reshape(vT, [1, COLS]), tf.slice(xT, [ROW + 1, 0], [ROWS - ROW - 1, COLS])],
      0,
    ),
  );
const gatherOurs = () => table.index({ vocab: ids });
const gatherBest = () => tf.gather(tableT, idsT, 0);

function agree(a: tf.Tensor, b: tf.Tensor, what: string): void {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  if (d !== 0) throw new Error(`${what}: ours and the baseline disagree (max difference ${d})`);
}
{
  const ours = setOurs();
  const s = setScatter();
  const c = setConcat();
  agree(ours.unwrap("row", "col"), s, "at().set vs tensorScatterUpdate");
  agree(s, c, "tensorScatterUpdate vs concat");
  const g = gatherOurs();
  const b = gatherBest();
  agree(g.unwrap("batch", "embedding"), b, "index vs gather");
  for (const t of [ours.dataArray, s, c, g.dataArray, b]) t.dispose();
}

const run = (f: () => NamedArrayBase | tf.Tensor) => () => {
  const r = f();
  (r instanceof tf.Tensor ? r : r.dataArray).dispose();
};

// The machine is shared: many short rounds, reporting the best median. An update takes about a
// tenth of a millisecond, so it gets many more runs than the gather.
const options = { warmup: 20, iterations: 41, rounds: 15 };
const gatherOptions = { warmup: 2, iterations: 7, rounds: 5 };
const scatterMs = await measure(run(setScatter), options);
const concatMs = await measure(run(setConcat), options);
const [bestSetName, bestSet] =
  scatterMs <= concatMs ? ["tf.tensorScatterUpdate", setScatter] : ["slice + concat", setConcat];
await compare(`x.at({ row: i }).set(v) on {row: ${ROWS}, col: ${COLS}}`, run(setOurs), bestSetName, run(bestSet), {
  ...options,
  extra: { backend },
});
await compare(
  `table.index({ vocab: ids }) for ${IDS} ids, table {vocab: ${VOCAB}, embedding: ${EMBEDDING}}`,
  run(gatherOurs),
  "tf.gather",
  run(gatherBest),
  { ...gatherOptions, extra: { backend } },
);
