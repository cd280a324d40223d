/**
 * Finding out why a walk passed {@link MAX_TREE_DEPTH}: a cycle (a node that is its own ancestor)
 * or a tree that is simply too deep, and the {@link TreeCycleError} or {@link TreeDepthError} that
 * says so. Walks call these only after their depth count passes the limit.
 *
 * @module
 */

import { TreeCycleError, TreeDepthError } from "./errors.js";
import { type KeyPath, keystr, type PathKey } from "./keys.js";
import { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
import { childKeys, nodeTypeOf } from "./registry.js";

function isObjectLike(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

function shortPath(path: KeyPath): string {
  if (path.length === 0) return "the root";
  const s = keystr(path);
  return s.length <= 200 ? s : `${s.slice(0, 90)}…${s.slice(-90)} (${path.length} steps)`;
}

/** @internal The error for a cycle closing at `path` on the ancestor at `ancestorPath`. */
export function cycleError(
  operation: string,
  path: KeyPath,
  ancestorPath: KeyPath,
): TreeCycleError {
  return new TreeCycleError(
    `${operation}: the tree contains a cycle: the node at ${shortPath(path)} is the same object as its ` +
      `ancestor at ${shortPath(ancestorPath)}, so walking it would never end. A tree must not contain ` +
      "itself: store something that identifies the ancestor (a name or an index) instead of the object, " +
      "or stop the walk there (flatten's isLeaf).",
    Object.freeze(path.slice()),
    Object.freeze(ancestorPath.slice()),
  );
}

/** @internal The error for an object found below the depth limit at `path`. */
export function depthError(operation: string, path: KeyPath): TreeDepthError {
  return new TreeDepthError(
    `${operation}: the tree is nested more than ${MAX_TREE_DEPTH} levels deep (at ${shortPath(path)}); ` +
      `saikei walks trees at most MAX_TREE_DEPTH = ${MAX_TREE_DEPTH} levels deep. Deep chains are ` +
      "usually linked lists built by accident: keep long sequences in one array, or stop the walk above " +
      "the deep part (flatten's isLeaf) and handle it yourself.",
    Object.freeze(path.slice()),
    MAX_TREE_DEPTH,
  );
}

/**
 * @internal Explains why a walk went deeper than {@link MAX_TREE_DEPTH}, given the child
 * positions it followed from `root`: a {@link TreeCycleError} if the chain of nodes repeats an
 * object, else a {@link TreeDepthError}. `basePath` is prepended to the reported key paths.
 *
 * @example
 * throw chainError("atInstancesOf", root, indices.slice(0, depth));
 */
export function chainError(
  operation: string,
  root: unknown,
  indexPath: readonly number[],
  basePath: KeyPath = [],
): TreeCycleError | TreeDepthError {
  const path: PathKey[] = basePath.slice();
  const seen = new Map<object, number>();
  let node = root;
  for (let depth = 0; ; depth++) {
    if (isObjectLike(node)) {
      const earlier = seen.get(node);
      if (earlier !== undefined) {
        return cycleError(operation, path, path.slice(0, basePath.length + earlier));
      }
      seen.set(node, depth);
    }
    if (depth === indexPath.length) break;
    const type = nodeTypeOf(node);
    if (type === undefined) break;
    const [children, aux] = type.flatten(node);
    const i = indexPath[depth]!;
    if (i >= children.length) break;
    path.push(childKeys(type, node, aux, children.length)[i]!);
    node = children[i];
  }
  return depthError(operation, path.slice(0, basePath.length + MAX_TREE_DEPTH + 1));
}

/**
 * @internal Walks `root` (iteratively, in flatten order, stopping where `isLeaf` says so) and
 * returns the first cycle or object deeper than {@link MAX_TREE_DEPTH} as an error; `undefined`
 * when there is neither. Only called after a fast walk went past the limit.
 *
 * @example
 * throw findCycleOrDepth("flatten", tree, isLeaf) ?? depthError("flatten", []);
 */
export function findCycleOrDepth(
  operation: string,
  root: unknown,
  isLeaf: ((value: unknown, path: KeyPath) => boolean) | undefined,
): TreeCycleError | TreeDepthError | undefined {
  interface Frame {
    readonly node: object;
    readonly children: unknown[];
    keys: PathKey[] | undefined;
    readonly aux: unknown;
    readonly type: NonNullable<ReturnType<typeof nodeTypeOf>>;
    next: number;
  }
  const stack: Frame[] = [];
  const onStack = new Map<object, number>();
  const path: PathKey[] = [];
  let node: unknown = root;
  for (;;) {
    // Visit `node`, found at `path`.
    const leaf = isLeaf?.(node, Object.freeze(path.slice())) === true;
    if (!leaf && isObjectLike(node)) {
      const earlier = onStack.get(node);
      if (earlier !== undefined) return cycleError(operation, path, path.slice(0, earlier));
      if (path.length > MAX_TREE_DEPTH) return depthError(operation, path);
      const type = nodeTypeOf(node);
      if (type !== undefined) {
        const [children, aux] = type.flatten(node);
        onStack.set(node, stack.length);
        stack.push({ node, children, aux, type, keys: undefined, next: 0 });
      }
    }
    // Find the next node to visit.
    let advanced = false;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.children.length) {
        top.keys ??= childKeys(top.type, top.node, top.aux, top.children.length);
        const i = top.next++;
        path.length = stack.length - 1;
        path.push(top.keys[i]!);
        node = top.children[i];
        advanced = true;
        break;
      }
      stack.pop();
      onStack.delete(top.node);
    }
    if (!advanced) return undefined;
  }
}
