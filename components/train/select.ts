import { BUNDLE_FORMAT, type Bundle } from "../common/bundle/bundle.js";
import type { ChurnConfig } from "../common/config/schema.js";
import { stratifiedKFold, take, takeRows } from "../common/data/cv.js";
import { rocAuc } from "../common/data/metrics.js";
import { InputError } from "../common/errors.js";
import { Rng } from "../common/random.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { calibrateAll, fitCalibration } from "../models/calibration.js";
import type { FeatureTransform } from "../models/features/transform.js";
import { compileGbdtCode } from "../models/gbdt/compiled.js";
import type { GbdtModel } from "../models/gbdt/model.js";
import { trainGbdt } from "../models/gbdt/train.js";
import { fitLogistic, predictLogistic } from "../models/logistic/logistic.js";
import { predictMlp, trainMlp } from "../models/mlp/mlp.js";
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
 * Cost: the MLP is the slowest family by far, so it is cross-validated on at
 * most 3 folds with at most 60 epochs (early stopping usually ends sooner);
 * its out-of-fold predictions still cover every row.
 */

export type Family = "logistic" | "gbdt" | "mlp";

export const MLP_CV_FOLDS = 3;
export const MLP_CV_EPOCHS = 60;
/**
 * Training rows per cross-validation fit of the MLP. Its cost grows with the
 * rows (tfjs on the CPU) while its cross-validated ROC-AUC settles long before
 * 100k rows, so each fold trains on a seeded stratified-by-chance sample of at
 * most this many rows and still predicts every held-out row, keeping the
 * out-of-fold predictions complete. The final fit (when selected) uses all rows.
 */
export const MLP_CV_MAX_TRAIN_ROWS = 20_000;

/** A fitted model of any family as stored in a bundle (`model` field). */
export type StoredModel = Bundle["model"];

interface FamilyTrainer {
  fit(x: Float64Array, y: Uint8Array, names: string[], seed: number, cv: boolean): Promise<StoredModel>;
  predict(model: StoredModel, x: Float64Array, rows: number): Float64Array;
}

const sigmoid = (m: number) => (m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m)));

const TRAINERS: Record<Family, FamilyTrainer> = {
  logistic: {
    async fit(x, y, names) {
      return fitLogistic(x, y, names, { classWeight: "balanced", C: 1 }) as unknown as StoredModel;
    },
    predict(model, x) {
      return predictLogistic(model as never, x);
    },
  },
  gbdt: {
    async fit(x, y, names, seed) {
      const { model } = trainGbdt({
        x,
        y: Float64Array.from(y),
        numFeatures: names.length,
        featureNames: names,
        params: { seed },
      });
      return { family: "gbdt", ...model } as unknown as StoredModel;
    },
    predict(model, x, rows) {
      const { family: _f, ...rest } = model;
      return gbdtPredict(rest as never, x, rows);
    },
  },
  mlp: {
    async fit(x, y, names, seed, cv) {
      return (await trainMlp(x, y, names, {
        seed,
        ...(cv ? { maxEpochs: MLP_CV_EPOCHS } : {}),
      })) as unknown as StoredModel;
    },
    predict(model, x) {
      return predictMlp(model as never, x);
    },
  },
};

function gbdtPredict(model: GbdtModel, x: Float64Array, rows: number): Float64Array {
  const m = compileGbdtCode(model).predictMargin(x, rows);
  for (let i = 0; i < rows; i++) m[i] = sigmoid(m[i]!);
  return m;
}

/** One family's cross-validation outcome. */
export interface CandidateResult {
  family: Family;
  /** Out-of-fold ROC-AUC on the training rows. */
  cvRocAuc: number;
  folds: number;
  seconds: number;
}

export interface SelectInput {
  x: Float64Array;
  y: Uint8Array;
  featureNames: string[];
  families: readonly Family[];
  folds: number;
  seed: number;
  tiers: ChurnConfig["tiers"];
  /** Progress lines (family, fold). */
  onProgress?: (message: string) => void;
}

export interface SelectResult {
  family: Family;
  model: StoredModel;
  candidates: CandidateResult[];
  calibration: ReturnType<typeof fitCalibration>;
  tiers: TierThresholds;
  /** Calibrated out-of-fold probabilities of the selected family (training rows order). */
  oof: Float64Array;
  /** GBDT: the mean number of trees its cross-validation fits kept (early stopping); null for other families. */
  cvRounds: number | null;
}

async function crossValidate(
  family: Family,
  input: SelectInput,
): Promise<{ oof: Float64Array; rounds: number | null; result: CandidateResult }> {
  const started = performance.now();
  const { x, y, featureNames, seed } = input;
  const d = featureNames.length;
  const k = family === "mlp" ? Math.min(MLP_CV_FOLDS, input.folds) : input.folds;
  const oof = new Float64Array(y.length);
  let trees = 0;
  for (const split of stratifiedKFold(y, k, seed)) {
    input.onProgress?.(`${family}: fold ${split.fold + 1}/${k}`);
    const trainer = TRAINERS[family];
    const trainRows =
      family === "mlp" ? capRows(split.train, MLP_CV_MAX_TRAIN_ROWS, seed + split.fold) : split.train;
    const model = await trainer.fit(
      takeRows(x, d, trainRows),
      take(y, trainRows),
      featureNames,
      seed + split.fold,
      true,
    );
    if (family === "gbdt") trees += (model as unknown as GbdtModel).trees.length;
    const p = trainer.predict(model, takeRows(x, d, split.test), split.test.length);
    split.test.forEach((row, i) => {
      oof[row] = p[i]!;
    });
  }
  return {
    oof,
    rounds: family === "gbdt" ? Math.max(1, Math.round(trees / k)) : null,
    result: {
      family,
      cvRocAuc: rocAuc(y, oof),
      folds: k,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/** A seeded random subset of at most `max` row indices, in ascending order (all of them when fewer). */
export function capRows(rows: ArrayLike<number>, max: number, seed: number): number[] {
  const all = Array.from(rows);
  if (all.length <= max) return all;
  return new Rng(seed)
    .shuffle(all)
    .slice(0, max)
    .sort((a, b) => a - b);
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
  for (const family of input.families) {
    const { oof, rounds, result } = await crossValidate(family, input);
    candidates.push(result);
    // Ties go to the earlier family in config order (simpler models first by default).
    if (!best || result.cvRocAuc > best.auc) best = { family, oof, auc: result.cvRocAuc, rounds };
  }
  const chosen = best!;
  input.onProgress?.(`${chosen.family}: final fit on ${n} rows`);
  const model = await TRAINERS[chosen.family].fit(input.x, input.y, input.featureNames, input.seed, false);
  const calibration = fitCalibration(chosen.oof, input.y, { seed: input.seed });
  const oof = calibrateAll(calibration.calibrator, chosen.oof);
  const tiers = chooseTierThresholds(input.y, oof, input.tiers);
  return { family: chosen.family, model, candidates, calibration, tiers, oof, cvRounds: chosen.rounds };
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
  if (selection.family === "gbdt") {
    const rounds = selection.cvRounds ?? (selection.model as unknown as GbdtModel).trees.length;
    const { model } = trainGbdt({
      x,
      y: Float64Array.from(y),
      numFeatures: featureNames.length,
      featureNames,
      params: { seed, maxRounds: rounds, earlyStoppingRounds: 0 },
    });
    return { family: "gbdt", ...model } as unknown as StoredModel;
  }
  if (selection.family === "mlp") {
    const judged = selection.model as unknown as { training: { bestEpoch: number } };
    const epochs = Math.max(1, judged.training.bestEpoch);
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

/** Raw (uncalibrated) probabilities of a stored model of any family. */
export function predictRaw(model: StoredModel, x: Float64Array, rows: number): Float64Array {
  return TRAINERS[model.family].predict(model, x, rows);
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
      })),
      selected: selection.family,
    },
  };
}
