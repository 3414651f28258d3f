/** Histogram GBDT for binary classification: training, model format, fast inference, importance. */
export { binOf, type FeatureBins, fitFeatureBins } from "./binning.js";
export {
  type CompiledGbdt,
  compileGbdt,
  compileGbdtCode,
  type GbdtCodePredictor,
  predictMargin,
} from "./compiled.js";
export { type FeatureImportance, featureImportance } from "./importance.js";
export {
  type GbdtModel,
  GbdtModelSchema,
  type GbdtTree,
  parseGbdtModel,
  predictMarginPlain,
  sigmoid,
  treeOutput,
} from "./model.js";
export {
  type GbdtData,
  type GbdtParams,
  type GbdtParamsInput,
  GbdtParamsSchema,
  type GbdtTrainInput,
  type GbdtTrainResult,
  trainGbdt,
} from "./train.js";
