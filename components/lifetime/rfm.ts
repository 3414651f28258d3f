/**
 * RFM scoring and the named segments of DESIGN ("Non-contractual customers").
 *
 * Scores are quintiles 1..5 where 5 is best: R from the time since the last
 * purchase (T - recency; shorter is better, so the most recently active get
 * R = 5), F from frequency, M from monetary.
 *
 * Tie rule: a customer's quintile comes from the mid-rank of their value
 * (the average of the positions the tied group occupies), score =
 * floor(5 × (midrank - 0.5) / n) + 1. Quintiles come from ranks, not from
 * value cut points, so heavy ties never produce duplicate edges or a crash
 * (the failure of value quantile bins); customers with the same value always
 * share a score, and without ties the five buckets are equal in size (±1).
 * The price of "identical customers, identical score": when one value covers
 * more than a fifth of the customers (e.g. the many one-off buyers with
 * frequency 0) it fills its bucket and the ones its mid-rank spans stay empty.
 * Splitting identical customers across scores by an arbitrary order would
 * fill the buckets but put, say, two one-off buyers into different segments.
 */

export type Score = 1 | 2 | 3 | 4 | 5;

export const SEGMENTS = [
  "Champions",
  "Loyal",
  "Potential Loyalists",
  "New",
  "Promising",
  "Need Attention",
  "About to Sleep",
  "At Risk",
  "Can't Lose Them",
  "Hibernating",
] as const;
export type Segment = (typeof SEGMENTS)[number];

/** DESIGN's table: each segment with its R and F score ranges (inclusive). */
export const SEGMENT_RULES: ReadonlyArray<{ segment: Segment; r: [number, number]; f: [number, number] }> = [
  { segment: "Champions", r: [5, 5], f: [4, 5] },
  { segment: "Loyal", r: [3, 4], f: [4, 5] },
  { segment: "Potential Loyalists", r: [4, 5], f: [2, 3] },
  { segment: "New", r: [5, 5], f: [1, 1] },
  { segment: "Promising", r: [4, 4], f: [1, 1] },
  { segment: "Need Attention", r: [3, 3], f: [3, 3] },
  { segment: "About to Sleep", r: [3, 3], f: [1, 2] },
  { segment: "At Risk", r: [1, 2], f: [3, 4] },
  { segment: "Can't Lose Them", r: [1, 2], f: [5, 5] },
  { segment: "Hibernating", r: [1, 2], f: [1, 2] },
];

/**
 * The segment of an (R, F) score pair. The table covers all 25 pairs exactly
 * once (a unit test checks it), so no fallback rule is needed.
 */
export function segmentOf(r: Score, f: Score): Segment {
  for (const rule of SEGMENT_RULES) {
    if (r >= rule.r[0] && r <= rule.r[1] && f >= rule.f[0] && f <= rule.f[1]) return rule.segment;
  }
  throw new RangeError(`no RFM segment for R=${r} F=${f} (scores must be whole numbers 1..5)`);
}

/**
 * Quintile scores 1..5 of values by mid-rank (see the tie rule above); higher
 * values get higher scores unless `higherIsBetter` is false. NaN is not allowed.
 */
export function quintileScores(values: ArrayLike<number>, higherIsBetter = true): Score[] {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`value ${i + 1} is NaN; RFM scores need numbers`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) =>
    higherIsBetter ? values[i] - values[j] : values[j] - values[i],
  );
  const scores = new Array<Score>(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Positions start+1 .. end (1-based): their mean.
    const midRank = (start + 1 + end) / 2;
    const score = Math.min(5, Math.floor((5 * (midRank - 0.5)) / n) + 1) as Score;
    for (let k = start; k < end; k++) scores[order[k]] = score;
    start = end;
  }
  return scores;
}

export interface RfmInput {
  frequency: number;
  recency: number;
  T: number;
  monetary: number;
}

export interface RfmScore {
  r: Score;
  f: Score;
  m: Score;
  segment: Segment;
}

/** R, F, M scores and segment of every customer, scored against each other. */
export function rfmScores(customers: readonly RfmInput[]): RfmScore[] {
  const inactivity = customers.map((c) => c.T - c.recency);
  const r = quintileScores(inactivity, false);
  const f = quintileScores(customers.map((c) => c.frequency));
  const m = quintileScores(customers.map((c) => c.monetary));
  return customers.map((_, i) => ({ r: r[i], f: f[i], m: m[i], segment: segmentOf(r[i], f[i]) }));
}
