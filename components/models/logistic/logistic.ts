import { z } from "zod";
import { parseStoredValue } from "../../common/documents/parse.js";

/**
 * L2-regularised logistic regression fitted by Newton's method (IRLS) in
 * float64: the objective is scikit-learn's,
 *   C · Σ wᵢ · logloss(yᵢ, σ(b + xᵢ·β)) + ½‖β‖²   (intercept b not penalised),
 * so coefficients match LogisticRegression(C, class_weight) to solver
 * tolerance. Newton suits our shapes (thousands to millions of rows, tens to
 * a few hundred features): each step is one pass over the rows plus a d×d
 * Cholesky solve, it converges in ~10 steps, and it is deterministic.
 */

export interface LogisticOptions {
  /** Inverse regularisation strength, as in scikit-learn (default 1). */
  C?: number;
  /** "balanced" weights each class by n / (2 · n_class), so both classes weigh the same in total. */
  classWeight?: "balanced" | "none";
  maxIterations?: number;
  /** Stop when the largest gradient entry falls below this times max(1, C·Σ weights) (default 1e-9). */
  tolerance?: number;
}

/** A fitted logistic model: plain JSON, everything inference and explanations need. */
export interface LogisticModel {
  family: "logistic";
  /** Output feature names of the transform, in column order. */
  features: string[];
  coefficients: number[];
  intercept: number;
  /** Training mean of each feature: the reference point of the exact contributions. */
  baseline: number[];
  C: number;
  classWeight: "balanced" | "none";
  iterations: number;
}

/** Logistic sigmoid computed without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Per-row weights: 1, or n / (2 · n_class) for "balanced". */
export function classWeights(y: ArrayLike<number>, mode: "balanced" | "none"): Float64Array {
  const w = new Float64Array(y.length).fill(1);
  if (mode === "none") return w;
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] === 1 ? 1 : 0;
  const neg = y.length - pos;
  const wPos = pos === 0 ? 0 : y.length / (2 * pos);
  const wNeg = neg === 0 ? 0 : y.length / (2 * neg);
  for (let i = 0; i < y.length; i++) w[i] = y[i] === 1 ? wPos : wNeg;
  return w;
}

/** Solves A z = b for a symmetric positive definite A (row-major m × m) by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * m + j];
      for (let k = 0; k < j; k++) s -= l[i * m + k] * l[j * m + k];
      if (i === j) {
        // A tiny floor keeps a rank-deficient Hessian (e.g. an all-zero column
        // with only the intercept unpenalised) solvable.
        l[i * m + i] = Math.sqrt(Math.max(s, 1e-12));
      } else l[i * m + j] = s / l[j * m + j];
    }
  }
  const z = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * m + k] * z[k];
    z[i] = s / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < m; k++) s -= l[k * m + i] * z[k];
    z[i] = s / l[i * m + i];
  }
  return z;
}

function objective(
  x: Float64Array,
  y: ArrayLike<number>,
  w: Float64Array,
  beta: Float64Array,
  d: number,
  C: number,
): number {
  const n = y.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let z = beta[d];
    const off = i * d;
    for (let j = 0; j < d; j++) z += x[off + j] * beta[j];
    loss += w[i] * (y[i] === 1 ? softplus(-z) : softplus(z));
  }
  let penalty = 0;
  for (let j = 0; j < d; j++) penalty += beta[j] * beta[j];
  return C * loss + 0.5 * penalty;
}

/** Fits the model on a row-major matrix x (n × d) with 0/1 labels y; optional per-row weights multiply class weights. */
export function fitLogistic(
  x: Float64Array,
  y: ArrayLike<number>,
  features: string[],
  options: LogisticOptions = {},
  sampleWeight?: ArrayLike<number>,
): LogisticModel {
  const C = options.C ?? 1;
  const classWeight = options.classWeight ?? "none";
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-9;
  const n = y.length;
  const d = features.length;
  if (x.length !== n * d) throw new RangeError(`matrix has ${x.length} values, expected ${n} × ${d}`);
  if (n === 0) throw new RangeError("cannot fit on zero rows");
  const w = classWeights(y, classWeight);
  if (sampleWeight) for (let i = 0; i < n; i++) w[i] *= sampleWeight[i];

  const m = d + 1; // last entry is the intercept
  const beta = new Float64Array(m);
  // Start the intercept at the weighted log-odds: fewer Newton steps on rare churn.
  let sw = 0;
  let swy = 0;
  for (let i = 0; i < n; i++) {
    sw += w[i];
    swy += w[i] * y[i];
  }
  if (swy > 0 && swy < sw) beta[d] = Math.log(swy / (sw - swy));

  const grad = new Float64Array(m);
  const hess = new Float64Array(m * m);
  const xi = new Float64Array(m);
  let current = objective(x, y, w, beta, d, C);
  const gradientFloor = tolerance * Math.max(1, C * sw);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      const off = i * d;
      let z = beta[d];
      for (let j = 0; j < d; j++) {
        xi[j] = x[off + j];
        z += xi[j] * beta[j];
      }
      xi[d] = 1;
      const p = sigmoid(z);
      const g = C * w[i] * (p - y[i]);
      const h = C * w[i] * p * (1 - p);
      for (let a = 0; a < m; a++) {
        grad[a] += g * xi[a];
        const hx = h * xi[a];
        // lower triangle only; mirrored below
        for (let b = 0; b <= a; b++) hess[a * m + b] += hx * xi[b];
      }
    }
    for (let j = 0; j < d; j++) {
      grad[j] += beta[j];
      hess[j * m + j] += 1;
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) hess[b * m + a] = hess[a * m + b];
    let gmax = 0;
    for (let a = 0; a < m; a++) gmax = Math.max(gmax, Math.abs(grad[a]));
    // Relative to the loss scale: the gradient sums over n rows, so rounding alone leaves ~1e-16·C·Σw.
    if (gmax < gradientFloor) break;
    const step = choleskySolve(hess, grad, m);
    // Backtracking keeps every step a descent step (Newton can overshoot far from the optimum).
    let t = 1;
    const trial = new Float64Array(m);
    let accepted = false;
    for (let k = 0; k < 30; k++) {
      for (let a = 0; a < m; a++) trial[a] = beta[a] - t * step[a];
      const value = objective(x, y, w, trial, d, C);
      if (value <= current) {
        beta.set(trial);
        current = value;
        accepted = true;
        break;
      }
      t /= 2;
    }
    if (!accepted) break;
  }

  const baseline = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) baseline[j] += x[i * d + j];
  for (let j = 0; j < d; j++) baseline[j] /= n;
  return {
    family: "logistic",
    features: [...features],
    coefficients: Array.from(beta.subarray(0, d)),
    intercept: beta[d],
    baseline,
    C,
    classWeight,
    iterations,
  };
}

/** Log-odds b + x·β of one row starting at x[offset]. */
export function logisticMargin(model: LogisticModel, x: ArrayLike<number>, offset = 0): number {
  const coef = model.coefficients;
  let z = model.intercept;
  for (let j = 0; j < coef.length; j++) z += coef[j] * x[offset + j];
  return z;
}

/** Probabilities for every row of a row-major matrix. */
export function predictLogistic(model: LogisticModel, x: Float64Array): Float64Array {
  const d = model.coefficients.length;
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sigmoid(logisticMargin(model, x, i * d));
  return out;
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

/** Strict schema of a stored logistic model; coefficient and baseline lengths must match the features. */
export const logisticModelSchema = z
  .strictObject({
    family: z.literal("logistic"),
    features: z.array(z.string()),
    coefficients: z.array(finite),
    intercept: finite,
    baseline: z.array(finite),
    C: z.number().positive(),
    classWeight: z.enum(["balanced", "none"]),
    iterations: z.int().min(0),
  })
  .superRefine((m, ctx) => {
    for (const key of ["coefficients", "baseline"] as const) {
      if (m[key].length !== m.features.length) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `must have ${m.features.length} entries, one per feature`,
        });
      }
    }
  });

/** Validates a stored logistic model (e.g. from a bundle); errors name the field. */
export function parseLogisticModel(value: unknown, where = "model"): LogisticModel {
  return parseStoredValue(logisticModelSchema, value, where, "logistic model");
}
