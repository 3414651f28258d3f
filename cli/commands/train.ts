import type { Command } from "commander";
import { evaluateComponent } from "../../components/evaluate/spec.js";
import { promoteComponent } from "../../components/promote/spec.js";
import { trainComponent } from "../../components/train/spec.js";
import { retrainPipeline } from "../../pipelines/definitions/weekly.js";
import { bucketOption, type CommandContext, emit, notice } from "../io.js";
import { addRunnerOptions, type RunnerFlags, runFromCli, runnerChoice, stepSummary } from "../runner.js";
import type { Wrap } from "./index.js";

interface TrainOptions extends RunnerFlags {
  bucket?: string;
  force?: boolean;
  cache?: boolean;
}

/**
 * `--runner in-process` was churn train's own runner before train became the
 * retrain pipeline; it stays one release as an alias of local, with a notice.
 */
function withoutDeprecatedRunner(options: TrainOptions, ctx: CommandContext): TrainOptions {
  if (options.runner !== "in-process") return options;
  notice(
    ctx,
    "--runner in-process is deprecated and now runs as --runner local; it will be removed in the next release",
  );
  return { ...options, runner: "local" };
}

/** `churn train`: the retrain pipeline (ingest-history, feature, train, evaluate, promote) with a summary. */
export function registerTrain(program: Command, wrap: Wrap): void {
  addRunnerOptions(
    program
      .command("train")
      .description(
        "train on input/ (cross-validated logistic, GBDT, MLP), evaluate, and promote if the gate passes",
      )
      .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)"),
  )
    .option("--force", "start a new attempt even if this training data was already processed")
    .option("--no-cache", "recompute every step")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn train --bucket ./demo-bucket\n  churn train --bucket gs://acme-churn --json\n  churn train --bucket gs://acme-churn --runner kubernetes --namespace churn\n",
    )
    .action(
      wrap<TrainOptions>(async (options, ctx) => {
        const runner = runnerChoice(withoutDeprecatedRunner(options, ctx));
        const { storage, result } = await runFromCli(ctx, {
          bucket: bucketOption(options.bucket, ctx),
          pipeline: retrainPipeline,
          runner,
          force: options.force,
          noCache: options.cache === false,
        });
        const run = result.record.run_id;
        const train = await stepSummary(storage, run, "train", trainComponent);
        const evaluate = await stepSummary(storage, run, "evaluate", evaluateComponent);
        const promote = await stepSummary(storage, run, "promote", promoteComponent);
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
          for (const c of train?.candidates ?? [])
            lines.push(
              `${c.family === train?.selected ? "*" : " "} ${c.family.padEnd(8)} cross-validated ROC-AUC ${c.cvRocAuc.toFixed(4)} (${c.seconds.toFixed(1)} s)`,
            );
          if (evaluate?.roc_auc != null) lines.push(`held-out ROC-AUC ${evaluate.roc_auc.toFixed(4)}`);
          // The decision as this run says it (decisionLine), not the stored, maybe cached, sentence.
          if (promote) lines.push(promote.decision?.text ?? promote.reason);
          else if (result.record.reason) lines.push(`run ${run} failed: ${result.record.reason}`);
          if (promote?.champion) lines.push(`champion: ${promote.champion}`);
          return lines.join("\n");
        });
        return result.exitCode;
      }),
    );
}
