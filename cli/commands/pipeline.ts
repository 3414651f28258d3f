import type { Command } from "commander";
import { UsageError } from "../../components/common/errors.js";
import { OUTPUT_FILES, TRANSACTIONS_PREFIX, WEEKLY_PREFIX } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { describeWarning } from "../../components/common/warnings.js";
import {
  dependenciesOf,
  type PipelineDefinition,
  renderMermaid,
  renderText,
  topologicalOrder,
} from "../../pipelines/dag.js";
import { PIPELINES, pipelineByName } from "../../pipelines/definitions/index.js";
import { runDecisionLine } from "../../pipelines/query/index.js";
import type { RunRecord } from "../../pipelines/runner/records.js";
import { bucketOption, emit } from "../io.js";
import { addRunnerOptions, type RunnerFlags, runFromCli, runnerChoice } from "../runner.js";
import { registerCompile } from "./compile.js";
import type { Wrap } from "./index.js";
import { registerPipelineStep } from "./pipeline-step.js";

interface ShowOptions {
  mermaid?: boolean;
}

interface RunOptions extends RunnerFlags {
  bucket?: string;
  weekly?: string;
  transactions?: string;
  force?: boolean;
  cache?: boolean;
}

/** True when the pipeline's runs are started by an object under `prefix` (so `--weekly` or `--transactions` applies). */
function triggeredUnder(pipeline: PipelineDefinition, prefix: string): boolean {
  return pipeline.trigger.kind === "object" && pipeline.trigger.prefix === prefix;
}

/** The closing lines of a run: where the scores are, or why it failed. */
export function describeRun(record: RunRecord, reused: boolean): string {
  const lines: string[] = [];
  const seconds = record.seconds === null ? "" : ` in ${record.seconds.toFixed(1)} s`;
  if (reused)
    lines.push(
      `run ${record.run_id} had already finished (${record.state}); nothing to do (use --force for a new attempt)`,
    );
  if (record.state === "succeeded") {
    const cached = record.steps.filter((s) => s.state === "cached").length;
    lines.push(
      `${record.pipeline} run ${record.run_id} succeeded${seconds}${cached ? ` (${cached} steps from cache)` : ""}`,
    );
    if (record.retrain?.cache_bypassed.length)
      lines.push(
        `retrained on unchanged training data because ${record.retrain.fired.join(", ")} fired (cache bypassed for ${record.retrain.cache_bypassed.join(", ")})`,
      );
    if (record.output_prefix) lines.push(`outputs: ${record.bucket}/${record.output_prefix}`);
  } else if (record.state === "interrupted" || record.state === "running") {
    lines.push(
      `${record.pipeline} run ${record.run_id} was interrupted before the end; run the same command again to resume it from the first unfinished step`,
    );
  } else {
    lines.push(
      `${record.pipeline} run ${record.run_id} failed${seconds}: ${record.reason ?? "unknown reason"}`,
    );
    lines.push(`logs: churn runs logs ${record.run_id} --bucket ${record.bucket}`);
  }
  const warnings = record.steps.flatMap((s) => s.warnings);
  if (warnings.length > 0)
    lines.push(
      `${warnings.length} warning${warnings.length === 1 ? "" : "s"}:`,
      ...warnings.map((w) => `  ! ${describeWarning(w)}`),
    );
  return lines.join("\n");
}

/**
 * The gate's decision in the closing lines, when the run trained: which
 * model scores, against what, and on which comparison (fresh rows the
 * champion never trained on, or its recipe refitted on the candidate's folds).
 */
export async function modelDecision(storage: Storage, record: RunRecord): Promise<string> {
  if (record.state !== "succeeded") return "";
  // Says when the decision is a cached one or the champion is this very candidate (never a stale sentence).
  const line = await runDecisionLine(storage, record);
  return line ? `\n${line}` : "";
}

/**
 * The first lines of the week's contact-list.csv (whom to call first, with
 * the reasons), or of scores.csv when there is none (lifetime:
 * customers.csv), so a run ends by showing what to do with its results.
 */
export async function scoresHead(storage: Storage, record: RunRecord, lines = 5): Promise<string> {
  if (record.state !== "succeeded" || !record.output_prefix) return "";
  const files =
    record.pipeline === "lifetime"
      ? [OUTPUT_FILES.customers]
      : [OUTPUT_FILES.contactList, OUTPUT_FILES.scores];
  let name: string | null = null;
  for (const file of files) {
    if (await storage.stat(`${record.output_prefix}${file}`)) {
      name = `${record.output_prefix}${file}`;
      break;
    }
  }
  if (name === null) return "";
  let text = "";
  for await (const chunk of storage.createReadStream(name)) {
    text += chunk.toString();
    if (text.split("\n").length > lines + 1) break;
  }
  const head = text.split("\n").slice(0, lines + 1);
  return `\n\n${name} (first ${lines} rows):\n${head.map((l) => `  ${l}`).join("\n")}`;
}

/** `churn pipeline show|run`. */
export function registerPipeline(program: Command, wrap: Wrap): void {
  const pipeline = program
    .command("pipeline")
    .description(`show, run and compile pipelines (${Object.keys(PIPELINES).join(", ")})`);
  registerCompile(pipeline, wrap);
  registerPipelineStep(pipeline, wrap);

  pipeline
    .command("show [name]")
    .description("print a pipeline's steps and dependencies, as text or as a Mermaid flowchart")
    .option("--mermaid", "print a Mermaid flowchart instead of text")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn pipeline show weekly\n  churn pipeline show retrain --mermaid\n",
    )
    .action(
      wrap<ShowOptions>(async (options, ctx, [name]) => {
        const definition = pipelineByName(name ?? "weekly");
        const steps = topologicalOrder(definition).map((s) => ({
          name: s.name,
          component: s.component,
          description: s.description,
          needs: dependenciesOf(s),
          cached: s.cache !== false,
        }));
        emit(
          ctx,
          {
            name: definition.name,
            description: definition.description,
            steps,
            mermaid: renderMermaid(definition),
          },
          () => (options.mermaid ? renderMermaid(definition) : renderText(definition)),
        );
      }),
    );

  addRunnerOptions(
    pipeline
      .command("run [name]")
      .description(
        "run a pipeline (default: weekly) on a bucket; re-running a finished run reports it without work",
      )
      .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
      .option(
        "--weekly <object>",
        "the weekly file to score, e.g. weekly/2024-W18.csv (default: the newest upload)",
      )
      .option(
        "--transactions <object>",
        "the purchase log of the lifetime pipeline, e.g. transactions/2024.csv (default: the newest upload)",
      ),
  )
    .option(
      "--force",
      "start a new attempt even if this file was already processed (the cache still applies)",
    )
    .option("--no-cache", "recompute every step")
    .option("--json", "print the run record as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn pipeline run --bucket ./demo-bucket\n  churn pipeline run weekly --bucket gs://acme-churn --weekly weekly/2024-W18.csv\n  churn pipeline run retrain --bucket ./demo-bucket --no-cache\n  churn pipeline run lifetime --bucket ./demo-bucket --transactions transactions/2024.csv\n  churn pipeline run score --bucket ./demo-bucket --weekly weekly/2024-W18.csv\n  churn pipeline run --bucket gs://acme-churn --runner kubernetes --namespace churn\n",
    )
    .action(
      wrap<RunOptions>(async (options, ctx, [name]) => {
        const definition = pipelineByName(name ?? "weekly");
        if (options.weekly && !triggeredUnder(definition, WEEKLY_PREFIX)) {
          throw new UsageError(
            `--weekly applies to the weekly pipeline, not ${definition.name} (the score pipeline takes it too)`,
          );
        }
        if (options.transactions && !triggeredUnder(definition, TRANSACTIONS_PREFIX)) {
          throw new UsageError(`--transactions applies to the lifetime pipeline, not ${definition.name}`);
        }
        const runner = runnerChoice(options);
        const { storage, result } = await runFromCli(ctx, {
          bucket: bucketOption(options.bucket, ctx),
          pipeline: definition,
          runner,
          trigger: options.weekly ?? options.transactions,
          force: options.force,
          noCache: options.cache === false,
        });
        const head = ctx.json ? "" : await scoresHead(storage, result.record);
        const decision = ctx.json ? "" : await modelDecision(storage, result.record);
        emit(
          ctx,
          { ...result.record, reused: result.reused },
          () => describeRun(result.record, result.reused) + decision + head,
        );
        return result.exitCode;
      }),
    );
}
