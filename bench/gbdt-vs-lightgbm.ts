/**
 * Our GBDT fit next to LightGBM's (PyPI lightgbm, num_threads=1,
 * OMP_NUM_THREADS=1) with matching settings (rows, leaves, learning rate,
 * bins, bagging, early stopping on the same 10% rows), on the three labelled
 * data sets and on the training matrix of the 100k-row example history (the
 * train step's input; a fifth of its rows is the test split here). Prints
 * test ROC-AUC and fit time of each side, and the ratio of medians.
 *
 *   npx tsx bench/gbdt-vs-lightgbm.ts [--repeat 3] [--example-rows 100000] [--before PATH]
 *
 * --before PATH (or GBDT_BEFORE) names another copy of components/models/gbdt/train.ts
 * (e.g. main's, with its imports beside it) that is timed beside ours, to show
 * before/after in one run; it prints whether its models are identical to ours and, when
 * they are not (a change of bags or of floating-point sum order), the before model's test
 * AUC (the bar that counts is against LightGBM's).
 *
 * Timing: every side gets an untimed warm-up fit first (JIT and library
 * load); then --repeat rounds, each timing ours (and before) in this process
 * and LightGBM in one Python process per round, so the sides interleave and
 * share whatever load the machine has. Both wall and CPU seconds are printed
 * (CPU time is the steadier one on a shared machine), with the load average.
 * The issue's bars: ours <= 1.5x LightGBM's fit time, |AUC diff| <= 0.003.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Rng } from "../components/common/random.js";
import { predictMarginPlain } from "../components/models/gbdt/model.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { DATASETS, datasetsAvailable, type EncodedSplit, loadDataset, rocAuc } from "./gbdt-datasets.js";
import { exampleMatrix } from "./gbdt-example-matrix.js";

const { values } = parseArgs({
  options: {
    repeat: { type: "string", default: "3" },
    "example-rows": { type: "string", default: "100000" },
    before: { type: "string" },
  },
});
const REPEAT = Math.max(1, Number(values.repeat));
const EXAMPLE_ROWS = Number(values["example-rows"]);
const BEFORE = values.before ?? process.env.GBDT_BEFORE;

if (!datasetsAvailable()) {
  console.error("data sets folder not found; set CHURN_DATASETS");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gbdt-vs-lgb-"));
type Train = typeof trainGbdt;
const before: Train | null = BEFORE
  ? ((await import(resolve(BEFORE))) as { trainGbdt: Train }).trainGbdt
  : null;

function pick(s: EncodedSplit, d: number, rows: number[]): EncodedSplit {
  const x = new Float64Array(rows.length * d);
  const y = new Float64Array(rows.length);
  rows.forEach((r, k) => {
    x.set(s.x.subarray(r * d, r * d + d), k * d);
    y[k] = s.y[r];
  });
  return { x, y, rows: rows.length };
}

function writeCsv(path: string, s: EncodedSplit, d: number): void {
  const lines: string[] = [];
  for (let r = 0; r < s.rows; r++) {
    const cells = Array.from(s.x.subarray(r * d, r * d + d), (v) => (Number.isNaN(v) ? "NaN" : String(v)));
    cells.push(String(s.y[r]));
    lines.push(cells.join(","));
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface BenchSet {
  name: string;
  d: number;
  fit: EncodedSplit;
  valid: EncodedSplit;
  test: EncodedSplit;
}

/** Stratified 10% early-stopping holdout of the training split, shared with LightGBM. */
function withHoldout(name: string, d: number, train: EncodedSplit, test: EncodedSplit): BenchSet {
  const rng = new Rng(42);
  const fitRows: number[] = [];
  const validRows: number[] = [];
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < train.rows; i++) if (train.y[i] === cls) idx.push(i);
    rng.shuffle(idx);
    const h = Math.round(idx.length * 0.1);
    idx.forEach((r, k) => {
      (k < h ? validRows : fitRows).push(r);
    });
  }
  fitRows.sort((a, b) => a - b);
  validRows.sort((a, b) => a - b);
  return { name, d, fit: pick(train, d, fitRows), valid: pick(train, d, validRows), test };
}

const sets: BenchSet[] = [];
for (const spec of DATASETS) {
  const ds = loadDataset(spec);
  sets.push(withHoldout(spec.name, ds.numFeatures, ds.train, ds.test));
}
if (EXAMPLE_ROWS > 0) {
  const m = await exampleMatrix(EXAMPLE_ROWS);
  const d = m.names.length;
  const all: EncodedSplit = { x: m.x, y: Float64Array.from(m.y), rows: m.rows };
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (let i = 0; i < m.rows; i++) (i % 5 === 4 ? testRows : trainRows).push(i);
  sets.push(
    withHoldout(`example-${EXAMPLE_ROWS / 1000}k`, d, pick(all, d, trainRows), pick(all, d, testRows)),
  );
}
for (const s of sets) {
  writeCsv(join(dir, `${s.name}.fit.csv`), s.fit, s.d);
  writeCsv(join(dir, `${s.name}.valid.csv`), s.valid, s.d);
  writeCsv(join(dir, `${s.name}.test.csv`), s.test, s.d);
}

interface Timing {
  wall: number[];
  cpu: number[];
}
const timing = () => ({ wall: [] as number[], cpu: [] as number[] });
const oursT = new Map<string, Timing>(sets.map((s) => [s.name, timing()]));
const beforeT = new Map<string, Timing>(sets.map((s) => [s.name, timing()]));
const lgbT = new Map<string, Timing>(sets.map((s) => [s.name, timing()]));
const oursAuc = new Map<string, { auc: number; trees: number }>();
const lgbAuc = new Map<string, { auc: number; trees: number }>();
const identical = new Map<string, boolean>();
const beforeAuc = new Map<string, number>();

function fitOnce(train: Train, s: BenchSet) {
  return train({ x: s.fit.x, y: s.fit.y, numFeatures: s.d, validation: s.valid });
}
function timed(train: Train, s: BenchSet, into: Timing) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fitOnce(train, s);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  into.wall.push(wall);
  into.cpu.push((c.user + c.system) / 1e6);
  return r;
}

// Warm-up (untimed): also gives the AUCs, which do not change between fits (seeded).
for (const s of sets) {
  const r = fitOnce(trainGbdt, s);
  oursAuc.set(s.name, {
    auc: rocAuc(predictMarginPlain(r.model, s.test.x, s.test.rows), s.test.y),
    trees: r.bestRounds,
  });
  if (before) {
    const b = fitOnce(before, s);
    identical.set(s.name, JSON.stringify(b) === JSON.stringify(r));
    beforeAuc.set(s.name, rocAuc(predictMarginPlain(b.model, s.test.x, s.test.rows), s.test.y));
  }
}
const loads: number[] = [loadavg()[0]!];
for (let rep = 0; rep < REPEAT; rep++) {
  for (const s of sets) {
    if (before) timed(before, s, beforeT.get(s.name)!);
    timed(trainGbdt, s, oursT.get(s.name)!);
  }
  const out = execFileSync(join(here, "models-reference.sh"), ["--matrices", dir], { encoding: "utf8" });
  for (const line of out.trim().split("\n")) {
    const o = JSON.parse(line) as {
      dataset: string;
      roc_auc: number;
      train_seconds: number;
      cpu_seconds: number;
      trees: number;
    };
    lgbT.get(o.dataset)!.wall.push(o.train_seconds);
    lgbT.get(o.dataset)!.cpu.push(o.cpu_seconds);
    lgbAuc.set(o.dataset, { auc: o.roc_auc, trees: o.trees });
  }
  loads.push(loadavg()[0]!);
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `medians of ${REPEAT} interleaved fits after a warm-up; 1-min load average ${loads.map((l) => l.toFixed(2)).join(" -> ")}`,
);
console.log(
  `${"data set".padEnd(16)} ${"rows".padStart(6)}  ours AUC  LGB AUC   diff     ours trees  LGB trees  ours s (cpu)    LGB s (cpu)     ours/LGB wall (cpu)` +
    (before ? "  before s (cpu)  before/ours (cpu)  same trees (before AUC)" : ""),
);
let ok = true;
for (const s of sets) {
  const o = oursAuc.get(s.name)!;
  const l = lgbAuc.get(s.name);
  if (!l) throw new Error(`LightGBM printed nothing for ${s.name}`);
  const ot = oursT.get(s.name)!;
  const lt = lgbT.get(s.name)!;
  const diff = o.auc - l.auc;
  const ratioWall = median(ot.wall) / median(lt.wall);
  const ratioCpu = median(ot.cpu) / median(lt.cpu);
  if (Math.abs(diff) > 0.003 && diff < 0) ok = false;
  if (ratioCpu > 1.5) ok = false;
  let line =
    `${s.name.padEnd(16)} ${String(s.fit.rows).padStart(6)}  ${o.auc.toFixed(4)}    ${l.auc.toFixed(4)}   ${diff >= 0 ? "+" : ""}${diff.toFixed(4)}  ` +
    `${String(o.trees).padStart(10)}  ${String(l.trees).padStart(9)}  ` +
    `${median(ot.wall).toFixed(3).padStart(6)} (${median(ot.cpu).toFixed(3)})  ${median(lt.wall).toFixed(3).padStart(6)} (${median(lt.cpu).toFixed(3)})  ` +
    `${ratioWall.toFixed(2).padStart(5)}x (${ratioCpu.toFixed(2)}x)`;
  if (before) {
    const bt = beforeT.get(s.name)!;
    line += `         ${median(bt.wall).toFixed(3).padStart(6)} (${median(bt.cpu).toFixed(3)})  ${(median(bt.cpu) / median(ot.cpu)).toFixed(2)}x              ${identical.get(s.name) ? "yes" : `no (${beforeAuc.get(s.name)!.toFixed(4)})`}`;
  }
  console.log(line);
}
console.log(
  ok
    ? "PASS: ours <= 1.5x LightGBM's fit CPU time and no more than 0.003 below its test AUC on every set"
    : "FAIL: ours > 1.5x LightGBM's fit CPU time, or more than 0.003 below its test AUC, on some set",
);
if (!ok) process.exitCode = 1;
