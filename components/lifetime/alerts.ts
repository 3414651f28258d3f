import { DAYS_PER_UNIT, type TimeUnit } from "./summary.js";

/**
 * Inactivity alerts: customers whose silence is far beyond their own
 * purchase rhythm, each with the reasons in plain words for the people who
 * will call them. Proposed churn.yaml keys (section `lifetime`):
 * alert_prob_alive, alert_inactive_days, alert_rhythm_factor,
 * alert_min_repeat_purchases; see AlertRules.
 */
export interface AlertRules {
  /** Alert when P(alive) is below this (null: rule off). */
  probAlive: number | null;
  /** Alert when the last purchase is more than this many days ago (null: off). */
  inactiveDays: number | null;
  /** Alert when the silence exceeds this multiple of the customer's mean gap between purchases (null: off). */
  rhythmFactor: number | null;
  /**
   * The rhythm rule needs at least this many repeat purchases: one gap is
   * not a rhythm, and one-off buyers have none at all.
   */
  minRepeatPurchases: number;
}

export const DEFAULT_ALERT_RULES: AlertRules = {
  probAlive: 0.3,
  inactiveDays: null,
  rhythmFactor: 3,
  minRepeatPurchases: 2,
};

export interface AlertInput {
  id: string;
  frequency: number;
  recency: number;
  T: number;
  /** From the fitted model; when absent the probability rule is skipped. */
  probAlive?: number;
}

export interface Alert {
  id: string;
  /** Which rules fired, machine-readable. */
  rules: Array<"prob_alive" | "inactive_days" | "rhythm">;
  /** The same in plain words, joined with "; ". */
  reason: string;
  daysInactive: number;
  probAlive: number | null;
}

const fmtDays = (d: number): string => {
  const r = Math.round(d);
  return `${r} day${r === 1 ? "" : "s"}`;
};

/** The alert for one customer, or null when no rule fires. */
export function alertFor(c: AlertInput, rules: AlertRules, timeUnit: TimeUnit): Alert | null {
  const unit = DAYS_PER_UNIT[timeUnit];
  const daysInactive = (c.T - c.recency) * unit;
  const fired: Alert["rules"] = [];
  const words: string[] = [];
  if (rules.probAlive !== null && c.probAlive !== undefined && c.probAlive < rules.probAlive) {
    fired.push("prob_alive");
    words.push(
      `probably lost: chance still active is ${(100 * c.probAlive).toFixed(0)}%, below the ${(100 * rules.probAlive).toFixed(0)}% alert level`,
    );
  }
  if (rules.inactiveDays !== null && daysInactive > rules.inactiveDays) {
    fired.push("inactive_days");
    words.push(`no purchase for ${fmtDays(daysInactive)} (alert after ${fmtDays(rules.inactiveDays)})`);
  }
  if (rules.rhythmFactor !== null && c.frequency >= Math.max(1, rules.minRepeatPurchases)) {
    const gapDays = (c.recency / c.frequency) * unit;
    if (gapDays > 0 && daysInactive > rules.rhythmFactor * gapDays) {
      fired.push("rhythm");
      words.push(
        `silent for ${fmtDays(daysInactive)}, ${(daysInactive / gapDays).toFixed(1)}× their usual ${fmtDays(gapDays)} between purchases`,
      );
    }
  }
  if (fired.length === 0) return null;
  return { id: c.id, rules: fired, reason: words.join("; "), daysInactive, probAlive: c.probAlive ?? null };
}

/** Alerts for all customers that trigger a rule, most likely lost first (then longest silent). */
export function inactivityAlerts(
  customers: Iterable<AlertInput>,
  rules: AlertRules,
  timeUnit: TimeUnit,
): Alert[] {
  const out: Alert[] = [];
  for (const c of customers) {
    const alert = alertFor(c, rules, timeUnit);
    if (alert) out.push(alert);
  }
  return out.sort((x, y) => (x.probAlive ?? 1) - (y.probAlive ?? 1) || y.daysInactive - x.daysInactive);
}
