/**
 * Small unconstrained minimisers for the lifetime models' maximum-likelihood
 * fits (four parameters, optimised on the log scale so positivity is free).
 * L-BFGS with a weak-Wolfe bisection line search when a gradient exists,
 * Nelder-Mead for a derivative-free first pass, and central differences to
 * turn any smooth objective into a gradient one.
 */

export interface ValueAndGradient {
  value: number;
  gradient: number[];
}

export interface MinimiseResult {
  x: number[];
  value: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Why the loop stopped, in plain words. */
  message: string;
}

export interface LbfgsOptions {
  /** Converged when the largest |gradient| component is below this (default 1e-8). */
  gradientTolerance?: number;
  /** Or when the objective changes by less than this, relatively, in one step (default 1e-15). */
  valueTolerance?: number;
  maxIterations?: number;
  /** Number of correction pairs kept (default 8). */
  memory?: number;
}

const dot = (u: number[], v: number[]): number => {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
};
const maxAbs = (u: number[]): number => u.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Minimise a smooth function with L-BFGS; non-finite values are treated as "step too long". */
export function lbfgs(
  f: (x: number[]) => ValueAndGradient,
  x0: number[],
  options: LbfgsOptions = {},
): MinimiseResult {
  const gtol = options.gradientTolerance ?? 1e-8;
  const ftol = options.valueTolerance ?? 1e-15;
  const maxIterations = options.maxIterations ?? 1000;
  const memory = options.memory ?? 8;
  const n = x0.length;
  let x = [...x0];
  let current = f(x);
  let evaluations = 1;
  if (!Number.isFinite(current.value) || !current.gradient.every(Number.isFinite)) {
    return result(x, current.value, 0, evaluations, false, "objective is not finite at the start");
  }
  const sList: number[][] = [];
  const yList: number[][] = [];
  const rhoList: number[] = [];
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const g = current.gradient;
    if (maxAbs(g) < gtol)
      return result(x, current.value, iteration - 1, evaluations, true, "gradient below tolerance");
    // Two-loop recursion: d = -H g.
    const q = [...g];
    const alphas: number[] = [];
    for (let i = sList.length - 1; i >= 0; i--) {
      const a = rhoList[i] * dot(sList[i], q);
      alphas[i] = a;
      for (let j = 0; j < n; j++) q[j] -= a * yList[i][j];
    }
    const last = sList.length - 1;
    const gamma =
      last >= 0 ? dot(sList[last], yList[last]) / dot(yList[last], yList[last]) : 1 / Math.max(1, maxAbs(g));
    for (let j = 0; j < n; j++) q[j] *= gamma;
    for (let i = 0; i < sList.length; i++) {
      const b = rhoList[i] * dot(yList[i], q);
      for (let j = 0; j < n; j++) q[j] += sList[i][j] * (alphas[i] - b);
    }
    let d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // The quasi-Newton direction went uphill (rounding): reset to steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      d = g.map((v) => -v / Math.max(1, maxAbs(g)));
      slope = dot(g, d);
    }
    // Weak-Wolfe line search by expansion and bisection (Lewis & Overton).
    const c1 = 1e-4;
    const c2 = 0.9;
    let lo = 0;
    let hi = Number.POSITIVE_INFINITY;
    let step = 1;
    let accepted: { x: number[]; fg: ValueAndGradient } | null = null;
    for (let k = 0; k < 60; k++) {
      const trial = x.map((v, j) => v + step * d[j]);
      const fg = f(trial);
      evaluations++;
      const finite = Number.isFinite(fg.value) && fg.gradient.every(Number.isFinite);
      if (!finite || fg.value > current.value + c1 * step * slope) {
        hi = step;
      } else if (dot(fg.gradient, d) < c2 * slope) {
        lo = step;
        accepted = { x: trial, fg }; // Armijo holds: usable if curvature never does.
      } else {
        accepted = { x: trial, fg };
        break;
      }
      step = Number.isFinite(hi) ? (lo + hi) / 2 : 2 * lo;
      if (Number.isFinite(hi) && hi - lo < 1e-16 * Math.max(1, lo)) break;
    }
    if (!accepted) {
      return result(
        x,
        current.value,
        iteration,
        evaluations,
        maxAbs(g) < gtol * 1e3,
        "line search found no decrease",
      );
    }
    const s = accepted.x.map((v, j) => v - x[j]);
    const y = accepted.fg.gradient.map((v, j) => v - g[j]);
    const sy = dot(s, y);
    const previous = current.value;
    x = accepted.x;
    current = accepted.fg;
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
      if (sList.length > memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
    }
    if (Math.abs(previous - current.value) <= ftol * Math.max(1, Math.abs(current.value))) {
      return result(x, current.value, iteration, evaluations, true, "objective stopped changing");
    }
  }
  return result(x, current.value, maxIterations, evaluations, false, "iteration limit reached");
}

export interface NelderMeadOptions {
  /** Initial simplex edge along each axis (default 0.5). */
  step?: number;
  maxIterations?: number;
  /** Converged when the simplex values span less than this (default 1e-12). */
  valueTolerance?: number;
}

/** Minimise with the Nelder-Mead simplex; non-finite values count as +Infinity. */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  options: NelderMeadOptions = {},
): MinimiseResult {
  const n = x0.length;
  const step = options.step ?? 0.5;
  const maxIterations = options.maxIterations ?? 2000 * n;
  const ftol = options.valueTolerance ?? 1e-12;
  let evaluations = 0;
  const value = (x: number[]): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (j === i ? v + step : v)))].map((x) => ({
    x,
    v: value(x),
  }));
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    simplex.sort((p, q) => p.v - q.v);
    const best = simplex[0];
    const worst = simplex[n];
    if (Math.abs(worst.v - best.v) <= ftol * Math.max(1, Math.abs(best.v))) {
      return result(best.x, best.v, iteration, evaluations, true, "simplex values converged");
    }
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i].x[j] / n;
    const along = (t: number): number[] => centroid.map((c, j) => c + t * (worst.x[j] - c));
    const reflected = along(-1);
    const vr = value(reflected);
    if (vr < best.v) {
      const expanded = along(-2);
      const ve = value(expanded);
      simplex[n] = ve < vr ? { x: expanded, v: ve } : { x: reflected, v: vr };
    } else if (vr < simplex[n - 1].v) {
      simplex[n] = { x: reflected, v: vr };
    } else {
      const contracted = vr < worst.v ? along(-0.5) : along(0.5);
      const vc = value(contracted);
      if (vc < Math.min(vr, worst.v)) {
        simplex[n] = { x: contracted, v: vc };
      } else {
        simplex = simplex.map((p, i) => {
          if (i === 0) return p;
          const x = p.x.map((v, j) => best.x[j] + 0.5 * (v - best.x[j]));
          return { x, v: value(x) };
        });
      }
    }
  }
  simplex.sort((p, q) => p.v - q.v);
  return result(simplex[0].x, simplex[0].v, maxIterations, evaluations, false, "iteration limit reached");
}

/** Wrap a plain objective with a central-difference gradient (step h, default 1e-6). */
export function withNumericGradient(f: (x: number[]) => number, h = 1e-6): (x: number[]) => ValueAndGradient {
  return (x) => {
    const value = f(x);
    const gradient = x.map((_, i) => {
      const up = [...x];
      const down = [...x];
      up[i] += h;
      down[i] -= h;
      return (f(up) - f(down)) / (2 * h);
    });
    return { value, gradient };
  };
}

function result(
  x: number[],
  value: number,
  iterations: number,
  evaluations: number,
  converged: boolean,
  message: string,
): MinimiseResult {
  return { x, value, iterations, evaluations, converged, message };
}

/** The best of several L-BFGS runs, with the work they took together. */
export interface MultiStartResult {
  best: MinimiseResult | null;
  iterations: number;
  evaluations: number;
}

/**
 * L-BFGS from each start in turn until one converges: the best converged
 * run wins, else the lowest finite value (null when none is finite). Stopping
 * at the first converged run keeps the common case at one run; callers order
 * the starts (BG/NBD ranks them by their objective value first).
 */
export function lbfgsFromStarts(
  f: (x: number[]) => ValueAndGradient,
  starts: readonly number[][],
  options: LbfgsOptions = {},
): MultiStartResult {
  let best: MinimiseResult | null = null;
  let iterations = 0;
  let evaluations = 0;
  for (const start of starts) {
    const run = lbfgs(f, start, options);
    iterations += run.iterations;
    evaluations += run.evaluations;
    const better =
      Number.isFinite(run.value) &&
      (!best ||
        (run.converged && !best.converged) ||
        (run.converged === best.converged && run.value < best.value));
    if (better) best = run;
    if (best?.converged) break;
  }
  return { best, iterations, evaluations };
}
