/**
 * Sparse-aware gradient histograms, in the style of LightGBM: each feature's
 * most frequent bin (its "zero bin": 0 of a one-hot column, the mode of a
 * count) is never accumulated row by row. A histogram sums only the other
 * bins, then sets each zero bin to the leaf's totals minus the feature's
 * other bins. One-hot columns of a categorical then cost one add per row
 * (the level that is set) instead of one per column, and the long runs of
 * adds to one bin, which serialise on the same memory cell, are gone.
 *
 * Layout: a histogram is a Float64Array of (gradient, hessian, count)
 * triples, feature f's bins at binOffset[f] .. binOffset[f + 1] - 1 (the
 * missing bin last). The rows' bins other than the zero bin are stored
 * row-major as CSR: row r's entries are entry[start[r] .. start[r + 1] - 1],
 * each the index of its bin's triple in the histogram (3 * bin index).
 */

/** Each row's non-zero-bin entries, as histogram offsets, and each feature's zero bin. */
export interface SparseRowBins {
  /** Row r's entries are entry[start[r]] .. entry[start[r + 1] - 1]; length rows + 1. */
  start: Uint32Array;
  /** Offset of the entry's (gradient, hessian, count) triple in a histogram. */
  entry: Uint32Array;
  /** Per feature, its most frequent bin (within the feature, missing bin included). */
  zeroBin: Int32Array;
}

/**
 * The sparse layout of row-major bins (n rows × d features, bin (k, f) at
 * k * d + f); feature f has binOffset[f + 1] - binOffset[f] bins. Ties for
 * the most frequent bin go to the lowest bin.
 */
export function sparseRowBins(
  binned: Uint8Array,
  n: number,
  d: number,
  binOffset: Int32Array,
): SparseRowBins {
  const counts = new Uint32Array(binOffset[d]);
  for (let k = 0; k < n; k++) {
    const base = k * d;
    for (let f = 0; f < d; f++) counts[binOffset[f] + binned[base + f]]++;
  }
  const zeroBin = new Int32Array(d);
  let nnz = 0;
  for (let f = 0; f < d; f++) {
    let best = 0;
    for (let b = 1; b < binOffset[f + 1] - binOffset[f]; b++) {
      if (counts[binOffset[f] + b] > counts[binOffset[f] + best]) best = b;
    }
    zeroBin[f] = best;
    nnz += n - counts[binOffset[f] + best];
  }
  const start = new Uint32Array(n + 1);
  const entry = new Uint32Array(nnz);
  let e = 0;
  for (let k = 0; k < n; k++) {
    start[k] = e;
    const base = k * d;
    for (let f = 0; f < d; f++) {
      const b = binned[base + f];
      if (b !== zeroBin[f]) entry[e++] = (binOffset[f] + b) * 3;
    }
  }
  start[n] = e;
  return { start, entry, zeroBin };
}

/**
 * Sums gradient, hessian and a count of the rows rows[from .. from + count - 1]
 * into hist over their non-zero bins. Every bin of hist is cleared first, so
 * bins of features that are not searched this round hold sums too (cheaper
 * than skipping them entry by entry); their zero bins are never set.
 */
export function accumulateRows(
  hist: Float64Array,
  sparse: SparseRowBins,
  rows: Uint32Array,
  from: number,
  count: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  hist.fill(0);
  const { start, entry } = sparse;
  const end = from + count;
  for (let k = from; k < end; k++) {
    const row = rows[k];
    const g = grad[row];
    const h = hess[row];
    const last = start[row + 1];
    for (let e = start[row]; e < last; e++) {
      const i = entry[e];
      hist[i] += g;
      hist[i + 1] += h;
      hist[i + 2] += 1;
    }
  }
}

/**
 * Sets the zero bin of each of features[0 .. numFeatures - 1] to the leaf's
 * totals (G, H, C) minus the feature's other bins.
 */
export function fillZeroBins(
  hist: Float64Array,
  sparse: SparseRowBins,
  binOffset: Int32Array,
  features: Int32Array,
  numFeatures: number,
  G: number,
  H: number,
  C: number,
): void {
  const { zeroBin } = sparse;
  for (let j = 0; j < numFeatures; j++) {
    const f = features[j];
    const z = (binOffset[f] + zeroBin[f]) * 3;
    let g = 0;
    let h = 0;
    let c = 0;
    const end = binOffset[f + 1] * 3;
    for (let i = binOffset[f] * 3; i < end; i += 3) {
      g += hist[i];
      h += hist[i + 1];
      c += hist[i + 2];
    }
    // The zero bin itself holds 0 here (accumulateRows never adds to it). A
    // zero bin without rows gets exact zeros, not the rounding left of G - g.
    const cz = C - c;
    hist[z] = cz > 0 ? G - g : 0;
    hist[z + 1] = cz > 0 ? H - h : 0;
    hist[z + 2] = cz;
  }
}
