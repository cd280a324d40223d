/**
 * Options objects. Every saikei function that takes an options object checks it with
 * {@link checkOptions}: a key it does not know is an error naming the keys it does know, so a
 * misspelt or misplaced option is never silently ignored.
 *
 * @module
 */

import { UnknownOptionError } from "./errors.js";
import { safeString } from "./registry.js";

/**
 * Checks an options object against the keys its function accepts.
 *
 * `undefined` passes (no options given). A value that is not a plain object, or an object with an
 * own key outside `allowed`, throws {@link UnknownOptionError} naming the function, the offending
 * key(s) and the allowed keys. Keys whose value is `undefined` are checked too.
 *
 * @param where the function, e.g. `"handleLocalStates"`.
 * @param options what the caller passed.
 * @param allowed every key the function reads.
 * @returns `options` itself, typed as given, for use in an expression.
 * @example
 * checkOptions("sample", { temperature: 1 }, ["temperature", "seed"]); // passes
 * checkOptions("sample", { temprature: 1 }, ["temperature", "seed"]);
 * // UnknownOptionError: sample: unknown option "temprature". Allowed options: temperature, seed.
 */
export function checkOptions<T>(where: string, options: T, allowed: readonly string[]): T {
  if (options === undefined) return options;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new UnknownOptionError(
      `${where}: options must be an object, got ${safeString(options)}. ` +
        `Allowed options: ${allowed.join(", ") || "(none)"}.`,
    );
  }
  const unknown = Object.keys(options).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const which = unknown.map((key) => JSON.stringify(key)).join(", ");
    throw new UnknownOptionError(
      `${where}: unknown option${unknown.length > 1 ? "s" : ""} ${which}. ` +
        `Allowed options: ${allowed.join(", ") || "(none)"}.`,
    );
  }
  return options;
}
