/** Synthetic data and random trees for GBDT and TreeSHAP unit tests. */
import { Rng } from "../../common/random.js";
import type { GbdtTree } from "./model.js";

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

/** A tree with no nodes yet, for tests to grow node by node. */
export function emptyTree(): GbdtTree {
  return { feature: [], threshold: [], defaultLeft: [], left: [], right: [], value: [], cover: [], gain: [] };
}

/**
 * A random tree (test helper): any shape up to `maxDepth` and `maxLeaves`,
 * paths that may reuse a feature, both default sides, some thresholds at
 * exactly 0.5, and covers that add up (for TreeSHAP).
 */
export function randomTree(
  rng: Rng,
  numFeatures: number,
  { maxDepth = Number.POSITIVE_INFINITY, maxLeaves = Number.POSITIVE_INFINITY } = {},
): GbdtTree {
  const t = emptyTree();
  let leaves = 1;
  const grow = (depth: number): number => {
    const id = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.defaultLeft.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(0);
    t.cover.push(0);
    t.gain.push(0);
    if (depth < maxDepth && leaves < maxLeaves && (depth < 2 || rng.nextFloat() < 0.7)) {
      leaves++;
      t.feature[id] = rng.nextInt(numFeatures);
      t.threshold[id] = rng.nextFloat() < 0.2 ? 0.5 : rng.nextGaussian();
      t.defaultLeft[id] = rng.nextFloat() < 0.5 ? 1 : 0;
      t.left[id] = grow(depth + 1);
      t.right[id] = grow(depth + 1);
      t.cover[id] = t.cover[t.left[id]] + t.cover[t.right[id]];
    } else {
      t.value[id] = rng.nextGaussian();
      t.cover[id] = 1 + rng.nextInt(50);
    }
    return id;
  };
  grow(0);
  return t;
}
