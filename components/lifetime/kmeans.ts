import { InputError } from "../common/errors.js";
import { Rng } from "../common/random.js";

/**
 * k-means segmentation of customers on standardised RFM, with k chosen by
 * silhouette, and a plain-words profile of each cluster.
 */

/** What k-means needs from a random stream (components/common/random.ts's Rng has it). */
export interface RandomSource {
  nextFloat(): number;
  nextInt(n: number): number;
}

export interface KMeansResult {
  k: number;
  /** Cluster of each point, 0..k-1. */
  labels: Int32Array;
  /** Centroids in the space the points were given in. */
  centroids: number[][];
  /** Sum of squared distances to the assigned centroid. */
  inertia: number;
  iterations: number;
}

export interface KMeansOptions {
  /** Independent k-means++ starts; the lowest inertia wins (default 4). */
  restarts?: number;
  maxIterations?: number;
}

function sqDist(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = a[ai + j] - b[bi + j];
    s += t * t;
  }
  return s;
}

/** Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii 2007) on row-major points. */
export function kmeans(
  points: Float64Array,
  d: number,
  k: number,
  rng: RandomSource,
  options: KMeansOptions = {},
): KMeansResult {
  const n = points.length / d;
  if (!Number.isInteger(n) || n < k || k < 1)
    throw new InputError(`k-means needs at least k = ${k} points, got ${n}`);
  const restarts = options.restarts ?? 4;
  const maxIterations = options.maxIterations ?? 300;
  let best: KMeansResult | null = null;
  for (let run = 0; run < restarts; run++) {
    const result = lloyd(points, n, d, seedPlusPlus(points, n, d, k, rng), k, maxIterations);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best as KMeansResult;
}

function seedPlusPlus(
  points: Float64Array,
  n: number,
  d: number,
  k: number,
  rng: RandomSource,
): Float64Array {
  const centroids = new Float64Array(k * d);
  const first = rng.nextInt(n);
  centroids.set(points.subarray(first * d, first * d + d), 0);
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dist = sqDist(points, i * d, centroids, (c - 1) * d, d);
      if (dist < nearest[i]) nearest[i] = dist;
      total += nearest[i];
    }
    // Next centre drawn with probability proportional to squared distance;
    // if every point coincides with a centre, any point will do.
    let pick = rng.nextInt(n);
    if (total > 0) {
      let target = rng.nextFloat() * total;
      for (let i = 0; i < n; i++) {
        target -= nearest[i];
        if (target < 0) {
          pick = i;
          break;
        }
      }
    }
    centroids.set(points.subarray(pick * d, pick * d + d), c * d);
  }
  return centroids;
}

function lloyd(
  points: Float64Array,
  n: number,
  d: number,
  centroids: Float64Array,
  k: number,
  maxIterations: number,
): KMeansResult {
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  let iterations = 0;
  let inertia = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let bestC = 0;
      let bestD = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const dist = sqDist(points, i * d, centroids, c * d, d);
        if (dist < bestD) {
          bestD = dist;
          bestC = c;
        }
      }
      if (labels[i] !== bestC) {
        labels[i] = bestC;
        changed++;
      }
      inertia += bestD;
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += points[i * d + j];
    }
    for (let c = 0; c < k; c++) {
      // An emptied cluster keeps its old centre rather than becoming NaN.
      if (counts[c] > 0) for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j] / counts[c];
    }
  }
  const out: number[][] = [];
  for (let c = 0; c < k; c++) out.push(Array.from(centroids.subarray(c * d, c * d + d)));
  return { k, labels, centroids: out, inertia, iterations };
}

/** Mean silhouette (Rousseeuw 1987) of the given points and labels; O(n²), so pass a sample for big n. */
export function silhouette(points: Float64Array, d: number, labels: ArrayLike<number>, k: number): number {
  const n = points.length / d;
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[labels[i]]++;
  const sums = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++)
      if (j !== i) sums[labels[j]] += Math.sqrt(sqDist(points, i * d, points, j * d, d));
    const own = labels[i];
    // A point alone in its cluster has silhouette 0 by convention.
    if (sizes[own] <= 1) continue;
    const a = sums[own] / (sizes[own] - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c] > 0) b = Math.min(b, sums[c] / sizes[c]);
    if (!Number.isFinite(b)) continue;
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}

/** The RFM fields segmentation uses. */
export interface SegmentInput {
  frequency: number;
  recency: number;
  T: number;
  monetary: number;
}

export interface FeatureTransform {
  /** Per feature: whether log1p was applied (skewed, non-negative data), then mean and sd. */
  log1p: boolean[];
  mean: number[];
  sd: number[];
}

export const SEGMENT_FEATURES = ["inactivity", "frequency", "monetary"] as const;

function skewness(v: number[]): number {
  const n = v.length;
  const mean = v.reduce((s, x) => s + x, 0) / n;
  let m2 = 0;
  let m3 = 0;
  for (const x of v) {
    m2 += (x - mean) ** 2;
    m3 += (x - mean) ** 3;
  }
  m2 /= n;
  m3 /= n;
  return m2 > 0 ? m3 / m2 ** 1.5 : 0;
}

/**
 * Standardise [inactivity = T - recency, frequency, monetary]. Purchase
 * counts and spend are heavily right-skewed, and on raw values a handful of
 * big spenders would get clusters of their own; log1p is applied to a
 * non-negative feature whose skewness exceeds 1, then each is z-scored.
 */
export function standardise(customers: readonly SegmentInput[]): {
  points: Float64Array;
  transform: FeatureTransform;
} {
  const raw = [
    customers.map((c) => c.T - c.recency),
    customers.map((c) => c.frequency),
    customers.map((c) => c.monetary),
  ];
  const d = raw.length;
  const n = customers.length;
  const transform: FeatureTransform = { log1p: [], mean: [], sd: [] };
  const points = new Float64Array(n * d);
  raw.forEach((values, j) => {
    const useLog = values.every((v) => v >= 0) && skewness(values) > 1;
    const v = useLog ? values.map(Math.log1p) : values;
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    transform.log1p.push(useLog);
    transform.mean.push(mean);
    // A constant feature carries no information: leave it at 0 everywhere.
    transform.sd.push(sd > 0 ? sd : 1);
    for (let i = 0; i < n; i++) points[i * d + j] = (v[i] - mean) / (sd > 0 ? sd : 1);
  });
  return { points, transform };
}

export interface ClusterProfile {
  cluster: number;
  size: number;
  share: number;
  /** Mean time since the last purchase, in the time unit. */
  meanInactivity: number;
  meanFrequency: number;
  meanMonetary: number;
  /** e.g. "frequent high spenders, recently active". */
  name: string;
}

export interface Segmentation {
  k: number;
  labels: Int32Array;
  /** Mean silhouette of each k tried. */
  silhouettes: Record<number, number>;
  profiles: ClusterProfile[];
  transform: FeatureTransform;
  /** Centroids in standardised space (to assign new customers). */
  centroids: number[][];
}

export interface SegmentOptions {
  /** Candidate k values (default 2..8). */
  kValues?: number[];
  seed?: number;
  /** Silhouette is computed on at most this many sampled customers (default 2000). */
  silhouetteSample?: number;
  restarts?: number;
}

/** Cluster customers on standardised RFM, choosing k by mean silhouette, and profile each cluster. */
export function segmentCustomers(
  customers: readonly SegmentInput[],
  options: SegmentOptions = {},
): Segmentation {
  const kValues = (options.kValues ?? [2, 3, 4, 5, 6, 7, 8]).filter((k) => k >= 2 && k < customers.length);
  if (kValues.length === 0) throw new InputError(`too few customers (${customers.length}) to cluster`);
  const rng = new Rng(options.seed ?? 42);
  const { points, transform } = standardise(customers);
  const d = SEGMENT_FEATURES.length;
  const n = customers.length;
  const sampleSize = Math.min(n, options.silhouetteSample ?? 2000);
  // One sample for every k so the silhouettes compare like with like.
  const sample = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i)).subarray(0, sampleSize);
  const samplePoints = new Float64Array(sampleSize * d);
  for (let s = 0; s < sampleSize; s++) {
    samplePoints.set(points.subarray(sample[s] * d, sample[s] * d + d), s * d);
  }
  const silhouettes: Record<number, number> = {};
  let best: KMeansResult | null = null;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const k of kValues) {
    const result = kmeans(points, d, k, rng.fork(), { restarts: options.restarts });
    const sampleLabels = Int32Array.from(sample, (idx) => result.labels[idx]);
    const score = silhouette(samplePoints, d, sampleLabels, k);
    silhouettes[k] = score;
    if (score > bestScore) {
      bestScore = score;
      best = result;
    }
  }
  const chosen = best as KMeansResult;
  return {
    k: chosen.k,
    labels: chosen.labels,
    silhouettes,
    profiles: profileClusters(customers, chosen.labels, chosen.centroids),
    transform,
    centroids: chosen.centroids,
  };
}

/**
 * Size, raw means and a name per cluster. The name reads the centroid in
 * standardised units: above +0.5 sd is "high", below -0.5 sd "low".
 */
export function profileClusters(
  customers: readonly SegmentInput[],
  labels: Int32Array,
  centroids: number[][],
): ClusterProfile[] {
  const k = centroids.length;
  const n = customers.length;
  return centroids
    .map((centre, cluster) => {
      let size = 0;
      let inactivity = 0;
      let frequency = 0;
      let monetary = 0;
      for (let i = 0; i < n; i++) {
        if (labels[i] !== cluster) continue;
        size++;
        inactivity += customers[i].T - customers[i].recency;
        frequency += customers[i].frequency;
        monetary += customers[i].monetary;
      }
      const level = (z: number): -1 | 0 | 1 => (z > 0.5 ? 1 : z < -0.5 ? -1 : 0);
      const [zi, zf, zm] = centre;
      const freqWord = { "-1": "one-off", "0": "occasional", "1": "frequent" }[level(zf)];
      const spendWord = { "-1": "low spenders", "0": "average spenders", "1": "high spenders" }[level(zm)];
      // Inactivity is reversed: a low value means a recent purchase.
      const recencyWord = { "-1": "recently active", "0": "active a while ago", "1": "long inactive" }[
        level(zi)
      ];
      return {
        cluster,
        size,
        share: size / n,
        meanInactivity: size ? inactivity / size : 0,
        meanFrequency: size ? frequency / size : 0,
        meanMonetary: size ? monetary / size : 0,
        name: `${freqWord} ${spendWord}, ${recencyWord}`,
      };
    })
    .slice(0, k);
}
