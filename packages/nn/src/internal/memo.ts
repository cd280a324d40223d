/**
 * Per-instance memoization for values derived from immutable structs (layers are frozen, so a
 * layer's input and output structures never change). Shape checks run on every call; building
 * their patterns once per layer keeps the per-call overhead small.
 *
 * @module
 */

const cache = new WeakMap<object, Map<string, unknown>>();

/** Returns `compute()` for `owner` and `key`, computing it once per owner. Throws are not cached. */
export function memo<T>(owner: object, key: string, compute: () => T): T {
  let entries = cache.get(owner);
  if (entries === undefined) {
    entries = new Map();
    cache.set(owner, entries);
  }
  if (entries.has(key)) return entries.get(key) as T;
  const value = compute();
  entries.set(key, value);
  return value;
}
