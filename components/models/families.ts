import { z } from "zod";
import { type Bundle, STORED_MODEL_FAMILIES } from "../common/bundle/bundle.js";
import { MODEL_FAMILIES } from "../common/config/schema.js";
import { stratifiedKFold, take, takeRows } from "../common/data/cv.js";
import { rocAuc } from "../common/data/metrics.js";
import { Rng } from "../common/random.js";
import { BLEND_MIN_GAIN, blendMargin, blendModelSchema, logOdds, stackedCrossValidation } from "./blend.js";
import { compileGbdtCode } from "./gbdt/compiled.js";
import type { GbdtModel } from "./gbdt/model.js";
import { type GbdtParams, GbdtParamsSchema, trainGbdt } from "./gbdt/train.js";
import { fitLogistic, predictLogistic } from "./logistic/logistic.js";
import { predictMlp, trainMlp } from "./mlp/mlp.js";

/**
 * The model families as trainers (fit, predict) and their cross-validation
 * on seeded stratified folds: what train's selection and evaluate's
 * champion-recipe comparison (issue 17 item 3) both run, so a champion's
 * recipe refitted on the candidate's folds is scored exactly like the
 * candidate's families were.
 *
 * Cost: the MLP is the slowest family by far, so it is cross-validated on at
 * most 3 folds with at most 60 epochs (early stopping usually ends sooner);
 * its out-of-fold predictions still cover every row.
 */

export type Family = (typeof MODEL_FAMILIES)[number];

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
  /** The settings fit uses, recorded in the bundle's recipe (the seed apart). */
  hyperParameters: Record<string, unknown>;
  fit(x: Float64Array, y: Uint8Array, names: string[], seed: number, cv: boolean): Promise<StoredModel>;
  predict(model: StoredModel, x: Float64Array, rows: number): Float64Array;
}

const LOGISTIC_PARAMS = { classWeight: "balanced", C: 1 } as const;
/** The GBDT's defaults (no per-data-set settings), spelled out so a bundle's recipe records them. */
const GBDT_PARAMS: Omit<GbdtParams, "seed"> = (({ seed: _seed, ...rest }) => rest)(
  GbdtParamsSchema.parse({}),
);

const sigmoid = (m: number) => (m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m)));

export const TRAINERS: Record<Family, FamilyTrainer> = {
  logistic: {
    hyperParameters: LOGISTIC_PARAMS,
    async fit(x, y, names) {
      return fitLogistic(x, y, names, LOGISTIC_PARAMS) as unknown as StoredModel;
    },
    predict(model, x) {
      return predictLogistic(model as never, x);
    },
  },
  gbdt: {
    hyperParameters: GBDT_PARAMS,
    async fit(x, y, names, seed) {
      const { model } = trainGbdt({
        x,
        y: Float64Array.from(y),
        numFeatures: names.length,
        featureNames: names,
        params: { ...GBDT_PARAMS, seed },
      });
      return { family: "gbdt", ...model } as unknown as StoredModel;
    },
    predict(model, x, rows) {
      const { family: _f, ...rest } = model;
      return gbdtPredict(rest as never, x, rows);
    },
  },
  mlp: {
    // The MLP's own defaults (mlp.ts) apart from these cross-validation limits.
    hyperParameters: { cvMaxEpochs: MLP_CV_EPOCHS, cvMaxTrainRows: MLP_CV_MAX_TRAIN_ROWS },
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
  /** A family, or the blend of the families (models/blend.ts). */
  family: Family | "blend";
  /** Out-of-fold ROC-AUC on the training rows (on the rows scored so far when stopped early). */
  cvRocAuc: number;
  /** Folds fitted (fewer than planned when stopped early). */
  folds: number;
  /** Set when the cross-validation stopped early because the family could not catch up with the leader. */
  stoppedEarly?: true;
  seconds: number;
}

/** Rows, folds and seeds of one cross-validation. */
export interface CrossValidateInput {
  x: Float64Array;
  y: Uint8Array;
  featureNames: string[];
  folds: number;
  /** Seeds the folds (and, unless fitSeed is given, the fits: fold i's fit uses seed + i). */
  seed: number;
  /** Seeds the fits when they follow another recipe's seed than the folds (a champion's on a candidate's folds). */
  fitSeed?: number;
  /** Progress lines (family, fold). */
  onProgress?: (message: string) => void;
  /**
   * Asked after every fold but the last with that fold's held-out rows and
   * the out-of-fold predictions so far: true stops the cross-validation
   * there (train's cost bound: a family that cannot catch up).
   */
  stopAfterFold?: (testRows: Int32Array, oof: Float64Array) => boolean;
}

export async function crossValidate(
  family: Family,
  input: CrossValidateInput,
): Promise<{ oof: Float64Array; rounds: number | null; result: CandidateResult }> {
  const started = performance.now();
  const { x, y, featureNames, seed } = input;
  const fitSeed = input.fitSeed ?? seed;
  const d = featureNames.length;
  const k = family === "mlp" ? Math.min(MLP_CV_FOLDS, input.folds) : input.folds;
  const oof = new Float64Array(y.length);
  let trees = 0;
  let done = 0;
  const scored: number[] = [];
  for (const split of stratifiedKFold(y, k, seed)) {
    input.onProgress?.(`${family}: fold ${split.fold + 1}/${k}`);
    const trainer = TRAINERS[family];
    const trainRows =
      family === "mlp" ? capRows(split.train, MLP_CV_MAX_TRAIN_ROWS, fitSeed + split.fold) : split.train;
    const model = await trainer.fit(
      takeRows(x, d, trainRows),
      take(y, trainRows),
      featureNames,
      fitSeed + split.fold,
      true,
    );
    if (family === "gbdt") trees += (model as unknown as GbdtModel).trees.length;
    const p = trainer.predict(model, takeRows(x, d, split.test), split.test.length);
    split.test.forEach((row, i) => {
      oof[row] = p[i]!;
      scored.push(row);
    });
    done++;
    if (done < k && input.stopAfterFold?.(split.test, oof)) break;
  }
  // Stopped early: the ROC-AUC of the rows scored so far.
  const cvRocAuc = done === k ? rocAuc(y, oof) : rocAuc(take(y, scored), take(oof, scored));
  return {
    oof,
    rounds: family === "gbdt" ? Math.max(1, Math.round(trees / done)) : null,
    result: {
      family,
      cvRocAuc,
      folds: done,
      ...(done < k ? { stoppedEarly: true } : {}),
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

/** Raw (uncalibrated) probabilities of a stored model of any family. */
export function predictRaw(model: StoredModel, x: Float64Array, rows: number): Float64Array {
  if (model.family !== "blend") return TRAINERS[model.family].predict(model, x, rows);
  const blend = blendModelSchema.parse(model);
  const margins = blend.members.map((m) => predictRaw(m.model as StoredModel, x, rows));
  const out = new Float64Array(rows);
  const row = new Float64Array(margins.length);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < margins.length; k++) row[k] = logOdds(margins[k]![i]!);
    out[i] = sigmoid(blendMargin(blend, row));
  }
  return out;
}

/**
 * A model's recipe as its bundle records it (`training.recipe`): what the
 * gate refits on a candidate's folds when too few fresh rows exist to
 * compare a champion on.
 */
export const recipeSchema = z.strictObject({
  family: z.enum(STORED_MODEL_FAMILIES),
  seed: z.int(),
  hyper_parameters: z.record(z.string(), z.unknown()),
});
export type Recipe = z.output<typeof recipeSchema>;

/** The recipe of a family (or a blend of `members`) fitted with this code and seed. */
export function recipeOf(family: Family | "blend", seed: number, members: readonly Family[] = []): Recipe {
  if (family === "blend")
    return { family, seed, hyper_parameters: { members: [...members], min_gain: BLEND_MIN_GAIN } };
  return { family, seed, hyper_parameters: { ...TRAINERS[family].hyperParameters } };
}

/** The recipe of a stored model (a blend's names its members' families). */
export function recipeOfModel(model: StoredModel, seed: number): Recipe {
  if (model.family !== "blend") return recipeOf(model.family, seed);
  const blend = blendModelSchema.parse(model);
  return recipeOf(
    "blend",
    seed,
    blend.members.map((m) => m.model.family),
  );
}

const blendMembersSchema = z.array(z.enum(MODEL_FAMILIES)).min(2);

/**
 * A recipe's cross-validated ROC-AUC on the given rows and folds: its family
 * cross-validated, or for a blend each member family and then the stacker
 * (models/blend.ts) on their out-of-fold predictions.
 */
export async function crossValidateRecipe(
  recipe: Recipe,
  input: Omit<CrossValidateInput, "fitSeed">,
): Promise<number> {
  const run = { ...input, fitSeed: recipe.seed };
  if (recipe.family !== "blend") return (await crossValidate(recipe.family, run)).result.cvRocAuc;
  const members = blendMembersSchema.parse(recipe.hyper_parameters.members);
  const oofs: Float64Array[] = [];
  for (const family of members) oofs.push((await crossValidate(family, run)).oof);
  return stackedCrossValidation(oofs, input.y, input.folds, input.seed).cvRocAuc;
}
