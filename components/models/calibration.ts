import { z } from "zod";
import { stratifiedFolds } from "../common/data/cv.js";
import { logLoss } from "../common/data/metrics.js";
import { parseStoredValue } from "../common/documents/parse.js";
import { sigmoid } from "./logistic/logistic.js";

/**
 * Probability calibration fitted on held-out (out-of-fold) predictions.
 *
 * Two candidates: Platt scaling on the logit of the raw probability (two
 * parameters, cannot overfit, but only reshapes along a sigmoid) and isotonic
 * regression (any monotone shape, needs data). We choose by cross-validated
 * log loss of the calibrator itself on the out-of-fold predictions, with Platt
 * forced when there are fewer than `minIsotonicPositives` churners, where
 * isotonic steps are driven by a handful of rows. Both are monotone
 * non-decreasing, so calibration never reorders customers; the isotonic map
 * interpolates linearly between block centres, which keeps it strictly
 * increasing inside the data range, so it adds almost no ties and ROC-AUC is
 * preserved.
 */

export type Calibrator =
  | { kind: "platt"; a: number; b: number }
  | {
      kind: "isotonic";
      /** Knots: mean raw probability of each pooled block (strictly increasing). */
      x: number[];
      /** Calibrated probability at each knot (non-decreasing). */
      y: number[];
    };

export interface CalibrationChoice {
  calibrator: Calibrator;
  /** Cross-validated log loss of each candidate on the held-out predictions (null when not tried). */
  logLoss: { platt: number; isotonic: number | null; uncalibrated: number };
}

const EPS = 1e-12;
// Calibrated outputs stay strictly inside (0,1): a customer is never certain.
const P_MIN = 1e-6;

function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

/** Platt scaling σ(a·logit(p) + b) fitted by Newton with Platt's smoothed targets; a is kept >= 0. */
export function fitPlatt(p: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  const n = p.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i];
  const neg = n - pos;
  // Platt (1999): targets pulled off 0/1 so a separable set stays finite.
  const tPos = (pos + 1) / (pos + 2);
  const tNeg = 1 / (neg + 2);
  const s = Float64Array.from({ length: n }, (_, i) => logit(p[i]));
  let a = 1;
  let b = 0;
  const loss = (aa: number, bb: number) => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const q = Math.min(1 - EPS, Math.max(EPS, sigmoid(aa * s[i] + bb)));
      const t = y[i] === 1 ? tPos : tNeg;
      l -= t * Math.log(q) + (1 - t) * Math.log(1 - q);
    }
    return l;
  };
  let current = loss(a, b);
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const q = sigmoid(a * s[i] + b);
      const r = q - (y[i] === 1 ? tPos : tNeg);
      const h = q * (1 - q);
      ga += r * s[i];
      gb += r;
      haa += h * s[i] * s[i];
      hab += h * s[i];
      hbb += h;
    }
    if (Math.max(Math.abs(ga), Math.abs(gb)) < 1e-10 * Math.max(1, n)) break;
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let t = 1;
    let moved = false;
    for (let k = 0; k < 30; k++) {
      const value = loss(a - t * da, b - t * db);
      if (value <= current) {
        a -= t * da;
        b -= t * db;
        current = value;
        moved = true;
        break;
      }
      t /= 2;
    }
    if (!moved) break;
  }
  if (!(a >= 0)) {
    // An anti-correlated score: calibrate to the base rate rather than invert the ranking.
    a = 0;
    b = logit(tPos * (pos / n) + tNeg * (neg / n));
  }
  return { kind: "platt", a, b };
}

/** Isotonic regression by pool-adjacent-violators, knots at the block centres. */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((i, j) => p[i] - p[j] || i - j);
  // Blocks: [sum of x, sum of y, weight]; equal raw values start pooled.
  const bx: number[] = [];
  const by: number[] = [];
  const bw: number[] = [];
  let previous = Number.NaN;
  for (const i of order) {
    const last = bw.length - 1;
    // the previous value always sits in the last block, so ties join it
    const tie = p[i] === previous;
    previous = p[i];
    if (tie) {
      bx[last] += p[i];
      by[last] += y[i];
      bw[last] += 1;
    } else {
      bx.push(p[i]);
      by.push(y[i]);
      bw.push(1);
    }
    // Pool while the newest block's mean is not above the previous one's.
    while (bw.length >= 2) {
      const k = bw.length - 1;
      if (by[k] / bw[k] > by[k - 1] / bw[k - 1]) break;
      bx[k - 1] += bx[k];
      by[k - 1] += by[k];
      bw[k - 1] += bw[k];
      bx.pop();
      by.pop();
      bw.pop();
    }
  }
  // Knots must strictly increase for interpolation; rounding of block means
  // could in theory make neighbours equal, so such blocks are pooled too.
  const x: number[] = [];
  const sy: number[] = [];
  const sx: number[] = [];
  const sw: number[] = [];
  for (let k = 0; k < bw.length; k++) {
    const mean = bx[k] / bw[k];
    const last = x.length - 1;
    if (last >= 0 && !(mean > x[last])) {
      sx[last] += bx[k];
      sy[last] += by[k];
      sw[last] += bw[k];
      x[last] = sx[last] / sw[last];
    } else {
      x.push(mean);
      sx.push(bx[k]);
      sy.push(by[k]);
      sw.push(bw[k]);
    }
  }
  const yy = sy.map((s, k) => Math.min(1 - P_MIN, Math.max(P_MIN, s / sw[k])));
  return { kind: "isotonic", x, y: yy };
}

/** Applies a calibrator to one raw probability. */
export function calibrate(c: Calibrator, p: number): number {
  if (c.kind === "platt") {
    return Math.min(1 - P_MIN, Math.max(P_MIN, sigmoid(c.a * logit(p) + c.b)));
  }
  const { x, y } = c;
  if (p <= x[0]) return y[0];
  const last = x.length - 1;
  if (p >= x[last]) return y[last];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= p) lo = mid;
    else hi = mid;
  }
  return y[lo] + ((p - x[lo]) / (x[hi] - x[lo])) * (y[hi] - y[lo]);
}

/** Applies a calibrator to many raw probabilities. */
export function calibrateAll(c: Calibrator, p: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: p.length }, (_, i) => calibrate(c, p[i]));
}

export interface CalibrationOptions {
  folds?: number;
  seed?: number;
  /** Below this many positives, Platt is used without trying isotonic (default 50). */
  minIsotonicPositives?: number;
}

function crossValidatedLoss(
  fitter: (p: number[], y: number[]) => Calibrator,
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  folds: Int32Array,
  k: number,
): number {
  const out = new Float64Array(p.length);
  for (let f = 0; f < k; f++) {
    const tp: number[] = [];
    const ty: number[] = [];
    for (let i = 0; i < p.length; i++) {
      if (folds[i] !== f) {
        tp.push(p[i]);
        ty.push(y[i]);
      }
    }
    const c = fitter(tp, ty);
    for (let i = 0; i < p.length; i++) if (folds[i] === f) out[i] = calibrate(c, p[i]);
  }
  return logLoss(y, out);
}

/** Chooses and fits the calibrator on out-of-fold probabilities p with labels y. */
export function fitCalibration(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  options: CalibrationOptions = {},
): CalibrationChoice {
  const k = options.folds ?? 5;
  const seed = options.seed ?? 0;
  const minPositives = options.minIsotonicPositives ?? 50;
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  const uncalibrated = logLoss(y, p);
  const folds = stratifiedFolds(y, k, seed);
  const plattLoss = crossValidatedLoss(fitPlatt, p, y, folds, k);
  const tryIsotonic = pos >= minPositives && y.length - pos >= minPositives;
  const isotonicLoss = tryIsotonic ? crossValidatedLoss(fitIsotonic, p, y, folds, k) : null;
  const useIsotonic = isotonicLoss !== null && isotonicLoss < plattLoss;
  return {
    calibrator: useIsotonic ? fitIsotonic(p, y) : fitPlatt(p, y),
    logLoss: { platt: plattLoss, isotonic: isotonicLoss, uncalibrated },
  };
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

/** Strict schema of a stored calibrator: Platt slope >= 0; isotonic knots increasing, values non-decreasing in [0,1]. */
export const calibratorSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("platt"),
    a: finite.refine((v) => v >= 0, "must be >= 0 (monotone)"),
    b: finite,
  }),
  z
    .strictObject({
      kind: z.literal("isotonic"),
      x: z.array(finite).min(1),
      y: z.array(z.number().min(0).max(1)).min(1),
    })
    .superRefine((c, ctx) => {
      if (c.x.length !== c.y.length)
        ctx.addIssue({ code: "custom", path: ["y"], message: "must have one value per knot" });
      for (let k = 1; k < c.x.length; k++) {
        if (!(c.x[k] > c.x[k - 1]))
          ctx.addIssue({ code: "custom", path: ["x", k], message: "knots must increase" });
        if (c.y[k] < c.y[k - 1])
          ctx.addIssue({ code: "custom", path: ["y", k], message: "values must not decrease" });
      }
    }),
]);

/** Validates a stored calibrator (e.g. from a bundle); errors name the field. */
export function parseCalibrator(value: unknown, where = "calibration"): Calibrator {
  return parseStoredValue(calibratorSchema, value, where, "calibrator");
}
