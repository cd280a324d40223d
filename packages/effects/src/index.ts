/**
 * `@saikei/effects`: The data-effect system: side inputs, local state, randomness, side outputs.
 *
 * @module
 */
export {};
