// Types of the generated gradient table (`#tfjs-gradients`, see scripts/tfjs-gradients.mjs).
import type { GradConfig } from "@tensorflow/tfjs-core";

/** tfjs's gradient configurations, one per kernel. */
export declare const gradientConfigs: readonly GradConfig[];
