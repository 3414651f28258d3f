import type { Command } from "commander";
import { UsageError } from "../../components/common/errors.js";
import { openStorage } from "../../components/common/storage/index.js";
import {
  DEFAULT_ROWS,
  DEFAULT_SEED,
  DEFAULT_WEEKLY_ROWS,
  type InitResult,
  initExampleBucket,
  MIN_ROWS,
} from "../../components/example-bucket/index.js";
import { type SimulatedLabels, simulateLabels } from "../../components/example-bucket/labels.js";
import { bucketOption, type CommandContext, emit } from "../io.js";
import type { Wrap } from "./index.js";

interface InitFlags {
  bucket?: string;
  rows?: string;
  seed?: string;
  weeklyRows?: string;
  force?: boolean;
  labelsFor?: string;
  campaignEffect?: string;
}

/** A share flag such as --campaign-effect 0.3 (also `30%`). */
function share(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const cleaned = text.trim();
  const value = cleaned.endsWith("%") ? Number(cleaned.slice(0, -1)) / 100 : Number(cleaned);
  if (cleaned === "" || !(value >= 0 && value <= 1))
    throw new UsageError(`${flag} must be a share between 0 and 1 (e.g. 0.3 or 30%), got "${text}"`);
  return value;
}

function labelsSummary(result: SimulatedLabels, bucket: string): string {
  const rate = (g: { customers: number; churned: number }) =>
    g.customers ? `${((100 * g.churned) / g.customers).toFixed(1)}%` : "n/a";
  return [
    `Outcomes written to ${bucket}/${result.labels_object}: ${result.rows.toLocaleString("en-US")} customers, ${result.churned.toLocaleString("en-US")} churned.`,
    `Simulated campaign (from ${result.contact_list_object}): contacted customers' churn probability cut by ${Math.round(result.effect * 100)}%.`,
    `  contacted: ${result.contact.customers.toLocaleString("en-US")} customers, ${rate(result.contact)} churned`,
    `  control:   ${result.control.customers.toLocaleString("en-US")} customers, ${rate(result.control)} churned`,
    `  true reduction: ${(result.true_absolute_reduction * 100).toFixed(1)} points of churn (${Math.round(result.true_relative_reduction * 100)}% relative)`,
    "",
    'The next weekly run measures it (report.html "Did the calls work?", summary.json campaign_effect).',
  ].join("\n");
}

/** Below this many rows in total, progress would only flicker. */
const PROGRESS_MIN_ROWS = 200_000;

/** Parse a whole-number flag; accepts `1_000_000` and `1e6` for readability. */
function wholeNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const cleaned = text.trim().replace(/_/g, "");
  const value = cleaned === "" ? Number.NaN : Number(cleaned);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${flag} must be a whole number, got "${text}"`);
  return value;
}

function quoteArg(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function size(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1_000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(2)} GB`;
}

/**
 * Progress for big runs: a one-line display on a terminal; otherwise a
 * structured log line per tenth of each file (what a Job's log collector wants).
 */
function progressReporter(ctx: CommandContext, totalRows: number) {
  if (totalRows < PROGRESS_MIN_ROWS) return { update: undefined, done: () => {} };
  const tty = Boolean((ctx.stderr as { isTTY?: boolean }).isTTY);
  if (!tty) {
    let lastTenth = -1;
    let lastObject = "";
    return {
      update: (p: { object: string; rowsDone: number; rowsTotal: number }) => {
        const tenth = Math.floor((10 * p.rowsDone) / Math.max(1, p.rowsTotal));
        if (p.object === lastObject && tenth === lastTenth) return;
        lastObject = p.object;
        lastTenth = tenth;
        ctx.logger.info("writing example rows", {
          object: p.object,
          rows_done: p.rowsDone,
          rows_total: p.rowsTotal,
        });
      },
      done: () => {},
    };
  }
  let last = 0;
  return {
    update: (p: { object: string; rowsDone: number; rowsTotal: number }) => {
      const now = Date.now();
      if (now - last < 200 && p.rowsDone < p.rowsTotal) return;
      last = now;
      const percent = Math.floor((100 * p.rowsDone) / p.rowsTotal);
      ctx.stderr.write(
        `\r${p.object}  ${String(percent).padStart(3)}%  ${p.rowsDone.toLocaleString("en-US")} / ${p.rowsTotal.toLocaleString("en-US")} rows\u001b[K`,
      );
    },
    done: () => ctx.stderr.write("\r\u001b[K"),
  };
}

function humanSummary(result: InitResult, next: string[]): string {
  const lines = [`Example bucket written to ${result.bucket} (seed ${result.seed}):`];
  const width = Math.max(...result.objects.map((o) => o.name.length));
  for (const object of result.objects) {
    let what: string;
    if (object.rows === undefined) what = "config: id CLIENTNUM, label Attrition_Flag";
    else if (object.customers !== undefined)
      what = `${object.rows.toLocaleString("en-US")} purchases of ${object.customers.toLocaleString("en-US")} customers (for the lifetime pipeline)`;
    else if (object.churned !== undefined) {
      const rate = ((100 * object.churned) / Math.max(1, object.rows)).toFixed(1);
      what = `${object.rows.toLocaleString("en-US")} labelled customers, ${object.churned.toLocaleString("en-US")} churned (${rate}%)`;
    } else what = `${object.rows.toLocaleString("en-US")} customers to score (no label)`;
    lines.push(`  ${object.name.padEnd(width)}  ${what}, ${size(object.bytes)}`);
  }
  lines.push(
    "",
    "Next, train a model and score this week's file (the whole weekly run):",
    `  ${next[0]}`,
    "and try the lifetime pipeline on the purchase log:",
    `  ${next[1]}`,
  );
  return lines.join("\n");
}

/** `churn init`: write an example bucket (config, labelled history, a weekly file). */
export function registerInit(program: Command, wrap: Wrap): void {
  program
    .command("init")
    .description(
      "write an example bucket: a commented churn.yaml, a labelled input/history.csv and a weekly file to score " +
        "(synthetic bank customers shaped like the BankChurners data set; deterministic for a seed)",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--rows <n>", `labelled history rows (at least ${MIN_ROWS})`, String(DEFAULT_ROWS))
    .option("--weekly-rows <n>", "rows in the weekly file to score", String(DEFAULT_WEEKLY_ROWS))
    .option("--seed <n>", "random seed: the same arguments always write the same bytes", String(DEFAULT_SEED))
    .option("--force", "overwrite an existing churn.yaml and example files (or labels file)")
    .option(
      "--labels-for <weekly>",
      "instead of a bucket, write labels/<stem>.csv for a scored example week (weekly/<stem>.csv): outcomes drawn from the generator's churn model, with the campaign effect applied to the contacted customers of its published contact-list.csv",
    )
    .option(
      "--campaign-effect <share>",
      "with --labels-for: cut contacted customers' churn probability by this share (0.3 = 30%; default 0, no effect)",
    )
    .option("--json", "print one JSON document")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  churn init --bucket ./demo-bucket\n" +
        "  churn init --bucket ./big-bucket --rows 1_000_000 --weekly-rows 100_000 --seed 7 --force\n" +
        "  churn init --bucket ./demo-bucket --labels-for weekly/2026-W48.csv --campaign-effect 0.3\n",
    )
    .action(
      wrap<InitFlags>(async (flags, ctx) => {
        const bucket = bucketOption(flags.bucket, ctx);
        if (flags.campaignEffect !== undefined && flags.labelsFor === undefined)
          throw new UsageError(
            "--campaign-effect needs --labels-for weekly/<stem>.csv (the week whose outcomes to write)",
          );
        if (flags.labelsFor !== undefined) {
          const storage = await openStorage(bucket, ctx.cwd);
          const result = await simulateLabels(storage, {
            weekly: flags.labelsFor,
            effect: share("--campaign-effect", flags.campaignEffect),
            seed: wholeNumber("--seed", flags.seed, DEFAULT_SEED),
            force: Boolean(flags.force),
          });
          emit(ctx, { ok: true, bucket: storage.uri, ...result }, () => labelsSummary(result, storage.uri));
          return;
        }
        const rows = wholeNumber("--rows", flags.rows, DEFAULT_ROWS);
        const weeklyRows = wholeNumber("--weekly-rows", flags.weeklyRows, DEFAULT_WEEKLY_ROWS);
        const seed = wholeNumber("--seed", flags.seed, DEFAULT_SEED);
        const storage = await openStorage(bucket, ctx.cwd);
        const progress = progressReporter(ctx, rows + weeklyRows);
        let result: InitResult;
        try {
          result = await initExampleBucket(storage, {
            rows,
            weeklyRows,
            seed,
            force: Boolean(flags.force),
            onProgress: progress.update,
          });
        } finally {
          progress.done();
        }
        // The next steps: the weekly run on the example week, and the lifetime pipeline on the purchase log.
        const next = [
          `churn pipeline run --bucket ${quoteArg(bucket)}`,
          `churn pipeline run lifetime --bucket ${quoteArg(bucket)} --transactions ${result.transactionsObject}`,
        ];
        const document = {
          ok: true,
          bucket: result.bucket,
          seed: result.seed,
          objects: result.objects,
          churn_rate: result.churnRate,
          weekly_object: result.weeklyObject,
          transactions_object: result.transactionsObject,
          next,
        };
        emit(ctx, document, () => humanSummary(result, next));
      }),
    );
}
