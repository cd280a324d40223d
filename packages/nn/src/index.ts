/**
 * `@saikei/nn`: Neural network layers and parameters on named axes.
 *
 * @module
 */
export {};
