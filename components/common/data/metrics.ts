/**
 * Binary classification metrics over plain arrays: labels are 0/1, scores are
 * probabilities (or any monotone score where only ranks matter). Definitions
 * follow scikit-learn where it has one, so numbers can be compared with it.
 */

export type Labels = ArrayLike<number>;
export type Scores = ArrayLike<number>;

function check(y: Labels, p: Scores): void {
  if (y.length !== p.length) {
    throw new RangeError(`labels (${y.length}) and scores (${p.length}) differ in length`);
  }
}

function countPositives(y: Labels): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) pos++;
  return pos;
}

/** Indices sorted by score descending; ties keep index order so every caller sees the same order. */
export function orderByScoreDesc(p: Scores): Uint32Array {
  const order = new Uint32Array(p.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => p[b] - p[a] || a - b);
  return order;
}

/**
 * ROC-AUC as the Mann-Whitney statistic: the share of (positive, negative)
 * pairs ranked correctly, tied pairs counting one half (what sklearn's
 * trapezoidal roc_auc_score gives). Both classes' scores are sorted natively
 * and merged, which is fast enough for millions of rows. NaN when only one
 * class is present.
 */
export function rocAuc(y: Labels, p: Scores): number {
  check(y, p);
  const n = y.length;
  const pos = countPositives(y);
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const ps = new Float64Array(pos);
  const ns = new Float64Array(neg);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] === 1) ps[a++] = p[i];
    else ns[b++] = p[i];
  }
  ps.sort();
  ns.sort();
  // For each run of equal positive scores: negatives strictly below win, equal ones tie.
  let below = 0;
  let pairs = 0;
  let i = 0;
  while (i < pos) {
    const s = ps[i];
    let j = i;
    while (j < pos && ps[j] === s) j++;
    while (below < neg && ns[below] < s) below++;
    let equal = 0;
    while (below + equal < neg && ns[below + equal] === s) equal++;
    pairs += (j - i) * (below + equal / 2);
    i = j;
  }
  return pairs / (pos * neg);
}

/**
 * Average precision as sklearn's average_precision_score defines it:
 * sum over distinct thresholds of (R_n - R_{n-1}) * P_n, no interpolation.
 */
export function averagePrecision(y: Labels, p: Scores): number {
  check(y, p);
  const pos = countPositives(y);
  if (pos === 0) return Number.NaN;
  const order = orderByScoreDesc(p);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < order.length) {
    const s = p[order[i]];
    // a whole tie group enters at once: it is one threshold
    while (i < order.length && p[order[i]] === s) {
      if (y[order[i]] === 1) tp++;
      else fp++;
      i++;
    }
    const recall = tp / pos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
}

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Confusion matrix when a score >= threshold predicts the positive class. */
export function confusionMatrix(y: Labels, p: Scores, threshold: number): ConfusionMatrix {
  check(y, p);
  const m = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i] >= threshold;
    if (y[i] === 1) {
      if (predicted) m.tp++;
      else m.fn++;
    } else if (predicted) m.fp++;
    else m.tn++;
  }
  return m;
}

export interface ThresholdMetrics {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  confusion: ConfusionMatrix;
}

/** Precision, recall, F1 and accuracy at a threshold; 0 where sklearn's zero_division=0 gives 0. */
export function thresholdMetrics(y: Labels, p: Scores, threshold: number): ThresholdMetrics {
  const c = confusionMatrix(y, p, threshold);
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const accuracy = y.length === 0 ? 0 : (c.tp + c.tn) / y.length;
  return { threshold, precision, recall, f1, accuracy, confusion: c };
}

/** Mean squared difference between probability and outcome. */
export function brierScore(y: Labels, p: Scores): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
}

/** Mean negative log-likelihood with probabilities clipped to [eps, 1-eps] (sklearn's rule). */
export function logLoss(y: Labels, p: Scores, eps = 1e-15): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/**
 * Split rows, ordered by score descending, into `bins` groups of (almost)
 * equal size; group g holds sorted positions [bounds[g], bounds[g+1]).
 * Sizes differ by at most one row, the larger groups first.
 */
function equalCountBounds(n: number, bins: number): number[] {
  const bounds = [0];
  const base = Math.floor(n / bins);
  const extra = n % bins;
  for (let g = 0; g < bins; g++) bounds.push(bounds[g] + base + (g < extra ? 1 : 0));
  return bounds;
}

export interface CalibrationBin {
  /** 1 = lowest predicted probabilities. */
  bin: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
  minPredicted: number;
  maxPredicted: number;
}

/**
 * Calibration table: rows sorted by predicted probability and cut into
 * equal-count groups (deciles by default); each group's mean prediction
 * next to its observed positive rate. Empty groups (n < bins) are left out.
 */
export function calibrationTable(y: Labels, p: Scores, bins = 10): CalibrationBin[] {
  check(y, p);
  const desc = orderByScoreDesc(p);
  const asc = Uint32Array.from(desc).reverse();
  const bounds = equalCountBounds(asc.length, bins);
  const out: CalibrationBin[] = [];
  for (let g = 0; g < bins; g++) {
    const from = bounds[g];
    const to = bounds[g + 1];
    if (to === from) continue;
    let sumP = 0;
    let sumY = 0;
    for (let k = from; k < to; k++) {
      sumP += p[asc[k]];
      sumY += y[asc[k]];
    }
    out.push({
      bin: g + 1,
      count: to - from,
      meanPredicted: sumP / (to - from),
      observedRate: sumY / (to - from),
      minPredicted: p[asc[from]],
      maxPredicted: p[asc[to - 1]],
    });
  }
  return out;
}

export interface LiftRow {
  /** 1 = the highest-scored tenth of customers. */
  decile: number;
  count: number;
  positives: number;
  /** Positive rate within the decile. */
  rate: number;
  /** rate / overall positive rate. */
  lift: number;
  /** Share of all positives captured by deciles 1..decile. */
  cumulativeGain: number;
  /** Cumulative positive rate / overall positive rate. */
  cumulativeLift: number;
  minScore: number;
}

/** Lift and cumulative gains by decile of score, highest scores first (marketing's reading order). */
export function liftTable(y: Labels, p: Scores, bins = 10): LiftRow[] {
  check(y, p);
  const order = orderByScoreDesc(p);
  const total = countPositives(y);
  const baseRate = y.length === 0 ? 0 : total / y.length;
  const bounds = equalCountBounds(order.length, bins);
  const out: LiftRow[] = [];
  let cumPos = 0;
  let cumCount = 0;
  for (let g = 0; g < bins; g++) {
    const from = bounds[g];
    const to = bounds[g + 1];
    if (to === from) continue;
    let positives = 0;
    for (let k = from; k < to; k++) positives += y[order[k]];
    cumPos += positives;
    cumCount += to - from;
    const rate = positives / (to - from);
    out.push({
      decile: g + 1,
      count: to - from,
      positives,
      rate,
      lift: baseRate === 0 ? 0 : rate / baseRate,
      cumulativeGain: total === 0 ? 0 : cumPos / total,
      cumulativeLift: baseRate === 0 ? 0 : cumPos / cumCount / baseRate,
      minScore: p[order[to - 1]],
    });
  }
  return out;
}
