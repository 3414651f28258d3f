import { InputError } from "../../common/errors.js";
import { type BgNbdParams, bgnbdExpectedPurchases } from "./bgnbd.js";
import type { CustomerHistory } from "./history.js";

/**
 * Customer lifetime value: expected purchases month by month (BG/NBD,
 * conditional on the history) times the expected value of a purchase
 * (Gamma-Gamma), discounted monthly. The same sum as `lifetimes`'
 * customer_lifetime_value, so the two agree figure for figure.
 */

// The column's name is the contact list's and the lookup's too, so it lives with their reading rule.
export { LIFETIME_VALUE_COLUMN } from "../../common/documents/lifetime-output.js";

/** Model time units per month, as `lifetimes` counts them (freq D/W/M). */
export const UNITS_PER_MONTH = { day: 30, week: 4.345, month: 1 } as const;
export type ValueTimeUnit = keyof typeof UNITS_PER_MONTH;

export interface LifetimeValueOptions {
  /** Whole months summed (lifetimes' `time`). */
  months: number;
  /** Discount per month (lifetimes' `discount_rate`): month k is divided by (1 + rate)^k. */
  monthlyDiscount: number;
  /** The unit of recency and T the BG/NBD model was fitted in. */
  timeUnit: ValueTimeUnit;
}

export function checkLifetimeValueOptions(o: LifetimeValueOptions): void {
  if (!Number.isInteger(o.months) || o.months < 1)
    throw new InputError(`the lifetime value needs a whole number of months >= 1, got ${o.months}`);
  if (!(o.monthlyDiscount >= 0))
    throw new InputError(`the monthly discount must be >= 0, got ${o.monthlyDiscount}`);
}

/**
 * Σ_k spend × (E[X(k months)] - E[X(k-1 months)]) / (1 + rate)^k for k = 1..months.
 * `spend` is the customer's expected purchase value (see `expectedSpend`).
 */
export function customerLifetimeValue(
  params: BgNbdParams,
  history: CustomerHistory,
  spend: number,
  options: LifetimeValueOptions,
): number {
  const unit = UNITS_PER_MONTH[options.timeUnit];
  let value = 0;
  let previous = 0;
  for (let k = 1; k <= options.months; k++) {
    const cumulative = bgnbdExpectedPurchases(params, k * unit, history);
    value += (spend * (cumulative - previous)) / (1 + options.monthlyDiscount) ** k;
    previous = cumulative;
  }
  return value;
}
