import { describe, expect, it } from "vitest";
import { InputError } from "../../common/errors.js";
import { Rng } from "../../common/random.js";
import {
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdObjective,
  bgnbdPopulationExpected,
  bgnbdProbAlive,
  fitBgNbd,
} from "./bgnbd.js";
import { type CustomerHistory, compressHistories } from "./history.js";

const P = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

/** Simulate BG/NBD customers observed for T time units (the model's own story). */
function simulate(params: typeof P, n: number, T: number, seed: number): CustomerHistory[] {
  const rng = new Rng(seed);
  const gamma = (shape: number): number => {
    // Marsaglia-Tsang, with the shape < 1 boost.
    if (shape < 1) return gamma(shape + 1) * rng.nextFloat() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = rng.nextGaussian();
      const v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(1 - rng.nextFloat()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  const out: CustomerHistory[] = [];
  for (let i = 0; i < n; i++) {
    const lambda = gamma(params.r) / params.alpha;
    const ga = gamma(params.a);
    const p = ga / (ga + gamma(params.b));
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += -Math.log(1 - rng.nextFloat()) / lambda;
      if (t > T) break;
      x++;
      tx = t;
      if (rng.nextFloat() < p) break;
    }
    out.push({ frequency: x, recency: tx, T });
  }
  return out;
}

describe("BG/NBD likelihood", () => {
  it("has an analytic gradient that matches central differences", () => {
    const data = compressHistories([
      { frequency: 0, recency: 0, T: 30 },
      { frequency: 1, recency: 2, T: 38 },
      { frequency: 7, recency: 35, T: 38 },
      { frequency: 40, recency: 10, T: 12 },
    ]);
    const objective = bgnbdObjective(data, 0.01);
    const x = [Math.log(0.3), Math.log(5), Math.log(0.8), Math.log(2.5)];
    const { gradient } = objective(x);
    for (let k = 0; k < 4; k++) {
      const h = 1e-6;
      const up = [...x];
      const down = [...x];
      up[k] += h;
      down[k] -= h;
      const numeric = (objective(up).value - objective(down).value) / (2 * h);
      expect(gradient[k]).toBeCloseTo(numeric, 7);
    }
  });

  it("the regrouped objective equals the per-history likelihood (shared frequencies, ages, recencies)", () => {
    const histories = [
      ...simulate(P, 300, 38, 5),
      ...simulate(P, 200, 20, 6),
      { frequency: 300, recency: 99, T: 100 },
      { frequency: 0, recency: 0, T: 0 },
    ];
    const objective = bgnbdObjective(compressHistories(histories));
    for (const p of [P, { r: 2, alpha: 0.5, a: 3, b: 0.2 }]) {
      const x = [Math.log(p.r), Math.log(p.alpha), Math.log(p.a), Math.log(p.b)];
      const total = bgnbdLogLikelihood(p, histories);
      expect(Number.isFinite(total)).toBe(true);
      expect(-objective(x).value * histories.length).toBeCloseTo(total, 8);
    }
  });

  it("groups identical histories exactly (as a string-keyed grouping would), with counts", () => {
    const histories = [...simulate(P, 3000, 38, 8), ...simulate(P, 3000, 38, 8), ...simulate(P, 500, 7, 9)];
    const data = compressHistories(histories);
    const naive = new Map<string, number>();
    for (const h of histories) {
      const key = `${h.frequency}|${h.recency}|${h.T}`;
      naive.set(key, (naive.get(key) ?? 0) + 1);
    }
    expect(data.weight.length).toBe(naive.size);
    expect(data.customers).toBe(histories.length);
    for (let i = 0; i < data.weight.length; i++) {
      expect(naive.get(`${data.frequency[i]}|${data.recency[i]}|${data.T[i]}`)).toBe(data.weight[i]);
    }
  });

  it("stays finite for customers with hundreds of purchases", () => {
    const ll = bgnbdLogLikelihood(P, [{ frequency: 500, recency: 99, T: 100 }]);
    expect(Number.isFinite(ll)).toBe(true);
  });

  it("recovers the parameters of simulated customers", () => {
    const truth = { r: 0.5, alpha: 6, a: 0.7, b: 3 };
    const fit = fitBgNbd(simulate(truth, 4000, 52, 7));
    expect(fit.converged).toBe(true);
    expect(fit.params.r).toBeGreaterThan(0.4);
    expect(fit.params.r).toBeLessThan(0.62);
    expect(fit.params.alpha).toBeGreaterThan(4.5);
    expect(fit.params.alpha).toBeLessThan(8);
    // The fit must beat the truth on its own data (it is the maximum).
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(
      bgnbdLogLikelihood(truth, simulate(truth, 4000, 52, 7)) - 1e-6,
    );
  });

  it("shrinks parameters toward zero under the L2 penalty", () => {
    const data = simulate({ r: 0.5, alpha: 6, a: 0.7, b: 3 }, 1500, 52, 3);
    const plain = fitBgNbd(data);
    const penalised = fitBgNbd(data, { penalizer: 0.05 });
    const norm = (p: typeof P) => p.r ** 2 + p.alpha ** 2 + p.a ** 2 + p.b ** 2;
    expect(norm(penalised.params)).toBeLessThan(norm(plain.params));
    expect(penalised.logLikelihood).toBeLessThan(plain.logLikelihood);
  });

  it("rejects impossible histories with the customer number", () => {
    expect(() =>
      fitBgNbd([
        { frequency: 1, recency: 5, T: 10 },
        { frequency: 2, recency: 11, T: 10 },
      ]),
    ).toThrow(/customer 2: recency 11 is after/);
    expect(() => fitBgNbd([{ frequency: 0, recency: 3, T: 10 }])).toThrow(InputError);
    expect(() => fitBgNbd([{ frequency: 1.5, recency: 3, T: 10 }])).toThrow(/whole number/);
    expect(() => fitBgNbd([])).toThrow(/no customers/);
  });
});

describe("BG/NBD predictions", () => {
  it("P(alive) is 1 without repeat purchases and falls with silence", () => {
    expect(bgnbdProbAlive(P, { frequency: 0, recency: 0, T: 38.86 })).toBe(1);
    const recent = bgnbdProbAlive(P, { frequency: 3, recency: 38, T: 38.86 });
    const silent = bgnbdProbAlive(P, { frequency: 3, recency: 5, T: 38.86 });
    expect(recent).toBeGreaterThan(silent);
    expect(bgnbdProbAlive(P, { frequency: 3, recency: 38.86, T: 38.86 })).toBeCloseTo(
      1 / (1 + 0.793 / 4.426),
      12,
    );
    // A frequent buyer silent for ages: tiny but not NaN.
    const gone = bgnbdProbAlive(P, { frequency: 300, recency: 1, T: 1000 });
    expect(gone).toBeGreaterThanOrEqual(0);
    expect(gone).toBeLessThan(1e-100);
  });

  it("conditional expectation for a brand-new customer equals the population curve", () => {
    // With x = 0 and T = 0, eq. 10 reduces to eq. 9.
    for (const t of [1, 10, 52]) {
      expect(bgnbdExpectedPurchases(P, t, { frequency: 0, recency: 0, T: 0 })).toBeCloseTo(
        bgnbdPopulationExpected(P, t),
        12,
      );
    }
  });

  it("expected purchases grow with the horizon and with past frequency", () => {
    const h = { frequency: 2, recency: 30, T: 38 };
    expect(bgnbdExpectedPurchases(P, 0, h)).toBe(0);
    expect(bgnbdExpectedPurchases(P, 10, h)).toBeLessThan(bgnbdExpectedPurchases(P, 20, h));
    expect(bgnbdExpectedPurchases(P, 10, { ...h, frequency: 6 })).toBeGreaterThan(
      bgnbdExpectedPurchases(P, 10, h),
    );
    expect(() => bgnbdExpectedPurchases(P, -1, h)).toThrow(InputError);
  });
});
