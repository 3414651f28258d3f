import type { Command } from "commander";
import { OUTPUT_FILES } from "../../components/common/layout/index.js";
import { publishComponent } from "../../components/publish/spec.js";
import { withOverrides } from "../../pipelines/definitions/overrides.js";
import { scorePipeline } from "../../pipelines/definitions/score.js";
import { bucketOption, emit } from "../io.js";
import { addRunnerOptions, type RunnerFlags, runFromCli, runnerChoice, stepSummary } from "../runner.js";
import type { Wrap } from "./index.js";
import { describeRun, scoresHead } from "./pipeline.js";

interface ScoreOptions extends RunnerFlags {
  bucket?: string;
  weekly?: string;
  viaServer?: string;
  force?: boolean;
  cache?: boolean;
}

/**
 * `churn score`: the score pipeline (ingest-weekly with the champion's
 * recorded schema, score, merge-scores, report, publish) on one weekly file,
 * publishing output/<stem>/ exactly as the weekly run does.
 */
export function registerScore(program: Command, wrap: Wrap): void {
  addRunnerOptions(
    program
      .command("score")
      .description(
        "score a weekly file with the champion into output/<stem>/ (scores, rejected rows, summary, report), without training",
      )
      .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
      .requiredOption("--weekly <object>", "the weekly file, e.g. weekly/2024-W18.csv")
      .option("--via-server <url>", scorePipeline.overrides.server_url.description),
  )
    .option("--force", "start a new attempt even if this file was already scored (the cache still applies)")
    .option("--no-cache", "recompute every step")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn score --bucket ./demo-bucket --weekly weekly/2026-W48.csv\n  churn score --bucket ./demo-bucket --weekly weekly/2026-W48.csv --via-server http://127.0.0.1:8080 --force\n",
    )
    .action(
      wrap<ScoreOptions>(async (options, ctx) => {
        const runner = runnerChoice(options);
        const { storage, result } = await runFromCli(ctx, {
          bucket: bucketOption(options.bucket, ctx),
          pipeline: withOverrides(scorePipeline, { server_url: options.viaServer }),
          runner,
          trigger: options.weekly,
          force: options.force,
          noCache: options.cache === false,
        });
        const { record } = result;
        const publish = await stepSummary(storage, record.run_id, "publish", publishComponent);
        // What publish wrote, by public name (null when the run did not publish).
        const published = (name: string) =>
          publish?.files.find((f) => f === `${record.output_prefix}${name}`) ?? null;
        // The week's counts are the report's (rows the model server refused count as rejected).
        const counts = record.steps.find((s) => s.name === "report")?.counts;
        const data = {
          run_id: record.run_id,
          state: record.state,
          exit_code: result.exitCode,
          reason: record.reason,
          reused: result.reused,
          weekly: record.trigger?.object ?? options.weekly,
          scores: published(OUTPUT_FILES.scores),
          rejected: published(OUTPUT_FILES.rejected),
          summary: published(OUTPUT_FILES.summary),
          report: published(OUTPUT_FILES.report),
          model_version: publish?.model_version ?? null,
          rows_in: counts?.rows_in ?? null,
          scored: counts?.scored ?? null,
          rejected_rows: counts?.rejected ?? null,
        };
        const head = ctx.json ? "" : await scoresHead(storage, record);
        emit(ctx, data, () => {
          const scored =
            publish && counts
              ? `scored ${data.scored} rows of ${data.weekly} with model ${data.model_version} (${data.rejected_rows} rejected)\n`
              : "";
          return scored + describeRun(record, result.reused) + head;
        });
        return result.exitCode;
      }),
    );
}
