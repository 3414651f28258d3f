import type { ChurnConfig, TIERS, TierRule } from "../common/config/schema.js";
import { orderByScoreDesc } from "../common/data/metrics.js";

/**
 * Risk tiers as probability thresholds chosen on validation data (stored in
 * the bundle, so scoring a week never depends on that week's distribution):
 * a customer is `high` when p >= high.threshold, else `medium` when
 * p >= medium.threshold, else `low`.
 */

/** A risk tier (the names live in the config schema, beside score.reasons_for). */
export type Tier = (typeof TIERS)[number];

export interface TierThreshold {
  threshold: number;
  rule: TierRule;
  /** What the threshold achieved on the validation rows. */
  validation: { share: number; precision: number };
  /** Set when the rule could not be met exactly, in plain words. */
  note?: string;
}

export interface TierThresholds {
  high: TierThreshold;
  medium: TierThreshold;
}

function achieved(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
): TierThreshold["validation"] {
  let count = 0;
  let pos = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] >= threshold) {
      count++;
      pos += y[i];
    }
  }
  return { share: p.length === 0 ? 0 : count / p.length, precision: count === 0 ? 0 : pos / count };
}

/** Threshold for one rule on validation labels y and calibrated probabilities p. */
export function chooseThreshold(y: ArrayLike<number>, p: ArrayLike<number>, rule: TierRule): TierThreshold {
  if (p.length === 0) throw new RangeError("cannot choose tier thresholds on zero validation rows");
  const order = orderByScoreDesc(p);
  if ("top_share" in rule) {
    // the k-th highest probability; ties at the boundary all join the tier
    const k = Math.max(1, Math.ceil(rule.top_share * p.length));
    const threshold = p[order[k - 1]];
    return { threshold, rule, validation: achieved(y, p, threshold) };
  }
  // Lowest threshold whose precision (share of churners among p >= t) reaches the target,
  // looking only at distinct values so a tie group enters as a whole.
  let tp = 0;
  let count = 0;
  let best: number | null = null;
  let i = 0;
  while (i < order.length) {
    const t = p[order[i]];
    while (i < order.length && p[order[i]] === t) {
      tp += y[order[i]];
      count++;
      i++;
    }
    if (tp / count >= rule.precision) best = t;
  }
  if (best === null) {
    const threshold = p[order[0]];
    return {
      threshold,
      rule,
      validation: achieved(y, p, threshold),
      note: `no threshold reached precision ${rule.precision} on validation data; only the highest-scored customers are in this tier`,
    };
  }
  return { threshold: best, rule, validation: achieved(y, p, best) };
}

/** Both tier thresholds from config; medium is never above high (medium includes high). */
export function chooseTierThresholds(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  tiers: ChurnConfig["tiers"],
): TierThresholds {
  const high = chooseThreshold(y, p, tiers.high);
  const medium = chooseThreshold(y, p, tiers.medium);
  if (medium.threshold > high.threshold) {
    return {
      high,
      medium: {
        ...medium,
        threshold: high.threshold,
        validation: achieved(y, p, high.threshold),
        note: "the medium rule gave a higher threshold than high; medium was lowered to high's threshold",
      },
    };
  }
  return { high, medium };
}

/** The tier of a calibrated probability. */
export function tierOf(thresholds: TierThresholds, p: number): Tier {
  if (p >= thresholds.high.threshold) return "high";
  if (p >= thresholds.medium.threshold) return "medium";
  return "low";
}
