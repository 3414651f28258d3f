/** Global feature importance of a GBDT model, for the evaluate step's "churn drivers". */
import type { GbdtModel } from "./model.js";

/** Importance of one feature. */
export interface FeatureImportance {
  feature: string;
  /** Total loss reduction of the splits on this feature. */
  gain: number;
  /** Number of splits on this feature. */
  splits: number;
}

/** Gain and split-count importance per feature, sorted by gain (descending), then name. */
export function featureImportance(model: GbdtModel): FeatureImportance[] {
  const gain = new Float64Array(model.numFeatures);
  const splits = new Int32Array(model.numFeatures);
  for (const t of model.trees) {
    for (let k = 0; k < t.feature.length; k++) {
      const f = t.feature[k];
      if (f < 0) continue;
      gain[f] += t.gain[k];
      splits[f]++;
    }
  }
  return model.featureNames
    .map((feature, f) => ({ feature, gain: gain[f], splits: splits[f] }))
    .sort((a, b) => b.gain - a.gain || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
}
