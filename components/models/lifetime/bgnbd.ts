import { InputError } from "../../common/errors.js";
import {
  type CompressedHistories,
  type CustomerHistory,
  checkHistory,
  compressHistories,
} from "./history.js";
import { lbfgs, type MinimiseResult } from "./optimise.js";
import { digamma, hyp2f1, logAddExp, logBeta, logGamma } from "./special.js";

/**
 * BG/NBD ("beta-geometric / negative binomial", Fader, Hardie and Lee 2005,
 * "Counting your customers the easy way"): while alive a customer buys as a
 * Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop
 * out with probability p ~ Beta(a, b).
 */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdFit {
  params: BgNbdParams;
  /** Total (unpenalised) log-likelihood of the data at the fitted parameters. */
  logLikelihood: number;
  customers: number;
  penalizer: number;
  converged: boolean;
  iterations: number;
  evaluations: number;
}

export interface BgNbdFitOptions {
  /**
   * L2 penalty on the (natural-scale) parameters added to the mean negative
   * log-likelihood, as lifetimes' penalizer_coef; 0 (default) is plain ML.
   */
  penalizer?: number;
  /** Starting points on the log scale (log r, log α, log a, log b); defaults cover typical data. */
  starts?: number[][];
  maxIterations?: number;
}

/**
 * Log-likelihood of one history and its gradient with respect to the log
 * parameters. FHL eq. (6) written as A1 + log(exp(A2) + δ(x>0) exp(A3)) so
 * customers with many purchases neither overflow nor underflow.
 */
function historyLogLikelihood(
  p: BgNbdParams,
  x: number,
  tx: number,
  T: number,
  gradient: number[] | null,
): number {
  const { r, alpha, a, b } = p;
  const logAlphaT = Math.log(alpha + T);
  const betaRatio = logBeta(a, b + x) - logBeta(a, b);
  const a1 = logGamma(r + x) - logGamma(r) + r * Math.log(alpha);
  const a2 = betaRatio - (r + x) * logAlphaT;
  // B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1); the term is absent when x = 0.
  const a3 =
    x > 0
      ? betaRatio + Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx)
      : Number.NEGATIVE_INFINITY;
  const mix = logAddExp(a2, a3);
  if (gradient) {
    const w3 = x > 0 ? Math.exp(a3 - mix) : 0;
    const w2 = 1 - w3;
    const dBetaDa = digamma(a + b) - digamma(a + b + x);
    const dBetaDb = dBetaDa + digamma(b + x) - digamma(b);
    const dr =
      digamma(r + x) -
      digamma(r) +
      Math.log(alpha) -
      w2 * logAlphaT -
      (x > 0 ? w3 * Math.log(alpha + tx) : 0);
    const dAlpha = r / alpha - w2 * ((r + x) / (alpha + T)) - (x > 0 ? w3 * ((r + x) / (alpha + tx)) : 0);
    const da = dBetaDa + w3 / a;
    const db = dBetaDb - (x > 0 ? w3 / (b + x - 1) : 0);
    // Chain rule to log parameters: d/dlogθ = θ d/dθ.
    gradient[0] = dr * r;
    gradient[1] = dAlpha * alpha;
    gradient[2] = da * a;
    gradient[3] = db * b;
  }
  return a1 + mix;
}

/** Total BG/NBD log-likelihood of the histories (FHL 2005, eq. 6). */
export function bgnbdLogLikelihood(
  params: BgNbdParams,
  histories: readonly CustomerHistory[] | CompressedHistories,
): number {
  const data = "weight" in histories ? histories : compressHistories(histories);
  let total = 0;
  for (let i = 0; i < data.weight.length; i++) {
    total +=
      data.weight[i] * historyLogLikelihood(params, data.frequency[i], data.recency[i], data.T[i], null);
  }
  return total;
}

const fromLog = (v: number[]): BgNbdParams => ({
  r: Math.exp(v[0]),
  alpha: Math.exp(v[1]),
  a: Math.exp(v[2]),
  b: Math.exp(v[3]),
});

/**
 * The objective minimised by the fit, on log parameters: mean negative
 * log-likelihood plus penalizer × Σθ², with its analytic gradient. Exported
 * so tests can check the gradient against finite differences.
 */
export function bgnbdObjective(
  data: CompressedHistories,
  penalizer = 0,
): (logParams: number[]) => { value: number; gradient: number[] } {
  return (logParams) => {
    const p = fromLog(logParams);
    const g = [0, 0, 0, 0];
    const gi = [0, 0, 0, 0];
    let ll = 0;
    for (let i = 0; i < data.weight.length; i++) {
      const w = data.weight[i];
      ll += w * historyLogLikelihood(p, data.frequency[i], data.recency[i], data.T[i], gi);
      for (let k = 0; k < 4; k++) g[k] += w * gi[k];
    }
    const theta = [p.r, p.alpha, p.a, p.b];
    const n = data.customers;
    let penalty = 0;
    for (let k = 0; k < 4; k++) penalty += theta[k] * theta[k];
    return {
      value: -ll / n + penalizer * penalty,
      gradient: g.map((v, k) => -v / n + 2 * penalizer * theta[k] * theta[k]),
    };
  };
}

/** Maximum-likelihood (optionally L2-penalised) fit of BG/NBD by L-BFGS on log parameters, best of several starts. */
export function fitBgNbd(histories: readonly CustomerHistory[], options: BgNbdFitOptions = {}): BgNbdFit {
  const penalizer = options.penalizer ?? 0;
  if (!(penalizer >= 0)) throw new InputError(`penalizer must be >= 0, got ${penalizer}`);
  const data = compressHistories(histories);
  let meanT = 0;
  for (let i = 0; i < data.T.length; i++) meanT += (data.weight[i] * data.T[i]) / data.customers;
  // Rate scale α is in time units: start it near the mean age so the first
  // steps are not spent walking α across orders of magnitude.
  const starts = options.starts ?? [
    [0, 0, 0, 0],
    [Math.log(0.5), Math.log(Math.max(meanT, 1e-3)), 0, 0],
    [Math.log(2), Math.log(Math.max(meanT / 10, 1e-3)), Math.log(0.5), Math.log(3)],
  ];
  const objective = bgnbdObjective(data, penalizer);
  let best: MinimiseResult | null = null;
  let iterations = 0;
  let evaluations = 0;
  for (const start of starts) {
    const run = lbfgs(objective, start, { maxIterations: options.maxIterations ?? 1000 });
    iterations += run.iterations;
    evaluations += run.evaluations;
    if (Number.isFinite(run.value) && (!best || run.value < best.value)) best = run;
  }
  if (!best) throw new InputError("the BG/NBD likelihood is not finite at any starting point");
  const params = fromLog(best.x);
  return {
    params,
    logLikelihood: bgnbdLogLikelihood(params, data),
    customers: data.customers,
    penalizer,
    converged: best.converged,
    iterations,
    evaluations,
  };
}

/**
 * P(alive | x, t_x, T) (FHL 2005, eq. 11). Exactly 1 for a customer with no
 * repeat purchase: in BG/NBD dropout can only happen right after a purchase.
 */
export function bgnbdProbAlive(p: BgNbdParams, h: CustomerHistory): number {
  const { frequency: x, recency: tx, T } = h;
  if (x === 0) return 1;
  const logOdds =
    Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  // 1 / (1 + e^logOdds), written so a huge logOdds gives 0 rather than NaN.
  return logOdds > 0 ? Math.exp(-logOdds) / (1 + Math.exp(-logOdds)) : 1 / (1 + Math.exp(logOdds));
}

/**
 * Expected purchases in the next t periods for a customer with history
 * (x, t_x, T) (FHL 2005, eq. 10). Needs a ≠ 1 (the formula divides by a-1).
 */
export function bgnbdExpectedPurchases(p: BgNbdParams, t: number, h: CustomerHistory): number {
  if (!(t >= 0)) throw new InputError(`the prediction horizon t must be >= 0, got ${t}`);
  if (t === 0) return 0;
  const { r, alpha, a, b } = p;
  const { frequency: x, recency: tx, T } = h;
  const z = t / (alpha + T + t);
  const f = hyp2f1(r + x, b + x, a + b + x - 1, z);
  // (α+T)/(α+T+t) = 1 - z; raised to r+x in log space.
  const bracket = -Math.expm1((r + x) * Math.log1p(-z) + Math.log(f));
  const numerator = ((a + b + x - 1) / (a - 1)) * bracket;
  if (x === 0) return numerator;
  const odds = Math.exp(
    Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx)),
  );
  return numerator / (1 + odds);
}

/** Population E[X(t)]: expected purchases in (0, t] by a customer just acquired (FHL 2005, eq. 9). */
export function bgnbdPopulationExpected(p: BgNbdParams, t: number): number {
  if (!(t >= 0)) throw new InputError(`the horizon t must be >= 0, got ${t}`);
  if (t === 0) return 0;
  const { r, alpha, a, b } = p;
  const z = t / (alpha + t);
  const f = hyp2f1(r, b, a + b - 1, z);
  return ((a + b - 1) / (a - 1)) * -Math.expm1(r * Math.log1p(-z) + Math.log(f));
}

export { checkHistory };
