import type { Command } from "commander";
import { rollback } from "../../components/common/bundle/index.js";
import { mirrorChampion } from "../../components/common/mlflow/sync.js";
import {
  getModel,
  listModels,
  type ModelListing,
  type ModelSummary,
  promoteModel,
  resolveModelVersion,
} from "../../pipelines/query/index.js";
import { emit, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface BucketOptions {
  bucket?: string;
}
interface ChangeOptions extends BucketOptions {
  reason?: string;
  force?: boolean;
}

const BUCKET_FLAG = [
  "--bucket <uri>",
  "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)",
] as const;

/** The lines `churn models list` prints: * marks the champion, ! a damaged bundle with its reason. */
export function describeModels(listing: ModelListing): string {
  const { models, problems } = listing;
  if (models.length === 0 && problems.length === 0)
    return "no models yet: run `churn train` or `churn pipeline run`";
  const lines = models.map(
    (r) =>
      `${r.champion ? "*" : " "} ${r.version}  ${r.family.padEnd(8)}  ROC-AUC ${r.roc_auc.toFixed(4)}  ${r.created}`,
  );
  for (const p of problems) lines.push(`! ${p.version}  damaged: ${p.error}`);
  return ["  version           family    metric          created", ...lines].join("\n");
}

/** The lines `churn models show` prints. */
export function describeModel(model: ModelSummary): string {
  const cv = model.cv_roc_auc
    ? Object.entries(model.cv_roc_auc)
        .map(([family, auc]) => `${family} ${auc.toFixed(4)}`)
        .join(", ")
    : "-";
  return [
    `model ${model.version}${model.champion ? "  (champion)" : ""}`,
    `  family          ${model.family}`,
    `  ROC-AUC         ${model.roc_auc.toFixed(4)} held out; cross-validated: ${cv}`,
    `  tiers           high from ${model.tiers.high.toFixed(4)}, medium from ${model.tiers.medium.toFixed(4)}`,
    `  training rows   ${model.training_rows?.toLocaleString("en-US") ?? "-"}`,
    `  created         ${model.created}`,
    `  gate            ${model.decision ?? "no decision recorded"}`,
  ].join("\n");
}

/** `churn models list|show|promote|rollback`: the bundles and the champion pointer. */
export function registerModels(program: Command, wrap: Wrap): void {
  const models = program.command("models").description("list model bundles and move the champion pointer");

  models
    .command("list")
    .description(
      "list every complete model bundle with its metrics; * marks the champion, ! a damaged bundle",
    )
    .option(...BUCKET_FLAG)
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  churn models list --bucket ./demo-bucket\n")
    .action(
      wrap<BucketOptions>(async (options, ctx) => {
        const storage = await openBucket(options.bucket, ctx);
        // The query library the console uses too: a damaged bundle is listed with its reason, not fatal.
        const listing = await listModels(storage);
        emit(ctx, listing, () => describeModels(listing));
      }),
    );

  models
    .command("show <version>")
    .description(
      "one model: family, held-out and cross-validated ROC-AUC, tiers, training rows and the gate's decision",
    )
    .option(...BUCKET_FLAG)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  churn models show 3f2a9c --bucket ./demo-bucket   # a unique prefix is enough\n",
    )
    .action(
      wrap<BucketOptions>(async (options, ctx, [text]) => {
        const storage = await openBucket(options.bucket, ctx);
        const found = await getModel(storage, await resolveModelVersion(storage, text!));
        emit(ctx, found, () => describeModel(found.model));
      }),
    );

  models
    .command("promote <version>")
    .description(
      "make a model bundle the champion (the live model); a unique prefix of the version is enough",
    )
    .option(...BUCKET_FLAG)
    .option("--reason <text>", "why, kept in the pointer's history", "promoted by hand")
    .option("--force", "promote a model the quality gate refused")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  churn models promote 3f2a9c0d1b4e5f67 --bucket ./demo-bucket --reason 'better on Q3'\n",
    )
    .action(
      wrap<ChangeOptions>(async (options, ctx, [version]) => {
        const storage = await openBucket(options.bucket, ctx);
        const resolved = await resolveModelVersion(storage, version!);
        // The gate rule is shared with the console's promote route (promoteModel).
        const pointer = await promoteModel(storage, resolved, {
          reason: options.reason ?? "promoted by hand",
          force: options.force,
          forceHint: "Pass --force",
        });
        const { mlflow } = pointer;
        emit(
          ctx,
          pointer,
          `champion is now ${pointer.version} (was ${pointer.previous[0] ?? "none"})${mlflow ? `\n${mlflow}` : ""}`,
        );
      }),
    );

  models
    .command("rollback")
    .description("make the previous champion live again")
    .option(...BUCKET_FLAG)
    .option("--reason <text>", "why, kept in the pointer's history", "rolled back by hand")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  churn models rollback --bucket ./demo-bucket\n")
    .action(
      wrap<ChangeOptions>(async (options, ctx) => {
        const storage = await openBucket(options.bucket, ctx);
        const pointer = await rollback(storage, options.reason ?? "rolled back by hand");
        const mlflow = await mirrorChampion(storage);
        emit(
          ctx,
          mlflow ? { ...pointer, mlflow } : pointer,
          `champion is now ${pointer.version}${mlflow ? `\n${mlflow}` : ""}`,
        );
      }),
    );
}
