import { InputError } from "../../common/errors.js";
import type { RowBatch } from "../../common/schema/types.js";

/**
 * The learned feature transform: a plain-JSON document (fitted by fit.ts on
 * training rows only) and the functions that apply it. Every path (training
 * and the server through encodeValueInto, batch scoring through
 * encode-raw.ts) maps a value with the same per-encoder code: levelCode and
 * encodeLevelInto for categories, the same arithmetic for numbers. So a row
 * gives the same float64 numbers alone or inside a batch of any size
 * (identity rule).
 */

/** Robust centre and spread of a numeric input, from training rows. */
export interface NumericStats {
  median: number;
  q1: number;
  q3: number;
  /** Divisor of the robust scaling: the IQR, or a fallback when the IQR is 0 (never 0). */
  scale: number;
}

export type DatePart = "year" | "month" | "day_of_week" | "days_since_epoch";

export type ColumnEncoder =
  | {
      kind: "numeric";
      column: string;
      stats: NumericStats;
      /** True when the column had missing values in training: adds a 0/1 `<column>__missing` output. */
      missingIndicator: boolean;
    }
  | { kind: "boolean"; column: string; fill: 0 | 1; missingIndicator: boolean }
  | {
      kind: "onehot";
      column: string;
      /** Levels with their own output, sorted; rare and unseen values share `__unseen__`, missing has `__missing__`. */
      levels: string[];
    }
  | {
      kind: "frequency";
      column: string;
      /** Training levels and their share of training rows (parallel arrays; unseen values get 0). */
      levels: string[];
      shares: number[];
      missingIndicator: boolean;
    }
  | {
      kind: "date";
      column: string;
      parts: DatePart[];
      stats: NumericStats[];
      missingIndicator: boolean;
    };

/** What one output column means, so explanations can be reported per source column. */
export interface FeatureInfo {
  name: string;
  /** The input column this output is derived from. */
  source: string;
  role: "value" | "missing" | "level" | "unseen" | "frequency" | DatePart;
  /** For one-hot outputs: the level. */
  level?: string;
}

export interface FeatureTransform {
  version: 1;
  encoders: ColumnEncoder[];
  features: FeatureInfo[];
}

export const UNSEEN_LEVEL = "__unseen__";
export const MISSING_LEVEL = "__missing__";

/** One input value as the server or a batch hands it over: numbers (NaN/null = missing) or strings. */
export type RawValue = number | string | null | undefined;

/** Number of outputs of one encoder. */
export function encoderWidth(e: ColumnEncoder): number {
  switch (e.kind) {
    case "numeric":
    case "boolean":
    case "frequency":
      return 1 + (e.missingIndicator ? 1 : 0);
    case "onehot":
      return e.levels.length + 2;
    case "date":
      return e.parts.length + (e.missingIndicator ? 1 : 0);
  }
}

const DAY_MS = 86_400_000;

/** A date part of an epoch-milliseconds (UTC) value. */
export function datePart(ms: number, part: DatePart): number {
  switch (part) {
    case "year":
      return new Date(ms).getUTCFullYear();
    case "month":
      return new Date(ms).getUTCMonth() + 1;
    case "day_of_week":
      return new Date(ms).getUTCDay();
    case "days_since_epoch":
      return Math.floor(ms / DAY_MS);
  }
}

function scaled(x: number, s: NumericStats): number {
  return (x - s.median) / s.scale;
}

// Level lookups are built once per encoder object: JSON objects as maps would
// let a category named "constructor" or "__proto__" hit Object.prototype.
const lookups = new WeakMap<ColumnEncoder, Map<string, number>>();

/** A level-encoded value: an index into `levels`, or one of these two. */
export const UNSEEN_CODE = -1;
export const MISSING_CODE = -2;

/** The code of a categorical value (null: missing) for a one-hot or frequency encoder. */
export function levelCode(e: ColumnEncoder & { levels: string[] }, value: string | null): number {
  if (value === null) return MISSING_CODE;
  let m = lookups.get(e);
  if (!m) {
    m = new Map(e.levels.map((level, i) => [level, i]));
    lookups.set(e, m);
  }
  return m.get(value) ?? UNSEEN_CODE;
}

/** Writes a one-hot or frequency encoder's outputs for a level code at out[offset..]; returns the next offset. */
export function encodeLevelInto(
  e: ColumnEncoder & { kind: "onehot" | "frequency" },
  code: number,
  out: Float64Array,
  offset: number,
): number {
  if (e.kind === "onehot") {
    const width = e.levels.length + 2;
    // A loop, not fill(): a handful of outputs per row, where the builtin call costs more.
    for (let k = offset; k < offset + width; k++) out[k] = 0;
    out[offset + (code >= 0 ? code : code === UNSEEN_CODE ? e.levels.length : e.levels.length + 1)] = 1;
    return offset + width;
  }
  out[offset] = code >= 0 ? e.shares[code]! : 0;
  if (e.missingIndicator) out[offset + 1] = code === MISSING_CODE ? 1 : 0;
  return offset + encoderWidth(e);
}

function asNumber(value: RawValue, column: string): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value !== "number") {
    throw new InputError(`column "${column}" must be numeric, got the text ${JSON.stringify(value)}`);
  }
  return Number.isFinite(value) ? value : Number.NaN;
}

function asText(value: RawValue, column: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") {
    throw new InputError(`column "${column}" must be text (categorical), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Writes one encoder's outputs for one value at out[offset..]; returns the next offset. */
export function encodeValueInto(
  e: ColumnEncoder,
  value: RawValue,
  out: Float64Array,
  offset: number,
): number {
  switch (e.kind) {
    case "numeric": {
      const x = asNumber(value, e.column);
      const missing = Number.isNaN(x);
      out[offset] = missing ? 0 : scaled(x, e.stats);
      if (e.missingIndicator) out[offset + 1] = missing ? 1 : 0;
      return offset + encoderWidth(e);
    }
    case "boolean": {
      const x = asNumber(value, e.column);
      const missing = Number.isNaN(x);
      out[offset] = missing ? e.fill : x === 0 ? 0 : 1;
      if (e.missingIndicator) out[offset + 1] = missing ? 1 : 0;
      return offset + encoderWidth(e);
    }
    case "onehot":
    case "frequency":
      return encodeLevelInto(e, levelCode(e, asText(value, e.column)), out, offset);
    case "date": {
      const ms = asNumber(value, e.column);
      const missing = Number.isNaN(ms);
      for (let p = 0; p < e.parts.length; p++) {
        out[offset + p] = missing ? 0 : scaled(datePart(ms, e.parts[p]), e.stats[p]);
      }
      if (e.missingIndicator) out[offset + e.parts.length] = missing ? 1 : 0;
      return offset + encoderWidth(e);
    }
  }
}

/**
 * Encodes one column of n rows into a row-major matrix (row i's outputs of
 * this encoder start at i * stride + start). The same numbers as
 * encodeValueInto row by row; numeric columns take a loop without the
 * per-value dispatch, which is most of a batch's encoding. Errors name the
 * 0-based row through `onError`.
 */
export function encodeColumnInto(
  e: ColumnEncoder,
  values: Float64Array | ReadonlyArray<RawValue>,
  n: number,
  out: Float64Array,
  stride: number,
  start: number,
  onError: (row: number, error: unknown) => never,
): void {
  if (e.kind === "numeric" && values instanceof Float64Array) {
    const { median, scale } = e.stats;
    const indicator = e.missingIndicator;
    for (let i = 0, at = start; i < n; i++, at += stride) {
      const v = values[i]!;
      // asNumber: non-finite values are missing.
      const missing = !Number.isFinite(v);
      out[at] = missing ? 0 : (v - median) / scale;
      if (indicator) out[at + 1] = missing ? 1 : 0;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    try {
      encodeValueInto(e, values[i], out, i * stride + start);
    } catch (error) {
      onError(i, error);
    }
  }
}

/** Number of output features. */
export function featureCount(t: FeatureTransform): number {
  return t.features.length;
}

/** Transforms one row given as column → value (the server's path). */
export function transformRow(t: FeatureTransform, row: Record<string, RawValue>): Float64Array {
  const out = new Float64Array(t.features.length);
  let offset = 0;
  for (const e of t.encoders) {
    if (!Object.hasOwn(row, e.column)) throw new InputError(`missing feature column "${e.column}"`);
    offset = encodeValueInto(e, row[e.column], out, offset);
  }
  return out;
}

export interface FeatureMatrix {
  /** Row-major n × d. */
  x: Float64Array;
  numRows: number;
  numFeatures: number;
  names: string[];
}

/** Transforms a batch into a dense row-major matrix (training and batch scoring). */
export function transformBatch(t: FeatureTransform, batch: RowBatch): FeatureMatrix {
  const x = encodeBatchInto(t, batch, new Float64Array(batch.numRows * t.features.length));
  return { x, numRows: batch.numRows, numFeatures: t.features.length, names: t.features.map((f) => f.name) };
}

/** An onError for encodeColumnInto: input errors name the source line of the row. */
export function failAtLine(lines: Uint32Array): (row: number, error: unknown) => never {
  return (i, error) => {
    if (error instanceof InputError)
      throw new InputError(`line ${lines[i] ?? i + 1}: ${error.message}`, { cause: error });
    throw error;
  };
}

/**
 * Encodes a batch into `out` (row-major, at least numRows x features long):
 * what training, batch scoring and the server's batches all use. Errors name
 * the source line of the row.
 */
export function encodeBatchInto(t: FeatureTransform, batch: RowBatch, out: Float64Array): Float64Array {
  const d = t.features.length;
  const n = batch.numRows;
  const onError = failAtLine(batch.lines);
  let start = 0;
  for (const e of t.encoders) {
    const column = batch.columns[e.column];
    if (column === undefined) throw new InputError(`the rows have no feature column "${e.column}"`);
    encodeColumnInto(e, column, n, out, d, start, onError);
    start += encoderWidth(e);
  }
  return out;
}

/** The distinct source columns, in transform order. */
export function sourceColumns(t: FeatureTransform): string[] {
  return t.encoders.map((e) => e.column);
}

/** Sums per-feature contributions into per-source-column contributions (sourceColumns order). */
export function contributionsBySource(t: FeatureTransform, contributions: ArrayLike<number>): Float64Array {
  const out = new Float64Array(t.encoders.length);
  let f = 0;
  for (let j = 0; j < t.encoders.length; j++) {
    const w = encoderWidth(t.encoders[j]);
    for (let k = 0; k < w; k++) out[j] += contributions[f++];
  }
  return out;
}

/**
 * Words for a raw value relative to training: "low" below the first quartile,
 * "high" above the third, "typical" between, "missing", or null when there is
 * no order (categorical columns).
 */
export function describeValue(
  t: FeatureTransform,
  column: string,
  value: RawValue,
): "low" | "high" | "typical" | "missing" | null {
  const e = t.encoders.find((c) => c.column === column);
  if (e?.kind !== "numeric") return null;
  const x = asNumber(value, column);
  if (Number.isNaN(x)) return "missing";
  if (x < e.stats.q1) return "low";
  if (x > e.stats.q3) return "high";
  return "typical";
}
