/**
 * Our GBDT next to LightGBM with matching settings, on the same encoded
 * matrices and the same early-stopping rows, for the three labelled data sets:
 * test ROC-AUC and training time side by side. The bar: |ours - LightGBM| <= 0.005.
 *
 *   npx tsx bench/gbdt-vs-lightgbm.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../components/common/random.js";
import { predictMarginPlain } from "../components/models/gbdt/model.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { DATASETS, datasetsAvailable, type EncodedSplit, loadDataset, rocAuc } from "./gbdt-datasets.js";

if (!datasetsAvailable()) {
  console.error("data sets folder not found; set CHURN_DATASETS");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gbdt-vs-lgb-"));

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
  writeFileSync(path, lines.join("\n") + "\n");
}

interface Row {
  dataset: string;
  ours: number;
  oursSeconds: number;
  oursTrees: number;
}
const ours: Row[] = [];
for (const spec of DATASETS) {
  const ds = loadDataset(spec);
  const d = ds.numFeatures;
  // Stratified 10% early-stopping holdout, shared with LightGBM.
  const rng = new Rng(42);
  const fitRows: number[] = [];
  const validRows: number[] = [];
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < ds.train.rows; i++) if (ds.train.y[i] === cls) idx.push(i);
    rng.shuffle(idx);
    const h = Math.round(idx.length * 0.1);
    idx.forEach((r, k) => {
      (k < h ? validRows : fitRows).push(r);
    });
  }
  fitRows.sort((a, b) => a - b);
  validRows.sort((a, b) => a - b);
  const fit = pick(ds.train, d, fitRows);
  const valid = pick(ds.train, d, validRows);
  writeCsv(join(dir, `${spec.name}.fit.csv`), fit, d);
  writeCsv(join(dir, `${spec.name}.valid.csv`), valid, d);
  writeCsv(join(dir, `${spec.name}.test.csv`), ds.test, d);
  const t0 = performance.now();
  const r = trainGbdt({ x: fit.x, y: fit.y, numFeatures: d, validation: valid });
  const seconds = (performance.now() - t0) / 1000;
  const auc = rocAuc(predictMarginPlain(r.model, ds.test.x, ds.test.rows), ds.test.y);
  ours.push({ dataset: spec.name, ours: auc, oursSeconds: seconds, oursTrees: r.bestRounds });
}

const out = execFileSync(join(here, "models-reference.sh"), ["--matrices", dir], { encoding: "utf8" });
rmSync(dir, { recursive: true, force: true });
const lgb = new Map<string, { roc_auc: number; train_seconds: number; trees: number }>();
for (const line of out.trim().split("\n")) {
  const o = JSON.parse(line);
  lgb.set(o.dataset, o);
}
console.log(
  "dataset           ours AUC  LightGBM AUC  diff     ours s  LightGBM s  ours trees  LightGBM trees",
);
let worst = 0;
for (const row of ours) {
  const l = lgb.get(row.dataset);
  if (!l) throw new Error(`LightGBM printed nothing for ${row.dataset}`);
  const diff = row.ours - l.roc_auc;
  worst = Math.min(worst, diff);
  console.log(
    `${row.dataset.padEnd(16)}  ${row.ours.toFixed(4)}    ${l.roc_auc.toFixed(4)}        ${diff >= 0 ? "+" : ""}${diff.toFixed(4)}  ` +
      `${row.oursSeconds.toFixed(2).padStart(6)}  ${l.train_seconds.toFixed(2).padStart(10)}  ${String(row.oursTrees).padStart(10)}  ${String(l.trees).padStart(14)}`,
  );
}
console.log(
  worst >= -0.005
    ? "PASS: ours within 0.005 of LightGBM (or better) on every set"
    : "FAIL: ours more than 0.005 below LightGBM",
);
if (worst < -0.005) process.exitCode = 1;
