import type { Bundle } from "../common/bundle/bundle.js";
import { bundleVersion, readBundle } from "../common/bundle/bundle.js";
import { readChampion } from "../common/bundle/champion.js";
import { type ChurnConfig, reasonTiers } from "../common/config/schema.js";
import { parseStoredValue } from "../common/documents/parse.js";
import { InputError, NotFoundError } from "../common/errors.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import type { Storage } from "../common/storage/types.js";
import { blendMargin, blendModelSchema } from "./blend.js";
import { type Calibrator, calibrate, parseCalibrator } from "./calibration.js";
import { parseFeatureTransform } from "./features/schema.js";
import {
  contributionsBySource,
  encodeBatchInto,
  encodeValueInto,
  type FeatureTransform,
  type RawValue,
  sourceColumns,
} from "./features/transform.js";
import { compileGbdtCode } from "./gbdt/compiled.js";
import { type GbdtModel, sigmoid as gbdtSigmoid, parseGbdtModel } from "./gbdt/model.js";
import { createTreeShap } from "./gbdt/treeshap.js";
import type { Explanation, FeatureRow, InferenceModel, ScoredRow } from "./inference.js";
import { explainLinear } from "./logistic/explain.js";
import { type LogisticModel, logisticMargin, parseLogisticModel, sigmoid } from "./logistic/logistic.js";
import { explainMlp } from "./mlp/explain.js";
import { type MlpModel, mlpLogit, parseMlpModel } from "./mlp/mlp.js";
import { type ColumnLabels, NO_REASONS, type RowReasons, rowReasons } from "./reasons.js";
import type { Tier } from "./tiers.js";

/**
 * The one inference core: the score component, `churn score`, the bench and the
 * model server all turn rows into probabilities, tiers and reasons here, from
 * the stored weights in float64 JavaScript. Every path encodes a row with the
 * same per-encoder code (feature/transform.ts), computes its margin with the
 * same per-row arithmetic and prints with the one number format
 * (formatProbability; scores-csv.ts writes the same text as bytes), so a row's
 * output does not depend on the batch it came in (identity rule: whole =
 * shards = row by row = server).
 */

/** Scoring options from churn.yaml `score`. */
export interface ReasonOptions {
  /** How many reasons per row (score.reasons). */
  reasons: number;
  /** Tiers that get reasons (score.reasons_for). */
  reasonsFor: readonly Tier[];
  /** Friendly column names in reasons (churn.yaml labels). */
  labels: ColumnLabels;
}

/** A loaded bundle, ready to score. */
export interface Predictor {
  readonly version: string;
  readonly family: Bundle["model"]["family"];
  readonly schema: DatasetSchema;
  readonly transform: FeatureTransform;
  readonly numFeatures: number;
  readonly thresholds: { high: number; medium: number };
  /** Source (input) columns of the features, in transform order: the order of contribution vectors. */
  readonly sources: string[];
  /** Calibrated probabilities of `rows` rows of the row-major encoded matrix x. */
  probabilities(x: Float64Array, rows: number, out?: Float64Array): Float64Array;
  /** Raw model margin (log-odds, before calibration) of one encoded row. */
  margin(x: Float64Array, offset: number): number;
  /** Tier of a calibrated probability. */
  tierOf(p: number): Tier;
  /** Log-odds contributions per source column of one encoded row, and the base value. */
  explainRow(x: Float64Array, offset: number): { base: number; bySource: Float64Array };
  /** Encode a batch into a row-major matrix (reusing `into` when large enough). */
  encodeBatch(batch: RowBatch, into?: Float64Array): Float64Array;
  /** Reasons of one row (reasons.ts): the columns raising its risk most, e.g. `Transactions in 12 months: 32 (typical 65)`. */
  reasons(
    x: Float64Array,
    offset: number,
    value: (column: string) => RawValue,
    k: number,
    labels: ColumnLabels,
  ): RowReasons;
  /**
   * `reasons` of `count` rows at once, row r at x[offsets[r] ..] with raw
   * values value(r, column): the same reasons as row by row (GBDT rows share
   * TreeSHAP's per-tree work across the batch).
   */
  reasonsOfRows(
    x: Float64Array,
    offsets: Int32Array,
    count: number,
    value: (r: number, column: string) => RawValue,
    k: number,
    labels: ColumnLabels,
  ): RowReasons[];
}

/**
 * Rows per TreeSHAP batch: the trees' tables stay in cache across the rows of
 * a batch. TreeSHAP rows/s on the pinned bench model (2026-12-04, loaded
 * machine): one at a time 12,200, batches of 64 15,300, 256 19,500, 1,024
 * 21,500. A batch's contributions take 1,024 x (features + 1) x 8 bytes.
 */
export const EXPLAIN_BATCH_ROWS = 1024;

function parseModel(model: Bundle["model"]): {
  margin: (x: Float64Array, offset: number) => number;
  batchMargins?: (x: Float64Array, rows: number, out: Float64Array) => Float64Array;
  toProbability: (m: number) => number;
  explain: (x: Float64Array, offset: number) => { base: number; contributions: ArrayLike<number> };
  /** `explain` of rows at x[offsets[r] ..], row r's contributions at out[r * (d + 1) ..] and its base value after them. */
  explainRows?: (x: Float64Array, offsets: Int32Array, count: number, out: Float64Array) => void;
} {
  const { family, ...rest } = model;
  if (family === "blend") return parseBlend(model);
  if (family === "logistic") {
    const m: LogisticModel = parseLogisticModel(model, "bundle.model");
    return {
      margin: (x, o) => logisticMargin(m, x, o),
      toProbability: sigmoid,
      explain: (x, o) => explainLinear(m, x, o),
    };
  }
  if (family === "mlp") {
    const m: MlpModel = parseMlpModel(model, "bundle.model");
    return {
      margin: (x, o) => mlpLogit(m, x, o),
      toProbability: sigmoid,
      explain: (x, o) => explainMlp(m, x, o),
    };
  }
  let g: GbdtModel;
  try {
    g = parseGbdtModel(rest);
  } catch (error) {
    throw new InputError(`bundle.model is not a valid GBDT model: ${(error as Error).message}`);
  }
  const code = compileGbdtCode(g);
  const one = new Float64Array(1);
  const d = g.numFeatures;
  let shap: ReturnType<typeof createTreeShap> | null = null;
  let phi: Float64Array | null = null;
  return {
    margin: (x, o) => {
      // The generated scorer reads rows from offset 0: hand it a view of this row.
      code.predictMargin(o === 0 ? x : x.subarray(o, o + d), 1, one);
      return one[0]!;
    },
    batchMargins: (x, rows, out) => code.predictMargin(x, rows, out),
    toProbability: gbdtSigmoid,
    explain: (x, o) => {
      shap ??= createTreeShap(g);
      phi ??= new Float64Array(d + 1);
      shap.explainRow(x, o, phi);
      return { base: phi[d]!, contributions: phi.subarray(0, d) };
    },
    explainRows: (x, offsets, count, out) => {
      shap ??= createTreeShap(g);
      shap.explainRows(x, offsets, count, out);
    },
  };
}

/**
 * A blend (blend.ts): its margin is the weighted sum of its members'
 * margins plus an intercept, and its contributions the same weighted sum of
 * theirs, so they still add up to its margin.
 */
function parseBlend(model: Bundle["model"]): ReturnType<typeof parseModel> {
  const blend = parseStoredValue(blendModelSchema, model, "bundle.model", "blend");
  const members = blend.members.map((m) => parseModel(m.model as Bundle["model"]));
  const margins = new Float64Array(members.length);
  return {
    margin: (x, o) => {
      for (let k = 0; k < members.length; k++) margins[k] = members[k]!.margin(x, o);
      return blendMargin(blend, margins);
    },
    toProbability: sigmoid,
    explain: (x, o) => {
      let base = blend.intercept;
      let contributions: Float64Array | null = null;
      members.forEach((member, k) => {
        const w = blend.members[k]!.weight;
        const e = member.explain(x, o);
        base += w * e.base;
        contributions ??= new Float64Array(e.contributions.length);
        for (let j = 0; j < e.contributions.length; j++) contributions[j]! += w * e.contributions[j]!;
      });
      return { base, contributions: contributions! };
    },
  };
}

/** Fixed text of a probability in scores.csv (the one number format). */
export function formatProbability(p: number): string {
  return p.toFixed(6);
}

/** Loads a predictor from a parsed bundle (its version is recomputed from the content). */
export function loadPredictor(bundle: Bundle, version = bundleVersion(bundle)): Predictor {
  const transform = parseFeatureTransform(bundle.transform);
  const schema = bundle.schema as unknown as DatasetSchema;
  const calibration: Calibrator | null = bundle.calibration
    ? parseCalibrator(bundle.calibration, "bundle.calibration")
    : null;
  const model = parseModel(bundle.model);
  const d = transform.features.length;
  const sources = sourceColumns(transform);
  const { high, medium } = bundle.tiers;
  const toP = model.toProbability;
  // Scratch of reasonsOfRows: one batch's contributions.
  let phi: Float64Array | null = null;
  const finish = (m: number) => {
    const raw = toP(m);
    return calibration ? calibrate(calibration, raw) : raw;
  };
  const predictor: Predictor = {
    version,
    family: bundle.model.family,
    schema,
    transform,
    numFeatures: d,
    thresholds: { high, medium },
    sources,
    probabilities(x, rows, out = new Float64Array(rows)) {
      if (model.batchMargins) {
        model.batchMargins(x, rows, out);
        for (let r = 0; r < rows; r++) out[r] = finish(out[r]!);
      } else {
        for (let r = 0; r < rows; r++) out[r] = finish(model.margin(x, r * d));
      }
      return out;
    },
    margin: model.margin,
    tierOf(p) {
      return p >= high ? "high" : p >= medium ? "medium" : "low";
    },
    explainRow(x, offset) {
      const { base, contributions } = model.explain(x, offset);
      return { base, bySource: contributionsBySource(transform, contributions) };
    },
    encodeBatch(batch, into) {
      const n = batch.numRows;
      return encodeBatchInto(transform, batch, into && into.length >= n * d ? into : new Float64Array(n * d));
    },
    reasons(x, offset, value, k, labels) {
      if (k <= 0) return NO_REASONS;
      return rowReasons(transform.encoders, predictor.explainRow(x, offset).bySource, value, k, labels);
    },
    reasonsOfRows(x, offsets, count, value, k, labels) {
      const out = new Array<RowReasons>(count);
      const explainRows = model.explainRows;
      if (k <= 0 || !explainRows) {
        for (let r = 0; r < count; r++)
          out[r] = predictor.reasons(x, offsets[r]!, (c) => value(r, c), k, labels);
        return out;
      }
      const stride = d + 1;
      phi ??= new Float64Array(EXPLAIN_BATCH_ROWS * stride);
      for (let from = 0; from < count; from += EXPLAIN_BATCH_ROWS) {
        const n = Math.min(EXPLAIN_BATCH_ROWS, count - from);
        explainRows(x, offsets.subarray(from, from + n), n, phi);
        for (let i = 0; i < n; i++) {
          const bySource = contributionsBySource(transform, phi.subarray(i * stride, i * stride + d));
          const r = from + i;
          out[r] = rowReasons(transform.encoders, bySource, (c) => value(r, c), k, labels);
        }
      }
      return out;
    },
  };
  return predictor;
}

/** Server rows carry booleans as true/false; the transform wants 1/0. */
function featureValue(v: FeatureRow[string]): RawValue {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}

/** Wraps a predictor as the server's InferenceModel (serving/core.ts). */
export function inferenceModel(predictor: Predictor, options: ReasonOptions): InferenceModel {
  const d = predictor.numFeatures;
  const encs = predictor.transform.encoders;
  const withReasons = new Set(options.reasonsFor);
  const encodeRows = (rows: FeatureRow[]) => {
    const x = new Float64Array(rows.length * d);
    rows.forEach((row, i) => {
      let offset = i * d;
      for (const e of encs) {
        if (!Object.hasOwn(row, e.column))
          throw new InputError(`row ${i}: missing feature column "${e.column}"`);
        offset = encodeValueInto(e, featureValue(row[e.column]!), x, offset);
      }
    });
    return x;
  };
  return {
    name: "churn",
    version: predictor.version,
    schema: predictor.schema,
    score(rows, request) {
      const x = encodeRows(rows);
      const p = predictor.probabilities(x, rows.length);
      const k = request?.reasons ?? options.reasons;
      const tiers = rows.map((_, i) => predictor.tierOf(p[i]!));
      // The rows that get reasons, explained as one batch.
      const explained = k > 0 ? rows.flatMap((_, i) => (withReasons.has(tiers[i]!) ? [i] : [])) : [];
      const reasons = predictor.reasonsOfRows(
        x,
        Int32Array.from(explained, (i) => i * d),
        explained.length,
        (r, c) => featureValue(rows[explained[r]!]![c] ?? null),
        k,
        options.labels,
      );
      let next = 0;
      return rows.map((_, i): ScoredRow => {
        const tier = tiers[i]!;
        const { texts, codes } = explained[next] === i ? reasons[next++]! : NO_REASONS;
        return { probability: Number(formatProbability(p[i]!)), tier, reasons: texts, reasonCodes: codes };
      });
    },
    explain(rows) {
      const x = encodeRows(rows);
      const features = predictor.schema.columns.filter((c) => c.role === "feature").map((c) => c.name);
      return rows.map((_, i): Explanation => {
        const { base, bySource } = predictor.explainRow(x, i * d);
        const contributions: Record<string, number> = {};
        for (const f of features) contributions[f] = 0;
        predictor.sources.forEach((s, j) => {
          contributions[s] = bySource[j]!;
        });
        return { base, contributions };
      });
    },
  };
}

/** The reason options of a churn.yaml (score.reasons, score.reasons_for, labels): the server's and the score step's. */
export function reasonOptionsOf(config: Pick<ChurnConfig, "score" | "labels" | "campaign">): ReasonOptions {
  return { reasons: config.score.reasons, reasonsFor: reasonTiers(config), labels: config.labels };
}

/** Loads the champion bundle of a bucket as the server's model (`churn serve` hands it to the server's model source). */
export async function loadChampionModel(storage: Storage): Promise<InferenceModel> {
  const champion = await readChampion(storage);
  if (!champion)
    throw new NotFoundError(
      `${storage.uri} has no champion model (models/champion): train one with churn train`,
    );
  const { version, bundle } = await readBundle(storage, champion.pointer.version);
  const { loadConfig } = await import("../common/config/load.js");
  // No churn.yaml: the defaults' reason tiers (score.reasons_for "contact-list", campaign.eligible_tiers [high]).
  let options: ReasonOptions = { reasons: 3, reasonsFor: ["high"], labels: {} };
  try {
    const config = await loadConfig(storage);
    options = reasonOptionsOf(config);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  return inferenceModel(loadPredictor(bundle, version), options);
}
