import type { Bundle } from "../common/bundle/bundle.js";
import { readIdKey, readTrainedIds } from "../common/bundle/trained-ids.js";
import type { TrainValidSplit } from "../common/data/cv.js";
import { rocAuc } from "../common/data/metrics.js";
import { selectRows } from "../common/data/rows.js";
import { InputError } from "../common/errors.js";
import { canonicalJson } from "../common/hash.js";
import type { RowBatch } from "../common/schema/types.js";
import type { Storage } from "../common/storage/index.js";
import {
  crossValidateRecipe,
  type Recipe,
  recipeOf,
  recipeOfModel,
  recipeSchema,
} from "../models/families.js";
import { parseFeatureTransform } from "../models/features/schema.js";
import { transformBatch } from "../models/features/transform.js";
import { loadPredictor, type Predictor } from "../models/predictor.js";
import { type Comparison, chooseComparison, freshRows, type TrainedIdsState } from "./contest.js";
import type { GateInput, GateModel } from "./gate.js";

/**
 * Runs the fair champion contest (rules in contest.ts): scores champion and
 * candidate on the held-out rows the champion never trained on, or refits
 * the champion's recipe on the candidate's folds when those are too few.
 */

export interface ChampionVerdict {
  champion: GateModel;
  versus: NonNullable<GateInput["versus"]>;
  comparison: Comparison;
  /** Ids of the rows both models were scored on (fresh-rows), empty for cv-refit. */
  ids: string[];
}

export interface ChampionContestInput {
  storage: Storage;
  generateId: boolean;
  minCompareRows: number;
  /** Every labelled row, and the held-out split evaluate uses. */
  batch: RowBatch;
  split: TrainValidSplit;
  candidateBundle: Bundle;
  candidate: Predictor;
  championBundle: Bundle;
  championVersion: string;
  log: (message: string) => void;
}

const probabilities = (predictor: Predictor, rows: RowBatch) =>
  predictor.probabilities(predictor.encodeBatch(rows), rows.numRows);

async function trainedIdsState(input: ChampionContestInput): Promise<TrainedIdsState> {
  if (input.generateId) return { kind: "generated-ids" };
  const hasher = await readIdKey(input.storage, { create: false });
  const trained = hasher ? await readTrainedIds(input.storage, input.championVersion) : null;
  if (!hasher || !trained) return { kind: "no-set" };
  if (trained.keyFingerprint !== hasher.fingerprint) return { kind: "other-key" };
  const fresh = freshRows(input.batch.ids, input.split.valid, trained, hasher);
  let positives = 0;
  for (const row of fresh) positives += input.batch.label![row]!;
  return { kind: "set", fresh, positives };
}

/** The champion's recorded recipe; bundles stored before recipes were recorded give their family and seed. */
export function championRecipe(bundle: Bundle): { recipe: Recipe; recorded: boolean } {
  const parsed = recipeSchema.safeParse(bundle.training.recipe);
  if (parsed.success) return { recipe: parsed.data, recorded: true };
  const seed = typeof bundle.training.seed === "number" ? bundle.training.seed : 42;
  return { recipe: recipeOfModel(bundle.model, seed), recorded: false };
}

/** Judges the champion against the candidate on a fair basis. */
export async function judgeChampion(input: ChampionContestInput): Promise<ChampionVerdict> {
  const state = await trainedIdsState(input);
  const choice = chooseComparison(state, input.minCompareRows);
  const fresh_rows = state.kind === "set" ? state.fresh.length : null;
  const family = input.candidateBundle.model.family;
  const name = `champion ${input.championVersion}`;
  if (choice.basis === "fresh-rows" && state.kind === "set") {
    const rows = selectRows(input.batch, state.fresh);
    try {
      const champion = rocAuc(
        rows.label!,
        probabilities(loadPredictor(input.championBundle, input.championVersion), rows),
      );
      const candidate = rocAuc(rows.label!, probabilities(input.candidate, rows));
      return {
        champion: { name, rocAuc: champion },
        versus: {
          candidate: { name: `${family} (fresh rows)`, rocAuc: candidate },
          basis: `on ${choice.why}`,
        },
        comparison: {
          basis: "fresh-rows",
          rows: rows.numRows,
          positives: state.positives,
          fresh_rows,
          why: choice.why,
        },
        ids: rows.ids,
      };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // A champion trained on other columns cannot score these rows: its recipe still can be refitted.
      input.log(`evaluate: the champion cannot score the fresh rows (${error.message})`);
      return cvRefit(input, `the champion cannot score these rows (${error.message})`, fresh_rows);
    }
  }
  return cvRefit(input, choice.why, fresh_rows);
}

/** The champion's recipe refitted on the candidate's folds; the two out-of-fold ROC-AUCs compared. */
async function cvRefit(
  input: ChampionContestInput,
  why: string,
  fresh_rows: number | null,
): Promise<ChampionVerdict> {
  const { candidateBundle } = input;
  const family = candidateBundle.model.family;
  const training = candidateBundle.training as { seed?: number; cv_folds?: number; candidates?: unknown };
  const seed = training.seed ?? 42;
  const folds = training.cv_folds ?? 5;
  const cv = (training.candidates ?? []) as Array<{ family: string; cv_roc_auc: number }>;
  const candidateCv = cv.find((c) => c.family === family)?.cv_roc_auc ?? Number.NaN;
  const { recipe, recorded } = championRecipe(input.championBundle);
  const current = recipe.family === "blend" ? recipe : recipeOf(recipe.family, recipe.seed);
  const sameSettings = canonicalJson(current.hyper_parameters) === canonicalJson(recipe.hyper_parameters);
  const trainRows = selectRows(input.batch, input.split.train);
  let positives = 0;
  for (const v of trainRows.label!) positives += v;
  let championCv: number;
  if (canonicalJson(recipe) === canonicalJson(recipeOfModel(candidateBundle.model, seed))) {
    // The same recipe on the same folds computes the same out-of-fold predictions: no refit needed.
    championCv = candidateCv;
  } else {
    input.log(
      `evaluate: refitting the champion's recipe (${recipe.family}, seed ${recipe.seed}) on the candidate's folds`,
    );
    const matrix = transformBatch(parseFeatureTransform(candidateBundle.transform), trainRows);
    championCv = await crossValidateRecipe(recipe, {
      x: matrix.x,
      y: trainRows.label!,
      featureNames: matrix.names,
      folds,
      seed,
      onProgress: (m) => input.log(`evaluate: champion recipe ${m}`),
    });
  }
  const caveat = !recorded
    ? "; it recorded no recipe, so its family and seed with this code's settings"
    : sameSettings
      ? ""
      : "; its recorded hyper-parameters differ from this code's, which were used";
  const fullWhy = `${why}${caveat}`;
  return {
    champion: {
      name: `champion ${input.championVersion} (its recipe ${recipe.family}, seed ${recipe.seed}, refitted)`,
      rocAuc: championCv,
    },
    versus: {
      candidate: { name: `${family} (cross-validated)`, rocAuc: candidateCv },
      basis: `cross-validated on the candidate's ${folds} folds of ${trainRows.numRows} training rows (${fullWhy})`,
    },
    comparison: { basis: "cv-refit", rows: trainRows.numRows, positives, fresh_rows, why: fullWhy },
    ids: [],
  };
}
