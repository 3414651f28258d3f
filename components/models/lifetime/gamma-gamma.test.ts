import { describe, expect, it } from "vitest";
import { InputError } from "../../common/errors.js";
import { Rng } from "../../common/random.js";
import { bgnbdExpectedPurchases } from "./bgnbd.js";
import { customerLifetimeValue, UNITS_PER_MONTH } from "./clv.js";
import {
  expectedSpend,
  fitGammaGamma,
  gammaGammaLogLikelihood,
  gammaGammaObjective,
  type SpendHistory,
} from "./gamma-gamma.js";

/** Gamma(shape, rate) by Marsaglia-Tsang. */
function gamma(rng: Rng, shape: number, rate: number): number {
  if (shape < 1) return gamma(rng, shape + 1, rate) * rng.nextFloat() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.nextGaussian();
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(1 - rng.nextFloat()) < 0.5 * x * x + d - d * v + d * Math.log(v))
      return (d * v) / rate;
  }
}

/** The model's own story: ν ~ Gamma(q, v), each purchase ~ Gamma(p, ν), m = mean of x purchases. */
function simulate(truth: { p: number; q: number; v: number }, n: number, seed: number): SpendHistory[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const nu = gamma(rng, truth.q, truth.v);
    const x = 1 + Math.floor(rng.nextFloat() * 8);
    let sum = 0;
    for (let k = 0; k < x; k++) sum += gamma(rng, truth.p, nu);
    return { frequency: x, monetary: sum / x };
  });
}

describe("Gamma-Gamma spend model", () => {
  it("has an analytic gradient that matches central differences", () => {
    const objective = gammaGammaObjective(
      [
        { frequency: 1, monetary: 20 },
        { frequency: 4, monetary: 35.5 },
        { frequency: 12, monetary: 8 },
      ],
      0.01,
    );
    const x = [Math.log(6), Math.log(3.7), Math.log(15)];
    const { gradient } = objective(x);
    for (let k = 0; k < 3; k++) {
      const h = 1e-6;
      const up = [...x];
      const down = [...x];
      up[k] += h;
      down[k] -= h;
      expect(gradient[k]).toBeCloseTo((objective(up).value - objective(down).value) / (2 * h), 7);
    }
  });

  it("recovers the parameters' population mean spend from simulated customers and beats the truth", () => {
    const truth = { p: 6, q: 4, v: 15 };
    const data = simulate(truth, 5000, 11);
    const fit = fitGammaGamma(data);
    expect(fit.converged).toBe(true);
    const mean = (g: typeof truth) => (g.p * g.v) / (g.q - 1);
    expect(Math.abs(mean(fit.params) - mean(truth)) / mean(truth)).toBeLessThan(0.05);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(gammaGammaLogLikelihood(truth, data) - 1e-6);
  });

  it("expected spend shrinks a customer's mean toward the population mean, less so with more purchases", () => {
    const g = { p: 6, q: 4, v: 15 };
    const population = (g.p * g.v) / (g.q - 1);
    expect(expectedSpend(g, { frequency: 0, monetary: 0 })).toBeCloseTo(population, 12);
    const few = expectedSpend(g, { frequency: 1, monetary: 100 });
    const many = expectedSpend(g, { frequency: 20, monetary: 100 });
    expect(few).toBeGreaterThan(population);
    expect(many).toBeGreaterThan(few);
    expect(many).toBeLessThan(100);
    expect(() => expectedSpend({ p: 1, q: 0.9, v: 1 }, { frequency: 1, monetary: 1 })).toThrow(InputError);
  });

  it("rejects customers it cannot fit, naming them", () => {
    expect(() => fitGammaGamma([])).toThrow(/no repeat customers/);
    expect(() =>
      fitGammaGamma([
        { frequency: 2, monetary: 3 },
        { frequency: 0, monetary: 3 },
      ]),
    ).toThrow(/customer 2: .*frequency >= 1/);
    expect(() => fitGammaGamma([{ frequency: 2, monetary: 0 }])).toThrow(/value > 0/);
  });
});

describe("customer lifetime value", () => {
  const bg = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const h = { frequency: 3, recency: 30, T: 38 };

  it("undiscounted, it is spend x expected purchases over the whole span", () => {
    const clv = customerLifetimeValue(bg, h, 40, { months: 12, monthlyDiscount: 0, timeUnit: "week" });
    expect(clv).toBeCloseTo(40 * bgnbdExpectedPurchases(bg, 12 * UNITS_PER_MONTH.week, h), 9);
  });

  it("discounting lowers it, and longer spans raise it", () => {
    const base = { months: 12, monthlyDiscount: 0.01, timeUnit: "week" as const };
    const clv = customerLifetimeValue(bg, h, 40, base);
    expect(clv).toBeLessThan(customerLifetimeValue(bg, h, 40, { ...base, monthlyDiscount: 0 }));
    expect(clv).toBeLessThan(customerLifetimeValue(bg, h, 40, { ...base, months: 24 }));
    expect(clv).toBeGreaterThan(0);
  });
});
