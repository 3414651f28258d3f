/** The feature component's library: fit the transform on training rows, apply it anywhere. */
export {
  type FeatureWarning,
  type FitOptions,
  type FitResult,
  fitTransform,
  numericStats,
} from "../models/features/fit.js";
export { featureTransformSchema, parseFeatureTransform } from "../models/features/schema.js";
export * from "../models/features/transform.js";
