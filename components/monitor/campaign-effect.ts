import type { CampaignEstimate, Interval } from "../common/documents/campaign-effect.js";

/**
 * The campaign's measured effect from contacted vs control customers (pure:
 * counts in, estimates out). The control group is a random draw from the
 * same part of the ranking (contact-list's controlDraw), so the difference
 * in churn rates estimates what the calls changed.
 *
 * Several weeks are combined as strata, weighted by each week's customers
 * with an outcome: every week keeps its own comparison (a week's control
 * group is compared only with that week's contacts), so weeks of different
 * churn levels or control shares do not mix into a Simpson's-paradox average.
 *
 * The interval is Wald's, with each group's variance taken at the
 * Agresti-Caffo adjusted rate (x + 1) / (n + 2): a group with no churner (or
 * only churners) still has a non-zero variance, which keeps the coverage near
 * 95% for the small control groups of a short list (simulation test in
 * campaign-effect.test.ts). The relative reduction's interval comes from the
 * log of the ratio of rates (delta method), so it is asymmetric like the
 * ratio itself.
 */

/** z of a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;
export const CONFIDENCE = 0.95;

/** One group of one week: customers with an outcome and churners among them. */
export interface GroupCount {
  customers: number;
  churned: number;
}

/** One week (stratum): its contacted and control customers with outcomes. */
export interface Stratum {
  contact: GroupCount;
  control: GroupCount;
}

const rate = (g: GroupCount) => (g.customers > 0 ? g.churned / g.customers : null);
/** The adjusted rate the variance is taken at. */
const adjusted = (g: GroupCount) => (g.churned + 1) / (g.customers + 2);
const variance = (g: GroupCount) => {
  const p = adjusted(g);
  return (p * (1 - p)) / g.customers;
};

const none: Interval = { estimate: null, lower: null, upper: null };

/** Rounded for the documents: rates and reductions to 6 decimals. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * Estimates the campaign's effect over one or more weeks: churn among
 * contacted and control customers, the absolute reduction (control rate minus
 * contacted rate) and the relative one, each with a 95% interval. Weeks
 * missing either group count in the totals but not in the comparison.
 */
export function estimateCampaignEffect(strata: readonly Stratum[], z = Z_95): CampaignEstimate {
  const total = (pick: (s: Stratum) => GroupCount) => ({
    customers: strata.reduce((a, s) => a + pick(s).customers, 0),
    churned: strata.reduce((a, s) => a + pick(s).churned, 0),
  });
  const contact = total((s) => s.contact);
  const control = total((s) => s.control);
  const groups = {
    contact: { ...contact, churn_rate: rate(contact) === null ? null : round(rate(contact)!) },
    control: { ...control, churn_rate: rate(control) === null ? null : round(rate(control)!) },
  };
  const usable = strata.filter((s) => s.contact.customers > 0 && s.control.customers > 0);
  const size = (s: Stratum) => s.contact.customers + s.control.customers;
  const weightTotal = usable.reduce((a, s) => a + size(s), 0);
  if (usable.length === 0)
    return {
      ...groups,
      absolute_reduction: none,
      relative_reduction: none,
      churners_prevented: null,
    };
  let contactRate = 0;
  let controlRate = 0;
  let contactAdjusted = 0;
  let controlAdjusted = 0;
  let contactVariance = 0;
  let controlVariance = 0;
  for (const s of usable) {
    const w = size(s) / weightTotal;
    contactRate += w * rate(s.contact)!;
    controlRate += w * rate(s.control)!;
    contactAdjusted += w * adjusted(s.contact);
    controlAdjusted += w * adjusted(s.control);
    contactVariance += w * w * variance(s.contact);
    controlVariance += w * w * variance(s.control);
  }
  const difference = controlRate - contactRate;
  const se = Math.sqrt(contactVariance + controlVariance);
  const absolute: Interval = {
    estimate: round(difference),
    lower: round(difference - z * se),
    upper: round(difference + z * se),
  };
  // log(contact rate / control rate); at a zero rate the adjusted rates give the centre.
  const centre =
    contactRate > 0 && controlRate > 0
      ? Math.log(contactRate / controlRate)
      : Math.log(contactAdjusted / controlAdjusted);
  const logSe = Math.sqrt(contactVariance / contactAdjusted ** 2 + controlVariance / controlAdjusted ** 2);
  const relative: Interval = {
    estimate: controlRate > 0 ? round(1 - contactRate / controlRate) : null,
    // A larger ratio is a smaller reduction, so the bounds swap.
    lower: round(1 - Math.exp(centre + z * logSe)),
    upper: round(1 - Math.exp(centre - z * logSe)),
  };
  return {
    ...groups,
    absolute_reduction: absolute,
    relative_reduction: relative,
    churners_prevented: Math.round(difference * contact.customers * 10) / 10,
  };
}
