// A user's TypeScript module, type-checked with skipLibCheck off under moduleResolution bundler and
// nodenext: every public door of every package, and a few typed uses of the API.
import * as effects from "@saikei/effects";
import * as layer from "@saikei/layer";
import * as models from "@saikei/models";
import { type NamedArray, nx, ready } from "@saikei/named";
import * as nn from "@saikei/nn";
import { select } from "@saikei/select";
import * as shapecheck from "@saikei/shapecheck";
import { field, Struct, tree } from "@saikei/struct";
import * as toolshed from "@saikei/toolshed";
import * as treescope from "@saikei/treescope";
import * as tf from "@tensorflow/tfjs-core";
import { pz } from "saikei";
import { writeFileAtomic } from "saikei/node";

class Point extends Struct.define({ x: field<number>(), y: field<number>() }) {
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

export async function main(): Promise<void> {
  const backend: "wasm" | "cpu" | "webgl" = await ready();
  const p = new Point({ x: 3, y: 4 });
  const n: number = p.norm();
  const [leaves] = tree.flatten(p);
  const moved: Point = select(p)
    .at((q) => q.x)
    .set(5);
  const a: NamedArray = nx.wrap(tf.ones([2, 3]), "batch", "features");
  const mlp = nn.initializeParameters(models.MLP.fromConfig([3, 2]), pz.random.key(0));
  const html: string = treescope.renderToHTML(mlp);
  const checked = shapecheck.ArraySpec;
  console.log(
    backend,
    n,
    leaves,
    moved,
    a.namedShape,
    html.length,
    checked,
    effects,
    layer,
    toolshed,
    writeFileAtomic,
  );
}
