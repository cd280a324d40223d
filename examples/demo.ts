/**
 * The main job (`npm run demo`). Until the transformer demo lands this shows the struct core:
 * define a struct, flatten it with key paths, and rebuild it.
 */
import { pz } from "saikei";

class Linear extends pz.Struct.define({
  weights: pz.field<number[]>(),
  bias: pz.field<number>(),
  name: pz.field<string>({ static: true }),
}) {}

class Mlp extends pz.Struct.define({ layers: pz.field<Linear[]>() }) {}

const model = new Mlp({
  layers: [
    new Linear({ weights: [1, 2], bias: 0.5, name: "in" }),
    new Linear({ weights: [3], bias: -1, name: "out" }),
  ],
});
const [pairs, treedef] = pz.tree.flattenWithPath(model);
console.log(`model: ${model}`);
for (const [path, leaf] of pairs) console.log(`  ${pz.tree.keystr(path)} = ${leaf}`);
const doubled = pz.tree.unflatten<Mlp>(treedef, pairs.map(([, leaf]) => (leaf as number) * 2));
console.log(`doubled: ${doubled}`);
