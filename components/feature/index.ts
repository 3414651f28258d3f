/** The feature component's library: fit the transform on training rows, apply it anywhere. */
export { type FeatureWarning, type FitOptions, type FitResult, fitTransform, numericStats } from "./fit.js";
export { featureTransformSchema, parseFeatureTransform } from "./schema.js";
export * from "./transform.js";
