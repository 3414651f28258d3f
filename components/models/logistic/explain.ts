import { type LogisticModel, logisticMargin } from "./logistic.js";

/**
 * Exact contributions for the logistic model in log-odds: feature j adds
 * βⱼ · (xⱼ − baselineⱼ), where the baseline is the training mean. They sum,
 * with the base value b + β·baseline, to the row's log-odds exactly (up to
 * float rounding), which is what makes them "reasons" rather than guesses.
 */

export interface Attribution {
  /** Log-odds of the reference point (the training mean row). */
  base: number;
  /** One contribution per output feature, in log-odds. */
  contributions: Float64Array;
}

/** Log-odds of the baseline row. */
export function linearBase(model: LogisticModel): number {
  return logisticMargin(model, model.baseline);
}

/** Contributions of one row (starting at x[offset]) to its log-odds. */
export function explainLinear(model: LogisticModel, x: ArrayLike<number>, offset = 0): Attribution {
  const coef = model.coefficients;
  const contributions = new Float64Array(coef.length);
  for (let j = 0; j < coef.length; j++) contributions[j] = coef[j] * (x[offset + j] - model.baseline[j]);
  return { base: linearBase(model), contributions };
}
