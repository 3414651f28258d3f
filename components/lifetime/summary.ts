import { InputError } from "../common/errors.js";

/** Time units of recency and T (churn.yaml `transactions.time_unit`). */
export type TimeUnit = "day" | "week" | "month";

/**
 * Days per time unit. A month is the mean Gregorian month, 365.25 / 12 =
 * 30.4375 days, so twelve months are exactly a (Julian) year and ages do not
 * depend on which calendar months a customer happened to span.
 */
export const DAYS_PER_UNIT: Record<TimeUnit, number> = { day: 1, week: 7, month: 365.25 / 12 };

const MS_PER_DAY = 86_400_000;

/** The UTC day number (days since 1970-01-01) of an epoch-milliseconds timestamp. */
export function dayFromEpochMs(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/**
 * The UTC day number of a calendar date written YYYYMMDD or YYYY-MM-DD (a
 * time part after the date is ignored); null when it is not a real date.
 */
export function dayFromDateString(text: string): number | null {
  const m = /^\s*(\d{4})-?(\d{2})-?(\d{2})(?:$|[T\s])/.exec(text);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  // Date.UTC rolls 1997-02-30 over to March: reject instead of guessing.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / MS_PER_DAY;
}

/** One customer in the BG/NBD convention, plus the zbar monetary value. */
export interface CustomerSummary {
  id: string;
  /** Distinct purchase days after the first. */
  frequency: number;
  /** First to last purchase day, in the time unit. */
  recency: number;
  /** First purchase day to the end of observation, in the time unit. */
  T: number;
  /**
   * Mean spend per repeat purchase day (each repeat day's total, averaged
   * over repeat days; the first day is excluded): lifetimes' and FHL's zbar.
   * 0 when frequency is 0.
   */
  monetary: number;
  firstDay: number;
  lastDay: number;
}

export interface SummaryOptions {
  /** Last day counted (inclusive), as a day number; default the last purchase day in the data. */
  observationEnd?: number | null;
}

/**
 * Per-customer state: distinct purchase days with that day's total, in
 * arrival order. Logs are nearly always time-ordered per customer, so a
 * repeat of the latest day merges in O(1); out-of-order days are appended and
 * put right once at the end. Memory is two numbers per distinct purchase day.
 */
interface State {
  days: number[];
  totals: number[];
  sorted: boolean;
}

/**
 * Streaming accumulator from transaction records to per-customer
 * frequency / recency / T / monetary. Feed `add` one record at a time in any
 * order, then call `finish` once.
 */
export class SummaryAccumulator {
  private readonly customers = new Map<string, State>();
  private readonly observationEnd: number | null;
  private maxDay = Number.NEGATIVE_INFINITY;
  /** Records ignored because they fall after observation_end. */
  afterEnd = 0;
  records = 0;

  constructor(options: SummaryOptions = {}) {
    const end = options.observationEnd ?? null;
    if (end !== null && !Number.isInteger(end))
      throw new InputError(`observation_end must be a whole day number, got ${end}`);
    this.observationEnd = end;
  }

  /** Add one purchase; returns false when it falls after observation_end and is ignored. */
  add(customer: string, day: number, value = 0): boolean {
    if (!Number.isInteger(day)) throw new RangeError(`purchase day must be a whole day number, got ${day}`);
    if (!Number.isFinite(value)) throw new RangeError(`purchase value must be a finite number, got ${value}`);
    if (this.observationEnd !== null && day > this.observationEnd) {
      this.afterEnd++;
      return false;
    }
    this.records++;
    if (day > this.maxDay) this.maxDay = day;
    const state = this.customers.get(customer);
    if (!state) {
      this.customers.set(customer, { days: [day], totals: [value], sorted: true });
      return true;
    }
    const last = state.days.length - 1;
    if (state.days[last] === day) {
      state.totals[last] += value;
    } else {
      if (day < state.days[last]) state.sorted = false;
      state.days.push(day);
      state.totals.push(value);
    }
    return true;
  }

  /** Number of customers seen so far. */
  get size(): number {
    return this.customers.size;
  }

  /** The per-customer summaries, in first-seen order, with recency and T in timeUnit. */
  finish(timeUnit: TimeUnit = "week"): CustomerSummary[] {
    const unit = DAYS_PER_UNIT[timeUnit];
    const end = this.observationEnd ?? this.maxDay;
    const out: CustomerSummary[] = [];
    for (const [id, state] of this.customers) {
      if (!state.sorted) mergeDays(state);
      const { days, totals } = state;
      const first = days[0];
      const lastDay = days[days.length - 1];
      let repeatSum = 0;
      for (let i = 1; i < totals.length; i++) repeatSum += totals[i];
      const frequency = days.length - 1;
      out.push({
        id,
        frequency,
        recency: (lastDay - first) / unit,
        T: (end - first) / unit,
        monetary: frequency > 0 ? repeatSum / frequency : 0,
        firstDay: first,
        lastDay,
      });
    }
    return out;
  }
}

function mergeDays(state: State): void {
  const order = state.days.map((_, i) => i).sort((i, j) => state.days[i] - state.days[j]);
  const days: number[] = [];
  const totals: number[] = [];
  for (const i of order) {
    if (days.length > 0 && days[days.length - 1] === state.days[i])
      totals[totals.length - 1] += state.totals[i];
    else {
      days.push(state.days[i]);
      totals.push(state.totals[i]);
    }
  }
  state.days = days;
  state.totals = totals;
  state.sorted = true;
}
