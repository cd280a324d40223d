/**
 * The allowed keys of each options object of `@saikei/nn`, for `checkOptions` from
 * `@saikei/struct`.
 *
 * @module
 */

/**
 * The keys of an options interface `T`, written as a record of `true` so that TypeScript reports a
 * key that is missing from the list or not in `T`.
 */
export function optionKeys<T>(
  keys: { readonly [K in keyof Required<T>]: true },
): readonly string[] {
  return Object.freeze(Object.keys(keys));
}
