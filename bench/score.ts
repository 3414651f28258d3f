/**
 * Scoring throughput next to the fastest bare CSV parses of the same file,
 * measured in the same run.
 *
 *   npx tsx bench/score.ts [--rows 1000000] [--history 20000] [--reason-rows 20000] [--repeat 3] [--keep]
 *   (BENCH_WORKERS=N sets the worker count of the worker score run; default cores - 1)
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
 * Every measurement runs in a fresh child process under the Node flags every
 * step process gets (STEP_NODE_FLAGS), as the pipeline runs a step: no
 * measurement inherits the heap of training or of another measurement. A step
 * is timed from reading its input.json to writing its output.json (planning,
 * which hashes the inputs, happens before). The parses and the main-thread
 * score run --repeat times, interleaved, and the ratio is of their medians.
 * DESIGN's bar: probabilities and tiers at least half the bare parse speed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Bundle } from "../components/common/bundle/bundle.js";
import { readChampion } from "../components/common/bundle/champion.js";
import { hashObject, runStep, writeInputDoc } from "../components/common/component/run.js";
import type { ObjectRef, OutputDoc } from "../components/common/component/spec.js";
import { selectRows } from "../components/common/data/rows.js";
import { readRowBatches } from "../components/common/schema/arrow.js";
import { openStorage } from "../components/common/storage/index.js";
import type { Storage } from "../components/common/storage/types.js";
import { exampleConfigText, exampleRows } from "../components/example-bucket/index.js";
import { loadPredictor } from "../components/models/predictor.js";
import { scoreBatchCsv } from "../components/score/scores-csv.js";
import { retrainPipeline } from "../pipelines/definitions/weekly.js";
import { InProcessExecutor, STEP_NODE_FLAGS } from "../pipelines/runner/executor.js";
import { runPipeline } from "../pipelines/runner/run.js";

const SELF = fileURLToPath(import.meta.url);
const SEED = 42;

interface Measurement {
  rows: number;
  seconds: number;
  output?: OutputDoc;
}

/** One measurement, in this (child) process. */
async function child(what: string, args: string[]): Promise<Measurement> {
  if (what === "papaparse" || what === "udsv") {
    const Papa = (await import("papaparse")).default;
    const { inferSchema, initParser } = await import("udsv");
    const text = readFileSync(args[0]!, "latin1");
    const started = performance.now();
    const rows =
      what === "papaparse"
        ? Papa.parse<string[]>(text, { header: false, skipEmptyLines: true }).data.length - 1
        : initParser(inferSchema(text)).stringArrs(text).length;
    return { rows, seconds: (performance.now() - started) / 1000 };
  }
  if (what === "step") {
    const [bucket, run, step, component] = args as [string, string, string, string];
    const storage = await openStorage(`file://${bucket}`);
    // Load the component's modules first, as a step process has before it reads its input.
    const { loadComponent } = await import("../components/index.js");
    const loaded = await loadComponent(component);
    const started = performance.now();
    const { output } = await runStep(storage, run, step, {
      load: async () => loaded,
      expectComponent: component,
    });
    const rows = output.counts?.scored ?? output.counts?.accepted ?? 0;
    return { rows, seconds: (performance.now() - started) / 1000, output };
  }
  throw new Error(`unknown measurement ${what}`);
}

function measure(what: string, ...args: string[]): Measurement {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, ...STEP_NODE_FLAGS, SELF, "--child", what, ...args],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Measurement;
}

/** Plan one step: hash its inputs into input.json, as the runner does before starting it. */
async function plan(
  storage: Storage,
  run: string,
  step: string,
  component: string,
  inputs: Record<string, string[]>,
  parameters: Record<string, unknown> = {},
): Promise<void> {
  const resolved: Record<string, ObjectRef[]> = {};
  for (const [port, names] of Object.entries(inputs))
    resolved[port] = await Promise.all(names.map((n) => hashObject(storage, n)));
  await writeInputDoc(storage, { component, run, step, inputs: resolved, parameters });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function line(what: string, rows: number, seconds: number, note = ""): void {
  const rate = Math.round(rows / seconds).toLocaleString("en-US");
  console.log(`${what.padEnd(46)} ${seconds.toFixed(2).padStart(7)} s  ${rate.padStart(10)} rows/s  ${note}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "1000000" },
      history: { type: "string", default: "20000" },
      keep: { type: "boolean", default: false },
      "reason-rows": { type: "string", default: "20000" },
      repeat: { type: "string", default: "3" },
    },
  });
  const ROWS = Number(values.rows);
  const HISTORY = Number(values.history);
  const REASON_ROWS = Number(values["reason-rows"]);
  const REPEAT = Math.max(1, Number(values.repeat));
  const dir = mkdtempSync(join(tmpdir(), "churn-bench-score-"));
  const storage = await openStorage(`file://${dir}`);
  try {
    console.log(
      `bucket ${dir}; ${cpus().length} cores; node ${process.version}; measurements in child processes with ${STEP_NODE_FLAGS.join(" ")}`,
    );
    const config = exampleConfigText(SEED);
    await storage.write("churn.yaml", config);
    await storage.write("input/history.csv", exampleRows({ rows: HISTORY, seed: SEED, labelled: true }));
    await storage.write(
      "weekly/bench.csv",
      exampleRows({ rows: ROWS, seed: SEED, labelled: false, firstIndex: HISTORY }),
    );
    // Variants of churn.yaml for the two scoring measurements.
    // The value is a tier list or a name (`contact-list`); either way the variant has none.
    const REASONS_FOR = /reasons_for: (\[[^\]]*\]|[a-z-]+)/;
    if (!REASONS_FOR.test(config)) throw new Error("the example churn.yaml has no reasons_for line to vary");
    await storage.write("bench/no-reasons.yaml", config.replace(REASONS_FOR, "reasons_for: []"));

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
    const bundleText = await storage.readText(`models/${version}/bundle.json`);
    await storage.write("bench/schema.json", JSON.stringify((JSON.parse(bundleText) as Bundle).schema));

    const file = join(dir, "weekly/bench.csv");
    console.log(`\n${ROWS.toLocaleString("en-US")} rows, ${(readFileSync(file).length / 1e6).toFixed(0)} MB`);
    await plan(
      storage,
      "r-bench",
      "ingest-weekly",
      "ingest",
      { data: ["weekly/bench.csv"], config: ["churn.yaml"], schema: ["bench/schema.json"] },
      { mode: "scoring" },
    );
    const ingest = measure("step", dir, "r-bench", "ingest-weekly", "ingest");
    const rows = ingest.output!.outputs.rows!.object;
    const scoreInputs = {
      rows: [rows],
      champion: [`models/${version}/bundle.json`],
      config: ["bench/no-reasons.yaml"],
    };
    const workers = Number(process.env.BENCH_WORKERS) || Math.max(1, cpus().length - 1);
    await plan(storage, "r-bench", "score-main", "score", scoreInputs, { workers: 0 });
    await plan(storage, "r-bench", "score-workers", "score", scoreInputs, { workers });

    const runs: Record<"papaparse" | "udsv" | "score", Measurement[]> = {
      papaparse: [],
      udsv: [],
      score: [],
    };
    for (let r = 0; r < REPEAT; r++) {
      runs.papaparse.push(measure("papaparse", file));
      runs.udsv.push(measure("udsv", file));
      runs.score.push(measure("step", dir, "r-bench", "score-main", "score"));
    }
    const scoreWorkers = measure("step", dir, "r-bench", "score-workers", "score");
    const seconds = (m: Measurement[]) => median(m.map((x) => x.seconds));
    const all = (m: Measurement[]) => `(runs: ${m.map((x) => x.seconds.toFixed(2)).join(", ")} s)`;
    line("bare parse: papaparse", ROWS, seconds(runs.papaparse), all(runs.papaparse));
    line("bare parse: udsv", ROWS, seconds(runs.udsv), all(runs.udsv));
    line("ingest (CSV -> Arrow)", ingest.rows, ingest.seconds);
    line("score: probabilities + tiers, main thread", ROWS, seconds(runs.score), all(runs.score));
    line(
      `score: probabilities + tiers, ${workers} worker(s)`,
      ROWS,
      scoreWorkers.seconds,
      "(Arrow -> scores.csv)",
    );
    const hashes = new Set([...runs.score, scoreWorkers].map((m) => m.output!.outputs.scores!.sha256));
    if (hashes.size !== 1) throw new Error("scores.csv differs between runs or between 1 thread and workers");
    if (runs.score.some((m) => m.rows !== ROWS)) throw new Error("the score step did not score every row");
    const fastestParse = Math.min(seconds(runs.papaparse), seconds(runs.udsv));
    line(
      "ingest + score, end to end",
      ROWS,
      ingest.seconds + Math.min(seconds(runs.score), scoreWorkers.seconds),
      "(CSV -> scores.csv, the faster score)",
    );
    console.log(
      `probabilities + tiers / fastest bare parse: ${(fastestParse / seconds(runs.score)).toFixed(2)} (medians of ${REPEAT} runs; the bar is 0.5)`,
    );
    // Reasons cost ~1 ms a row for a deep GBDT: time them over the first rows only, in this process.
    const predictor = loadPredictor(JSON.parse(bundleText) as Bundle);
    const options = {
      reasons: 3,
      reasonsFor: ["high", "medium", "low"] as const,
      passthrough: [],
      formulaGuard: true,
      labels: {},
    };
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

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  const m = await child(process.argv[childAt + 1]!, process.argv.slice(childAt + 2));
  console.log(JSON.stringify(m));
} else await main();
