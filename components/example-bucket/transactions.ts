import { createRng, type Rng } from "./rng.js";

/**
 * An example purchase log for the lifetime pipeline (`transactions/<stem>.csv`,
 * the columns of churn.yaml's `transactions:` defaults: customer_id, date,
 * amount). Each customer follows the BG/NBD story the pipeline fits: purchases
 * at their own Poisson rate (gamma across customers), and after each purchase
 * a chance to drop out for good (beta across customers); spend per purchase
 * is gamma around the customer's own mean. So the fit has something real to
 * find, and the alerts name customers who went silent.
 */
export interface ExampleTransactionsOptions {
  customers: number;
  seed: number;
  /** The end of the observation window (the example week). */
  end: Date;
  /** Length of the window in weeks; customers make their first purchase in its first half. */
  weeks?: number;
}

export const TRANSACTION_COLUMNS = ["customer_id", "date", "amount"] as const;

/** Purchase rate per week ~ Gamma(r, 1/alpha); dropout after a purchase ~ Beta(a, b): values in the range of CDNOW's fit. */
const RATE_SHAPE = 0.9;
const RATE_SCALE_WEEKS = 1 / 4;
const DROPOUT_A = 0.8;
const DROPOUT_B = 3.5;
/** Mean spend per customer ~ Gamma(4, 10): around 40 per purchase, varying by customer. */
const SPEND_SHAPE = 4;
const SPEND_SCALE = 10;
/** Spend of one purchase ~ Gamma(6, mean/6) around the customer's mean. */
const PURCHASE_SHAPE = 6;

const DAY_MS = 86_400_000;

/** Gamma(shape, scale) by Marsaglia and Tsang (shape < 1 through the boost u^(1/shape)). */
function gamma(rng: Rng, shape: number, scale: number): number {
  if (shape < 1) return gamma(rng, shape + 1, scale) * rng.next() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}

function beta(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a, 1);
  return x / (x + gamma(rng, b, 1));
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The log's CSV lines (header first), customer by customer, each customer's purchases in time order. */
export function* exampleTransactionLines(options: ExampleTransactionsOptions): Generator<string> {
  const weeks = options.weeks ?? 52;
  const endMs = options.end.getTime();
  const startMs = endMs - weeks * 7 * DAY_MS;
  yield `${TRANSACTION_COLUMNS.join(",")}\n`;
  for (let c = 0; c < options.customers; c++) {
    const rng = createRng(options.seed, 0x7e11, c);
    const id = `C${String(100_000 + c)}`;
    const ratePerWeek = gamma(rng, RATE_SHAPE, RATE_SCALE_WEEKS);
    const dropout = beta(rng, DROPOUT_A, DROPOUT_B);
    const meanSpend = gamma(rng, SPEND_SHAPE, SPEND_SCALE);
    // The first purchase falls in the window's first half, so everyone has a history to judge.
    let t = startMs + rng.next() * (weeks / 2) * 7 * DAY_MS;
    for (;;) {
      const amount = gamma(rng, PURCHASE_SHAPE, meanSpend / PURCHASE_SHAPE);
      yield `${id},${isoDate(t)},${amount.toFixed(2)}\n`;
      if (rng.next() < dropout) break;
      const waitWeeks = -Math.log(1 - rng.next()) / ratePerWeek;
      t += waitWeeks * 7 * DAY_MS;
      if (t >= endMs) break;
    }
  }
}
