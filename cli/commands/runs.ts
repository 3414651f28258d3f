import type { Writable } from "node:stream";
import type { Command } from "commander";
import { type ExitCode, NotFoundError, UsageError } from "../../components/common/errors.js";
import { logText } from "../../components/common/log-lines.js";
import type { Storage } from "../../components/common/storage/index.js";
import { getRun, listRuns } from "../../pipelines/query/index.js";
import { type RunRecord, runStates } from "../../pipelines/runner/records.js";
import { exitCodeFrom } from "../../pipelines/runner/state.js";
import { emit, integerOption, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface ListOptions {
  bucket?: string;
  state?: string;
  pipeline?: string;
  limit?: string;
}
interface LogsOptions {
  bucket?: string;
  step?: string;
  follow?: boolean;
  json?: boolean;
}

/** How often `runs logs --follow` looks for new lines. */
const FOLLOW_INTERVAL_MS = 1000;

const BUCKET_FLAG = [
  "--bucket <uri>",
  "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)",
] as const;

function duration(seconds: number | null): string {
  if (seconds === null) return "-";
  return seconds < 120 ? `${seconds.toFixed(1)}s` : `${(seconds / 60).toFixed(1)}m`;
}

/** One run as the lines `churn runs show` prints. */
export function describeRunRecord(record: RunRecord): string {
  const lines = [
    `run ${record.run_id}  ${record.pipeline}  ${record.state}${record.exit_code !== null ? ` (exit ${record.exit_code})` : ""}`,
    `  trigger   ${record.trigger ? `${record.trigger.object} (generation ${record.trigger.generation})` : "training data"}`,
    `  started   ${record.started}   took ${duration(record.seconds)}   runner ${record.runner}   code ${record.code_version}`,
  ];
  if (record.reason) lines.push(`  reason    ${record.reason}`);
  if (record.output_prefix) lines.push(`  outputs   ${record.bucket}/${record.output_prefix}`);
  if (record.retrain)
    lines.push(
      `  retrain   ${record.retrain.fired.join(", ")} fired; cache bypassed for ${record.retrain.cache_bypassed.join(", ") || "no step (the training data had changed)"}`,
    );
  lines.push("  steps");
  for (const step of record.steps) {
    const cache = step.cache?.hit
      ? `cached from ${step.cache.from}`
      : step.cache?.bypassed
        ? `cache bypassed (${step.cache.bypassed.join(", ")})`
        : "";
    const exit = step.exit_code !== null && step.exit_code !== 0 ? `exit ${step.exit_code}` : "";
    lines.push(
      `    ${step.name.padEnd(16)} ${step.state.padEnd(9)} ${duration(step.seconds).padStart(7)}  ${[cache, exit, step.error ?? ""].filter(Boolean).join("  ")}`,
    );
  }
  return lines.join("\n");
}

/** `churn runs list|show|logs`: run records and step logs. */
export function registerRuns(program: Command, wrap: Wrap): void {
  const runs = program.command("runs").description("list runs, show a run's steps, print step logs");

  runs
    .command("list")
    .description("list runs, newest first")
    .option(...BUCKET_FLAG)
    .option("--state <state>", `only runs in this state: ${runStates.join(", ")}`)
    .option("--pipeline <name>", "only runs of this pipeline")
    .option("--limit <n>", "at most this many runs", "20")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  churn runs list --bucket ./demo-bucket --state failed\n")
    .action(
      wrap<ListOptions>(async (options, ctx) => {
        const storage = await openBucket(options.bucket, ctx);
        // The query library the console uses too: same filters, same counts, same refusals.
        const rows = await listRuns(storage, {
          state: options.state,
          pipeline: options.pipeline,
          limit: integerOption(options.limit ?? "20", "--limit", 1),
        });
        emit(ctx, rows, () =>
          rows.length === 0
            ? options.state || options.pipeline
              ? `no runs match${options.state ? ` --state ${options.state}` : ""}${options.pipeline ? ` --pipeline ${options.pipeline}` : ""} (\`churn runs list\` shows every run)`
              : "no runs yet: start one with `churn pipeline run`"
            : [
                "run id                 pipeline  state       started                   took     cached  trigger",
                ...rows.map(
                  (r) =>
                    `${r.run_id.padEnd(22)} ${r.pipeline.padEnd(9)} ${r.state.padEnd(11)} ${r.started.padEnd(25)} ${duration(r.seconds).padStart(7)}  ${String(r.cache_hits).padStart(6)}  ${r.trigger ?? "-"}`,
                ),
              ].join("\n"),
        );
      }),
    );

  runs
    .command("show <run-id>")
    .description("show a run's steps: state, duration, cache hits, exit codes and failure reasons")
    .option(...BUCKET_FLAG)
    .option("--json", "print the run record")
    .addHelpText("after", "\nExample:\n  churn runs show r-0123456789abcdef --bucket ./demo-bucket\n")
    .action(
      wrap<{ bucket?: string }>(async (options, ctx, [runId]) => {
        const storage = await openBucket(options.bucket, ctx);
        const record = await getRun(storage, runId!);
        emit(ctx, record, () => describeRunRecord(record));
      }),
    );

  runs
    .command("logs <run-id>")
    .description("print the logs of a run's steps as text (all steps, or one with --step)")
    .option(...BUCKET_FLAG)
    .option("--step <name>", "only this step")
    .option("-f, --follow", "keep printing new lines until the run ends (as tail -f)")
    .option("--json", "print {step: log} with the raw JSON lines")
    .addHelpText(
      "after",
      "\nEach line is `time level message  key=value ...` (the step's JSON log lines, as text).\nExample:\n  churn runs logs r-0123456789abcdef --step train --follow --bucket ./demo-bucket\n",
    )
    .action(
      wrap<LogsOptions>(async (options, ctx, [runId]) => {
        if (options.follow && ctx.json) throw new UsageError("--follow prints text lines; leave out --json");
        const storage = await openBucket(options.bucket, ctx);
        if (options.follow) return followLogs(storage, runId!, options.step, ctx.stdout);
        const record = await getRun(storage, runId!);
        const logs = await stepLogs(storage, stepsOf(record, options.step));
        emit(
          ctx,
          logs,
          () =>
            Object.entries(logs)
              .map(([name, text]) => `==> ${name} <==\n${logText(text)}`)
              .join("\n") || "no logs yet",
        );
      }),
    );
}

/** The steps whose logs were asked for; an unknown --step names the known ones. */
function stepsOf(record: RunRecord, step: string | undefined): RunRecord["steps"] {
  const steps = record.steps.filter((s) => !step || s.name === step);
  if (step && steps.length === 0)
    throw new NotFoundError(
      `run ${record.run_id} has no step ${step} (steps: ${record.steps.map((s) => s.name).join(", ")})`,
    );
  return steps;
}

/** Each step's log text so far (a cached step points at the run it came from). */
async function stepLogs(storage: Storage, steps: RunRecord["steps"]): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  for (const step of steps) {
    if (step.log && (await storage.stat(step.log))) logs[step.name] = await storage.readText(step.log);
    else if (step.state === "cached")
      logs[step.name] = `(cached from ${step.cache?.from}: see that run's log)\n`;
  }
  return logs;
}

/**
 * `--follow`: print every complete new line of the steps' logs as it appears
 * (the runner writes a running step's log every few seconds), until the run
 * is no longer running; then print what is left and return.
 */
async function followLogs(
  storage: Storage,
  runId: string,
  step: string | undefined,
  out: Writable,
): Promise<ExitCode> {
  const printed = new Map<string, number>();
  let header: string | null = null;
  for (;;) {
    const record = await getRun(storage, runId);
    const ended = record.state !== "running";
    for (const [name, text] of Object.entries(await stepLogs(storage, stepsOf(record, step)))) {
      const from = printed.get(name) ?? 0;
      const upTo = ended ? text.length : text.lastIndexOf("\n") + 1;
      if (upTo <= from) continue;
      if (header !== name) out.write(`==> ${name} <==\n`);
      header = name;
      out.write(`${logText(text.slice(from, upTo))}${text.endsWith("\n") || !ended ? "" : "\n"}`);
      printed.set(name, upTo);
    }
    // Exit as the run did, so a script can wait on it: 0, its failure code, or 130 when interrupted.
    if (ended) return exitCodeFrom(record.exit_code);
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
  }
}
