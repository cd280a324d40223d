/**
 * `@saikei/select`: Selections: functional queries and edits of any saikei tree.
 *
 * @module
 */
export {};
