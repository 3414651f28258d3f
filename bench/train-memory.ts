/**
 * The GBDT part of the train step on an example history: cross-validation
 * the way components/train/select.ts runs it (stratified folds, a row copy
 * of each fold's training rows, seed + fold, the generated-code predictor on
 * the held-out rows) and then the final fit on every training row. Each run
 * is a fresh child process, so its peak RSS (getrusage ru_maxrss, what
 * /usr/bin/time -v reports) belongs to it alone; it prints RSS and heap per
 * phase, so what grows with the rows shows.
 *
 *   npx tsx bench/train-memory.ts [--rows 100000] [--folds 5] [--repeat 3] [--before PATH] [--fit-rows] [--max-rounds N]
 *
 * --max-rounds N caps every fit at N rounds: for memory-only runs at 1M rows
 * (the buffers that set the peak are allocated before the first round; the
 * times and AUC are then not the train step's).
 *
 * --fit-rows adds a third side: ours given each fold's row indices
 * (trainGbdt's fitRows) instead of a copy of the fold's rows, i.e. what
 * select.ts would use if it passed indices: the same models, no fold copy.
 *
 * --before PATH (or GBDT_BEFORE): another copy of components/models/gbdt/train.ts
 * (main's, say) run beside ours, interleaved; the models of both are hashed
 * and must be identical. The matrix is the one the train step sees (the
 * training part of the history, encoded by the fitted transform), built
 * once by bench/gbdt-example-matrix.ts and cached.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stratifiedKFold, take, takeRows } from "../components/common/data/cv.js";
import { rocAuc } from "../components/common/data/metrics.js";
import { compileGbdtCode } from "../components/models/gbdt/compiled.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { exampleMatrix } from "./gbdt-example-matrix.js";

const SELF = fileURLToPath(import.meta.url);
const SEED = 42;
const MB = 1024 * 1024;

interface Phase {
  phase: string;
  rssMb: number;
  heapMb: number;
  arrayBuffersMb: number;
}

interface ChildResult {
  rows: number;
  features: number;
  phases: Phase[];
  peakRssMb: number;
  cvSeconds: number;
  cvCpuSeconds: number;
  finalSeconds: number;
  oofAuc: number;
  trees: number[];
  modelsHash: string;
}

function phase(name: string): Phase {
  const m = process.memoryUsage();
  return { phase: name, rssMb: m.rss / MB, heapMb: m.heapUsed / MB, arrayBuffersMb: m.arrayBuffers / MB };
}

async function child(
  trainerPath: string,
  rows: number,
  folds: number,
  maxRounds: number,
): Promise<ChildResult> {
  const capped = maxRounds > 0 ? { maxRounds } : {};
  const inPlace = trainerPath === "ours-fit-rows";
  if (inPlace) trainerPath = "ours";
  const train =
    trainerPath === "ours"
      ? trainGbdt
      : ((await import(trainerPath)) as { trainGbdt: typeof trainGbdt }).trainGbdt;
  const phases: Phase[] = [phase("start")];
  const m = await exampleMatrix(rows);
  const d = m.names.length;
  phases.push(phase("matrix loaded"));
  const hash = createHash("sha256");
  const oof = new Float64Array(m.rows);
  const trees: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const split of stratifiedKFold(m.y, folds, SEED)) {
    const { model } = train({
      ...(inPlace
        ? { x: m.x, y: Float64Array.from(m.y), fitRows: split.train }
        : { x: takeRows(m.x, d, split.train), y: Float64Array.from(take(m.y, split.train)) }),
      numFeatures: d,
      featureNames: m.names,
      params: { seed: SEED + split.fold, ...capped },
    });
    phases.push(phase(`fold ${split.fold + 1} fitted`));
    hash.update(JSON.stringify(model));
    trees.push(model.trees.length);
    const p = compileGbdtCode(model).predictMargin(takeRows(m.x, d, split.test), split.test.length);
    split.test.forEach((row, i) => {
      oof[row] = p[i]!;
    });
  }
  const cvSeconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const t1 = performance.now();
  const { model } = train({
    x: m.x,
    y: Float64Array.from(m.y),
    numFeatures: d,
    featureNames: m.names,
    params: { seed: SEED, ...capped },
  });
  const finalSeconds = (performance.now() - t1) / 1000;
  hash.update(JSON.stringify(model));
  trees.push(model.trees.length);
  phases.push(phase("final fit"));
  return {
    rows: m.rows,
    features: d,
    phases,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    cvSeconds,
    cvCpuSeconds: (c.user + c.system) / 1e6,
    finalSeconds,
    oofAuc: rocAuc(m.y, oof),
    trees,
    modelsHash: hash.digest("hex").slice(0, 16),
  };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

async function main() {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "100000" },
      folds: { type: "string", default: "5" },
      repeat: { type: "string", default: "3" },
      before: { type: "string" },
      child: { type: "string" },
      "fit-rows": { type: "boolean", default: false },
      "max-rounds": { type: "string", default: "0" },
    },
  });
  const rows = Number(values.rows);
  const folds = Number(values.folds);
  if (values.child) {
    console.log(JSON.stringify(await child(values.child, rows, folds, Number(values["max-rounds"]))));
    return;
  }
  const before = values.before ?? process.env.GBDT_BEFORE;
  await exampleMatrix(rows); // build the cache here, not inside a measured child
  const sides: Array<[string, string]> = [["ours", "ours"]];
  if (before) sides.unshift(["before", resolve(before)]);
  if (values["fit-rows"]) sides.push(["fitRows", "ours-fit-rows"]);
  const results = new Map<string, ChildResult[]>(sides.map(([name]) => [name, []]));
  const loads = [loadavg()[0]!];
  for (let rep = 0; rep < Math.max(1, Number(values.repeat)); rep++) {
    for (const [name, path] of sides) {
      const out = execFileSync(
        process.execPath,
        [
          ...process.execArgv,
          SELF,
          "--child",
          path,
          "--rows",
          String(rows),
          "--folds",
          String(folds),
          "--max-rounds",
          values["max-rounds"],
        ],
        { encoding: "utf8", maxBuffer: 1 << 24 },
      );
      results.get(name)!.push(JSON.parse(out.trim().split("\n").pop()!) as ChildResult);
      loads.push(loadavg()[0]!);
    }
  }
  const first = results.get("ours")![0]!;
  console.log(
    `example history of ${rows.toLocaleString("en-US")} rows: training matrix ${first.rows.toLocaleString("en-US")} x ${first.features}; GBDT ${folds}-fold CV + final fit; ` +
      `medians of ${results.get("ours")!.length} interleaved child runs; 1-min load average ${loads.map((l) => l.toFixed(2)).join(" -> ")}`,
  );
  for (const [name] of sides) {
    const rs = results.get(name)!;
    const r = rs[0]!;
    console.log(
      `${name.padEnd(7)} CV ${median(rs.map((x) => x.cvSeconds)).toFixed(2)} s wall, ${median(rs.map((x) => x.cvCpuSeconds)).toFixed(2)} s CPU; ` +
        `final fit ${median(rs.map((x) => x.finalSeconds)).toFixed(2)} s; peak RSS ${median(rs.map((x) => x.peakRssMb)).toFixed(0)} MB ` +
        `(${((median(rs.map((x) => x.peakRssMb)) * MB) / r.rows).toFixed(0)} B/row); OOF ROC-AUC ${r.oofAuc.toFixed(4)}; trees ${r.trees.join(",")}; models ${r.modelsHash}`,
    );
    console.log(
      `        RSS by phase (MB): ${r.phases.map((p) => `${p.phase} ${p.rssMb.toFixed(0)} (heap ${p.heapMb.toFixed(0)}, buffers ${p.arrayBuffersMb.toFixed(0)})`).join("; ")}`,
    );
  }
  if (sides.length > 1) {
    const a = [...results.values()].flat().map((x) => x.modelsHash);
    const b = results.get("ours")!.map((x) => x.modelsHash);
    const same = a.every((h) => h === b[0]) && b.every((h) => h === b[0]);
    console.log(same ? "models identical on every side" : "FAIL: models differ between sides");
    if (!same) process.exitCode = 1;
  }
  if (before) {
    const ratio =
      median(results.get("before")!.map((x) => x.cvCpuSeconds)) /
      median(results.get("ours")!.map((x) => x.cvCpuSeconds));
    console.log(`CV CPU time before/after: ${ratio.toFixed(2)}x`);
  }
}

await main();
