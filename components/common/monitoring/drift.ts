import type { ColumnProfile, Profile } from "../profile/profile.js";

/**
 * Drift between the training data and a weekly file: per-feature population
 * stability index (PSI) from the two ingest profiles, and the shift of the
 * score distribution against the held-out calibration deciles.
 */

/** PSI bands: below 0.1 stable, below 0.25 moderate, from 0.25 significant. */
export const PSI_BANDS = { moderate: 0.1, significant: 0.25 } as const;
export type DriftBand = "stable" | "moderate" | "significant";

/** The band of a PSI value. */
export function psiBand(psi: number): DriftBand {
  if (psi >= PSI_BANDS.significant) return "significant";
  if (psi >= PSI_BANDS.moderate) return "moderate";
  return "stable";
}

/**
 * Shares below this floor count as the floor: an empty bin on one side would
 * otherwise make ln(a/e) infinite, and one empty bin should not dwarf all others.
 */
const SHARE_FLOOR = 1e-4;

/** PSI = Σ (a − e) · ln(a / e) over bins of two share vectors (each summing to ~1). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length)
    throw new RangeError(`psi: ${expected.length} expected bins but ${actual.length} actual bins`);
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(SHARE_FLOOR, expected[i]!);
    const a = Math.max(SHARE_FLOOR, actual[i]!);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** Share of a distribution at or below x, from its 0..100th percentiles (step function). */
export function shareAtOrBelow(percentiles: readonly number[], x: number): number {
  let k = 0;
  while (k < percentiles.length && percentiles[k]! <= x) k++;
  return k / percentiles.length;
}

/** Shares of the bins (−∞, e1], (e1, e2], ..., (ek, ∞) under a distribution given by percentiles. */
export function binShares(percentiles: readonly number[], edges: readonly number[]): number[] {
  const out: number[] = [];
  let previous = 0;
  for (const edge of edges) {
    const at = shareAtOrBelow(percentiles, edge);
    out.push(at - previous);
    previous = at;
  }
  out.push(1 - previous);
  return out;
}

/** Training decile edges (10th..90th percentile), ties merged so every bin is non-empty. */
export function decileEdges(percentiles: readonly number[]): number[] {
  const edges: number[] = [];
  for (let d = 10; d <= 90; d += 10) {
    const e = percentiles[d]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  // An edge at the maximum leaves an empty top bin on the training side.
  const max = percentiles[percentiles.length - 1]!;
  while (edges.length > 0 && edges[edges.length - 1]! >= max) edges.pop();
  return edges;
}

export interface FeatureDrift {
  column: string;
  type: ColumnProfile["type"];
  psi: number;
  band: DriftBand;
  /** Bin labels with the training and weekly shares, for the report's charts. */
  bins: Array<{ bin: string; training: number; weekly: number }>;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

function feature(
  column: ColumnProfile,
  labels: string[],
  training: number[],
  weekly: number[],
): FeatureDrift {
  const value = psi(training, weekly);
  return {
    column: column.name,
    type: column.type,
    psi: round(value),
    band: psiBand(value),
    bins: labels.map((bin, i) => ({ bin, training: round(training[i]!), weekly: round(weekly[i]!) })),
  };
}

/** Numeric drift: the training deciles as bins, both sides' shares from their percentiles. */
export function numericDrift(train: ColumnProfile, week: ColumnProfile): FeatureDrift | null {
  if (!train.quantiles || !week.quantiles) return null;
  const edges = decileEdges(train.quantiles);
  if (edges.length === 0) return null; // a constant training column has no bins to shift between
  const labels = [
    `≤ ${edges[0]}`,
    ...edges.slice(1).map((e, i) => `${edges[i]} – ${e}`),
    `> ${edges[edges.length - 1]}`,
  ];
  return feature(train, labels, binShares(train.quantiles, edges), binShares(week.quantiles, edges));
}

/**
 * Categorical (and boolean) drift: shares of the training's most frequent
 * categories plus an "other" bucket. A category missing from the weekly
 * profile's top list counts as 0 when that list is complete, otherwise its
 * share is unknown and stays in "other" (an understatement, never an invention).
 */
export function categoricalDrift(train: ColumnProfile, week: ColumnProfile): FeatureDrift | null {
  if (!train.top || train.top.length === 0) return null;
  const trainPresent = train.count - train.missing;
  const weekPresent = week.count - week.missing;
  if (trainPresent <= 0 || weekPresent <= 0) return null;
  const weekCounts = new Map((week.top ?? []).map((t) => [t.value, t.count]));
  const weekComplete = !week.distinctCapped && (week.top?.length ?? 0) === (week.distinct ?? 0);
  const labels: string[] = [];
  const training: number[] = [];
  const weekly: number[] = [];
  for (const t of train.top) {
    const w = weekCounts.get(t.value);
    if (w === undefined && !weekComplete) continue;
    labels.push(t.value);
    training.push(t.count / trainPresent);
    weekly.push((w ?? 0) / weekPresent);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  labels.push("other");
  training.push(Math.max(0, 1 - sum(training)));
  weekly.push(Math.max(0, 1 - sum(weekly)));
  return feature(train, labels, training, weekly);
}

/** Streams weekly probabilities into the bins of the held-out calibration deciles. */
export class ScoreBinner {
  readonly edges: number[] = [];
  readonly reference: number[] = [];
  readonly counts: number[];
  private total = 0;
  /** bins: the evaluation report's calibration table (equal-count bins, ascending). */
  constructor(bins: ReadonlyArray<{ count: number; maxPredicted: number }>) {
    const n = bins.reduce((a, b) => a + b.count, 0);
    bins.forEach((b, i) => {
      const share = n > 0 ? b.count / n : 0;
      const last = i === bins.length - 1;
      // Tied bin boundaries merge, as for feature deciles.
      if (!last && (this.edges.length === 0 || b.maxPredicted > this.edges[this.edges.length - 1]!)) {
        this.edges.push(b.maxPredicted);
        this.reference.push(share);
      } else if (last) this.reference.push(share);
      else this.reference[this.reference.length - 1]! += share;
    });
    this.counts = new Array<number>(this.reference.length).fill(0);
  }

  /** Count one probability. */
  add(p: number): void {
    let i = 0;
    while (i < this.edges.length && p > this.edges[i]!) i++;
    this.counts[i]!++;
    this.total++;
  }

  /** The weekly shares per bin. */
  shares(): number[] {
    return this.counts.map((c) => (this.total > 0 ? c / this.total : 0));
  }
}

export interface DriftReport {
  bands: typeof PSI_BANDS;
  /** Features by decreasing PSI. */
  features: FeatureDrift[];
  /** Features the two profiles could not compare (no bins, all missing). */
  skipped: string[];
  score: { psi: number; band: DriftBand; reference: string; bins: FeatureDrift["bins"] } | null;
  max_feature_psi: number;
  significant: string[];
}

/** Compares the weekly profile with the training profile (and the week's scores with the held-out ones). */
export function computeDrift(training: Profile, weekly: Profile, scores: ScoreBinner | null): DriftReport {
  const weekByName = new Map(weekly.columns.map((c) => [c.name, c]));
  const features: FeatureDrift[] = [];
  const skipped: string[] = [];
  for (const train of training.columns) {
    if (train.role !== "feature") continue;
    const week = weekByName.get(train.name);
    let drift: FeatureDrift | null = null;
    if (week && train.type === "numeric") drift = numericDrift(train, week);
    else if (week && (train.type === "categorical" || train.type === "boolean"))
      drift = categoricalDrift(train, week);
    if (drift) features.push(drift);
    else skipped.push(train.name);
  }
  features.sort((a, b) => b.psi - a.psi || a.column.localeCompare(b.column));
  let score: DriftReport["score"] = null;
  if (scores && scores.reference.length > 1) {
    const weeklyShares = scores.shares();
    const value = psi(scores.reference, weeklyShares);
    const e = scores.edges;
    score = {
      psi: round(value),
      band: psiBand(value),
      reference: "held-out calibration deciles of the evaluated model",
      bins: scores.reference.map((r, i) => ({
        bin:
          i === 0
            ? `≤ ${round(e[0]!)}`
            : i === e.length
              ? `> ${round(e[i - 1]!)}`
              : `${round(e[i - 1]!)} – ${round(e[i]!)}`,
        training: round(r),
        weekly: round(weeklyShares[i]!),
      })),
    };
  }
  return {
    bands: PSI_BANDS,
    features,
    skipped,
    score,
    max_feature_psi: features[0]?.psi ?? 0,
    significant: features.filter((f) => f.band === "significant").map((f) => f.column),
  };
}
