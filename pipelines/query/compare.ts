import { readBundle } from "../../components/common/bundle/index.js";
import {
  type IdHasher,
  readIdKey,
  readTrainedIds,
  type TrainedIdSet,
} from "../../components/common/bundle/trained-ids.js";
import { averagePrecision, brierScore, liftTable, rocAuc } from "../../components/common/data/metrics.js";
import { concatBatches, selectRows } from "../../components/common/data/rows.js";
import { ChurnError, InputError, UsageError } from "../../components/common/errors.js";
import { ID_KEY_OBJECT } from "../../components/common/layout/index.js";
import { readRowBatches } from "../../components/common/schema/arrow.js";
import type { RowBatch } from "../../components/common/schema/types.js";
import type { Storage } from "../../components/common/storage/index.js";
import { freshRows, MIN_COMPARE_POSITIVES } from "../../components/evaluate/contest.js";
import type { ImportanceRow } from "../../components/evaluate/report.js";
import { churnDrivers, predictBatch } from "../../components/evaluate/spec.js";
import { loadPredictor } from "../../components/models/predictor.js";
import { getModel, type ModelSummary } from "./models.js";
import { listRunRecords, type RunRecords } from "./runs.js";

/**
 * `churn models compare <a> <b>` (issue 18 item 9), like MLflow's compare:
 * the recorded figures of two models side by side, and both models' held-out
 * metrics on the SAME rows: the bucket's labelled training rows (ingest's
 * output of the newest run that has one) that NEITHER model trained on (their
 * trained-id sets, hashed as the champion contest does). Too few such rows
 * give no metrics and a plain sentence instead of noise.
 */

/** Fewer compared rows than this give no metrics (their ROC-AUC would be noise). */
export const MIN_COMPARED_ROWS = 200;
/** Rows explained for each side's drivers (evaluate's default importance_rows). */
const DRIVER_ROWS = 2000;
const TOP_DRIVERS = 5;

/** A model as the comparison needs it: scores and drivers on given rows. */
export interface CompareSide {
  version: string;
  /** Churn probabilities of the rows; throws InputError when the model cannot score them. */
  score(rows: RowBatch): Float64Array;
  drivers(rows: RowBatch): ImportanceRow[];
  trained: TrainedIdSet | null;
}

/** One model's metrics on the compared rows, or why there are none. */
export type SideMetrics =
  | {
      roc_auc: number;
      pr_auc: number;
      brier: number;
      /** Positive rate of the top-scored 10% over the compared rows' positive rate. */
      lift_top_10: number;
      drivers: Array<{ column: string; mean_abs: number; mean: number }>;
    }
  | { error: string };

/** What the comparison found on the shared rows. */
export interface RowComparison {
  /** Where the rows came from (the ingest output object), or null without rows. */
  rows_source: string | null;
  labelled_rows: number;
  /** Rows neither model trained on, and the churned among them. */
  compared_rows: number;
  compared_positives: number;
  /** Set when no metrics were computed: the plain reason. */
  too_few: string | null;
  metrics: Record<string, SideMetrics> | null;
}

/** The `churn models compare` answer (snake_case for --json). */
export interface ModelComparison {
  models: [ModelSummary, ModelSummary];
  comparison: RowComparison;
}

const fixed = (v: number) => Number(v.toFixed(6));

function sideMetrics(side: CompareSide, rows: RowBatch): SideMetrics {
  let p: Float64Array;
  try {
    p = side.score(rows);
  } catch (error) {
    if (error instanceof ChurnError) return { error: `cannot score these rows: ${error.message}` };
    throw error;
  }
  const y = rows.label!;
  return {
    roc_auc: fixed(rocAuc(y, p)),
    pr_auc: fixed(averagePrecision(y, p)),
    brier: fixed(brierScore(y, p)),
    lift_top_10: fixed(liftTable(y, p, 10)[0]?.lift ?? 0),
    drivers: side
      .drivers(rows)
      .slice(0, TOP_DRIVERS)
      .map((d) => ({ column: d.column, mean_abs: fixed(d.meanAbs), mean: fixed(d.mean) })),
  };
}

/** Why the trained-id sets cannot restrict the rows, or null when they can. */
function unusableSets(a: CompareSide, b: CompareSide, hasher: IdHasher | null): string | null {
  if (!hasher)
    return `the bucket has no id key (${ID_KEY_OBJECT}), so which customers each model trained on is unknown`;
  for (const side of [a, b]) {
    if (!side.trained)
      return `model ${side.version} has no trained-id set (stored before sets were recorded), so the rows it trained on are unknown`;
    if (side.trained.keyFingerprint !== hasher.fingerprint)
      return `model ${side.version}'s trained-id set was hashed with another id key`;
  }
  return null;
}

/**
 * Both models' metrics on the labelled rows neither trained on. Pure apart
 * from the sides' own scoring: the unit-tested core of `models compare`.
 */
export function compareOnRows(input: {
  a: CompareSide;
  b: CompareSide;
  rows: RowBatch | null;
  rowsSource: string | null;
  hasher: IdHasher | null;
}): RowComparison {
  const { a, b, rows, hasher } = input;
  const empty = { rows_source: input.rowsSource, labelled_rows: rows?.numRows ?? 0, metrics: null };
  if (!rows || rows.numRows === 0)
    return {
      ...empty,
      compared_rows: 0,
      compared_positives: 0,
      too_few: "no labelled training rows in the bucket yet (run churn pipeline run first)",
    };
  const unusable = unusableSets(a, b, hasher);
  if (unusable)
    return { ...empty, compared_rows: 0, compared_positives: 0, too_few: `not compared: ${unusable}` };
  const all = Array.from({ length: rows.numRows }, (_, i) => i);
  // The contest's rule, applied for both models: a row is fresh when its hashed id is in neither set.
  const fresh = freshRows(rows.ids, freshRows(rows.ids, all, a.trained!, hasher!), b.trained!, hasher!);
  const compared = selectRows(rows, fresh);
  let positives = 0;
  for (let i = 0; i < compared.numRows; i++) positives += compared.label![i]!;
  const counts = { compared_rows: compared.numRows, compared_positives: positives };
  if (compared.numRows < MIN_COMPARED_ROWS || positives < MIN_COMPARE_POSITIVES)
    return {
      ...empty,
      ...counts,
      too_few:
        `too few rows to compare: ${compared.numRows} of ${rows.numRows} labelled rows (${positives} churned) are new to both models; ` +
        `metrics need at least ${MIN_COMPARED_ROWS} rows and ${MIN_COMPARE_POSITIVES} churned`,
    };
  return {
    ...empty,
    ...counts,
    too_few: null,
    metrics: { [a.version]: sideMetrics(a, compared), [b.version]: sideMetrics(b, compared) },
  };
}

/** The labelled rows of the newest run whose training ingest has an output (ingest-history's rows.arrow). */
async function latestLabelledRows(
  storage: Storage,
  runs: RunRecords,
): Promise<{ rows: RowBatch; source: string } | null> {
  for (const run of await runs()) {
    const step = run.steps.find(
      (s) =>
        s.component === "ingest" &&
        s.parameters.mode === "training" &&
        (s.state === "succeeded" || s.state === "cached") &&
        s.outputs.rows,
    );
    if (!step) continue;
    const object = step.outputs.rows!.object;
    // The outputs of an old run may have been cleaned up: try the next one.
    if (!(await storage.stat(object))) continue;
    const batches: RowBatch[] = [];
    for await (const batch of readRowBatches(storage.createReadStream(object))) batches.push(batch);
    const rows = concatBatches(batches);
    if (rows.numRows > 0 && !rows.label) throw new InputError(`${object} has no labels`);
    return { rows, source: object };
  }
  return null;
}

async function side(storage: Storage, version: string): Promise<CompareSide> {
  const predictor = loadPredictor((await readBundle(storage, version)).bundle, version);
  return {
    version,
    score: (rows) => predictBatch(predictor, rows),
    drivers: (rows) => churnDrivers(predictor, rows, DRIVER_ROWS),
    trained: await readTrainedIds(storage, version),
  };
}

/** Compares two (resolved) model versions of a bucket. */
export async function compareModels(
  storage: Storage,
  a: string,
  b: string,
  runs: RunRecords = () => listRunRecords(storage),
): Promise<ModelComparison> {
  if (a === b) throw new UsageError(`both versions are ${a}: give two different models`);
  const [left, right] = [await getModel(storage, a), await getModel(storage, b)];
  const labelled = await latestLabelledRows(storage, runs);
  const comparison = compareOnRows({
    a: await side(storage, a),
    b: await side(storage, b),
    rows: labelled?.rows ?? null,
    rowsSource: labelled?.source ?? null,
    hasher: await readIdKey(storage, { create: false }),
  });
  return { models: [left.model, right.model], comparison };
}
