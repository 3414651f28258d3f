import { InputError } from "../../common/errors.js";
import { lbfgsFromStarts } from "./optimise.js";
import { digamma, logGamma } from "./special.js";

/**
 * The Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV",
 * and Hardie's note 025): a customer's purchase values are Gamma(p, ν) with
 * ν ~ Gamma(q, γ) across customers (γ is called v here, as in `lifetimes`).
 * Fitted on repeat customers by their number of repeat purchases x and the
 * mean value m of those purchases; independent of the BG/NBD purchase counts.
 */
export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

/** One repeat customer as the spend model sees them. */
export interface SpendHistory {
  /** Repeat purchases (> 0). */
  frequency: number;
  /** Mean value of those purchases (> 0). */
  monetary: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  /** Total (unpenalised) log-likelihood at the fitted parameters. */
  logLikelihood: number;
  customers: number;
  penalizer: number;
  converged: boolean;
  iterations: number;
}

/** Throw an InputError naming the customer when a spend history cannot be fitted. */
export function checkSpendHistory(h: SpendHistory, where: string): void {
  if (!Number.isInteger(h.frequency) || h.frequency < 1)
    throw new InputError(`${where}: the spend model needs a whole frequency >= 1, got ${h.frequency}`);
  if (!Number.isFinite(h.monetary) || h.monetary <= 0)
    throw new InputError(`${where}: the spend model needs a mean purchase value > 0, got ${h.monetary}`);
}

/** Whether a customer takes part in the spend fit: repeat purchases with a positive mean value. */
export const isSpendHistory = (h: SpendHistory): boolean =>
  Number.isInteger(h.frequency) && h.frequency >= 1 && Number.isFinite(h.monetary) && h.monetary > 0;

/** Log-likelihood of one customer's mean spend (Hardie note 025, eq. 1a) and, optionally, its gradient in (p, q, v). */
function spendLogLikelihood(
  params: GammaGammaParams,
  x: number,
  m: number,
  gradient: Float64Array | null,
): number {
  const { p, q, v } = params;
  const px = p * x;
  const logXmV = Math.log(x * m + v);
  const logM = Math.log(m);
  if (gradient) {
    const dgPxQ = digamma(px + q);
    gradient[0] = x * (dgPxQ - digamma(px) + logM + Math.log(x) - logXmV);
    gradient[1] = dgPxQ - digamma(q) + Math.log(v) - logXmV;
    gradient[2] = q / v - (px + q) / (x * m + v);
  }
  return (
    logGamma(px + q) -
    logGamma(px) -
    logGamma(q) +
    q * Math.log(v) +
    (px - 1) * logM +
    px * Math.log(x) -
    (px + q) * logXmV
  );
}

/** Total Gamma-Gamma log-likelihood of the spend histories. */
export function gammaGammaLogLikelihood(
  params: GammaGammaParams,
  histories: readonly SpendHistory[],
): number {
  let total = 0;
  for (const h of histories) total += spendLogLikelihood(params, h.frequency, h.monetary, null);
  return total;
}

const fromLog = (v: number[]): GammaGammaParams => ({
  p: Math.exp(v[0]),
  q: Math.exp(v[1]),
  v: Math.exp(v[2]),
});

/**
 * Mean negative log-likelihood plus penalizer × Σθ² on log parameters, with
 * its analytic gradient (as `lifetimes`' GammaGammaFitter minimises).
 */
export function gammaGammaObjective(
  histories: readonly SpendHistory[],
  penalizer = 0,
): (logParams: number[]) => { value: number; gradient: number[] } {
  const x = Float64Array.from(histories, (h) => h.frequency);
  const m = Float64Array.from(histories, (h) => h.monetary);
  const gi = new Float64Array(3);
  const n = histories.length;
  return (logParams) => {
    const params = fromLog(logParams);
    let ll = 0;
    let gp = 0;
    let gq = 0;
    let gv = 0;
    for (let i = 0; i < n; i++) {
      ll += spendLogLikelihood(params, x[i], m[i], gi);
      gp += gi[0];
      gq += gi[1];
      gv += gi[2];
    }
    const theta = [params.p, params.q, params.v];
    const g = [gp * params.p, gq * params.q, gv * params.v];
    let penalty = 0;
    for (const t of theta) penalty += t * t;
    return {
      value: -ll / n + penalizer * penalty,
      gradient: g.map((d, k) => -d / n + 2 * penalizer * theta[k] * theta[k]),
    };
  };
}

/**
 * Maximum-likelihood fit of the spend model by L-BFGS on log parameters. The
 * start puts v/(q-1)·p, the population mean spend, at the sample's mean: p =
 * 1, q = 2, v = mean(m). Other starts run only if that one does not converge.
 */
export function fitGammaGamma(
  histories: readonly SpendHistory[],
  options: { penalizer?: number } = {},
): GammaGammaFit {
  const penalizer = options.penalizer ?? 0;
  if (!(penalizer >= 0)) throw new InputError(`penalizer must be >= 0, got ${penalizer}`);
  if (histories.length === 0)
    throw new InputError("no repeat customers with a purchase value to fit the spend model on");
  for (let i = 0; i < histories.length; i++) checkSpendHistory(histories[i], `customer ${i + 1}`);
  let mean = 0;
  for (const h of histories) mean += h.monetary / histories.length;
  const objective = gammaGammaObjective(histories, penalizer);
  const starts = [
    [0, Math.log(2), Math.log(mean)],
    [0.1, 0.1, 0.1],
    [Math.log(5), Math.log(5), Math.log(4 * mean)],
  ];
  const { best, iterations } = lbfgsFromStarts(objective, starts, { maxIterations: 2000 });
  if (!best) throw new InputError("the Gamma-Gamma likelihood is not finite at any starting point");
  const params = fromLog(best.x);
  return {
    params,
    logLikelihood: gammaGammaLogLikelihood(params, histories),
    customers: histories.length,
    penalizer,
    converged: best.converged,
    iterations,
  };
}

/**
 * E[mean purchase value | x, m] (Hardie note 025, eq. 5): a weighted average of
 * the population mean p·v/(q-1) and the customer's own mean m, the weight on m
 * growing with x. Customers with no repeat purchase get the population mean.
 * Needs q > 1 (the population mean is infinite otherwise).
 */
export function expectedSpend(params: GammaGammaParams, h: SpendHistory): number {
  const { p, q, v } = params;
  if (!(q > 1)) throw new InputError(`the spend model has q = ${q} <= 1: its mean spend is not finite`);
  const individualWeight = (p * h.frequency) / (p * h.frequency + q - 1);
  const populationMean = (v * p) / (q - 1);
  return (1 - individualWeight) * populationMean + individualWeight * (h.frequency > 0 ? h.monetary : 0);
}
