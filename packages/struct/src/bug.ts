/**
 * Impossible states. Code that reaches a state its own logic rules out throws an
 * {@link InternalError} built by {@link bugInSaikei}: the message says it is a bug in saikei, where,
 * what was found, and the offending value, so that a report carries what is needed to fix it.
 *
 * @module
 */

import { InternalError } from "./errors.js";
import { safeString } from "./registry.js";

/**
 * The error for an impossible state, worded one way across the packages.
 *
 * @param where the function or layer that found it, e.g. `"NamedEinsum"`.
 * @param what what was found, as a sentence.
 * @param value the offending value, shown in the message when given.
 * @returns an {@link InternalError} to throw.
 * @example
 * throw bugInSaikei("keyPathOfIndexPath", "the index path does not exist in its tree.", [0, 3]);
 * // InternalError: Bug in saikei (keyPathOfIndexPath): the index path does not exist in its tree.
 * // The value: [0,3]. Please report it with the code that led here.
 */
export function bugInSaikei(where: string, what: string, ...value: [unknown?]): InternalError {
  const shown = value.length > 0 ? ` The value: ${show(value[0])}.` : "";
  return new InternalError(
    `Bug in saikei (${where}): ${what}${shown} Please report it with the code that led here.`,
  );
}

function show(value: unknown): string {
  if (Array.isArray(value)) {
    try {
      return JSON.stringify(value);
    } catch {
      // Cyclic or holding a bigint: fall back to String.
    }
  }
  return safeString(value);
}
