import { InputError } from "../../common/errors.js";

/**
 * One customer's purchase history in the BG/NBD convention: frequency = repeat
 * purchase days (distinct days after the first), recency = age at the last
 * purchase, T = age at the end of observation, both in the model's time unit.
 */
export interface CustomerHistory {
  frequency: number;
  recency: number;
  T: number;
}

/**
 * Histories grouped by identical (frequency, recency, T): likelihoods are
 * evaluated once per distinct triple with a weight, which makes large logs
 * (many one-off customers of the same cohort) much cheaper to fit.
 */
export interface CompressedHistories {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  weight: Float64Array;
  /** Number of customers (sum of weights). */
  customers: number;
}

/** Throw an InputError naming the customer (index or id) when a history is impossible. */
export function checkHistory(h: CustomerHistory, where: string): void {
  const { frequency, recency, T } = h;
  if (!Number.isInteger(frequency) || frequency < 0) {
    throw new InputError(`${where}: frequency must be a whole number >= 0, got ${frequency}`);
  }
  if (!Number.isFinite(recency) || recency < 0) {
    throw new InputError(`${where}: recency must be a number >= 0, got ${recency}`);
  }
  // T = 0 (first purchase on the last observed day) is legal: its likelihood is 1.
  if (!Number.isFinite(T) || T < 0) {
    throw new InputError(`${where}: T must be a number >= 0, got ${T}`);
  }
  // Rounded inputs (two decimals in published files) can put recency a hair above T.
  if (recency > T + 1e-9 * Math.max(1, T)) {
    throw new InputError(`${where}: recency ${recency} is after the end of observation T = ${T}`);
  }
  if (frequency === 0 && recency !== 0) {
    throw new InputError(`${where}: recency must be 0 when frequency is 0, got ${recency}`);
  }
}

/** Validate histories and group identical ones. */
export function compressHistories(histories: readonly CustomerHistory[]): CompressedHistories {
  if (histories.length === 0) throw new InputError("no customers to fit the model on");
  const index = new Map<string, number>();
  const f: number[] = [];
  const r: number[] = [];
  const t: number[] = [];
  const w: number[] = [];
  histories.forEach((h, i) => {
    checkHistory(h, `customer ${i + 1}`);
    const key = `${h.frequency}|${h.recency}|${h.T}`;
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, f.length);
      f.push(h.frequency);
      r.push(Math.min(h.recency, h.T));
      t.push(h.T);
      w.push(1);
    } else {
      w[at] += 1;
    }
  });
  return {
    frequency: Float64Array.from(f),
    recency: Float64Array.from(r),
    T: Float64Array.from(t),
    weight: Float64Array.from(w),
    customers: histories.length,
  };
}

/**
 * Compressed histories with each coordinate factored into its distinct
 * values: every term of a likelihood that depends on frequency alone (the
 * gamma and beta functions), or on T alone, or on recency alone, is then
 * computed once per distinct value per evaluation rather than once per
 * tuple. Real logs have few distinct values of each (CDNOW master: 8,685
 * tuples but 37 frequencies, 84 ages, 271 recencies).
 */
export interface FactoredHistories extends CompressedHistories {
  /** Distinct frequencies, and per tuple the index of its frequency. */
  xs: Float64Array;
  xIndex: Int32Array;
  /** Number of customers per distinct frequency. */
  xWeight: Float64Array;
  /** Distinct T values, and per tuple the index of its T. */
  ts: Float64Array;
  tIndex: Int32Array;
  /** Distinct recencies, and per tuple the index of its recency. */
  txs: Float64Array;
  txIndex: Int32Array;
}

function factor(values: Float64Array): { distinct: Float64Array; index: Int32Array } {
  const at = new Map<number, number>();
  const distinct: number[] = [];
  const index = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let k = at.get(values[i]);
    if (k === undefined) {
      k = distinct.length;
      at.set(values[i], k);
      distinct.push(values[i]);
    }
    index[i] = k;
  }
  return { distinct: Float64Array.from(distinct), index };
}

/** Factor compressed histories into distinct frequencies, ages and recencies. */
export function factorHistories(data: CompressedHistories): FactoredHistories {
  const x = factor(data.frequency);
  const t = factor(data.T);
  const tx = factor(data.recency);
  const xWeight = new Float64Array(x.distinct.length);
  for (let i = 0; i < x.index.length; i++) xWeight[x.index[i]] += data.weight[i];
  return {
    ...data,
    xs: x.distinct,
    xIndex: x.index,
    xWeight,
    ts: t.distinct,
    tIndex: t.index,
    txs: tx.distinct,
    txIndex: tx.index,
  };
}
