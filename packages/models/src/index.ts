/**
 * `@saikei/models`: Example models: simple MLP and a decoder-only transformer LM with sampling.
 *
 * @module
 */
export {};
