import { mapLimit } from "../common/storage/streams.js";
import type { Storage } from "../common/storage/types.js";
import type { ForgetContext } from "./context.js";
import type { CsvIdRule } from "./csv.js";
import type { ForgetIds } from "./ids.js";
import { skipped } from "./kinds.js";
import { ForgetLedger } from "./ledger.js";
import { refreshManifests } from "./manifests.js";
import { type ForgetPlan, planForget } from "./plan.js";
import { buildRecord, type ForgetRecord, writeRecord } from "./record.js";
import { forgetInObject } from "./rewrite.js";
import { forgetTrainedIds } from "./trained-ids.js";
import { forgetNoncurrentVersions, versionedBucket } from "./versions.js";

export interface ForgetOptions {
  ids: ForgetIds;
  /** Which CSV columns hold customer ids (labels/ files fall back to their first column). */
  idRule: CsvIdRule;
  dryRun?: boolean;
  /** HMAC key for the record's id hashes (kept by the operator); without it, a salted sha256. */
  hashKey?: string;
  now?: () => Date;
  /** One line per step and per changed object (the CLI prints them on stderr). */
  progress?: (line: string) => void;
  /** Objects processed at once. */
  concurrency?: number;
}

/**
 * The two passes over the objects: data first (CSV, Arrow, text), oldest
 * upload first; then JSON, which may point at rewritten objects by content
 * hash. Records pointing at a JSON object rewritten just now (a run record
 * naming a step summary) get its new hash in one more pass.
 */
async function forgetInObjects(
  ctx: ForgetContext,
  plan: Pick<ForgetPlan, "candidates" | "oldestFirst">,
  concurrency: number,
): Promise<void> {
  await mapLimit(plan.oldestFirst, concurrency, (o) => forgetInObject(ctx, o, "data"));
  await mapLimit(plan.candidates, concurrency, (o) => forgetInObject(ctx, o, "json"));
  if (ctx.ledger.dryRun || !ctx.ledger.rewroteJson()) return;
  const again = (await ctx.storage.list("")).filter((o) => !skipped(o.name));
  await mapLimit(again, concurrency, (o) => forgetInObject(ctx, o, "json"));
}

/**
 * Remove customers from every object of a bucket that can hold them (DESIGN
 * bucket layout: input/, labels/, weekly/, transactions/, output/, runs/
 * intermediates, monitoring files), decoding gzip and Arrow and keeping each
 * object's format; delete the noncurrent versions that held them on a
 * versioned bucket; delete cache entries that point at rewritten
 * intermediates (so no later run is served a result computed from them);
 * remove them from the models' trained-id sets; and write
 * `forget/<timestamp>.json`. A dry run reads everything and writes nothing.
 */
export async function forgetCustomers(storage: Storage, options: ForgetOptions): Promise<ForgetRecord> {
  const { ids, idRule } = options;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? (() => new Date());
  const say = options.progress ?? (() => {});
  const concurrency = options.concurrency ?? 4;

  const plan = await planForget(storage, { dryRun, now: now().getTime() });
  if (plan.orphans > 0)
    say(`${dryRun ? "would delete" : "deleted"} ${plan.orphans} temp file(s) left by interrupted writes`);
  say(
    `scanning ${plan.candidates.length} objects for ${ids.size} customer id(s)${dryRun ? " (dry run)" : ""}`,
  );

  const ledger = new ForgetLedger(ids, dryRun, say);
  const ctx: ForgetContext = { storage, ids, idRule, ledger };
  await forgetInObjects(ctx, plan, concurrency);
  await refreshManifests(storage, plan.all, ledger);
  const bucket = versionedBucket(storage);
  const versionsScanned = bucket ? await forgetNoncurrentVersions(ctx, bucket, { concurrency, say }) : 0;
  await forgetTrainedIds(storage, ids.values(), { dryRun, say });

  const record = buildRecord({
    bucket: storage.uri,
    dryRun,
    createdAt: now(),
    ids,
    hashKey: options.hashKey,
    found: ledger.found,
    objectsScanned: plan.candidates.length,
    versionsScanned,
    changes: ledger.changes,
    noncurrent: ledger.noncurrent,
    unhandled: ledger.unhandled,
    orphans: plan.orphans,
  });
  if (!dryRun) say(`wrote ${await writeRecord(storage, record)}`);
  return record;
}
