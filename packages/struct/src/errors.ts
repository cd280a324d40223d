/**
 * Error classes raised by `@saikei/struct`. Each message says what failed, where (the function,
 * the field or the key path) and how to fix the call.
 *
 * @module
 */

import type { KeyPath } from "./keys.js";

/** Raised when saikei reaches a state its own logic rules out: a bug in saikei, to be reported. */
export class InternalError extends Error {
  override name = "InternalError";
}

/** Raised when an options object is not a plain object or holds a key its function does not know. */
export class UnknownOptionError extends TypeError {
  override name = "UnknownOptionError";
}

/**
 * Raised when a node type is registered twice or registered wrongly.
 *
 * @example
 * registerPytreeNode(Map, def); // throws RegistrationError: Map is built in
 */
export class RegistrationError extends Error {
  override name = "RegistrationError";
}

/**
 * Raised for a wrong struct declaration: a reserved or repeated field name.
 *
 * @example
 * Struct.define({ replace: field<number>() }); // throws StructDefinitionError
 */
export class StructDefinitionError extends Error {
  override name = "StructDefinitionError";
}

/**
 * Raised for wrong constructor props or `fromAttributes` values: missing, extra or not an object.
 *
 * @example
 * new Point({ x: 1 } as never); // throws StructConstructionError: missing required field(s) y
 */
export class StructConstructionError extends Error {
  override name = "StructConstructionError";
}

/**
 * Raised when trees that should have the same structure do not.
 *
 * @example
 * map((a, b) => a + b, [1, 2], [1]); // throws TreeStructureMismatchError (path: [])
 */
export class TreeStructureMismatchError extends Error {
  override name = "TreeStructureMismatchError";
  constructor(
    message: string,
    /** Where the trees first differ. */
    readonly path: KeyPath,
  ) {
    super(message);
  }
}

/**
 * Raised when a key path cannot be followed from a root.
 *
 * @example
 * getAtPath([1], [new SequenceKey(3)]); // throws KeyPathError
 */
export class KeyPathError extends Error {
  override name = "KeyPathError";
}

/**
 * Raised when `unflatten` receives a number of leaves that does not fit the structure.
 *
 * @example
 * structure([1, 2]).unflatten([1]); // throws LeafCountError
 */
export class LeafCountError extends Error {
  override name = "LeafCountError";
}

/**
 * Raised when a tree contains itself: walking down from the root reaches a node that is the same
 * object as one of its ancestors. `path` is where the cycle closes, `ancestorPath` the ancestor it
 * closes on.
 *
 * @example
 * const a: Record<string, unknown> = {};
 * a.self = a;
 * flatten(a); // throws TreeCycleError (path ['self'], ancestorPath [])
 */
export class TreeCycleError extends Error {
  override name = "TreeCycleError";
  constructor(
    message: string,
    /** Key path of the node that repeats an ancestor. */
    readonly path: KeyPath,
    /** Key path of that ancestor (a prefix of `path`). */
    readonly ancestorPath: KeyPath,
  ) {
    super(message);
  }
}

/**
 * Raised when a tree is nested more than {@link MAX_TREE_DEPTH} levels deep. `path` is the key
 * path of the first object found below the limit (it has `limit + 1` steps).
 *
 * @example
 * let t: unknown = 1;
 * for (let i = 0; i < 20_000; i++) t = [t];
 * flatten(t); // throws TreeDepthError (limit 1000)
 */
export class TreeDepthError extends Error {
  override name = "TreeDepthError";
  constructor(
    message: string,
    /** Key path of the first object deeper than the limit (may be empty when not known). */
    readonly path: KeyPath,
    /** The depth limit, {@link MAX_TREE_DEPTH}. */
    readonly limit: number,
  ) {
    super(message);
  }
}
