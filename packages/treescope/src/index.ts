/**
 * `@saikei/treescope`: Text and interactive HTML rendering of any saikei tree.
 *
 * @module
 */
export {};
