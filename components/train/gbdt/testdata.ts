/** Synthetic data for GBDT and TreeSHAP unit tests (a nonlinear signal with missing values). */
import { Rng } from "../../common/random.js";

/** n × d standard normals, some missing; the label depends nonlinearly on the first features. */
export function syntheticData(
  n: number,
  d: number,
  seed: number,
  missingShare = 0.05,
): { x: Float64Array; y: Float64Array } {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++)
      x[i * d + f] = rng.nextFloat() < missingShare ? Number.NaN : rng.nextGaussian();
    const a = x[i * d] || 0;
    const b = x[i * d + 1] || 0;
    const c = d > 2 ? x[i * d + 2] || 0 : 0;
    const s = 1.5 * a - b * b + (c > 0.5 ? 1 : 0) + (Number.isNaN(x[i * d + 1]) ? 1.5 : 0);
    y[i] = rng.nextFloat() < 1 / (1 + Math.exp(-s)) ? 1 : 0;
  }
  return { x, y };
}

/** ROC-AUC by ranks with average ranks for ties (test helper). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rank = 0;
  let pos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]] === 1) {
        rank += (i + j) / 2 + 1;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  return (rank - (pos * (pos + 1)) / 2) / (pos * neg);
}
