import type { Command } from "commander";
import { NotFoundError } from "../../components/common/errors.js";
import { getRun, listRuns } from "../../pipelines/query/index.js";
import { type RunRecord, runStates } from "../../pipelines/runner/records.js";
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
}

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
    .description("print the logs of a run's steps (all steps, or one with --step)")
    .option(...BUCKET_FLAG)
    .option("--step <name>", "only this step")
    .option("--json", "print {step: log} as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  churn runs logs r-0123456789abcdef --step train --bucket ./demo-bucket\n",
    )
    .action(
      wrap<LogsOptions>(async (options, ctx, [runId]) => {
        const storage = await openBucket(options.bucket, ctx);
        const record = await getRun(storage, runId!);
        const steps = record.steps.filter((s) => !options.step || s.name === options.step);
        if (options.step && steps.length === 0) {
          throw new NotFoundError(
            `run ${runId} has no step ${options.step} (steps: ${record.steps.map((s) => s.name).join(", ")})`,
          );
        }
        const logs: Record<string, string> = {};
        for (const step of steps) {
          if (step.log && (await storage.stat(step.log))) logs[step.name] = await storage.readText(step.log);
          else if (step.state === "cached")
            logs[step.name] = `(cached from ${step.cache?.from}: see that run's log)\n`;
        }
        emit(
          ctx,
          logs,
          () =>
            Object.entries(logs)
              .map(([name, text]) => `==> ${name} <==\n${text}`)
              .join("\n") || "no logs yet",
        );
      }),
    );
}
