import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/index.js";
import { envValue } from "../../components/common/environment.js";
import { ChurnError, messageOf, NotFoundError, UsageError } from "../../components/common/errors.js";
import { CACHE_PREFIX, CONFIG_OBJECT } from "../../components/common/layout/index.js";
import {
  ForgetIds,
  type ForgetRecord,
  forgetCustomers,
  recordObject,
} from "../../components/forget/index.js";
import { emit, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface ForgetFlags {
  bucket?: string;
  customerId?: string[];
  idsFile?: string[];
  dryRun?: boolean;
}

/** Ids from a local file: one per line; blank lines and lines starting with # are skipped. */
export function parseIdsFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function collectValues(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function describe(record: ForgetRecord, object: string | null): string {
  const dry = record.dry_run;
  const lines = [
    `${dry ? "dry run: " : ""}${record.ids.length} customer id(s), ${record.objects_scanned} object(s) and ${record.versions_scanned} noncurrent version(s) scanned`,
  ];
  let refsOnly = 0;
  let cacheEntries = 0;
  for (const change of record.objects) {
    if (change.action === "deleted" && change.object.startsWith(CACHE_PREFIX)) {
      cacheEntries++;
      continue;
    }
    if (change.rows_removed + change.redacted === 0) {
      refsOnly++;
      continue;
    }
    const parts: string[] = [];
    if (change.rows_removed > 0) parts.push(`${change.rows_removed} row(s)`);
    if (change.redacted > 0) parts.push(`${change.redacted} mention(s) redacted`);
    if (change.versions_deleted > 0) parts.push(`${change.versions_deleted} old version(s)`);
    lines.push(
      `  ${change.action === "deleted" ? "deleted  " : "rewritten"} ${change.object}  ${parts.join(", ")}`,
    );
  }
  for (const v of record.noncurrent_versions)
    lines.push(`  deleted   ${v.object}#${v.generation} (old version)`);
  if (cacheEntries > 0)
    lines.push(
      `  ${cacheEntries} cached step result(s) computed from those rows ${dry ? "to delete" : "deleted"} (the next run recomputes them)`,
    );
  if (record.orphaned_temp_files_deleted > 0)
    lines.push(
      `  ${record.orphaned_temp_files_deleted} temp file(s) of interrupted writes ${dry ? "to delete" : "deleted"}`,
    );
  if (refsOnly > 0)
    lines.push(`  ${refsOnly} run record(s) now point at the rewritten objects by their new content hash`);
  const t = record.totals;
  lines.push(
    dry
      ? `would remove ${t.rows_removed} row(s): ${t.objects_rewritten} object(s) to rewrite, ${t.objects_deleted} to delete, ${t.versions_deleted} old version(s) to delete`
      : `removed ${t.rows_removed} row(s): ${t.objects_rewritten} object(s) rewritten, ${t.objects_deleted} deleted, ${t.versions_deleted} old version(s) deleted`,
  );
  if (record.ids_not_found.length > 0)
    lines.push(`${record.ids_not_found.length} id(s) were found nowhere (already forgotten, or a typo?)`);
  if (object) lines.push(`record: ${object}`);
  return lines.join("\n");
}

/** `churn forget`: remove customers from every object and version in the bucket (right to erasure). */
export function registerForget(program: Command, wrap: Wrap): void {
  program
    .command("forget")
    .description(
      "remove customers from every input, label, weekly, output and intermediate object in the bucket (gzip and Arrow included, old versions too) and record what was removed, without the ids in clear",
    )
    .option("--bucket <uri>", "the bucket (default: $CHURN_BUCKET)")
    .option("--customer-id <id>", "a customer id to forget (repeat for more)", collectValues)
    .option(
      "--ids-file <path>",
      "a local file with one id per line (# comments allowed; repeatable)",
      collectValues,
    )
    .option("--dry-run", "report what would change, write nothing")
    .option("--json", "print the record as one JSON document")
    .addHelpText(
      "after",
      "\nExamples:\n  churn forget --bucket ./demo-bucket --customer-id 768805383 --dry-run\n  churn forget --bucket gs://acme-churn --ids-file erasure-requests.txt\n\nSet CHURN_FORGET_KEY to hash the ids in the record with HMAC under a key you keep\n(otherwise: sha256 with a random salt stored in the record).\n",
    )
    .action(
      wrap<ForgetFlags>(async (flags, ctx) => {
        const given = [...(flags.customerId ?? [])];
        for (const file of flags.idsFile ?? []) {
          const path = resolve(ctx.cwd, file);
          const text = await readFile(path, "utf8").catch((error) => {
            throw new NotFoundError(`--ids-file ${file} cannot be read: ${messageOf(error)}`);
          });
          given.push(...parseIdsFile(text));
        }
        if (given.length === 0)
          throw new UsageError(
            "no customer id to forget: pass --customer-id ID (repeatable) or --ids-file FILE",
          );
        const ids = new ForgetIds(given);
        const storage = await openBucket(flags.bucket, ctx);
        const config = await loadConfig(storage);
        if (config.generate_id) {
          throw new UsageError(
            `${storage.uri}/${CONFIG_OBJECT} sets generate_id: ids there are row numbers within each file, not customer identities, so there is nothing to forget by; remove the customers' rows from the uploaded files and rerun the pipeline with --no-cache`,
          );
        }
        const idColumns = [config.id_column, config.transactions.customer_column].filter(
          (c): c is string => typeof c === "string",
        );
        const logger = ctx.logger.child({ command: "forget" });
        const record = await forgetCustomers(storage, {
          ids,
          idRule: { idColumns, firstColumnIsId: false },
          dryRun: flags.dryRun ?? false,
          hashKey: envValue(ctx.env, "CHURN_FORGET_KEY"),
          progress: (line) => logger.info(`forget: ${line}`),
        });
        const object = record.dry_run ? null : recordObject(new Date(record.created_at));
        const result = { ...record, record: object };
        const partial = record.unhandled.length > 0;
        // --json prints one document: a partial forget's is the error document, the record in its details.
        if (!(partial && ctx.json)) emit(ctx, result, () => describe(record, object));
        if (partial) {
          const list = record.unhandled.map((u) => `${u.object} (${u.reason})`).join("; ");
          throw new ChurnError(
            `${record.unhandled.length} object(s) still mention a forgotten id and were left as they are: ${list}`,
            { details: result },
          );
        }
        return 0;
      }),
    );
}
