/**
 * Our side of bench/lifetime-vs-lifetimes.sh: fit BG/NBD (and Pareto/NBD) on
 * the CDNOW summary, then read, summarise, fit and score the full master log,
 * printing parameters, log-likelihoods and times as JSON.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dayFromDateString, SummaryAccumulator } from "../components/lifetime/summary.js";
import {
  bgnbdExpectedPurchases,
  bgnbdPopulationExpected,
  bgnbdProbAlive,
  fitBgNbd,
} from "../components/models/lifetime/bgnbd.js";
import { fitParetoNbd } from "../components/models/lifetime/pareto-nbd.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: lifetime-vs-lifetimes.ts <cdnow folder> [--pareto]");
const out: Record<string, unknown> = {};

const summary = readFileSync(join(dir, "cdnow_customers_summary.csv"), "utf8")
  .trim()
  .split(/\r?\n/)
  .slice(1)
  .map((line) => {
    const [, f, r, T] = line.split(",").map(Number);
    return { frequency: f, recency: r, T };
  });
let t0 = performance.now();
const fit = fitBgNbd(summary);
out.bgnbd_summary = {
  ...fit.params,
  log_likelihood: fit.logLikelihood,
  fit_ms: performance.now() - t0,
  "prob_alive_2_30.43_38.86": bgnbdProbAlive(fit.params, { frequency: 2, recency: 30.43, T: 38.86 }),
  expected_t78: bgnbdPopulationExpected(fit.params, 78),
};
if (process.argv.includes("--pareto")) {
  t0 = performance.now();
  const pareto = fitParetoNbd(summary);
  out.pareto_summary = {
    ...pareto.params,
    log_likelihood: pareto.logLikelihood,
    fit_ms: performance.now() - t0,
  };
}

t0 = performance.now();
const text = readFileSync(join(dir, "CDNOW_master.txt"), "utf8");
const end = dayFromDateString("19970930") as number;
const acc = new SummaryAccumulator({ observationEnd: end });
const lines = text.split("\n");
for (let i = 1; i < lines.length; i++) {
  const f = lines[i].trim().split(/\s+/);
  if (f.length < 4) continue;
  acc.add(f[0], dayFromDateString(f[1]) as number, Number(f[3]));
}
const readSummaryMs = performance.now() - t0;
const customers = acc.finish("week");
let t1 = performance.now();
const master = fitBgNbd(customers);
const fitMs = performance.now() - t1;
t1 = performance.now();
let aliveSum = 0;
let expectedSum = 0;
for (const c of customers) {
  aliveSum += bgnbdProbAlive(master.params, c);
  expectedSum += bgnbdExpectedPurchases(master.params, 39, c);
}
out.bgnbd_master = {
  customers: customers.length,
  ...master.params,
  log_likelihood: master.logLikelihood,
  read_and_summary_ms: readSummaryMs,
  fit_ms: fitMs,
  score_ms: performance.now() - t1,
  mean_prob_alive: aliveSum / customers.length,
  sum_expected_39: expectedSum,
};
console.log(JSON.stringify(out));
