import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { dayFromDateString, SummaryAccumulator } from "../components/lifetime/summary.js";
import { fitBgNbd } from "../components/models/lifetime/bgnbd.js";
import { customerLifetimeValue } from "../components/models/lifetime/clv.js";
import { expectedSpend, fitGammaGamma, isSpendHistory } from "../components/models/lifetime/gamma-gamma.js";

// Our BG/NBD, Gamma-Gamma and lifetime value beside the Python `lifetimes`
// library (installed by test/services/install-lifetimes.sh), both fitted in
// this test on the same CDNOW master log summary: every peer number is
// computed here by the peer, none is copied in.
const here = dirname(fileURLToPath(import.meta.url));
const DIR = join(here, "../../shared/datasets/cdnow");
const CACHE = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache/churn-test");
const PYTHON = join(CACHE, "venv-lifetimes/bin/python");
const PEER = join(here, "support/lifetimes-peer.py");
const present = existsSync(join(DIR, "CDNOW_master.txt"));
if (!present) console.warn(`skipping the lifetimes peer test: ${DIR} is absent`);
if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run test/services/install-lifetimes.sh`);

const MONTHS = 12;
const DISCOUNT = 0.01;
const relative = (ours: number, theirs: number) =>
  Math.abs(ours - theirs) / Math.max(Math.abs(theirs), 1e-300);

interface Peer {
  bgnbd: { r: number; alpha: number; a: number; b: number; log_likelihood: number };
  gamma_gamma: { p: number; q: number; v: number; log_likelihood: number; customers: number };
  expected_spend: number[];
  clv: number[];
}

describe.skipIf(!present)("CDNOW master: BG/NBD, Gamma-Gamma and CLV against lifetimes", () => {
  let customers: ReturnType<SummaryAccumulator["finish"]> = [];
  let peer: Peer;
  beforeAll(() => {
    const acc = new SummaryAccumulator({ observationEnd: dayFromDateString("19970930") as number });
    const lines = readFileSync(join(DIR, "CDNOW_master.txt"), "utf8").split("\n");
    for (const line of lines.slice(1)) {
      const [id, date, , dollars] = line.trim().split(/\s+/);
      if (id && date && dollars) acc.add(id, dayFromDateString(date) as number, Number(dollars));
    }
    customers = acc.finish("week");
    const request = {
      customers: customers.map((c) => [c.frequency, c.recency, c.T, c.monetary]),
      freq: "W",
      months: MONTHS,
      discount: DISCOUNT,
    };
    const out = execFileSync(PYTHON, [PEER], {
      input: JSON.stringify(request),
      env: { ...process.env, OMP_NUM_THREADS: "1" },
      maxBuffer: 64 * 1024 * 1024,
    });
    peer = JSON.parse(out.toString()) as Peer;
  });

  it("BG/NBD: parameters to 1e-4 relative, log-likelihood at least lifetimes' (minus 1e-6 relative)", () => {
    const fit = fitBgNbd(customers);
    expect(fit.converged).toBe(true);
    for (const k of ["r", "alpha", "a", "b"] as const) {
      expect(relative(fit.params[k], peer.bgnbd[k]), k).toBeLessThan(1e-4);
    }
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(
      peer.bgnbd.log_likelihood - 1e-6 * Math.abs(peer.bgnbd.log_likelihood),
    );
  });

  it("Gamma-Gamma: parameters to 1e-4 relative on the same repeat customers", () => {
    const spenders = customers.filter(isSpendHistory);
    expect(spenders.length).toBe(peer.gamma_gamma.customers);
    const fit = fitGammaGamma(spenders);
    expect(fit.converged).toBe(true);
    for (const k of ["p", "q", "v"] as const) {
      expect(relative(fit.params[k], peer.gamma_gamma[k]), k).toBeLessThan(1e-4);
    }
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(
      peer.gamma_gamma.log_likelihood - 1e-6 * Math.abs(peer.gamma_gamma.log_likelihood),
    );
  });

  it("expected spend and 12-month CLV per customer to 1e-4 relative", () => {
    const bg = fitBgNbd(customers).params;
    const gg = fitGammaGamma(customers.filter(isSpendHistory)).params;
    expect(peer.clv).toHaveLength(customers.length);
    let worstSpend = 0;
    let worstClv = 0;
    for (let i = 0; i < customers.length; i++) {
      const c = customers[i]!;
      const spend = expectedSpend(gg, c);
      const clv = customerLifetimeValue(bg, c, spend, {
        months: MONTHS,
        monthlyDiscount: DISCOUNT,
        timeUnit: "week",
      });
      worstSpend = Math.max(worstSpend, relative(spend, peer.expected_spend[i]!));
      worstClv = Math.max(worstClv, relative(clv, peer.clv[i]!));
    }
    expect(worstSpend).toBeLessThan(1e-4);
    expect(worstClv).toBeLessThan(1e-4);
    // Not vacuous: values differ across customers and are positive.
    expect(Math.max(...peer.clv)).toBeGreaterThan(10 * Math.min(...peer.clv));
  });
});
