/**
 * Scoring throughput next to the fastest bare CSV parses of the same file,
 * measured in the same run.
 *
 *   npx tsx bench/score.ts [--rows 1000000] [--history 20000] [--keep]
 *   (BENCH_WORKERS=N sets the worker count of the second score run; default cores - 1)
 *
 * Writes an example bucket (the `churn init` generator: a labelled history and
 * a weekly file of --rows rows) to a temp folder, trains a model with the real
 * components (cross-validated selection, as `churn train`), then times:
 *   - papaparse / udsv: bare parse of the weekly file as one string (their fastest modes)
 *   - ingest: the weekly file to typed Arrow batches with the recorded schema
 *   - score: Arrow batches to scores.csv, probabilities and tiers only (reasons for no tier)
 *   - ingest+score: the two steps end to end, CSV in, scores.csv out
 *   - score with reasons: every row gets reason_1..3 (reasons for every tier), timed
 *     over the first --reason-rows rows (TreeSHAP costs about a millisecond a row)
 * DESIGN's bar: probabilities and tiers at least half the bare parse speed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Bundle } from "../components/common/bundle/bundle.js";
import { readChampion } from "../components/common/bundle/champion.js";
import { hashObject, runStep, writeInputDoc } from "../components/common/component/run.js";
import type { ObjectRef } from "../components/common/component/spec.js";
import { readRowBatches } from "../components/common/schema/arrow.js";
import { openStorage } from "../components/common/storage/index.js";
import type { Storage } from "../components/common/storage/types.js";
import { exampleConfigText, exampleRows } from "../components/example-bucket/index.js";
import { loadPredictor } from "../components/score/predictor.js";
import { scoreBatchCsv } from "../components/score/scores-csv.js";
import { selectRows } from "../components/train/rows.js";
import { retrainPipeline } from "../pipelines/definitions/weekly.js";
import { InProcessExecutor, STEP_NODE_FLAGS } from "../pipelines/runner/executor.js";
import { runPipeline } from "../pipelines/runner/run.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    history: { type: "string", default: "20000" },
    keep: { type: "boolean", default: false },
    "reason-rows": { type: "string", default: "20000" },
  },
});
const ROWS = Number(values.rows);
const HISTORY = Number(values.history);
const REASON_ROWS = Number(values["reason-rows"]);
const SEED = 42;

/**
 * Plan one step (hash its inputs into input.json, as the runner does before
 * starting it), then run it in this process, timing only the run: reading the
 * input (its hash checked), the component, and writing the outputs.
 */
async function step(
  storage: Storage,
  run: string,
  name: string,
  component: string,
  inputs: Record<string, string[]>,
  parameters: Record<string, unknown> = {},
) {
  const resolved: Record<string, ObjectRef[]> = {};
  for (const [port, names] of Object.entries(inputs))
    resolved[port] = await Promise.all(names.map((n) => hashObject(storage, n)));
  await writeInputDoc(storage, { component, run, step: name, inputs: resolved, parameters });
  const started = performance.now();
  const { output } = await runStep(storage, run, name, { expectComponent: component });
  return { output, seconds: (performance.now() - started) / 1000 };
}

function line(what: string, rows: number, seconds: number, note = ""): void {
  const rate = Math.round(rows / seconds).toLocaleString("en-US");
  console.log(`${what.padEnd(46)} ${seconds.toFixed(2).padStart(7)} s  ${rate.padStart(10)} rows/s  ${note}`);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "churn-bench-score-"));
  const storage = await openStorage(`file://${dir}`);
  try {
    console.log(
      `bucket ${dir}; ${cpus().length} cores; node ${process.version} ${STEP_NODE_FLAGS.join(" ")}`,
    );
    const config = exampleConfigText(SEED);
    await storage.write("churn.yaml", config);
    await storage.write("input/history.csv", exampleRows({ rows: HISTORY, seed: SEED, labelled: true }));
    await storage.write(
      "weekly/bench.csv",
      exampleRows({ rows: ROWS, seed: SEED, labelled: false, firstIndex: HISTORY }),
    );
    // Variants of churn.yaml for the two scoring measurements.
    await storage.write(
      "bench/no-reasons.yaml",
      config.replace(/reasons_for: \[[^\]]*\]/, "reasons_for: []"),
    );
    await storage.write(
      "bench/all-reasons.yaml",
      config.replace(/reasons_for: \[[^\]]*\]/, "reasons_for: [high, medium, low]"),
    );
    if (!/reasons_for: \[/.test(config))
      throw new Error("the example churn.yaml has no reasons_for line to vary");

    let started = performance.now();
    const trained = await runPipeline({
      storage,
      pipeline: retrainPipeline,
      executor: new InProcessExecutor(storage),
    });
    if (trained.exitCode !== 0) {
      const steps = trained.record.steps.map((s) => `${s.name}: ${s.state}`).join(", ");
      throw new Error(
        `training failed (exit ${trained.exitCode}, run ${trained.record.state}): ${trained.record.reason} [${steps}]`,
      );
    }
    const version = (await readChampion(storage))!.pointer.version;
    const trainSummary = JSON.parse(
      await storage.readText(`runs/${trained.record.run_id}/steps/train/output.json`),
    ) as { summary: { selected: string; candidates: Array<{ family: string; cvRocAuc: number }> } };
    console.log(
      `trained on ${HISTORY} rows in ${((performance.now() - started) / 1000).toFixed(1)} s: selected ${trainSummary.summary.selected} (${trainSummary.summary.candidates.map((c) => `${c.family} ${c.cvRocAuc.toFixed(4)}`).join(", ")}); model ${version}`,
    );
    const bundle = JSON.parse(await storage.readText(`models/${version}/bundle.json`)) as { schema: unknown };
    await storage.write("bench/schema.json", JSON.stringify(bundle.schema));

    const file = join(dir, "weekly/bench.csv");
    console.log(`\n${ROWS.toLocaleString("en-US")} rows, ${(readFileSync(file).length / 1e6).toFixed(0)} MB`);
    {
      const Papa = (await import("papaparse")).default;
      const text = readFileSync(file, "latin1");
      started = performance.now();
      const n = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true }).data.length - 1;
      line("bare parse: papaparse", n, (performance.now() - started) / 1000);
    }
    {
      const { inferSchema, initParser } = await import("udsv");
      const text = readFileSync(file, "latin1");
      started = performance.now();
      const parser = initParser(inferSchema(text));
      const n = parser.stringArrs(text).length;
      line("bare parse: udsv", n, (performance.now() - started) / 1000);
    }
    const ingest = await step(
      storage,
      "r-bench",
      "ingest-weekly",
      "ingest",
      { data: ["weekly/bench.csv"], config: ["churn.yaml"], schema: ["bench/schema.json"] },
      { mode: "scoring" },
    );
    line("ingest (CSV -> Arrow)", ROWS, ingest.seconds);
    const rows = ingest.output.outputs.rows!.object;
    const single = await step(
      storage,
      "r-bench",
      "score-1",
      "score",
      { rows: [rows], champion: [`models/${version}/bundle.json`], config: ["bench/no-reasons.yaml"] },
      { workers: 0 },
    );
    line("score: probabilities + tiers, main thread", ROWS, single.seconds, "(Arrow -> scores.csv)");
    const score = await step(
      storage,
      "r-bench",
      "score",
      "score",
      { rows: [rows], champion: [`models/${version}/bundle.json`], config: ["bench/no-reasons.yaml"] },
      { workers: Number(process.env.BENCH_WORKERS) || Math.max(1, cpus().length - 1) },
    );
    const summary = score.output.summary as { workers: number };
    line(
      `score: probabilities + tiers, ${summary.workers} worker(s)`,
      ROWS,
      score.seconds,
      "(Arrow -> scores.csv)",
    );
    if (score.output.outputs.scores!.sha256 !== single.output.outputs.scores!.sha256)
      throw new Error("scores.csv differs between 1 thread and workers");
    line(
      "ingest + score, end to end",
      ROWS,
      ingest.seconds + Math.min(single.seconds, score.seconds),
      "(CSV -> scores.csv, the faster score)",
    );
    // Reasons cost ~1 ms a row for a deep GBDT: time them over the first rows only.
    const predictor = loadPredictor(
      JSON.parse(await storage.readText(`models/${version}/bundle.json`)) as Bundle,
    );
    const options = { reasons: 3, reasonsFor: ["high", "medium", "low"] as const, passthrough: [] };
    let done = 0;
    started = performance.now();
    for await (const batch of readRowBatches(storage.createReadStream(rows))) {
      const part = selectRows(
        batch,
        Array.from({ length: Math.min(batch.numRows, REASON_ROWS - done) }, (_, i) => i),
      );
      scoreBatchCsv(predictor, part, options);
      done += part.numRows;
      if (done >= REASON_ROWS) break;
    }
    line(
      `score: 3 reasons for every row`,
      done,
      (performance.now() - started) / 1000,
      `(first ${done} rows, one thread)`,
    );
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

// Run with the Node flags every step process gets (STEP_NODE_FLAGS), so the
// figures are the product's; the bare parses run under the same flags.
if (STEP_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) await main();
else {
  const again = spawnSync(
    process.execPath,
    [...process.execArgv, ...STEP_NODE_FLAGS, ...process.argv.slice(1)],
    {
      stdio: "inherit",
    },
  );
  process.exitCode = again.status ?? 1;
}
