import {
  averagePrecision,
  brierScore,
  type CalibrationBin,
  calibrationTable,
  type LiftRow,
  liftTable,
  logLoss,
  orderByScoreDesc,
  rocAuc,
  type ThresholdMetrics,
  thresholdMetrics,
} from "../common/data/metrics.js";

/**
 * The evaluation report object: every metric of one model on one set of
 * labelled rows, plain JSON (NaN-free: undefined metrics are null) so it
 * goes into the run record, the bundle and the HTML report as is.
 */

export interface EvaluationReport {
  rows: number;
  positives: number;
  rocAuc: number | null;
  prAuc: number | null;
  brier: number;
  logLoss: number;
  /** Precision, recall, F1, accuracy and confusion matrix at the chosen threshold. */
  atThreshold: ThresholdMetrics;
  calibration: CalibrationBin[];
  lift: LiftRow[];
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** The threshold that maximises F1 on these rows (ties: the higher threshold). */
export function bestF1Threshold(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const order = orderByScoreDesc(p);
  let total = 0;
  for (let i = 0; i < y.length; i++) total += y[i];
  let tp = 0;
  let count = 0;
  let best = Number.POSITIVE_INFINITY;
  let bestF1 = -1;
  let i = 0;
  while (i < order.length) {
    const t = p[order[i]];
    while (i < order.length && p[order[i]] === t) {
      tp += y[order[i]];
      count++;
      i++;
    }
    const f1 = total === 0 ? 0 : (2 * tp) / (count + total);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = t;
    }
  }
  return Number.isFinite(best) ? best : 0.5;
}

/** Evaluates calibrated probabilities p against labels y; the threshold defaults to 0.5. */
export function evaluatePredictions(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  options: { threshold?: number; bins?: number } = {},
): EvaluationReport {
  const threshold = options.threshold ?? 0.5;
  const bins = options.bins ?? 10;
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  return {
    rows: y.length,
    positives,
    rocAuc: finiteOrNull(rocAuc(y, p)),
    prAuc: finiteOrNull(averagePrecision(y, p)),
    brier: brierScore(y, p),
    logLoss: logLoss(y, p),
    atThreshold: thresholdMetrics(y, p, threshold),
    calibration: calibrationTable(y, p, bins),
    lift: liftTable(y, p, bins),
  };
}

export interface ImportanceRow {
  column: string;
  /** Mean absolute contribution (log-odds) over the rows. */
  meanAbs: number;
  /** Mean signed contribution: positive means the column pushes towards churn on average. */
  mean: number;
}

/**
 * Global importance (churn drivers) from per-row, per-source-column
 * contributions (row-major n × columns.length), largest mean |contribution| first.
 */
export function globalImportance(columns: string[], contributions: Float64Array): ImportanceRow[] {
  const k = columns.length;
  const n = k === 0 ? 0 : contributions.length / k;
  const rows = columns.map((column, j) => {
    let abs = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const c = contributions[i * k + j];
      abs += Math.abs(c);
      sum += c;
    }
    return { column, meanAbs: n === 0 ? 0 : abs / n, mean: n === 0 ? 0 : sum / n };
  });
  return rows.sort((a, b) => b.meanAbs - a.meanAbs || a.column.localeCompare(b.column));
}
