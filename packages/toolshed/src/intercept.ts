/**
 * Shared machinery of {@link annotateShapes} and {@link runAndInterleaveIntermediates}: insert
 * interceptor layers between the sublayers of every group (and around other nested layers), run
 * the model once under `CollectingSideOutputs`, and replace each interceptor by what it saw.
 *
 * @module
 */

import { CollectingSideOutputs, SideOutputRequest, type SideOutputValue } from "@saikei/effects";
import { Layer } from "@saikei/layer";
import { isSequentialOrNamed, Sequential } from "@saikei/nn";
import { select } from "@saikei/select";
import { findOutermost, type KeyPath, keystr, rewriteOutermost } from "@saikei/struct";
import { InterceptionError } from "./errors.js";

/** Builds a fresh interceptor layer. */
export type InterceptorFactory = () => Layer;

function isGroup(node: unknown): node is Sequential {
  return isSequentialOrNamed(node);
}

/**
 * Inserts interceptors: in every group (`Sequential`, `NamedGroup`, `CheckedSequential`) one before
 * each sublayer and one after the last; a layer nested in a non-group layer (e.g. an attention
 * block's projections) is wrapped as `Sequential([interceptor, layer, interceptor])`; the root too
 * when it is not a group.
 */
export function instrument(
  root: Layer,
  make: InterceptorFactory,
  isInterceptor: (x: unknown) => boolean,
): Layer {
  const visit = (layer: unknown, wrapIfPlain: boolean): unknown => {
    if (isGroup(layer)) {
      const sublayers: unknown[] = [];
      for (const sub of layer.sublayers) {
        sublayers.push(make());
        sublayers.push(visit(sub, false));
      }
      sublayers.push(make());
      return layer.replace({ sublayers } as never);
    }
    if (!(layer instanceof Layer) || isInterceptor(layer)) return layer;
    // The outermost layers below this one (a tree holds no node twice on one branch, so "not
    // the root itself" is "below the root").
    const inner = rewriteOutermost(
      layer,
      (node) => node !== layer && node instanceof Layer,
      (node) => visit(node, true),
    );
    return wrapIfPlain ? new Sequential({ sublayers: [make(), inner as Layer, make()] }) : inner;
  };
  return visit(root, true) as Layer;
}

/**
 * Runs the instrumented model once and groups what each interceptor told by the interceptor's key
 * path (`keystr`).
 */
export function runCollecting(
  instrumented: Layer,
  tag: unknown,
  argument: unknown,
): [unknown, Map<string, unknown[]>] {
  const handler = CollectingSideOutputs.handling(instrumented, tag);
  const [output, collected] = handler.call(argument) as [unknown, SideOutputValue[]];
  const byPath = new Map<string, unknown[]>();
  for (const told of collected) {
    const key = keystr(told.keypath.slice(0, -1));
    const list = byPath.get(key);
    if (list === undefined) byPath.set(key, [told.value]);
    else list.push(told.value);
  }
  return [output, byPath];
}

/**
 * Replaces every interceptor (selected by class) by `replace(values)` where `values` is what it
 * told (possibly nothing); `undefined` removes it from its parent's sublayers.
 */
export function replaceInterceptors(
  instrumented: Layer,
  interceptorClass: abstract new (...args: any[]) => Layer,
  byPath: Map<string, unknown[]>,
  replace: (values: unknown[], path: KeyPath) => unknown,
): Layer {
  return select(instrumented)
    .atInstancesOf(interceptorClass as never)
    .applyAndInline(
      (path: KeyPath) => {
        const replacement = replace(byPath.get(keystr(path)) ?? [], path);
        return replacement === undefined ? [] : [replacement];
      },
      { withKeypath: true },
    ) as Layer;
}

/** Throws unless no `SideOutputRequest` in `root` uses `tag`. */
export function checkTagUnused(root: unknown, tag: unknown, what: string): void {
  const clash = findOutermost<SideOutputRequest>(root, { instanceOf: SideOutputRequest }).some(
    (found) => found.value.tag === tag,
  );
  if (clash) {
    throw new InterceptionError(
      `Model has SideOutputRequests with the ${what} tag, which is reserved for ${what}'s interceptors. ` +
        "Handle those requests before calling it, or remove them.",
    );
  }
}
