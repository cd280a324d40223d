/**
 * The errors treescope raises. Rendering itself never throws because of what a tree holds (a
 * broken `toString`, a colour that is not CSS, a tree too deep to walk): those render as what
 * they are. Errors are for options a caller passed.
 *
 * @module
 */

/**
 * The base class of treescope's errors.
 *
 * @example
 * try { renderToHTML(tree, { id: "a b" }); } catch (e) { e instanceof TreescopeError; } // true
 */
export class TreescopeError extends Error {
  override name = "TreescopeError";
}

/**
 * An option of `renderToHTML` or `renderToText` that treescope cannot use safely or at all. The
 * message names the option, the value, and what to pass instead.
 *
 * @example
 * renderToHTML(tree, { id: "</script>" });
 * // RenderOptionError: renderToHTML option `id`: "</script>" is not a safe element id. Use a letter
 * // followed by letters, digits, "-" or "_" …
 */
export class RenderOptionError extends TreescopeError {
  override name = "RenderOptionError";

  /**
   * @param option the option's name, e.g. `"id"`.
   * @param problem what is wrong with the value.
   * @param fix how to fix it.
   * @param fn the function the option was given to.
   */
  constructor(
    readonly option: string,
    problem: string,
    fix: string,
    fn = "renderToHTML",
  ) {
    super(`${fn} option \`${option}\`: ${problem}. ${fix}`);
  }
}

/**
 * A value given to `renderArray` or `renderTokens` that cannot be shown as an array: not an array
 * at all, a disposed tensor, a string tensor, a ragged nested array, or token ids and scores of
 * different shapes. The message says which argument and how to fix it.
 *
 * @example
 * renderArray("abc"); // ArrayInputError: renderArray: expected a tf.Tensor, a NamedArray …
 */
export class ArrayInputError extends TreescopeError {
  override name = "ArrayInputError";
}
