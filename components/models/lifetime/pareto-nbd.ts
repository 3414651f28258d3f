import { InputError } from "../../common/errors.js";
import { type CompressedHistories, type CustomerHistory, compressHistories } from "./history.js";
import { lbfgs, nelderMead, withNumericGradient } from "./optimise.js";
import { hyp2f1, logAddExp, logGamma, logSubExp } from "./special.js";

/**
 * Pareto/NBD (Schmittlein, Morrison and Colombo 1987): purchases at Poisson
 * rate λ ~ Gamma(r, α) while alive, an exponential lifetime with rate
 * μ ~ Gamma(s, β). Likelihood as in Fader, Hardie and Lee's note
 * "A note on deriving the Pareto/NBD model" (2005), eq. 18.
 */
export interface ParetoNbdParams {
  r: number;
  alpha: number;
  s: number;
  beta: number;
}

export interface ParetoNbdFit {
  params: ParetoNbdParams;
  logLikelihood: number;
  customers: number;
  penalizer: number;
  converged: boolean;
  evaluations: number;
}

/**
 * log A0 of the note: a difference of two 2F1 terms (t_x then T), taken in
 * log space; the series argument is |α-β| over the larger of α, β plus time,
 * which the case split keeps below 1.
 */
function logA0(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const rsx = r + s + x;
  const [big, small, b2] = alpha >= beta ? [alpha, beta, s + 1] : [beta, alpha, r + x];
  const term = (t: number): number =>
    Math.log(hyp2f1(rsx, b2, rsx + 1, (big - small) / (big + t))) - rsx * Math.log(big + t);
  return logSubExp(term(tx), term(T));
}

function historyLogLikelihood(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const a1 = logGamma(r + x) - logGamma(r) + r * Math.log(alpha) + s * Math.log(beta);
  const stillAlive = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  const diedBefore = Math.log(s) - Math.log(r + s + x) + logA0(p, x, tx, T);
  return a1 + logAddExp(stillAlive, diedBefore);
}

/** Total Pareto/NBD log-likelihood of the histories. */
export function paretoNbdLogLikelihood(
  params: ParetoNbdParams,
  histories: readonly CustomerHistory[] | CompressedHistories,
): number {
  const data = "weight" in histories ? histories : compressHistories(histories);
  let total = 0;
  for (let i = 0; i < data.weight.length; i++) {
    total += data.weight[i] * historyLogLikelihood(params, data.frequency[i], data.recency[i], data.T[i]);
  }
  return total;
}

const fromLog = (v: number[]): ParetoNbdParams => ({
  r: Math.exp(v[0]),
  alpha: Math.exp(v[1]),
  s: Math.exp(v[2]),
  beta: Math.exp(v[3]),
});

/**
 * Maximum-likelihood fit: Nelder-Mead on log parameters to get near the
 * optimum without derivatives of 2F1, then L-BFGS on central differences to
 * polish. Parameter regions where the 2F1 series does not converge count as
 * infinitely bad rather than failing the fit.
 */
export function fitParetoNbd(
  histories: readonly CustomerHistory[],
  options: { penalizer?: number } = {},
): ParetoNbdFit {
  const penalizer = options.penalizer ?? 0;
  if (!(penalizer >= 0)) throw new InputError(`penalizer must be >= 0, got ${penalizer}`);
  const data = compressHistories(histories);
  let evaluations = 0;
  const objective = (v: number[]): number => {
    evaluations++;
    const p = fromLog(v);
    try {
      const ll = paretoNbdLogLikelihood(p, data);
      return -ll / data.customers + penalizer * (p.r ** 2 + p.alpha ** 2 + p.s ** 2 + p.beta ** 2);
    } catch (error) {
      if (error instanceof RangeError) return Number.POSITIVE_INFINITY;
      throw error;
    }
  };
  let meanT = 0;
  for (let i = 0; i < data.T.length; i++) meanT += (data.weight[i] * data.T[i]) / data.customers;
  const start = [0, Math.log(Math.max(meanT, 1e-3)), 0, Math.log(Math.max(meanT, 1e-3))];
  const rough = nelderMead(objective, start, { step: 1, valueTolerance: 1e-10 });
  const polished = lbfgs(withNumericGradient(objective, 1e-5), rough.x, { gradientTolerance: 1e-7 });
  const best = polished.value <= rough.value ? polished : rough;
  const params = fromLog(best.x);
  return {
    params,
    logLikelihood: paretoNbdLogLikelihood(params, data),
    customers: data.customers,
    penalizer,
    converged: rough.converged && (polished.converged || polished.value >= rough.value - 1e-9),
    evaluations,
  };
}

/** P(alive | x, t_x, T) under Pareto/NBD (FHL 2005 note, eq. 19). */
export function paretoNbdProbAlive(p: ParetoNbdParams, h: CustomerHistory): number {
  const { r, alpha, s, beta } = p;
  const { frequency: x, recency: tx, T } = h;
  const logRatio =
    Math.log(s) -
    Math.log(r + s + x) +
    (r + x) * Math.log(alpha + T) +
    s * Math.log(beta + T) +
    logA0(p, x, tx, T);
  return logRatio > 0 ? Math.exp(-logRatio) / (1 + Math.exp(-logRatio)) : 1 / (1 + Math.exp(logRatio));
}
