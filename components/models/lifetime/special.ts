/**
 * Special functions the Buy 'Til You Die likelihoods need. Node has no
 * lgamma/digamma, and the likelihoods of customers with many purchases
 * overflow unless everything stays in log space, so these are written for
 * accuracy near 1e-14 on positive arguments rather than for speed tricks.
 */

// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients): ~1e-15
// relative accuracy for Re(x) > 0.5.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.9189385332046728;

/** Natural log of the gamma function for x > 0 (reflection below 0.5). */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0 && Number.isInteger(x)) return Number.POSITIVE_INFINITY;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1-x) = π / sin(πx); only used for 0 < x < 0.5 here.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  if (x > 1e7) {
    // Stirling series: the Lanczos sum loses nothing here, but this avoids
    // (x + g + 0.5) * log(...) cancelling against the large -t term.
    const inv = 1 / x;
    const inv2 = inv * inv;
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + inv * (1 / 12 - inv2 * (1 / 360 - inv2 / 1260));
  }
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Natural log of the beta function B(a, b) for a, b > 0. */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** The digamma function ψ(x) = d/dx log Γ(x), for x > 0. */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) {
    if (Number.isInteger(x)) return Number.NaN;
    // Reflection: ψ(1-x) - ψ(x) = π cot(πx).
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  }
  let result = 0;
  // Recurrence up to x >= 10, where the asymptotic series is accurate to ~1e-16.
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  result +=
    Math.log(x) -
    0.5 / x -
    inv2 *
      (1 / 12 -
        inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - (691 / 32760) * inv2)))));
  return result;
}

/** log(exp(a) + exp(b)) without overflow; -Infinity stands for a zero term. */
export function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log(exp(a) - exp(b)) for a >= b; -Infinity when they are equal. */
export function logSubExp(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (b > a) return Number.NaN;
  if (a === b) return Number.NEGATIVE_INFINITY;
  return a + Math.log(-Math.expm1(b - a));
}

export interface Hyp2f1Options {
  /** Stop once a term is below this fraction of the running sum (default 1e-15). */
  tolerance?: number;
  /** Give up (throw) after this many terms (default 1,000,000). */
  maxTerms?: number;
}

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its
 * power series, summed until the terms are negligible. The ratio of
 * successive terms tends to z, so convergence is geometric but slow as z
 * approaches 1; rather than return a silently truncated sum this throws a
 * RangeError when the series has not converged within maxTerms.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, options: Hyp2f1Options = {}): number {
  const tolerance = options.tolerance ?? 1e-15;
  const maxTerms = options.maxTerms ?? 1_000_000;
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1 needs 0 <= z < 1, got z = ${z}`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`hyp2f1 is undefined for c = ${c}`);
  if (z === 0) return 1;
  let term = 1;
  let sum = 1;
  // Kahan compensation: tens of thousands of terms near z -> 1 would
  // otherwise accumulate visible rounding error.
  let compensation = 0;
  for (let n = 0; n < maxTerms; n++) {
    term *= ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    const y = term - compensation;
    const t = sum + y;
    compensation = t - sum - y;
    sum = t;
    if (term === 0) return sum;
    if (!Number.isFinite(sum)) break;
    // The term ratio tends to z; once it is below 1 the tail is bounded by a
    // geometric series with ratio max(next ratio, z), so stop when that bound
    // (not merely the last term) is negligible.
    const ratio = Math.abs(((a + n + 1) * (b + n + 1) * z) / ((c + n + 1) * (n + 2)));
    const bound = Math.max(ratio, z);
    if (ratio < 1 && (Math.abs(term) * bound) / (1 - bound) <= tolerance * Math.abs(sum)) {
      return sum;
    }
  }
  throw new RangeError(
    `hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge in ${maxTerms} terms (z too close to 1)`,
  );
}
