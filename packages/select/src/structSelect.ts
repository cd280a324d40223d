/**
 * Adds `select()` to every struct: `struct.select()` is `select(struct)`. The method name is
 * reserved by `@saikei/struct`; importing `@saikei/select` defines it.
 *
 * @module
 */

import { Struct } from "@saikei/struct";
import { type Selection, select } from "./selection.js";

declare module "@saikei/struct" {
  interface Struct {
    /**
     * Selects this struct as the root of a selection (same as `select(this)`).
     *
     * @example
     * model.select().atInstancesOf(Linear).count();
     */
    select(): Selection<this, this>;
  }
}

if (!Object.hasOwn(Struct.prototype, "select")) {
  Object.defineProperty(Struct.prototype, "select", {
    value: function selectThis(this: Struct) {
      return select(this);
    },
    enumerable: false,
    writable: false,
    configurable: true,
  });
}
