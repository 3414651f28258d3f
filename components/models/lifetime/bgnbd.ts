import { InputError } from "../../common/errors.js";
import {
  type CompressedHistories,
  type CustomerHistory,
  checkHistory,
  compressHistories,
  type FactoredHistories,
  factorHistories,
} from "./history.js";
import { lbfgsFromStarts } from "./optimise.js";
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
 * so tests can check the gradient against finite differences and the value
 * against the per-history formula above.
 *
 * Same likelihood as `historyLogLikelihood`, regrouped for speed: the gamma
 * and beta terms depend on the frequency alone and are summed once per
 * distinct frequency with its customer count, log(α+T) and log(α+t_x) once
 * per distinct age and recency; what is left per (x, t_x, T) tuple is one
 * exp and one log1p (the two-branch mixture of FHL eq. 6).
 */
export function bgnbdObjective(
  data: CompressedHistories,
  penalizer = 0,
): (logParams: number[]) => { value: number; gradient: number[] } {
  const f = "xs" in data ? (data as FactoredHistories) : factorHistories(data);
  const nx = f.xs.length;
  const xs = f.xs;
  const xWeight = f.xWeight;
  const ts = f.ts;
  const txs = f.txs;
  // Customers without a repeat purchase depend on T alone: one weight per distinct T.
  const zeroWeight = new Float64Array(ts.length);
  // The others, as flat arrays the hot loop reads without indirection through `f`.
  let repeaters = 0;
  for (let i = 0; i < f.weight.length; i++) {
    if (xs[f.xIndex[i]] === 0) zeroWeight[f.tIndex[i]] += f.weight[i];
    else repeaters++;
  }
  const rw = new Float64Array(repeaters);
  const rk = new Int32Array(repeaters);
  const rt = new Int32Array(repeaters);
  const rs = new Int32Array(repeaters);
  for (let i = 0, j = 0; i < f.weight.length; i++) {
    if (xs[f.xIndex[i]] === 0) continue;
    rw[j] = f.weight[i];
    rk[j] = f.xIndex[i];
    rt[j] = f.tIndex[i];
    rs[j] = f.txIndex[i];
    j++;
  }
  // Scratch tables reused across evaluations (the optimiser calls this tens of times).
  const logT = new Float64Array(ts.length);
  const invT = new Float64Array(ts.length);
  const logTx = new Float64Array(txs.length);
  const invTx = new Float64Array(txs.length);
  const rx = new Float64Array(nx);
  const c3 = new Float64Array(nx);
  const invB = new Float64Array(nx);
  const n = f.customers;
  return (logParams) => {
    const r = Math.exp(logParams[0]);
    const alpha = Math.exp(logParams[1]);
    const a = Math.exp(logParams[2]);
    const b = Math.exp(logParams[3]);
    const logAlpha = Math.log(alpha);
    const logA = Math.log(a);
    let ll = 0;
    let gr = 0;
    let gAlpha = 0;
    for (let k = 0; k < ts.length; k++) {
      const lt = Math.log(alpha + ts[k]);
      const it = 1 / (alpha + ts[k]);
      logT[k] = lt;
      invT[k] = it;
      // x = 0: the mixture is the "still alive" branch alone, -r log(α+T).
      const w0 = zeroWeight[k];
      ll -= w0 * r * lt;
      gr -= w0 * lt;
      gAlpha -= w0 * r * it;
    }
    for (let k = 0; k < txs.length; k++) {
      logTx[k] = Math.log(alpha + txs[k]);
      invTx[k] = 1 / (alpha + txs[k]);
    }
    // Terms of the frequency alone: A1 and the beta ratio B(a, b+x)/B(a, b).
    const lgR = logGamma(r);
    const dgR = digamma(r);
    const lgB = logGamma(b);
    const lgAB = logGamma(a + b);
    const dgB = digamma(b);
    const dgAB = digamma(a + b);
    let ga = 0;
    let gb = 0;
    for (let k = 0; k < nx; k++) {
      const x = xs[k];
      const w = xWeight[k];
      const betaRatio = logGamma(b + x) - logGamma(a + b + x) - lgB + lgAB;
      ll += w * (logGamma(r + x) - lgR + r * logAlpha + betaRatio);
      gr += w * (digamma(r + x) - dgR + logAlpha);
      gAlpha += (w * r) / alpha;
      const dBetaDa = dgAB - digamma(a + b + x);
      ga += w * dBetaDa;
      gb += w * (dBetaDa + digamma(b + x) - dgB);
      rx[k] = r + x;
      // The "died after the last purchase" branch: log(a / (b+x-1)); absent at x = 0.
      c3[k] = x > 0 ? logA - Math.log(b + x - 1) : 0;
      invB[k] = x > 0 ? 1 / (b + x - 1) : 0;
    }
    // Per repeat tuple: log(exp(u2) + exp(u3)) and its branch weight w3 = exp(u3 - mix).
    let gw3a = 0;
    for (let j = 0; j < repeaters; j++) {
      const w = rw[j];
      const k = rk[j];
      const t = rt[j];
      const s = rs[j];
      const rxk = rx[k];
      const lt = logT[t];
      const ltx = logTx[s];
      const u2 = -rxk * lt;
      const u3 = c3[k] - rxk * ltx;
      const d = u3 - u2;
      let mix: number;
      let w3: number;
      if (d > 0) {
        const e = Math.exp(-d);
        mix = u3 + Math.log1p(e);
        w3 = 1 / (1 + e);
      } else {
        const e = Math.exp(d);
        mix = u2 + Math.log1p(e);
        w3 = e / (1 + e);
      }
      const w2 = 1 - w3;
      ll += w * mix;
      gr -= w * (w2 * lt + w3 * ltx);
      gAlpha -= w * rxk * (w2 * invT[t] + w3 * invTx[s]);
      gw3a += w * w3;
      gb -= w * w3 * invB[k];
    }
    ga += gw3a / a;
    // Chain rule to log parameters (d/dlogθ = θ d/dθ), then mean and penalty.
    const theta = [r, alpha, a, b];
    const g = [gr * r, gAlpha * alpha, ga * a, gb * b];
    let penalty = 0;
    for (let k = 0; k < 4; k++) penalty += theta[k] * theta[k];
    return {
      value: -ll / n + penalizer * penalty,
      gradient: g.map((v, k) => -v / n + 2 * penalizer * theta[k] * theta[k]),
    };
  };
}

/**
 * Maximum-likelihood (optionally L2-penalised) fit of BG/NBD by L-BFGS on log
 * parameters. Robust without paying for several full runs: the objective is
 * evaluated at every start (cheap), L-BFGS runs from the best of them, and
 * the remaining starts are run too only if that run does not converge; the
 * best converged (else lowest) result wins.
 */
export function fitBgNbd(histories: readonly CustomerHistory[], options: BgNbdFitOptions = {}): BgNbdFit {
  const penalizer = options.penalizer ?? 0;
  if (!(penalizer >= 0)) throw new InputError(`penalizer must be >= 0, got ${penalizer}`);
  const data = compressHistories(histories);
  let meanT = 0;
  for (let i = 0; i < data.T.length; i++) meanT += (data.weight[i] * data.T[i]) / data.customers;
  // Rate scale α is in time units: start it near the mean age so the first
  // steps are not spent walking α across orders of magnitude.
  const starts = options.starts ?? [
    [Math.log(0.5), Math.log(Math.max(meanT, 1e-3)), 0, 0],
    [0, 0, 0, 0],
    [Math.log(2), Math.log(Math.max(meanT / 10, 1e-3)), Math.log(0.5), Math.log(3)],
  ];
  const objective = bgnbdObjective(data, penalizer);
  let evaluations = 0;
  const ranked = starts
    .map((start) => {
      evaluations++;
      const v = objective(start).value;
      return { start, v: Number.isFinite(v) ? v : Number.POSITIVE_INFINITY };
    })
    .sort((p, q) => p.v - q.v);
  const {
    best,
    iterations,
    evaluations: runEvaluations,
  } = lbfgsFromStarts(
    objective,
    ranked.map((r) => r.start),
    { maxIterations: options.maxIterations ?? 1000 },
  );
  evaluations += runEvaluations;
  if (!best) throw new InputError("the BG/NBD likelihood is not finite at any starting point");
  const params = fromLog(best.x);
  return {
    params,
    // The regrouped objective without penalty (tested equal to bgnbdLogLikelihood), one evaluation.
    logLikelihood: -bgnbdObjective(data, 0)(best.x).value * data.customers,
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
