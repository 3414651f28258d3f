import { Rng } from "../random.js";

/**
 * Stratified, seeded resampling: every fold (and the validation split) keeps
 * the churn rate of the whole set, so small positive classes still appear in
 * each fold and fold ROC-AUCs are comparable.
 */

function classIndices(y: ArrayLike<number>): [number[], number[]] {
  const neg: number[] = [];
  const pos: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] === 1 ? pos : neg).push(i);
  return [neg, pos];
}

/**
 * Fold number (0..k-1) of every row. Each class is shuffled with the seed and
 * dealt round-robin, continuing the deal from one class to the next so fold
 * sizes differ by at most one row overall.
 */
export function stratifiedFolds(y: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k must be an integer >= 2, got ${k}`);
  if (y.length < k) throw new RangeError(`cannot split ${y.length} rows into ${k} folds`);
  const rng = new Rng(seed);
  const folds = new Int32Array(y.length);
  let next = 0;
  for (const members of classIndices(y)) {
    rng.shuffle(members);
    for (const i of members) {
      folds[i] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

export interface FoldSplit {
  fold: number;
  train: Int32Array;
  test: Int32Array;
}

/** The k train/test index pairs of stratifiedFolds, indices ascending within each. */
export function stratifiedKFold(y: ArrayLike<number>, k: number, seed: number): FoldSplit[] {
  const folds = stratifiedFolds(y, k, seed);
  const out: FoldSplit[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < folds.length; i++) (folds[i] === f ? test : train).push(i);
    out.push({ fold: f, train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return out;
}

export interface TrainValidSplit {
  train: Int32Array;
  valid: Int32Array;
}

/**
 * Stratified train/validation split: round(share × class size) rows of each
 * class go to validation (at least one when the class has two or more rows).
 * Indices ascending, so row order is stable for everything downstream.
 */
export function stratifiedSplit(y: ArrayLike<number>, validShare: number, seed: number): TrainValidSplit {
  if (!(validShare > 0 && validShare < 1))
    throw new RangeError(`validShare must be in (0,1), got ${validShare}`);
  const rng = new Rng(seed);
  const isValid = new Uint8Array(y.length);
  for (const members of classIndices(y)) {
    rng.shuffle(members);
    let take = Math.round(validShare * members.length);
    if (take === 0 && members.length >= 2) take = 1;
    if (take === members.length && members.length >= 2) take = members.length - 1;
    for (let j = 0; j < take; j++) isValid[members[j]] = 1;
  }
  const train: number[] = [];
  const valid: number[] = [];
  for (let i = 0; i < y.length; i++) (isValid[i] ? valid : train).push(i);
  return { train: Int32Array.from(train), valid: Int32Array.from(valid) };
}

/** Picks rows of a row-major matrix (n × d) into a new matrix. */
export function takeRows(x: Float64Array, d: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r] * d, rows[r] * d + d), r * d);
  return out;
}

/** Picks entries of a vector. */
export function take<T extends Float64Array | Uint8Array>(v: T, rows: ArrayLike<number>): T {
  const out = new (v.constructor as { new (n: number): T })(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = v[rows[r]];
  return out;
}
