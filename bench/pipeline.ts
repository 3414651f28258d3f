/**
 * The weekly pipeline on a 100,000-customer example bucket, through the built
 * CLI and the local runner, as a user runs it (issue: a run that retrains in
 * under 2 minutes, a run with an unchanged model in under 10 seconds, on the
 * 2-core machine). Prints each run's wall time and step times, next to the
 * time of a bare parse of the same weekly file measured in the same run.
 * Run it on a quiet machine and do not rebuild while it runs: the cache key
 * holds a hash of dist/, so a rebuild in between is a code change and retrains.
 *
 *   npm run build && npx tsx bench/pipeline.ts [--rows 100000] [--weekly-rows 100000] [--keep]
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CsvParser } from "../components/common/csv/parse.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    "weekly-rows": { type: "string", default: "100000" },
    keep: { type: "boolean", default: false },
  },
});
const bin = join(resolve(import.meta.dirname, ".."), "dist", "cli", "bin.js");
const base = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
const bucket = join(base, "bucket");

function churn(args: string[]): { seconds: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0)
    throw new Error(`churn ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return { seconds, stdout: result.stdout };
}

function run(label: string, args: string[]): number {
  const { seconds, stdout } = churn(["pipeline", "run", "--bucket", bucket, "--json", ...args]);
  const record = JSON.parse(stdout) as {
    steps: Array<{ name: string; state: string; seconds: number | null }>;
  };
  const steps = record.steps.map(
    (s) => `${s.name} ${s.state === "cached" ? "cached" : `${(s.seconds ?? 0).toFixed(1)}s`}`,
  );
  console.log(`${label.padEnd(34)} ${seconds.toFixed(1).padStart(6)} s   ${steps.join(", ")}`);
  return seconds;
}

const rows = values.rows!;
const weeklyRows = values["weekly-rows"]!;
churn(["init", "--bucket", bucket, "--rows", rows, "--weekly-rows", weeklyRows]);
// A second week of new customers: the same generator with another seed.
churn(["init", "--bucket", join(base, "other"), "--rows", "100", "--weekly-rows", weeklyRows, "--seed", "7"]);

const weeklyText = readFileSync(join(bucket, "weekly", "2026-W48.csv"), "utf8");
const parseStart = performance.now();
let parsed = 0;
const parser = new CsvParser(
  { delimiter: ",", source: "weekly" },
  () => parsed++,
  () => {},
);
parser.push(weeklyText);
parser.end();
const parseSeconds = (performance.now() - parseStart) / 1000;

console.log(
  `example bucket: ${rows} labelled customers, ${weeklyRows} per weekly file; ${process.platform}, node ${process.version}`,
);
console.log(
  `baseline: bare CSV parse of one weekly file  ${parseSeconds.toFixed(2)} s (${parsed - 1} rows)\n`,
);
const retrain = run("first run (trains, target < 120 s)", []);
cpSync(join(base, "other", "weekly", "2026-W48.csv"), join(bucket, "weekly", "2026-W49.csv"));
const unchanged = run("new week, unchanged model (< 10 s)", ["--weekly", "weekly/2026-W49.csv"]);
const again = run("same week again (reports the run)", ["--weekly", "weekly/2026-W49.csv"]);
console.log(
  `\nretrain ${retrain.toFixed(1)} s (${retrain < 120 ? "meets" : "misses"} < 120 s); unchanged model ${unchanged.toFixed(1)} s (${unchanged < 10 ? "meets" : "misses"} < 10 s), ${(unchanged / parseSeconds).toFixed(1)}x the bare parse; re-invocation ${again.toFixed(1)} s`,
);
if (!values.keep) rmSync(base, { recursive: true, force: true });
else console.log(`kept ${base}`);
