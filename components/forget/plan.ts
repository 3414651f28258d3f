import { parseLease } from "../common/documents/lease.js";
import { TransientError } from "../common/errors.js";
import { isLeaseObject } from "../common/layout/index.js";
import type { ObjectInfo, Storage } from "../common/storage/types.js";
import { skipped } from "./kinds.js";

/** What one forget will go through, decided before anything is rewritten. */
export interface ForgetPlan {
  /** Every object of the bucket at the start (manifests are refreshed from it). */
  all: ObjectInfo[];
  /** The objects to scan (not forget records, the config or leases). */
  candidates: ObjectInfo[];
  /**
   * The data pass's order: oldest upload first, so rewritten weekly files
   * keep their relative order of updates.
   */
  oldestFirst: ObjectInfo[];
  /** Local buckets: temp files of interrupted writes deleted (or, in a dry run, that would be). */
  orphans: number;
}

/** When a lease expires (epoch ms); 0 for one that cannot be read (it cannot hold anything back). */
async function leaseExpiry(storage: Storage, name: string): Promise<number> {
  try {
    return parseLease(await storage.readText(name), name).expires;
  } catch {
    return 0;
  }
}

/** Refuse while a pipeline run holds a live lease: it could write the customers back after the scan. */
export async function assertNoRunInProgress(
  storage: Storage,
  objects: readonly ObjectInfo[],
  now: number,
): Promise<void> {
  for (const o of objects.filter((x) => isLeaseObject(x.name))) {
    const expires = await leaseExpiry(storage, o.name);
    if (expires > now) {
      throw new TransientError(
        `${storage.uri}/${o.name}: a pipeline run is in progress (lease held until ${new Date(expires).toISOString()}); wait for it to finish, then run churn forget again`,
      );
    }
  }
}

/**
 * List the bucket, refuse during a run, delete temp files of interrupted
 * writes (a write killed half way leaves a temp file no listing shows, and
 * it may hold any object's rows), and order the objects to scan.
 */
export async function planForget(
  storage: Storage,
  options: { dryRun: boolean; now: number },
): Promise<ForgetPlan> {
  const all = await storage.list("");
  await assertNoRunInProgress(storage, all, options.now);
  const orphans = storage.purgeOrphans ? await storage.purgeOrphans({ dryRun: options.dryRun }) : 0;
  const candidates = all.filter((o) => !skipped(o.name));
  const oldestFirst = [...candidates].sort((a, b) => a.updated.getTime() - b.updated.getTime());
  return { all, candidates, oldestFirst, orphans };
}
