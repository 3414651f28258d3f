import type { Command } from "commander";
import {
  listBundleVersions,
  promote,
  readBundle,
  readChampion,
  rollback,
} from "../../components/common/bundle/index.js";
import { mirrorChampion } from "../../components/common/mlflow/sync.js";
import { openStorage } from "../../components/common/storage/index.js";
import { bucketOption, emit } from "../io.js";
import type { Wrap } from "./index.js";

interface BucketOptions {
  bucket?: string;
}
interface ChangeOptions extends BucketOptions {
  reason?: string;
}

const BUCKET_FLAG = [
  "--bucket <uri>",
  "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)",
] as const;

/** `churn models list|promote|rollback`: the bundles and the champion pointer. */
export function registerModels(program: Command, wrap: Wrap): void {
  const models = program.command("models").description("list model bundles and move the champion pointer");

  models
    .command("list")
    .description("list every complete model bundle with its metrics; * marks the champion")
    .option(...BUCKET_FLAG)
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  churn models list --bucket ./demo-bucket\n")
    .action(
      wrap<BucketOptions>(async (options, ctx) => {
        const storage = await openStorage(bucketOption(options.bucket, ctx), ctx.cwd);
        const champion = await readChampion(storage);
        const rows: Array<{
          version: string;
          family: string;
          roc_auc: number;
          created: string;
          champion: boolean;
        }> = [];
        for (const { version, updated } of await listBundleVersions(storage)) {
          const { bundle } = await readBundle(storage, version);
          rows.push({
            version,
            family: bundle.model.family,
            roc_auc: bundle.metrics.roc_auc,
            created: updated.toISOString(),
            champion: champion?.pointer.version === version,
          });
        }
        emit(ctx, { champion: champion?.pointer ?? null, models: rows }, () => {
          if (rows.length === 0) return "no models yet: run `churn train` or `churn pipeline run`";
          const lines = rows.map(
            (r) =>
              `${r.champion ? "*" : " "} ${r.version}  ${r.family.padEnd(8)}  ROC-AUC ${r.roc_auc.toFixed(4)}  ${r.created}`,
          );
          return ["  version           family    metric          created", ...lines].join("\n");
        });
      }),
    );

  models
    .command("promote <version>")
    .description("make a model bundle the champion (the live model)")
    .option(...BUCKET_FLAG)
    .option("--reason <text>", "why, kept in the pointer's history", "promoted by hand")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  churn models promote 3f2a9c0d1b4e5f67 --bucket ./demo-bucket --reason 'better on Q3'\n",
    )
    .action(
      wrap<ChangeOptions>(async (options, ctx, [version]) => {
        const storage = await openStorage(bucketOption(options.bucket, ctx), ctx.cwd);
        const pointer = await promote(storage, version!, options.reason ?? "promoted by hand");
        const mlflow = await mirrorChampion(storage);
        emit(
          ctx,
          mlflow ? { ...pointer, mlflow } : pointer,
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
        const storage = await openStorage(bucketOption(options.bucket, ctx), ctx.cwd);
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
