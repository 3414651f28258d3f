/**
 * The fixed names of DESIGN's bucket layout: the top-level prefixes and the
 * objects that have one name per bucket. Every other module builds object
 * names from these, so a prefix is spelled once and a rename is one edit.
 */

/** The bucket's config document (strict schema; DESIGN "churn.yaml"). */
export const CONFIG_OBJECT = "churn.yaml";

/** Labelled history for training; every CSV under it is read. */
export const INPUT_PREFIX = "input/";

/** Outcomes that arrived later for a scored week: `labels/<stem>.csv[.gz]`. */
export const LABELS_PREFIX = "labels/";

/** Files to score: an upload of `weekly/<stem>.csv[.gz]` starts a weekly run. */
export const WEEKLY_PREFIX = "weekly/";

/** Purchase logs for the lifetime pipeline: `transactions/<stem>.csv[.gz]`. */
export const TRANSACTIONS_PREFIX = "transactions/";

/** Published results, one folder per week (and `output/lifetime/` for the lifetime pipeline). */
export const OUTPUT_PREFIX = "output/";

/** Model bundles, one folder per version, and the champion pointer. */
export const MODELS_PREFIX = "models/";

/** One folder per run: run record, lease, trigger marker, step folders and logs. */
export const RUNS_PREFIX = "runs/";

/** Step results by cache key, shared by every run of the bucket. */
export const CACHE_PREFIX = "cache/";

/** Measurements kept across weeks (realised performance). */
export const MONITORING_PREFIX = "monitoring/";

/** Realised ROC-AUC and friends per labelled week, kept across weeks by the retraining triggers. */
export const REALISED_OBJECT = `${MONITORING_PREFIX}realised.json`;

/** Per-week counts of the campaign's contacted and control customers with outcomes: `monitoring/campaign/<stem>.json`. */
export const CAMPAIGN_WEEKS_PREFIX = `${MONITORING_PREFIX}campaign/`;

/** The campaign counts of one labelled week. */
export function campaignWeekObject(stem: string): string {
  return `${CAMPAIGN_WEEKS_PREFIX}${stem}.json`;
}

/** The object a step result is cached under (its key is a sha256 hex digest). */
export function cacheObject(key: string): string {
  return `${CACHE_PREFIX}${key}.json`;
}
