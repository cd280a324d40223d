/**
 * Class names that survive minification. Treescope and error messages print the class of a node
 * (`Linear(`, "a layer of type Linear"); a minifier renames classes (`vf(`), so a struct class
 * records its name with `Struct.define(fields, { name: "Linear" })` and everything that prints a
 * class asks {@link className}.
 *
 * @module
 */

/**
 * Where `define(spec, { name })` records the name: an own property of the class `define` returns.
 * `Symbol.for`, so that two copies of `@saikei/struct` in one bundle read each other's names.
 *
 * @internal
 */
export const RECORDED_NAME: unique symbol = Symbol.for("saikei.className");

/**
 * The name to print for a class: the name recorded by the `Struct.define` call the class extends
 * directly, else `cls.name`.
 *
 * Only the class written as `class X extends Base.define(spec, { name: "X" })` gets the recorded
 * name; a subclass of it that does not call `define` itself keeps its own `cls.name`, so
 * `class MyLinear extends Linear {}` prints as `MyLinear`, not `Linear`. A subclass that must keep
 * its name in minified builds records it the same way: `class MyLinear extends
 * Linear.define({}, { name: "MyLinear" }) {}`.
 *
 * @param cls any class (or constructor function); for an instance, pass `value.constructor`.
 * @returns the recorded name, or `cls.name` (which a minifier may have shortened); `""` when
 *   `cls` is not a function, so `className(value.constructor) || "object"` reads any value.
 * @example
 * class Point extends Struct.define({ x: field<number>() }, { name: "Point" }) {}
 * className(Point); // "Point", minified or not
 * class Tagged extends Point {}
 * className(Tagged); // "Tagged" (its own name: it did not call define)
 */
export function className(cls: Function | null | undefined): string {
  if (typeof cls !== "function") return "";
  const parent: unknown = Object.getPrototypeOf(cls);
  if (typeof parent === "function" && Object.hasOwn(parent, RECORDED_NAME)) {
    return (parent as unknown as { [RECORDED_NAME]: string })[RECORDED_NAME];
  }
  return cls.name;
}
