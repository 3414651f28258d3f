import type { StepWarning } from "../common/warnings.js";

/**
 * What the evaluate step warns about: a held-out ROC-AUC too good to be true.
 * Churn is never that predictable from what is known before it happens, so
 * above SUSPICIOUS_ROC_AUC a column probably still carries the outcome (one
 * the leak guard kept because it was trusted, or a combination of columns).
 */
export const SUSPICIOUS_ROC_AUC = 0.995;

/** The suspicious-accuracy warning for the candidate's held-out ROC-AUC, or null. */
export function suspiciousAucWarning(rocAuc: number | null, model: string): StepWarning | null {
  if (rocAuc === null || !(rocAuc > SUSPICIOUS_ROC_AUC)) return null;
  return {
    code: "suspicious-roc-auc",
    column: null,
    message:
      `the candidate ${model} reached ROC-AUC ${rocAuc.toFixed(4)} on held-out rows, above ${SUSPICIOUS_ROC_AUC}: ` +
      `churn is rarely this predictable, so a feature probably carries the outcome; check train.trusted_features and the columns`,
  };
}
