import { stratifiedFolds } from "../../common/data/cv.js";
import { rocAuc } from "../../common/data/metrics.js";

/**
 * The leak guard's measures: how well one column ALONE predicts the label,
 * measured out of fold on the training rows.
 *
 * Why out of fold: an in-sample per-level churn rate of a many-level
 * categorical (a surname, a postcode) separates the classes almost perfectly
 * by construction (each level "predicts" its own rows), so an in-sample test
 * would flag every such column and a threshold on it would mean nothing. Here
 * each row is scored with the churn rate of its level (or value bin) computed
 * on the other folds, so a level seen once scores the prior and only a column
 * that truly carries the label reaches ~1.0.
 *
 * Numbers are cut into quantile bins (the cut points use the values only, not
 * the label, so they cannot leak), which also catches a non-monotone leak; the
 * raw value's own ranking (no fitted parameter but its direction) is taken
 * too, since a tie-free leak like `label + tiny noise` is exact there.
 */

/** Folds of the out-of-fold estimate (fixed: the guard must not depend on train.cv_folds). */
export const LEAK_FOLDS = 5;
/** Quantile bins of a numeric column for its out-of-fold churn rate. */
const NUMERIC_BINS = 32;
/** Pseudo-rows of the prior added to each level (smoothing), so a rare level stays near the prior. */
const SMOOTHING = 1;

/** Out-of-fold single-column scores. */
export interface LeakScore {
  /** ROC-AUC of the column alone (out of fold), in [0, 1]; 0.5 = no signal. */
  rocAuc: number;
  /**
   * Out-of-fold normalised mutual information with the label, in [0, 1]:
   * 1 - (cross-entropy of the out-of-fold per-level rates) / H(label).
   * 1 = the level fixes the label, 0 = no better than the churn rate.
   */
  nmi: number;
}

/**
 * Scores level codes (0..levels-1; -1 = missing, its own level) against the
 * label with per-level churn rates learnt on the other folds.
 */
export function outOfFoldLevelScore(
  codes: Int32Array,
  levels: number,
  label: Uint8Array,
  seed: number,
): LeakScore {
  const n = codes.length;
  const folds = stratifiedFolds(label, LEAK_FOLDS, seed);
  const width = levels + 1; // the last slot is "missing"
  const slot = (i: number) => (codes[i]! < 0 ? levels : codes[i]!);
  const foldRows = new Float64Array(LEAK_FOLDS * width);
  const foldPos = new Float64Array(LEAK_FOLDS * width);
  const rows = new Float64Array(width);
  const pos = new Float64Array(width);
  const foldSize = new Float64Array(LEAK_FOLDS);
  const foldPositives = new Float64Array(LEAK_FOLDS);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const f = folds[i]!;
    const c = slot(i);
    const y = label[i]!;
    foldRows[f * width + c]++;
    foldPos[f * width + c] += y;
    rows[c]++;
    pos[c] += y;
    foldSize[f]++;
    foldPositives[f] += y;
    positives += y;
  }
  const rate = new Float64Array(n);
  let crossEntropy = 0;
  for (let i = 0; i < n; i++) {
    const f = folds[i]!;
    const c = slot(i);
    const prior = (positives - foldPositives[f]!) / Math.max(1, n - foldSize[f]!);
    const others = rows[c]! - foldRows[f * width + c]!;
    const othersPos = pos[c]! - foldPos[f * width + c]!;
    const q = (othersPos + SMOOTHING * prior) / (others + SMOOTHING);
    rate[i] = q;
    const pYi = label[i] ? q : 1 - q;
    crossEntropy -= Math.log(Math.max(pYi, 1e-12));
  }
  crossEntropy /= n;
  const base = binaryEntropy(positives / n);
  const auc = rocAuc(label, rate);
  return {
    rocAuc: Number.isFinite(auc) ? auc : 0.5,
    nmi: base > 0 ? Math.max(0, 1 - crossEntropy / base) : 0,
  };
}

/** Entropy (nats) of a Bernoulli(p). */
function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

/** Quantile-bin codes of a numeric column (NaN = missing = -1); cut points from the values alone. */
export function quantileBinCodes(
  values: Float64Array,
  bins = NUMERIC_BINS,
): { codes: Int32Array; levels: number } {
  const sorted = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
  const cuts: number[] = [];
  for (let b = 1; b < bins && sorted.length > 0; b++) {
    const cut = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / bins))]!;
    if (cuts.length === 0 || cut > cuts[cuts.length - 1]!) cuts.push(cut);
  }
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      codes[i] = -1;
      continue;
    }
    // first cut greater than v (binary search): values equal to a cut go to the upper bin
    let lo = 0;
    let hi = cuts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cuts[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    codes[i] = lo;
  }
  return { codes, levels: cuts.length + 1 };
}

/** ROC-AUC of the raw values (missing rows left out), folded so 0.5 is no signal and 1 a perfect ranking either way. */
function rankingAuc(values: Float64Array, label: Uint8Array): number {
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      y.push(label[i]!);
      s.push(values[i]!);
    }
  }
  const auc = rocAuc(y, s);
  return Number.isFinite(auc) ? Math.max(auc, 1 - auc) : 0.5;
}

/** A numeric column's single-column ROC-AUC: the better of its own ranking and its out-of-fold binned churn rate. */
export function numericLeakAuc(values: Float64Array, label: Uint8Array, seed: number): number {
  const { codes, levels } = quantileBinCodes(values);
  return Math.max(rankingAuc(values, label), outOfFoldLevelScore(codes, levels, label, seed).rocAuc);
}
