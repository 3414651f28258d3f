import type { Command } from "commander";
import { rollback } from "../../components/common/bundle/index.js";
import { mirrorChampion } from "../../components/common/mlflow/sync.js";
import { compareModels, type ModelComparison } from "../../pipelines/query/compare.js";
import {
  getModel,
  listModels,
  type ModelListing,
  type ModelSummary,
  resolveModelVersion,
} from "../../pipelines/query/index.js";
import { promoteModel } from "../../pipelines/query/promote.js";
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

const f4 = (v: number | null | undefined) =>
  typeof v === "number" && Number.isFinite(v) ? v.toFixed(4) : "-";

/** The side-by-side table `churn models compare` prints. */
export function describeComparison(found: ModelComparison): string {
  const [a, b] = found.models;
  const { comparison: c } = found;
  const width = 24;
  const row = (label: string, left: string, right: string) =>
    `  ${label.padEnd(25)}${left.padEnd(width)}  ${right}`;
  const cv = (m: typeof a) => f4(m.cv_roc_auc?.[m.family]);
  const lines = [
    row("", a.version, b.version),
    row("family", a.family, b.family),
    row("champion", a.champion ? "yes" : "no", b.champion ? "yes" : "no"),
    row("created", a.created.slice(0, 19).replace("T", " "), b.created.slice(0, 19).replace("T", " ")),
    row(
      "training rows",
      a.training_rows?.toLocaleString("en-US") ?? "-",
      b.training_rows?.toLocaleString("en-US") ?? "-",
    ),
    row("recorded ROC-AUC", f4(a.roc_auc), f4(b.roc_auc)),
    row("recorded CV ROC-AUC", cv(a), cv(b)),
    "",
  ];
  if (c.metrics === null) {
    lines.push(`  on the same rows: ${c.too_few}`);
    return lines.join("\n");
  }
  lines.push(
    `  on the same ${c.compared_rows.toLocaleString("en-US")} rows (${c.compared_positives.toLocaleString("en-US")} churned) of ${c.labelled_rows.toLocaleString("en-US")} labelled rows that neither model trained on (${c.rows_source}):`,
  );
  const ma = c.metrics[a.version]!;
  const mb = c.metrics[b.version]!;
  const metric = (label: string, pick: (m: Exclude<typeof ma, { error: string }>) => number) =>
    row(label, "error" in ma ? "-" : f4(pick(ma)), "error" in mb ? "-" : f4(pick(mb)));
  lines.push(
    metric("ROC-AUC", (m) => m.roc_auc),
    metric("PR-AUC", (m) => m.pr_auc),
    metric("Brier (lower is better)", (m) => m.brier),
    metric("lift in top 10%", (m) => m.lift_top_10),
  );
  const drivers = (m: typeof ma) => ("error" in m ? [] : m.drivers.map((d) => d.column));
  const da = drivers(ma);
  const db = drivers(mb);
  for (let i = 0; i < Math.max(da.length, db.length); i++)
    lines.push(row(i === 0 ? "top drivers" : "", `${i + 1}. ${da[i] ?? "-"}`, `${i + 1}. ${db[i] ?? "-"}`));
  for (const [version, m] of [
    [a.version, ma],
    [b.version, mb],
  ] as const)
    if ("error" in m) lines.push(`  ${version}: ${m.error}`);
  return lines.join("\n");
}

/** `churn models list|show|compare|promote|rollback`: the bundles and the champion pointer. */
export function registerModels(program: Command, wrap: Wrap): void {
  const models = program
    .command("models")
    .description("list, show and compare model bundles and move the champion pointer");

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
    .command("compare <a> <b>")
    .description(
      "two models side by side: recorded metrics, and ROC-AUC, PR-AUC, Brier, top-10% lift and top 5 drivers " +
        "of both on the same labelled rows neither model trained on",
    )
    .option(...BUCKET_FLAG)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nThe rows are the labelled training rows of the newest run (ingest-history's output), restricted to\n" +
        "customers in neither model's trained-id set. With fewer than 200 such rows or 30 churned among them\n" +
        "no metrics are printed, only how many rows remain.\n" +
        "\nExample:\n  churn models compare 3f2a9c 4105a4 --bucket ./demo-bucket   # unique prefixes are enough\n",
    )
    .action(
      wrap<BucketOptions>(async (options, ctx, [left, right]) => {
        const storage = await openBucket(options.bucket, ctx);
        const a = await resolveModelVersion(storage, left!);
        const b = await resolveModelVersion(storage, right!);
        const found = await compareModels(storage, a, b);
        emit(ctx, found, () => describeComparison(found));
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
