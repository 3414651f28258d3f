/**
 * Our side of bench/lifetime-vs-lifetimes.sh: fit BG/NBD (and Pareto/NBD) on
 * the CDNOW summary, then read and summarise the full master log and time
 * the in-process fits on it (BG/NBD, Gamma-Gamma) after warm-up fits, as
 * the median of --repeat runs, plus the 12-month lifetime value; prints JSON.
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
import { customerLifetimeValue } from "../components/models/lifetime/clv.js";
import { expectedSpend, fitGammaGamma, isSpendHistory } from "../components/models/lifetime/gamma-gamma.js";
import { fitParetoNbd } from "../components/models/lifetime/pareto-nbd.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: lifetime-vs-lifetimes.ts <cdnow folder> [--pareto] [--repeat N]");
const at = process.argv.indexOf("--repeat");
const repeat = at > 0 ? Number(process.argv[at + 1]) : 5;
const WARMUP = 3;
const out: Record<string, unknown> = {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/**
 * Median wall and CPU time of `repeat` calls after WARMUP untimed ones (JIT
 * warm-up excluded). CPU time is the steadier figure on a shared machine.
 */
function timed<T>(f: () => T): { result: T; ms: number; cpu: number } {
  for (let i = 0; i < WARMUP; i++) f();
  const times: number[] = [];
  const cpus: number[] = [];
  let result = f();
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    const c = cpuMs();
    result = f();
    cpus.push(cpuMs() - c);
    times.push(performance.now() - t);
  }
  return { result, ms: median(times), cpu: median(cpus) };
}

const summary = readFileSync(join(dir, "cdnow_customers_summary.csv"), "utf8")
  .trim()
  .split(/\r?\n/)
  .slice(1)
  .map((line) => {
    const [, f, r, T] = line.split(",").map(Number);
    return { frequency: f, recency: r, T };
  });
const small = timed(() => fitBgNbd(summary));
out.bgnbd_summary = {
  ...small.result.params,
  log_likelihood: small.result.logLikelihood,
  fit_ms: small.ms,
  fit_cpu_ms: small.cpu,
  "prob_alive_2_30.43_38.86": bgnbdProbAlive(small.result.params, { frequency: 2, recency: 30.43, T: 38.86 }),
  expected_t78: bgnbdPopulationExpected(small.result.params, 78),
};
if (process.argv.includes("--pareto")) {
  const t0 = performance.now();
  const pareto = fitParetoNbd(summary);
  out.pareto_summary = {
    ...pareto.params,
    log_likelihood: pareto.logLikelihood,
    fit_ms: performance.now() - t0,
  };
}

let t0 = performance.now();
const text = readFileSync(join(dir, "CDNOW_master.txt"), "utf8");
const acc = new SummaryAccumulator({ observationEnd: dayFromDateString("19970930") as number });
const lines = text.split("\n");
for (let i = 1; i < lines.length; i++) {
  const f = lines[i].trim().split(/\s+/);
  if (f.length < 4) continue;
  acc.add(f[0], dayFromDateString(f[1]) as number, Number(f[3]));
}
const customers = acc.finish("week");
const readSummaryMs = performance.now() - t0;
const master = timed(() => fitBgNbd(customers));
const params = master.result.params;
t0 = performance.now();
let aliveSum = 0;
let expectedSum = 0;
for (const c of customers) {
  aliveSum += bgnbdProbAlive(params, c);
  expectedSum += bgnbdExpectedPurchases(params, 39, c);
}
const scoreMs = performance.now() - t0;
out.bgnbd_master = {
  customers: customers.length,
  ...params,
  log_likelihood: master.result.logLikelihood,
  read_and_summary_ms: readSummaryMs,
  fit_ms: master.ms,
  fit_cpu_ms: master.cpu,
  score_ms: scoreMs,
  mean_prob_alive: aliveSum / customers.length,
  sum_expected_39: expectedSum,
};
const spenders = customers.filter(isSpendHistory);
const gg = timed(() => fitGammaGamma(spenders));
t0 = performance.now();
let clvSum = 0;
for (const c of customers) {
  const spend = expectedSpend(gg.result.params, c);
  clvSum += customerLifetimeValue(params, c, spend, { months: 12, monthlyDiscount: 0.01, timeUnit: "week" });
}
out.gamma_gamma_master = {
  customers: spenders.length,
  ...gg.result.params,
  log_likelihood: gg.result.logLikelihood,
  fit_ms: gg.ms,
  fit_cpu_ms: gg.cpu,
  clv_ms: performance.now() - t0,
  sum_clv_12_months: clvSum,
};
console.log(JSON.stringify(out));
