import { z } from "zod";
import { MODEL_FAMILIES } from "../common/config/schema.js";
import { stratifiedKFold, take, takeRows } from "../common/data/cv.js";
import { rocAuc } from "../common/data/metrics.js";
import { fitLogistic, predictLogistic } from "./logistic/logistic.js";

/**
 * The blended candidate (issue 17 item 7): stacking. Logistic regression on
 * the log-odds of the families' out-of-fold predictions learns one weight per
 * family and an intercept, so the blend's margin is
 *
 *   intercept + sum_k weight_k * margin_k(x)
 *
 * which the inference core computes from the members' own margins (every
 * family's margin is a log-odds). Reasons follow from the same sum: each
 * member explains its margin exactly as base_k + sum_j c_kj (TreeSHAP for the
 * GBDT, exact linear terms for logistic regression, the MLP's path
 * attributions), so the blend's contribution of feature j is
 * sum_k weight_k * c_kj and its base value intercept + sum_k weight_k *
 * base_k: the contributions still add up to the blend's margin, and a
 * family's reasons count in proportion to its weight.
 *
 * The blend is only chosen when its own cross-validated ROC-AUC (the
 * stacker refitted on each fold's other folds of the out-of-fold log-odds)
 * beats the best single family's by BLEND_MIN_GAIN: nothing about it is set
 * per data set.
 */

/** The blend must beat the best single family's out-of-fold ROC-AUC by this much to be chosen. */
export const BLEND_MIN_GAIN = 0.0005;
/** Probabilities are clipped to [EPS, 1 - EPS] before their log-odds are taken. */
const EPS = 1e-7;

export const blendMemberSchema = z.object({
  weight: z.number(),
  /** GBDT members: the mean trees of their cross-validation fits (the refit on all rows grows that many). */
  cv_rounds: z.int().min(1).nullable(),
  model: z.object({ family: z.enum(MODEL_FAMILIES) }).passthrough(),
});

export const blendModelSchema = z.object({
  family: z.literal("blend"),
  intercept: z.number(),
  members: z.array(blendMemberSchema).min(2),
});
export type BlendModel = z.output<typeof blendModelSchema>;

/** Log-odds of a probability, clipped away from 0 and 1. */
export function logOdds(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

/** Row-major n x K matrix of the members' log-odds. */
export function stackFeatures(probabilities: readonly Float64Array[]): Float64Array {
  const k = probabilities.length;
  const n = probabilities[0]!.length;
  const z = new Float64Array(n * k);
  for (let m = 0; m < k; m++) {
    const p = probabilities[m]!;
    for (let i = 0; i < n; i++) z[i * k + m] = logOdds(p[i]!);
  }
  return z;
}

/** The stacker: unweighted logistic regression on the log-odds (the weights stay comparable across families). */
export function fitStacker(
  z: Float64Array,
  y: Uint8Array,
  names: string[],
): { intercept: number; weights: number[] } {
  const model = fitLogistic(z, y, names, { classWeight: "none", C: 1 });
  return { intercept: model.intercept, weights: model.coefficients };
}

/** The blend's cross-validation: the stacker refitted per fold on the out-of-fold log-odds. */
export function stackedCrossValidation(
  oofs: readonly Float64Array[],
  y: Uint8Array,
  folds: number,
  seed: number,
): { oof: Float64Array; cvRocAuc: number } {
  const k = oofs.length;
  const names = Array.from({ length: k }, (_, m) => `member_${m}`);
  const z = stackFeatures(oofs);
  const oof = new Float64Array(y.length);
  for (const split of stratifiedKFold(y, folds, seed)) {
    const model = fitLogistic(takeRows(z, k, split.train), take(y, split.train), names, {
      classWeight: "none",
      C: 1,
    });
    const p = predictLogistic(model, takeRows(z, k, split.test));
    split.test.forEach((row, i) => {
      oof[row] = p[i]!;
    });
  }
  return { oof, cvRocAuc: rocAuc(y, oof) };
}

/** The blend's margin from its members' margins. */
export function blendMargin(
  model: Pick<BlendModel, "intercept" | "members">,
  margins: ArrayLike<number>,
): number {
  let m = model.intercept;
  for (let k = 0; k < model.members.length; k++) m += model.members[k]!.weight * margins[k]!;
  return m;
}
