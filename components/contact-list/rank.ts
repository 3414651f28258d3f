import { sha256Hex } from "../common/hash.js";

/**
 * Whom to call this week (DESIGN "scores.csv and contact-list.csv"): the
 * eligible customers ranked by expected retained value, within the budget,
 * with a control group held back at random. Pure: no storage, no CSV.
 *
 * Memory stays flat in the size of the weekly file: candidates go through a
 * bounded min-heap (`TopCandidates`) of the list's size, so a 10M-row week
 * keeps only the few thousand best rows.
 */

/** churn.yaml `campaign`, as the ranking reads it. */
export interface CampaignSettings {
  eligibleTiers: readonly string[];
  /** Each customer's value comes from this column (null: rank by probability). */
  valueColumn: string | null;
  /**
   * Customers without a value stay eligible and are ranked after every
   * customer with one (lifetime values: a customer new to the purchase log
   * has none yet, and is no less worth a call for it); false: they are left
   * out (a weekly column's empty cell says nothing about the customer).
   */
  listWithoutValue: boolean;
  budgetContacts: number | null;
  costPerContact: number;
  saveRate: number;
  controlShare: number;
}

/** One scored customer that may be listed. */
export interface Candidate<T> {
  probability: number;
  /** value_column's value, or null without a value column. */
  value: number | null;
  /** p * value * save_rate - cost, or p without a value (column). */
  expected: number;
  /** Input order: ties in expected value go to the earlier row, so the list is stable. */
  seq: number;
  id: string;
  /** What the caller writes for the row (the scores.csv fields). */
  row: T;
}

/**
 * The expected retained value of contacting a customer: p * value *
 * save_rate - cost_per_contact; without a value column, p itself (then
 * ranking is by risk alone and cost cannot be weighed against anything).
 */
export function expectedRetainedValue(settings: CampaignSettings, p: number, value: number | null): number {
  if (settings.valueColumn === null || value === null) return p;
  return p * value * settings.saveRate - settings.costPerContact;
}

/**
 * Whether a scored row may be listed: its tier is eligible and, with a value
 * column, it has a value and contacting it is expected to gain more than it
 * costs (expected retained value above 0: the cost form of the budget), or
 * it has no value and `listWithoutValue` keeps such rows.
 */
export function isEligible(
  settings: CampaignSettings,
  tier: string,
  p: number,
  value: number | null,
): boolean {
  if (!settings.eligibleTiers.includes(tier)) return false;
  if (settings.valueColumn === null) return true;
  if (value === null) return settings.listWithoutValue;
  return Number.isFinite(value) && expectedRetainedValue(settings, p, value) > 0;
}

/**
 * a ranks before b: a customer with a value before one without (their
 * expected figures are money and probability, not comparable), then higher
 * expected retained value, then earlier in the input.
 */
function before<T>(a: Candidate<T>, b: Candidate<T>): boolean {
  const aValued = a.value !== null;
  if (aValued !== (b.value !== null)) return aValued;
  return a.expected > b.expected || (a.expected === b.expected && a.seq < b.seq);
}

/**
 * The list's size before the control split: enough rows that, after about
 * control_share of them are held back, the budget of contacts is filled
 * (budget / (1 - control_share), plus a margin for the randomness of the
 * split; `selectContacts` then stops at exactly the budget). Null: no bound.
 */
export function candidateCapacity(settings: CampaignSettings): number | null {
  const budget = settings.budgetContacts;
  if (budget === null) return null;
  const share = settings.controlShare;
  if (share === 0) return budget;
  const filled = budget / (1 - share);
  // Four standard deviations of the binomial count of controls among `filled` rows.
  return Math.ceil(filled + 4 * Math.sqrt(filled * share * (1 - share)) + 4);
}

/** The best `capacity` candidates seen (all of them when capacity is null), in a bounded min-heap. */
export class TopCandidates<T> {
  private readonly heap: Candidate<T>[] = [];
  /** Candidates offered (the eligible rows). */
  offered = 0;

  constructor(private readonly capacity: number | null) {}

  /** Keep a candidate if it is among the best so far. */
  offer(candidate: Candidate<T>): void {
    this.offered++;
    const heap = this.heap;
    if (this.capacity === null || heap.length < this.capacity) {
      heap.push(candidate);
      this.up(heap.length - 1);
    } else if (heap.length > 0 && before(candidate, heap[0]!)) {
      heap[0] = candidate;
      this.down(0);
    }
  }

  /** The kept candidates, best first. */
  ranked(): Candidate<T>[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  // The root is the worst kept candidate: the one a better newcomer replaces.
  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[parent]!, heap[i]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && before(heap[worst]!, heap[l]!)) worst = l;
      if (r < heap.length && before(heap[worst]!, heap[r]!)) worst = r;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i]!, heap[worst]!];
      i = worst;
    }
  }
}

/**
 * A customer's draw for the control group, uniform in [0, 1): a hash of the
 * week and the id, so a re-run of the week splits the same way and another
 * week draws afresh.
 */
export function controlDraw(id: string, week: string): number {
  return Number.parseInt(sha256Hex(`${week}\n${id}`).slice(0, 13), 16) / 2 ** 52;
}

export type Group = "contact" | "control";

/** A listed customer: its place (1 = first to call) and group. */
export interface Listed<T> extends Candidate<T> {
  rank: number;
  group: Group;
}

/**
 * Splits the ranked candidates into contact and control groups by each one's
 * draw, in rank order, and stops right after the budget-th contact: contacted
 * and control customers come from the same part of the ranking, and the
 * contacts never exceed the budget.
 */
export function selectContacts<T>(
  ranked: readonly Candidate<T>[],
  settings: CampaignSettings,
  week: string,
): Listed<T>[] {
  const out: Listed<T>[] = [];
  let contacts = 0;
  for (const candidate of ranked) {
    if (settings.budgetContacts !== null && contacts >= settings.budgetContacts) break;
    const group: Group = controlDraw(candidate.id, week) < settings.controlShare ? "control" : "contact";
    if (group === "contact") contacts++;
    out.push({ ...candidate, rank: out.length + 1, group });
  }
  return out;
}

/** The campaign's totals, as summary.json and the report carry them. */
export interface CampaignTotals {
  /** Rows that could be listed: an eligible tier and (with a value column) an expected gain. */
  eligible: number;
  listed: number;
  contacts: number;
  control: number;
  /** Sum of churn probabilities of the contact group: churners the calls reach. */
  expected_churners_reached: number;
  /** Sum of expected retained value of the contact group's customers with a value (null without a value column). */
  expected_value_retained: number | null;
  /** Eligible rows without a value, listed after those with one (null unless listWithoutValue). */
  without_value: number | null;
}

/** Totals of a selected list; `withoutValue`: the eligible rows offered without a value. */
export function campaignTotals<T>(
  listed: readonly Listed<T>[],
  eligible: number,
  settings: CampaignSettings,
  withoutValue = 0,
): CampaignTotals {
  let reached = 0;
  let retained = 0;
  let contacts = 0;
  for (const row of listed) {
    if (row.group !== "contact") continue;
    contacts++;
    reached += row.probability;
    if (row.value !== null) retained += row.expected;
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    eligible,
    listed: listed.length,
    contacts,
    control: listed.length - contacts,
    expected_churners_reached: round(reached),
    expected_value_retained: settings.valueColumn === null ? null : round(retained),
    without_value: settings.listWithoutValue ? withoutValue : null,
  };
}
