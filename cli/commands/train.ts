import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/index.js";
import { UsageError } from "../../components/common/errors.js";
import { openStorage } from "../../components/common/storage/index.js";
import type { Storage } from "../../components/common/storage/types.js";
import { retrainPipeline } from "../../pipelines/definitions/weekly.js";
import { InProcessExecutor, LocalProcessExecutor } from "../../pipelines/runner/executor.js";
import { runPipeline } from "../../pipelines/runner/run.js";
import { bucketOption, emit } from "../io.js";
import type { Wrap } from "./index.js";

interface TrainOptions {
  bucket?: string;
  runner?: string;
  force?: boolean;
  cache?: boolean;
}

async function stepSummary(
  storage: Storage,
  run: string,
  step: string,
): Promise<Record<string, unknown> | null> {
  const name = `runs/${run}/steps/${step}/output.json`;
  if (!(await storage.stat(name))) return null;
  const doc = JSON.parse(await storage.readText(name)) as { summary?: Record<string, unknown> };
  return doc.summary ?? null;
}

/** `churn train`: the retrain pipeline (ingest-history, feature, train, evaluate, promote) with a summary. */
export function registerTrain(program: Command, wrap: Wrap): void {
  program
    .command("train")
    .description(
      "train on input/ (cross-validated logistic, GBDT, MLP), evaluate, and promote if the gate passes",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--runner <runner>", "local (child processes, as Jobs run) or in-process", "local")
    .option("--force", "start a new attempt even if this training data was already processed")
    .option("--no-cache", "recompute every step")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn train --bucket ./demo-bucket\n  churn train --bucket gs://acme-churn --json\n",
    )
    .action(
      wrap<TrainOptions>(async (options, ctx) => {
        if (options.runner !== "local" && options.runner !== "in-process")
          throw new UsageError(`--runner ${options.runner} is not available: use local or in-process`);
        const storage = await openStorage(bucketOption(options.bucket, ctx), ctx.cwd);
        const config = await loadConfig(storage);
        const executor =
          options.runner === "local"
            ? new LocalProcessExecutor(storage.uri, ctx.env)
            : new InProcessExecutor(storage);
        const result = await runPipeline({
          storage,
          pipeline: retrainPipeline,
          executor,
          force: options.force,
          noCache: options.cache === false,
          logger: ctx.logger,
          webhookUrl: config.notify.webhook_url,
          env: ctx.env,
          onEvent: (event) => {
            if (ctx.json || event.type !== "step" || event.state === "running" || event.state === "pending")
              return;
            ctx.stderr.write(`  ${event.state === "failed" ? "✗" : "✓"} ${event.step} (${event.state})\n`);
          },
        });
        const run = result.record.run_id;
        const train = await stepSummary(storage, run, "train");
        const evaluate = await stepSummary(storage, run, "evaluate");
        const promote = await stepSummary(storage, run, "promote");
        const data = {
          run_id: run,
          state: result.record.state,
          exitCode: result.exitCode,
          reason: result.record.reason,
          selected: train?.selected ?? null,
          candidates: train?.candidates ?? [],
          evaluation: evaluate,
          promotion: promote,
        };
        emit(ctx, data, () => {
          const lines: string[] = [];
          if (result.reused)
            lines.push(`run ${run} had already processed this training data (use --force to train again)`);
          for (const c of (train?.candidates ?? []) as Array<{
            family: string;
            cvRocAuc: number;
            seconds: number;
          }>)
            lines.push(
              `${c.family === train?.selected ? "*" : " "} ${c.family.padEnd(8)} cross-validated ROC-AUC ${c.cvRocAuc.toFixed(4)} (${c.seconds.toFixed(1)} s)`,
            );
          if (evaluate) lines.push(`held-out ROC-AUC ${Number(evaluate.roc_auc).toFixed(4)}`);
          if (promote) lines.push(String(promote.reason));
          else if (result.record.reason) lines.push(`run ${run} failed: ${result.record.reason}`);
          if (promote?.champion) lines.push(`champion: ${promote.champion}`);
          return lines.join("\n");
        });
        return result.exitCode;
      }),
    );
}
