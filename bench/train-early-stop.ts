/**
 * Issue 17 item 8 (cost-aware selection): the train step's model selection
 * on the 100,000-row example history with the early-stop bound of
 * components/train/select.ts (`cannotCatchUp`) and without it, in one
 * process, interleaved, on the same rows: seconds per family, the total, and
 * the selected model's ROC-AUC on the gate's held-out rows (the model the
 * gate judges, before the refit on all rows).
 *
 *   npm run build && npx tsx bench/train-early-stop.ts [--rows 100000] [--repeats 3]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseConfigText } from "../components/common/config/load.js";
import { rocAuc } from "../components/common/data/metrics.js";
import { holdoutSplit, selectRows } from "../components/common/data/rows.js";
import { openStorage } from "../components/common/storage/index.js";
import { fitTransform } from "../components/models/features/fit.js";
import { transformBatch } from "../components/models/features/transform.js";
import { loadPredictor } from "../components/models/predictor.js";
import { buildBundle, selectModel } from "../components/train/select.js";
import { readRows, runComponent } from "../test/models-support/datasets.js";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "100000" }, repeats: { type: "string", default: "3" } },
});
const bin = join(resolve(import.meta.dirname, ".."), "dist", "cli", "bin.js");
const base = mkdtempSync(join(tmpdir(), "bench-early-stop-"));
const bucket = join(base, "bucket");
const init = spawnSync(process.execPath, [
  bin,
  "init",
  "--bucket",
  bucket,
  "--rows",
  values.rows!,
  "--weekly-rows",
  "10",
]);
if (init.status !== 0) throw new Error(`churn init failed: ${init.stderr}`);

const storage = await openStorage(`file://${bucket}`);
const { output } = await runComponent(
  storage,
  "ingest",
  "ingest-history",
  { data: ["input/history.csv"], config: ["churn.yaml"] },
  { mode: "training" },
);
const { batch, schema } = await readRows(storage, output.outputs.rows!.object);
const config = parseConfigText(await storage.readText("churn.yaml"));
const split = holdoutSplit(batch.label!, config.train.seed);
const train = selectRows(batch, split.train);
const holdout = selectRows(batch, split.valid);
const fitted = fitTransform(train, schema);
const matrix = transformBatch(fitted.transform, train);

const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(" ");
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const seconds: Record<string, number[]> = { on: [], off: [] };
console.log(
  `${batch.numRows} rows (${train.numRows} training, ${holdout.numRows} held out), families ${config.train.families.join(", ")}`,
);
for (let r = 0; r < Number(values.repeats); r++) {
  for (const mode of r % 2 === 0 ? ["off", "on"] : ["on", "off"]) {
    const before = load();
    const started = performance.now();
    const selection = await selectModel({
      x: matrix.x,
      y: train.label!,
      featureNames: matrix.names,
      families: config.train.families,
      folds: config.train.cv_folds,
      seed: config.train.seed,
      tiers: config.tiers,
      earlyStop: mode === "on",
    });
    const s = (performance.now() - started) / 1000;
    seconds[mode]!.push(s);
    const predictor = loadPredictor(
      buildBundle({ schema, transform: fitted.transform, selection, training: {} }),
    );
    const auc = rocAuc(
      holdout.label!,
      predictor.probabilities(predictor.encodeBatch(holdout), holdout.numRows),
    );
    const families = selection.candidates
      .map(
        (c) =>
          `${c.family} ${c.cvRocAuc.toFixed(4)} ${c.folds}f${c.stoppedEarly ? " stopped" : ""} ${c.seconds.toFixed(1)}s`,
      )
      .join(", ");
    console.log(
      `early stop ${mode.padEnd(3)} ${s.toFixed(1).padStart(6)} s  selected ${selection.family}, held-out ROC-AUC ${auc.toFixed(4)}  (${families})  load ${before} -> ${load()}`,
    );
  }
}
console.log(
  `median: early stop off ${median(seconds.off!).toFixed(1)} s, on ${median(seconds.on!).toFixed(1)} s, ratio on/off ${(median(seconds.on!) / median(seconds.off!)).toFixed(2)}`,
);
rmSync(base, { recursive: true, force: true });
