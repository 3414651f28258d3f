import { InputError } from "../../common/errors.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "../../common/schema/types.js";
import { ID_LIKE_REASON_TEXT, idLikeReason } from "./id-like.js";
import { LEAK_FOLDS, type LeakScore, numericLeakAuc, outOfFoldLevelScore } from "./leakage.js";
import {
  type ColumnEncoder,
  type DatePart,
  datePart,
  type FeatureInfo,
  type FeatureTransform,
  MISSING_LEVEL,
  type NumericStats,
  UNSEEN_LEVEL,
} from "./transform.js";

/**
 * Fits the feature transform on training rows only and reports what looks
 * wrong with the inputs. Left out, each with a warning: constant columns,
 * id-like columns (the rule in id-like.ts) and likely leaks: a column that
 * alone reaches an out-of-fold ROC-AUC of `leakAuc`, or a categorical whose
 * out-of-fold normalised mutual information with the label reaches `leakNmi`
 * (leakage.ts says why out of fold). A leaking column listed in
 * `trustedFeatures` is kept, and still warned about (`trusted-leak`).
 *
 * Categorical encoding: one-hot up to `maxOneHotLevels` distinct values (rare
 * levels share the unseen bucket, so a level seen twice does not get its own
 * weight); above that, frequency encoding (a level's share of training rows).
 * Frequency encoding is target-free, so it cannot leak the label the way
 * target encoding does without nested cross-validation; it is one column
 * whatever the cardinality; its order means something (common vs rare), unlike
 * an ordinal code from sorted names; and an unseen value maps to 0 = "never
 * seen", which is where rare values already sit.
 */

export interface FitOptions {
  /** Derive year, month, day of week and days since epoch from date columns (default true). */
  dateParts?: boolean;
  /** Above this many distinct values a categorical column is frequency-encoded (default 30). */
  maxOneHotLevels?: number;
  /** Levels seen fewer times than this share the unseen bucket (default 10). */
  minLevelCount?: number;
  /** A column whose distinct non-missing values reach this share of rows is id-like (default 0.95). */
  idLikeShare?: number;
  /** A column whose out-of-fold single-column ROC-AUC reaches this is a likely leak (default 0.98: train.leak_auc). */
  leakAuc?: number;
  /** A categorical whose out-of-fold normalised mutual information reaches this is a likely leak (default 0.9: train.leak_nmi). */
  leakNmi?: number;
  /** Columns kept even when they look like a leak (train.trusted_features): known before churn. */
  trustedFeatures?: readonly string[];
  /** Seed of the out-of-fold leak estimate's folds (train.seed; default 42). */
  seed?: number;
  /** Leave id-like columns out of the features (default true: a row counter carries no signal). */
  dropIdLike?: boolean;
}

/** Why the feature step warns about (and may drop) a column. */
export const FEATURE_WARNING_CODES = ["likely-leak", "trusted-leak", "constant", "id-like"] as const;

export interface FeatureWarning {
  code: (typeof FEATURE_WARNING_CODES)[number];
  column: string;
  message: string;
  /** The out-of-fold single-column ROC-AUC (leaks) or distinct share (id-like). */
  value?: number;
}

export interface FitResult {
  transform: FeatureTransform;
  warnings: FeatureWarning[];
  /** Feature columns left out, with the reason code (likely-leak, constant, id-like). */
  dropped: Array<{ column: string; reason: FeatureWarning["code"] }>;
}

const DATE_PARTS: DatePart[] = ["year", "month", "day_of_week", "days_since_epoch"];
// Id-like detection needs enough rows for "all distinct" to mean something.
const MIN_ROWS_FOR_ID_LIKE = 50;

/** Quantile with linear interpolation between order statistics (numpy's default) of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Median, quartiles and a never-zero scale from non-missing values (NaN-free, any order). */
export function numericStats(values: Float64Array): NumericStats {
  return sortedStats(Float64Array.from(values).sort());
}

function sortedStats(sorted: Float64Array): NumericStats {
  if (sorted.length === 0) return { median: 0, q1: 0, q3: 0, scale: 1 };
  const median = quantileSorted(sorted, 0.5);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  let scale = q3 - q1;
  if (!(scale > 0)) {
    // Mostly-constant columns (e.g. 80% zeros) have IQR 0: fall back to the
    // standard deviation, then to 1, so scaling never divides by zero.
    let mean = 0;
    for (const v of sorted) mean += v;
    mean /= sorted.length;
    let ss = 0;
    for (const v of sorted) ss += (v - mean) ** 2;
    const sd = Math.sqrt(ss / Math.max(1, sorted.length - 1));
    scale = sd > 0 ? sd : 1;
  }
  return { median, q1, q3, scale };
}

function finiteValues(column: Float64Array): Float64Array {
  let k = 0;
  const out = new Float64Array(column.length);
  for (const v of column) if (Number.isFinite(v)) out[k++] = v;
  return out.subarray(0, k);
}

function distinctSorted(sorted: Float64Array): number {
  let count = sorted.length === 0 ? 0 : 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) count++;
  return count;
}

function isIntegerValued(values: Float64Array): boolean {
  for (const v of values) if (!Number.isInteger(v)) return false;
  return true;
}

/** Both leak measures must have two classes and a row per fold to mean anything. */
function canMeasureLeaks(label: Uint8Array | undefined): label is Uint8Array {
  if (!label || label.length < LEAK_FOLDS * 2) return false;
  let positives = 0;
  for (const v of label) positives += v;
  return positives >= LEAK_FOLDS && label.length - positives >= LEAK_FOLDS;
}

/** The leak warning for a column whose score reaches a threshold, or null. */
function leakWarning(
  column: string,
  score: { rocAuc: number; nmi: number | null },
  opts: { leakAuc: number; leakNmi: number; trusted: ReadonlySet<string> },
): FeatureWarning | null {
  const byAuc = score.rocAuc >= opts.leakAuc;
  const byNmi = score.nmi !== null && score.nmi >= opts.leakNmi;
  if (!byAuc && !byNmi) return null;
  const measure = byAuc
    ? `out-of-fold ROC-AUC ${score.rocAuc.toFixed(4)} on training rows, train.leak_auc ${opts.leakAuc}`
    : `out-of-fold normalised mutual information ${score.nmi!.toFixed(4)} with the label, train.leak_nmi ${opts.leakNmi}`;
  const found = `column "${column}" alone separates the classes almost perfectly (${measure})`;
  if (opts.trusted.has(column)) {
    return {
      code: "trusted-leak",
      column,
      value: score.rocAuc,
      message: `${found}: kept because train.trusted_features lists it; check it is known before churn`,
    };
  }
  return {
    code: "likely-leak",
    column,
    value: score.rocAuc,
    message: `${found}: it is probably computed from the outcome, so it is left out; list it in train.trusted_features if it is known before churn`,
  };
}

function requireColumn(batch: RowBatch, col: ColumnSchema): Float64Array | Array<string | null> {
  const c = batch.columns[col.name];
  if (c === undefined) throw new InputError(`training rows have no column "${col.name}" named in the schema`);
  const numeric = col.type !== "categorical";
  if (numeric !== c instanceof Float64Array) {
    throw new InputError(
      `column "${col.name}" is ${col.type} in the schema but the row batch holds ${numeric ? "text" : "numbers"}`,
    );
  }
  return c;
}

/** Fits the transform on training rows; batch.label must be present (for the leakage check). */
export function fitTransform(batch: RowBatch, schema: DatasetSchema, options: FitOptions = {}): FitResult {
  const opts = {
    dateParts: options.dateParts ?? true,
    maxOneHotLevels: options.maxOneHotLevels ?? 30,
    minLevelCount: options.minLevelCount ?? 10,
    idLikeShare: options.idLikeShare ?? 0.95,
    leakAuc: options.leakAuc ?? 0.98,
    leakNmi: options.leakNmi ?? 0.9,
    trusted: new Set(options.trustedFeatures ?? []),
    seed: options.seed ?? 42,
    dropIdLike: options.dropIdLike ?? true,
  };
  if (batch.numRows === 0) throw new InputError("cannot fit the feature transform on zero training rows");
  const label = canMeasureLeaks(batch.label) ? batch.label : undefined;
  const encoders: ColumnEncoder[] = [];
  const features: FeatureInfo[] = [];
  const warnings: FeatureWarning[] = [];
  const dropped: FitResult["dropped"] = [];
  const n = batch.numRows;

  const drop = (w: FeatureWarning) => {
    warnings.push(w);
    dropped.push({ column: w.column, reason: w.code });
  };
  /** Warns about a leak; true when the column is left out (not trusted). */
  const isDroppedLeak = (name: string, score: LeakScore | { rocAuc: number; nmi: null }) => {
    const w = leakWarning(name, score, opts);
    if (!w) return false;
    if (w.code === "likely-leak") {
      drop(w);
      return true;
    }
    warnings.push(w);
    return false;
  };
  /** Warns about an id-like column; true when it is left out. */
  const isDroppedIdLike = (w: FeatureWarning) => {
    if (opts.dropIdLike) {
      drop(w);
      return true;
    }
    warnings.push(w);
    return false;
  };

  for (const col of schema.columns) {
    if (col.role !== "feature") continue;
    const data = requireColumn(batch, col);
    const name = col.name;

    if (data instanceof Float64Array) {
      const present = finiteValues(data).sort();
      const missing = n - present.length;
      const distinct = distinctSorted(present);
      if (distinct <= 1 && (missing === 0 || present.length === 0)) {
        drop({
          code: "constant",
          column: name,
          message: `column "${name}" has a single value in training: left out`,
        });
        continue;
      }
      const integerValued = col.integer ?? isIntegerValued(present);
      const share = distinct / n;
      const idLike =
        col.type === "numeric" && n >= MIN_ROWS_FOR_ID_LIKE
          ? idLikeReason({
              name,
              distinctShare: share,
              uniqueShare: opts.idLikeShare,
              numbers: data,
              integerValued,
            })
          : null;
      if (
        idLike &&
        isDroppedIdLike({
          code: "id-like",
          column: name,
          value: share,
          message: `column "${name}" has a distinct whole number on ${(share * 100).toFixed(1)}% of rows and ${ID_LIKE_REASON_TEXT[idLike]}${opts.dropIdLike ? ": left out" : ""}`,
        })
      )
        continue;
      if (label && isDroppedLeak(name, { rocAuc: numericLeakAuc(data, label, opts.seed), nmi: null }))
        continue;
      const missingIndicator = missing > 0;
      if (col.type === "boolean") {
        let ones = 0;
        for (const v of present) if (v !== 0) ones++;
        encoders.push({
          kind: "boolean",
          column: name,
          fill: ones * 2 >= present.length ? 1 : 0,
          missingIndicator,
        });
        features.push({ name, source: name, role: "value" });
      } else if (col.type === "date" && opts.dateParts) {
        const stats = DATE_PARTS.map((part) => numericStats(present.map((ms) => datePart(ms, part))));
        encoders.push({ kind: "date", column: name, parts: [...DATE_PARTS], stats, missingIndicator });
        for (const part of DATE_PARTS) features.push({ name: `${name}__${part}`, source: name, role: part });
      } else {
        encoders.push({ kind: "numeric", column: name, stats: sortedStats(present), missingIndicator });
        features.push({ name, source: name, role: "value" });
      }
      if (missingIndicator) features.push({ name: `${name}__missing`, source: name, role: "missing" });
      continue;
    }

    // categorical: one Map lookup per row, then integer codes (missing = last code)
    const codeOf = new Map<string, number>();
    const codes = new Int32Array(n);
    const codeCounts: number[] = [];
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v === null) {
        missing++;
        codes[i] = -1;
        continue;
      }
      let code = codeOf.get(v);
      if (code === undefined) {
        code = codeOf.size;
        codeOf.set(v, code);
        codeCounts.push(0);
      }
      codes[i] = code;
      codeCounts[code]++;
    }
    const counts = new Map([...codeOf].map(([level, code]) => [level, codeCounts[code]]));
    const present = n - missing;
    if (counts.size <= 1 && (missing === 0 || present === 0)) {
      drop({
        code: "constant",
        column: name,
        message: `column "${name}" has a single value in training: left out`,
      });
      continue;
    }
    const share = counts.size / n;
    const idLike =
      n >= MIN_ROWS_FOR_ID_LIKE
        ? idLikeReason({
            name,
            distinctShare: share,
            uniqueShare: opts.idLikeShare,
            numbers: null,
            integerValued: false,
          })
        : null;
    if (
      idLike &&
      isDroppedIdLike({
        code: "id-like",
        column: name,
        value: share,
        message: `column "${name}" has a distinct value on ${(share * 100).toFixed(1)}% of rows: ${ID_LIKE_REASON_TEXT[idLike]}${opts.dropIdLike ? "; left out" : ""}`,
      })
    )
      continue;
    if (label && isDroppedLeak(name, outOfFoldLevelScore(codes, codeOf.size, label, opts.seed))) continue;
    const sortedLevels = [...counts.keys()].sort();
    if (counts.size <= opts.maxOneHotLevels) {
      const levels = sortedLevels.filter((level) => (counts.get(level) ?? 0) >= opts.minLevelCount);
      encoders.push({ kind: "onehot", column: name, levels });
      for (const level of levels)
        features.push({ name: `${name}=${level}`, source: name, role: "level", level });
      features.push({ name: `${name}=${UNSEEN_LEVEL}`, source: name, role: "unseen", level: UNSEEN_LEVEL });
      features.push({
        name: `${name}=${MISSING_LEVEL}`,
        source: name,
        role: "missing",
        level: MISSING_LEVEL,
      });
    } else {
      const shares = sortedLevels.map((level) => (counts.get(level) ?? 0) / n);
      const missingIndicator = missing > 0;
      encoders.push({ kind: "frequency", column: name, levels: sortedLevels, shares, missingIndicator });
      features.push({ name: `${name}__frequency`, source: name, role: "frequency" });
      if (missingIndicator) features.push({ name: `${name}__missing`, source: name, role: "missing" });
    }
  }
  if (encoders.length === 0) {
    throw new InputError(
      "no usable feature columns: every column is id, label, excluded, pii, passthrough, constant or id-like",
    );
  }
  return { transform: { version: 1, encoders, features }, warnings, dropped };
}
