import type { DatasetSchema } from "../common/schema/types.js";
import type { Tier } from "./tiers.js";

/**
 * The inference contract every consumer of a model shares: the batch score
 * step, evaluate, and the model server's adapters (`serving/` imports these
 * types; nothing here knows of HTTP). `predictor.ts` implements it.
 */

/** A value as a request may carry it, before validation against the schema. */
export type RawValue = number | string | boolean | null;
export type RawRow = Record<string, RawValue>;

/**
 * A row as it reaches `InferenceModel.score`: only the schema's feature columns,
 * every one present, in canonical types: numeric and date columns a finite
 * number (dates as epoch ms UTC) or null, boolean columns a boolean or null,
 * categorical columns a string or null (null = missing, including the column's
 * missing tokens). The server guarantees this shape; the model may rely on it.
 */
export type FeatureRow = Record<string, number | string | boolean | null>;

export interface ScoredRow {
  /** Calibrated churn probability in [0, 1]. */
  probability: number;
  tier: Tier;
  /** Reasons like `Transactions in 12 months: 32 (typical 65)` (reasons.ts); empty for tiers without reasons. */
  reasons: string[];
  /** The same reasons in machine form, `Total_Trans_Ct:+0.84;Card_Category:+0.12` ("" without reasons). */
  reasonCodes: string;
}

export interface Explanation {
  /** The model's output before any feature contributes (log-odds or probability, as the model defines). */
  base: number;
  /** Per-feature contribution; base + sum(contributions) is the model's raw output. */
  contributions: Record<string, number>;
}

/** Per-call scoring options (the server's per-request `reasons`). */
export interface ScoreOptions {
  /** How many reasons per row (0: none, and none computed); default the model's configured number. */
  reasons?: number;
}

/** What the server serves: one loaded model bundle (predictor.ts implements it). */
export interface InferenceModel {
  name: "churn";
  /** model_version: content hash of the bundle. */
  version: string;
  /** The training schema: which columns exist, their types and roles. */
  schema: DatasetSchema;
  score(rows: FeatureRow[], options?: ScoreOptions): ScoredRow[];
  explain(rows: FeatureRow[]): Explanation[];
}
