import type { StepWarning } from "../common/warnings.js";

/**
 * What the train step warns about: too few churners to learn from. With
 * fewer than MIN_POSITIVES churned customers (or under MIN_POSITIVE_SHARE of
 * the rows) a cross-validated ROC-AUC moves by several points from one seed to
 * the next, so the model's quality and its tiers are shaky.
 */
export const MIN_POSITIVES = 50;
export const MIN_POSITIVE_SHARE = 0.02;

/** The few-positives warning for the training rows, or null when there are enough churners. */
export function fewPositivesWarning(positives: number, rows: number): StepWarning | null {
  const share = rows === 0 ? 0 : positives / rows;
  if (positives >= MIN_POSITIVES && share >= MIN_POSITIVE_SHARE) return null;
  return {
    code: "few-positives",
    column: null,
    message:
      `only ${positives} churned customers among ${rows} training rows (${(share * 100).toFixed(1)}%): ` +
      `below ${MIN_POSITIVES} or ${MIN_POSITIVE_SHARE * 100}% the model's quality is uncertain; add labelled history`,
  };
}
