import type { StepWarning } from "../common/warnings.js";

/**
 * What the report step warns about itself: the week's scores drifted from the
 * scores of the held-out rows the model was judged on (score PSI above
 * retrain.max_psi), so the tiers may no longer mean what they meant.
 */
export function scoreDriftWarning(scorePsi: number | null, maxPsi: number | null): StepWarning | null {
  if (scorePsi === null || maxPsi === null || !(scorePsi > maxPsi)) return null;
  return {
    code: "score-drift",
    column: null,
    message:
      `this week's churn probabilities drifted from the model's held-out scores (PSI ${scorePsi.toFixed(3)}, ` +
      `above retrain.max_psi ${maxPsi}): check the data before acting on the tiers`,
  };
}
