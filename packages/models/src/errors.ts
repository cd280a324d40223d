/**
 * The errors of `@saikei/models` that more than one model file raises.
 *
 * @module
 */

/**
 * Raised when a model configuration cannot describe a model: fewer than two MLP sizes, a head count
 * that does not divide, an unknown attention layout.
 *
 * @example
 * MLP.fromConfig([8]); // throws ModelConfigError: MLP.fromConfig needs at least two feature sizes
 */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}
