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

/**
 * The distinct values of a number column, each with a dense index, by open
 * addressing on the value's bits. A Map keyed by non-integer doubles boxes
 * every key, which made grouping cost more than the fit itself.
 */
class DistinctNumbers {
  readonly values: number[] = [];
  private slots = new Int32Array(64).fill(-1);
  private readonly bits = new Float64Array(1);
  private readonly halves = new Int32Array(this.bits.buffer);

  /** The index of `value` (added if new). -0 and 0 are one value; NaN never reaches here. */
  indexOf(value: number): number {
    const v = value === 0 ? 0 : value;
    this.bits[0] = v;
    let h = Math.imul(this.halves[0]! ^ Math.imul(this.halves[1]!, 0x9e3779b1), 0x85ebca6b);
    const mask = this.slots.length - 1;
    for (h &= mask; ; h = (h + 1) & mask) {
      const k = this.slots[h]!;
      if (k < 0) break;
      if (this.values[k] === v) return k;
    }
    const k = this.values.length;
    this.values.push(v);
    this.slots[h] = k;
    if (this.values.length * 2 > this.slots.length) this.grow();
    return k;
  }

  private grow(): void {
    const old = this.values;
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let k = 0; k < old.length; k++) {
      this.bits[0] = old[k]!;
      let h = Math.imul(this.halves[0]! ^ Math.imul(this.halves[1]!, 0x9e3779b1), 0x85ebca6b) & mask;
      while (this.slots[h]! >= 0) h = (h + 1) & mask;
      this.slots[h] = k;
    }
  }
}

/**
 * Validate histories and group identical ones. Keys are numbers, not
 * strings: each coordinate is first mapped to the index of its distinct
 * value, and the tuple key is built from the three indices (formatting
 * doubles as text cost more than the whole fit on a 23,570-customer log).
 */
export function compressHistories(histories: readonly CustomerHistory[]): FactoredHistories {
  if (histories.length === 0) throw new InputError("no customers to fit the model on");
  const n = histories.length;
  const xAt = new DistinctNumbers();
  const tAt = new DistinctNumbers();
  const rAt = new DistinctNumbers();
  const xIndex = new Int32Array(n);
  const tIndex = new Int32Array(n);
  const rIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const h = histories[i]!;
    checkHistory(h, `customer ${i + 1}`);
    xIndex[i] = xAt.indexOf(h.frequency);
    tIndex[i] = tAt.indexOf(h.T);
    rIndex[i] = rAt.indexOf(Math.min(h.recency, h.T));
  }
  const xs = xAt.values;
  const ts = tAt.values;
  const rs = rAt.values;
  const tuple = new DistinctNumbers();
  const f: number[] = [];
  const r: number[] = [];
  const t: number[] = [];
  const w: number[] = [];
  const fx: number[] = [];
  const ft: number[] = [];
  const fr: number[] = [];
  const xWeight = new Float64Array(xs.length);
  for (let i = 0; i < n; i++) {
    xWeight[xIndex[i]!]! += 1;
    // Exact in a double while xs × ts × rs < 2^53.
    const key = (xIndex[i]! * ts.length + tIndex[i]!) * rs.length + rIndex[i]!;
    const at = tuple.indexOf(key);
    if (at === f.length) {
      f.push(xs[xIndex[i]!]!);
      r.push(rs[rIndex[i]!]!);
      t.push(ts[tIndex[i]!]!);
      w.push(1);
      fx.push(xIndex[i]!);
      ft.push(tIndex[i]!);
      fr.push(rIndex[i]!);
    } else {
      w[at]! += 1;
    }
  }
  return {
    frequency: Float64Array.from(f),
    recency: Float64Array.from(r),
    T: Float64Array.from(t),
    weight: Float64Array.from(w),
    customers: n,
    xs: Float64Array.from(xs),
    xIndex: Int32Array.from(fx),
    xWeight,
    ts: Float64Array.from(ts),
    tIndex: Int32Array.from(ft),
    txs: Float64Array.from(rs),
    txIndex: Int32Array.from(fr),
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
  const at = new DistinctNumbers();
  const index = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) index[i] = at.indexOf(values[i]!);
  return { distinct: Float64Array.from(at.values), index };
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
