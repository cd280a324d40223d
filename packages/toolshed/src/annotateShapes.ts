/**
 * Annotating a model with the shapes that flow through it (penzai's `toolshed.annotate_shapes`):
 * run it once on an example input and insert `CheckStructure` layers that record (and from then
 * on check) the structure of every intermediate value.
 *
 * @module
 */

import { type SideOutputEffect, SideOutputRequest } from "@saikei/effects";
import { Layer } from "@saikei/layer";
import { tidy } from "@saikei/named";
import { CheckStructure, Identity } from "@saikei/nn";
import { asArrayStructure } from "@saikei/shapecheck";
import { field, Struct, treeEquals } from "@saikei/struct";
import { checkTagUnused, instrument, replaceInterceptors, runCollecting } from "./intercept.js";

/**
 * Marks a point that saw several different structures during the annotation run (penzai's
 * `CalledWithManyStructures`); it passes its input through unchanged.
 *
 * @example
 * new CalledWithManyStructures({ structures: [specA, specB] }).call(x); // x
 */
export class CalledWithManyStructures extends Identity.define(
  {
    structures: field<readonly unknown[]>(),
  },
  { name: "CalledWithManyStructures" },
) {}

/**
 * A static value kept in a tree's structure rather than as a child (penzai's `Static`): useful to
 * annotate models with non-array metadata.
 *
 * @example
 * new Static({ staticValue: "note" });
 */
export class Static extends Struct.define(
  { staticValue: field<unknown>({ static: true }) },
  { name: "Static" },
) {}

/** The reserved side-output tag of the shape interceptors. */
const SHAPE_TAG = Symbol.for("saikei.toolshed.InterceptShapes");

/** @internal The interceptor `annotateShapes` inserts: tells the structure of its input. */
export class InterceptShapes extends Layer.define(
  { shapeLogger: field<SideOutputEffect>() },
  { name: "InterceptShapes" },
) {
  /** Tells `asArrayStructure(x)` and returns `x`. */
  call(x: unknown): unknown {
    this.shapeLogger.tell(asArrayStructure(x));
    return x;
  }
}

/**
 * Runs `root` once on `dummyInput` and returns it with a `CheckStructure` before and after every
 * sublayer of each group (and around nested layers), holding the structure (`ArraySpec`s) seen
 * there; a point that saw several structures gets a `CalledWithManyStructures`, a point never
 * reached is left out. The dummy input's tensors are not disposed; everything else the run
 * creates is.
 *
 * @param root the model (parameters initialised).
 * @param dummyInput an example input.
 * @returns the annotated model.
 * @throws InterceptionError when the model already uses the interceptors' reserved tag.
 * @example
 * const annotated = annotateShapes(model, nx.zeros({ batch: 2, features: 8 }));
 */
export function annotateShapes<L extends Layer>(root: L, dummyInput: unknown): L {
  checkTagUnused(root, SHAPE_TAG, "annotateShapes");
  const make = () =>
    new InterceptShapes({ shapeLogger: new SideOutputRequest({ tag: SHAPE_TAG }) });
  const instrumented = instrument(root, make, (x) => x instanceof InterceptShapes);
  // The run's tensors are all temporary: only structures (no tensors) are kept.
  const byPath = tidy(() => runCollecting(instrumented, SHAPE_TAG, dummyInput)[1]);
  return replaceInterceptors(instrumented, InterceptShapes, byPath, (structures) => {
    if (structures.length === 0) return undefined;
    const first = structures[0];
    if (
      structures.every((s) =>
        treeEquals(s, first, (a, b) => a === b || (a as Struct)?.equals?.(b) === true),
      )
    ) {
      return new CheckStructure({ expected: first });
    }
    return new CalledWithManyStructures({ structures });
  }) as L;
}
