import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/load.js";
import { UsageError } from "../../components/common/errors.js";
import { triggerCandidates } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { SHARD_PLAN_FLAGS } from "../../pipelines/compile/index.js";
import type { PipelineDefinition } from "../../pipelines/dag.js";
import { pipelineByName } from "../../pipelines/definitions/index.js";
import { shardCount } from "../../pipelines/runner/fan-out.js";
import { identifyRun } from "../../pipelines/runner/identify.js";
import { readOutputDoc } from "../../pipelines/runner/run.js";
import { bucketOption, emit, integerOption, openBucket } from "../io.js";
import { runFromCli } from "../runner.js";
import type { Wrap } from "./index.js";

interface StepOptions {
  bucket?: string;
  run?: string;
  trigger?: string;
  shard?: string;
  planShards?: string;
  planShardCount?: string;
  asOf?: string;
}

/**
 * The trigger an engine task names: an object, "" (retrain has none), or
 * `latest` (a CronWorkflow's): the newest upload no later than `asOf`, the
 * workflow's creation time, so every task of one run means the same file.
 */
async function triggerOf(
  storage: Storage,
  pipeline: PipelineDefinition,
  named: string | undefined,
  asOf: string | undefined,
): Promise<string | undefined> {
  if (!named) return undefined;
  if (named !== "latest" || pipeline.trigger.kind !== "object") return named;
  const cutoff = asOf ? Date.parse(asOf) : Number.POSITIVE_INFINITY;
  if (Number.isNaN(cutoff))
    throw new UsageError(`--as-of must be a time such as 2026-12-07T06:00:00Z (got "${asOf}")`);
  const prefix = pipeline.trigger.prefix;
  const [newest] = triggerCandidates(await storage.list(prefix), prefix).filter(
    (c) => c.object.updated.getTime() <= cutoff,
  );
  if (!newest)
    throw new UsageError(`no file under ${storage.uri}/${prefix} was uploaded by ${asOf ?? "now"}`);
  if (newest.refusal) throw new UsageError(newest.refusal.reason);
  return newest.object.name;
}

/** The shard plan of a fanned-out step, once its fanned input exists: the count churn.yaml (or "auto") asks for. */
async function writeShardPlan(
  storage: Storage,
  pipeline: PipelineDefinition,
  stepName: string,
  runId: string,
  options: StepOptions,
): Promise<number> {
  const step = pipeline.steps.find((s) => s.name === stepName);
  if (!step?.fanOut) throw new UsageError(`step ${stepName} of pipeline ${pipeline.name} does not fan out`);
  const source = step.inputs[step.fanOut.input];
  const upstream = source && "step" in source ? await readOutputDoc(storage, runId, source.step) : null;
  const ref = upstream && source && "step" in source ? upstream.outputs[source.output] : undefined;
  const count = shardCount(step, { [step.fanOut.input]: ref ? [ref] : [] }, await loadConfig(storage));
  if (options.planShards) await writeFile(options.planShards, JSON.stringify([...Array(count).keys()]));
  if (options.planShardCount) await writeFile(options.planShardCount, String(count));
  return count;
}

/** `churn pipeline step <pipeline> <step>`: one step of a run, as a task of a compiled pipeline runs it. */
export function registerPipelineStep(pipeline: Command, wrap: Wrap): void {
  pipeline
    .command("step <pipeline> <step>")
    .description(
      "run one step of a run with the runner's own planner (cache, resume, output.json): what each task of `churn pipeline compile` runs",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--run <id>", "the run id the launcher gave (r-<16 hex>), or auto", "auto")
    .option("--trigger <object>", "the triggering object, latest (the newest upload), or empty (retrain)")
    .option(
      "--shard <index>",
      "a fan-out task's shard index (the step runs whole in whichever shard task starts first)",
    )
    .option(
      `${SHARD_PLAN_FLAGS.list} <file>`,
      "write the step's shard indices as a JSON list to this file, and run nothing",
    )
    .option(`${SHARD_PLAN_FLAGS.count} <file>`, "write the step's shard count to this file, and run nothing")
    .option(
      "--as-of <time>",
      "with --trigger latest: ignore uploads after this time (the workflow's creation)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      [
        "",
        "Exit codes as for `churn pipeline run`. A step that already finished exits 0 at once; one that",
        "failed on bad input (2) or without a model (3) returns that code at once, so an engine's retry",
        "never redoes it. The run finishes (run.json, _FAILED, metrics, webhook) with its last step.",
        "",
        "Example:",
        "  churn pipeline step weekly train --bucket gs://b --run r-0123456789abcdef --trigger weekly/2026-W49.csv",
        "",
      ].join("\n"),
    )
    .action(
      wrap<StepOptions>(async (options, ctx, [name, stepName]) => {
        const definition = pipelineByName(name!);
        const storage = await openBucket(options.bucket, ctx);
        const trigger = await triggerOf(storage, definition, options.trigger, options.asOf);
        const identity = await identifyRun(storage, definition, { trigger });
        if (options.run && options.run !== "auto" && options.run !== identity.runId)
          throw new UsageError(
            `--run ${options.run} is not the run of ${trigger ?? "the training data"} (that is ${identity.runId}): the launcher and this step disagree`,
          );
        if (options.shard !== undefined) integerOption(options.shard, "--shard");
        if (options.planShards || options.planShardCount) {
          const shards = await writeShardPlan(storage, definition, stepName!, identity.runId, options);
          emit(ctx, { run_id: identity.runId, step: stepName, shards }, `${stepName}: ${shards} shard(s)`);
          return;
        }
        const { result } = await runFromCli(ctx, {
          bucket: bucketOption(options.bucket, ctx),
          pipeline: definition,
          // The engine runs this task in a pod: the step runs in this process's own executor.
          runner: { runner: "local" },
          trigger,
          only: stepName,
        });
        const own = result.record.steps.find((s) => s.name === stepName);
        const data = {
          run_id: result.record.run_id,
          step: stepName,
          state: own?.state ?? null,
          exit_code: result.exitCode,
          run_state: result.record.state,
        };
        emit(
          ctx,
          data,
          `${stepName}: ${own?.state ?? "?"} (run ${result.record.run_id} ${result.record.state})`,
        );
        return result.exitCode;
      }),
    );
}
