/**
 * `@saikei/shapecheck`: Structural shape checking with dimension variables.
 *
 * @module
 */
export {};
