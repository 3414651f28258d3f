/**
 * Quantile binning of raw features into at most 255 value bins plus one bin
 * for missing values, and the row-major Uint8 matrix histograms are built from.
 */

/** Bin boundaries of one feature: bin i holds values in (upper[i-1], upper[i]]; the last value bin is open. */
export interface FeatureBins {
  /** Upper bounds of value bins 0..numBins-2, strictly increasing raw values. */
  upper: Float64Array;
  /** Number of value bins (>= 1); the missing bin's index equals this number. */
  numBins: number;
  /** Whether the fitting rows had any missing value. */
  hasMissing: boolean;
}

/** Largest number of value bins: the missing bin takes index 255 of a Uint8. */
export const MAX_VALUE_BINS = 255;

/** A split point strictly between a and b (a < b), as close to the middle as floats allow. */
function midpoint(a: number, b: number): number {
  const m = a / 2 + b / 2;
  return m >= b || m < a ? a : m;
}

/**
 * Fits bins for column `f` of row-major `x` (n × d) over the given rows: one
 * bin per distinct value when there are few, else bins of roughly equal counts
 * where a value that alone fills a bin gets its own.
 */
export function fitFeatureBins(
  x: Float64Array,
  d: number,
  f: number,
  rows: ArrayLike<number>,
  maxBins: number,
  scratch: Float64Array,
): FeatureBins {
  let m = 0;
  let hasMissing = false;
  for (let k = 0; k < rows.length; k++) {
    const v = x[rows[k] * d + f];
    if (Number.isNaN(v)) hasMissing = true;
    else scratch[m++] = v;
  }
  const vals = scratch.subarray(0, m);
  vals.sort();
  // Distinct values and their counts, in place at the front of the scratch.
  const counts: number[] = [];
  const distinct: number[] = [];
  for (let i = 0; i < m; i++) {
    if (i === 0 || vals[i] !== vals[i - 1]) {
      distinct.push(vals[i]);
      counts.push(1);
    } else counts[counts.length - 1]++;
  }
  const k = distinct.length;
  if (k <= 1) return { upper: new Float64Array(0), numBins: 1, hasMissing };
  const upper: number[] = [];
  if (k <= maxBins) {
    for (let i = 0; i + 1 < k; i++) upper.push(midpoint(distinct[i], distinct[i + 1]));
  } else {
    let rest = m;
    let binsLeft = maxBins;
    let acc = 0;
    for (let i = 0; i + 1 < k && binsLeft > 1; i++) {
      acc += counts[i];
      const target = rest / binsLeft;
      if (acc >= target || counts[i + 1] >= target) {
        upper.push(midpoint(distinct[i], distinct[i + 1]));
        rest -= acc;
        binsLeft--;
        acc = 0;
      }
    }
  }
  return { upper: Float64Array.from(upper), numBins: upper.length + 1, hasMissing };
}

/** Bin index of raw value v (NaN goes to the missing bin). */
export function binOf(bins: FeatureBins, v: number): number {
  if (Number.isNaN(v)) return bins.numBins;
  const u = bins.upper;
  let lo = 0;
  let hi = u.length; // answer in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= u[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Row-major binned copy of the given rows of row-major x: entry (k, f) at k * d + f.
 * Row-major because histograms are built a row at a time (one cache line holds
 * every feature of a row) and a row's tree walk reads its own bytes only.
 */
export function binRows(
  x: Float64Array,
  d: number,
  rows: ArrayLike<number>,
  bins: readonly FeatureBins[],
): Uint8Array {
  const n = rows.length;
  const out = new Uint8Array(n * d);
  for (let k = 0; k < n; k++) {
    const src = rows[k] * d;
    const dst = k * d;
    for (let f = 0; f < d; f++) out[dst + f] = binOf(bins[f], x[src + f]);
  }
  return out;
}
