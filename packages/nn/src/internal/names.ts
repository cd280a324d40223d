/**
 * Keeps a layer class's `name` when the class has decorators: some compilers (esbuild, used by
 * vitest and tsx) rename decorated classes to `_Name`, and error messages and renderings print
 * `constructor.name`.
 *
 * @module
 */

/** Sets `cls.name` to `name`. */
export function keepClassName(cls: Function, name: string): void {
  if (cls.name !== name) Object.defineProperty(cls, "name", { value: name, configurable: true });
}
