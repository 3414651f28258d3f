import { BUNDLE_FORMAT, type Bundle } from "../common/bundle/bundle.js";
import type { ChurnConfig } from "../common/config/schema.js";
import { take } from "../common/data/cv.js";
import { rocAuc } from "../common/data/metrics.js";
import { InputError } from "../common/errors.js";
import type { DatasetSchema } from "../common/schema/types.js";
import {
  BLEND_MIN_GAIN,
  blendModelSchema,
  fitStacker,
  stackedCrossValidation,
  stackFeatures,
} from "../models/blend.js";
import { calibrateAll, fitCalibration } from "../models/calibration.js";
import {
  type CandidateResult,
  type CrossValidateInput,
  crossValidate,
  type Family,
  type StoredModel,
  TRAINERS,
} from "../models/families.js";
import type { FeatureTransform } from "../models/features/transform.js";
import type { GbdtModel } from "../models/gbdt/model.js";
import { trainGbdt } from "../models/gbdt/train.js";
import { trainMlp } from "../models/mlp/mlp.js";
import { chooseTierThresholds, type TierThresholds } from "../models/tiers.js";

/**
 * Model selection: every configured family is cross-validated on the same
 * stratified folds (seeded), the one with the best out-of-fold ROC-AUC wins,
 * is refitted on all training rows, and calibrated on its own out-of-fold
 * predictions (never on rows it was fitted on). Tier thresholds are chosen on
 * the calibrated out-of-fold probabilities, i.e. on held-out data.
 *
 * Class imbalance: logistic regression and the MLP weight each class to the
 * same total ("balanced"); the GBDT fits the plain log loss (boosting ranks
 * minority classes well without weights, and weights would only distort the
 * probabilities); calibration then maps every family's scores back to the
 * real churn rate, and the tiers are chosen on ranks, so imbalance never
 * leaves a model predicting "nobody churns".
 *
 * The families and their cross-validation live in models/families.ts.
 */

export {
  capRows,
  type Family,
  MLP_CV_EPOCHS,
  MLP_CV_FOLDS,
  MLP_CV_MAX_TRAIN_ROWS,
  predictRaw,
  type StoredModel,
} from "../models/families.js";

export interface SelectInput extends Omit<CrossValidateInput, "fitSeed" | "stopAfterFold"> {
  families: readonly Family[];
  tiers: ChurnConfig["tiers"];
  /** Stop a family's cross-validation when it cannot catch up (default true; false only to measure what it saves). */
  earlyStop?: boolean;
  /** Try the blended candidate (default true; false only to measure what it adds). */
  blend?: boolean;
}

export interface SelectResult {
  family: Family | "blend";
  model: StoredModel;
  candidates: CandidateResult[];
  calibration: ReturnType<typeof fitCalibration>;
  tiers: TierThresholds;
  /** Calibrated out-of-fold probabilities of the selected family (training rows order). */
  oof: Float64Array;
  /** GBDT: the mean number of trees its cross-validation fits kept (early stopping); null for other families. */
  cvRounds: number | null;
}

/** Folds a family must have been scored on before its cross-validation may stop early. */
export const EARLY_STOP_MIN_FOLDS = 2;
/**
 * How many standard errors behind the leader the family's mean per-fold
 * difference must be. Conservative on purpose (3, not 2: with 2-4 folds the
 * standard error itself is rough): stopping must almost never change which
 * family wins.
 */
export const EARLY_STOP_STANDARD_ERRORS = 3;

/**
 * The cost bound of issue 17 item 8: after each fold, the challenger's
 * ROC-AUC on that fold's held-out rows is compared with the leader's
 * out-of-fold predictions on the same rows (every row has one, so this works
 * whatever folds the challenger uses, e.g. the MLP's 3). Once at least
 * EARLY_STOP_MIN_FOLDS folds are in and even the mean difference plus
 * EARLY_STOP_STANDARD_ERRORS standard errors is below zero, the challenger
 * cannot plausibly catch up and its remaining folds are skipped.
 */
export function cannotCatchUp(
  leaderOof: Float64Array,
  y: Uint8Array,
): (testRows: Int32Array, oof: Float64Array) => boolean {
  const diffs: number[] = [];
  return (testRows, oof) => {
    const yt = take(y, testRows);
    diffs.push(rocAuc(yt, take(oof, testRows)) - rocAuc(yt, take(leaderOof, testRows)));
    const n = diffs.length;
    if (n < EARLY_STOP_MIN_FOLDS || diffs.some((d) => !Number.isFinite(d))) return false;
    const mean = diffs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1));
    return mean + (EARLY_STOP_STANDARD_ERRORS * sd) / Math.sqrt(n) < 0;
  };
}

/** Cross-validates every family, refits the best on all rows, calibrates it and chooses tier thresholds. */
export async function selectModel(input: SelectInput): Promise<SelectResult> {
  let positives = 0;
  for (const v of input.y) positives += v;
  const n = input.y.length;
  if (positives < input.folds || n - positives < input.folds) {
    throw new InputError(
      `training needs at least ${input.folds} churned and ${input.folds} retained customers for ${input.folds}-fold cross-validation (got ${positives} and ${n - positives})`,
    );
  }
  const candidates: CandidateResult[] = [];
  let best: { family: Family; oof: Float64Array; auc: number; rounds: number | null } | null = null;
  const complete: Array<{ family: Family; oof: Float64Array; rounds: number | null }> = [];
  for (const family of input.families) {
    const leader = best;
    const { oof, rounds, result } = await crossValidate(family, {
      ...input,
      ...(leader && input.earlyStop !== false ? { stopAfterFold: cannotCatchUp(leader.oof, input.y) } : {}),
    });
    if (result.stoppedEarly)
      input.onProgress?.(`${family}: stopped after ${result.folds} folds (behind ${leader!.family})`);
    candidates.push(result);
    if (!result.stoppedEarly) complete.push({ family, oof, rounds });
    // Ties go to the earlier family in config order (simpler models first by default).
    // A family stopped early was behind the leader on every row it scored: never chosen.
    if (!result.stoppedEarly && (!best || result.cvRocAuc > best.auc))
      best = { family, oof, auc: result.cvRocAuc, rounds };
  }
  const chosen = best!;
  if (complete.length >= 2 && input.blend !== false) {
    const blended = await tryBlend(input, complete, chosen.auc, candidates);
    if (blended) return blended;
  }
  input.onProgress?.(`${chosen.family}: final fit on ${n} rows`);
  const model = await TRAINERS[chosen.family].fit(input.x, input.y, input.featureNames, input.seed, false);
  const calibration = fitCalibration(chosen.oof, input.y, { seed: input.seed });
  const oof = calibrateAll(calibration.calibrator, chosen.oof);
  const tiers = chooseTierThresholds(input.y, oof, input.tiers);
  return { family: chosen.family, model, candidates, calibration, tiers, oof, cvRounds: chosen.rounds };
}

/**
 * The blended candidate (models/blend.ts): the stacker's own cross-validated
 * ROC-AUC is added to the candidates; the blend is chosen (members fitted on
 * all training rows, the stacker on every out-of-fold log-odds) only when it
 * beats the best single family by BLEND_MIN_GAIN. Null when it does not.
 */
async function tryBlend(
  input: SelectInput,
  complete: Array<{ family: Family; oof: Float64Array; rounds: number | null }>,
  bestAuc: number,
  candidates: CandidateResult[],
): Promise<SelectResult | null> {
  const started = performance.now();
  const oofs = complete.map((c) => c.oof);
  const stacked = stackedCrossValidation(oofs, input.y, input.folds, input.seed);
  candidates.push({
    family: "blend",
    cvRocAuc: stacked.cvRocAuc,
    folds: input.folds,
    seconds: (performance.now() - started) / 1000,
  });
  if (!(stacked.cvRocAuc >= bestAuc + BLEND_MIN_GAIN)) return null;
  const n = input.y.length;
  input.onProgress?.(`blend of ${complete.map((c) => c.family).join(", ")}: final fits on ${n} rows`);
  const stacker = fitStacker(
    stackFeatures(oofs),
    input.y,
    complete.map((c) => c.family),
  );
  const members = [];
  for (const [k, c] of complete.entries()) {
    const model = await TRAINERS[c.family].fit(input.x, input.y, input.featureNames, input.seed, false);
    members.push({ weight: stacker.weights[k]!, cv_rounds: c.rounds, model });
  }
  const model = { family: "blend", intercept: stacker.intercept, members } as unknown as StoredModel;
  const calibration = fitCalibration(stacked.oof, input.y, { seed: input.seed });
  const oof = calibrateAll(calibration.calibrator, stacked.oof);
  const tiers = chooseTierThresholds(input.y, oof, input.tiers);
  return { family: "blend", model, candidates, calibration, tiers, oof, cvRounds: null };
}

/**
 * The selected family refitted on every labelled row (the training rows and
 * the gate's held-out rows) with the same hyper-parameters, once the gate has
 * judged the model fitted without the held-out rows: a fifth of the history
 * is no longer thrown away. Nothing is tuned on the extra rows: the GBDT
 * grows the number of trees its cross-validation kept (no early stopping),
 * the MLP trains for the epochs the judged model's early stopping chose, and
 * logistic regression has nothing to tune. The judged model's calibration and
 * tier thresholds (chosen on out-of-fold predictions) are kept. Seeded, so
 * the same rows give the same weights.
 */
export async function refitOnAllRows(args: {
  selection: SelectResult;
  x: Float64Array;
  y: Uint8Array;
  featureNames: string[];
  seed: number;
}): Promise<StoredModel> {
  const { selection, x, y, featureNames, seed } = args;
  if (selection.family === "blend") {
    // Each member as its family refits; the stacker's weights stay (chosen on out-of-fold predictions).
    const blend = blendModelSchema.parse(selection.model);
    const members = [];
    for (const m of blend.members) {
      const model = await refitFamily(m.model as StoredModel, m.cv_rounds, x, y, featureNames, seed);
      members.push({ ...m, model });
    }
    return { ...blend, members } as unknown as StoredModel;
  }
  return refitFamily(selection.model, selection.cvRounds, x, y, featureNames, seed);
}

/** One family's model refitted on all rows with the judged model's settings (see refitOnAllRows). */
async function refitFamily(
  judged: StoredModel,
  cvRounds: number | null,
  x: Float64Array,
  y: Uint8Array,
  featureNames: string[],
  seed: number,
): Promise<StoredModel> {
  if (judged.family === "gbdt") {
    const rounds = cvRounds ?? (judged as unknown as GbdtModel).trees.length;
    const { model } = trainGbdt({
      x,
      y: Float64Array.from(y),
      numFeatures: featureNames.length,
      featureNames,
      params: { seed, maxRounds: rounds, earlyStoppingRounds: 0 },
    });
    return { family: "gbdt", ...model } as unknown as StoredModel;
  }
  if (judged.family === "mlp") {
    const epochs = Math.max(1, (judged as unknown as { training: { bestEpoch: number } }).training.bestEpoch);
    // Every row trains; the same rows only stand in as the (unused) early-stopping set.
    return (await trainMlp(x, y, featureNames, {
      seed,
      maxEpochs: epochs,
      patience: epochs + 1,
      valid: { x, y },
    })) as unknown as StoredModel;
  }
  return TRAINERS.logistic.fit(x, y, featureNames, seed, false);
}

/** Assembles the candidate bundle (no timestamps: its content hash is its version). */
export function buildBundle(args: {
  schema: DatasetSchema;
  transform: FeatureTransform;
  selection: SelectResult;
  training: Record<string, unknown>;
}): Bundle {
  const { selection } = args;
  const selected = selection.candidates.find((c) => c.family === selection.family)!;
  return {
    format: BUNDLE_FORMAT,
    schema: args.schema as unknown as Record<string, unknown>,
    transform: args.transform as unknown as Record<string, unknown>,
    model: selection.model,
    calibration: selection.calibration.calibrator as unknown as Record<string, unknown>,
    tiers: { high: selection.tiers.high.threshold, medium: selection.tiers.medium.threshold },
    metrics: {
      roc_auc: selected.cvRocAuc,
      cv_roc_auc: Object.fromEntries(selection.candidates.map((c) => [c.family, c.cvRocAuc])),
      calibration_log_loss: selection.calibration.logLoss,
      tiers: selection.tiers,
    },
    training: {
      ...args.training,
      // Seconds vary run to run: they stay out of the bundle (its hash must be stable).
      candidates: selection.candidates.map((c) => ({
        family: c.family,
        cv_roc_auc: c.cvRocAuc,
        folds: c.folds,
        ...(c.stoppedEarly ? { stopped_early: true } : {}),
      })),
      selected: selection.family,
    },
  };
}
