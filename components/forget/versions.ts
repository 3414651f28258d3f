import type { Readable } from "node:stream";
import { mapLimit } from "../common/storage/streams.js";
import type { ObjectInfo, Storage } from "../common/storage/types.js";
import type { ForgetContext } from "./context.js";
import { holdsIdsInVersion } from "./holds.js";
import { skipped } from "./kinds.js";

/** The version calls of a versioned bucket (GCS with versioning; the local driver has none). */
export interface VersionedBucket {
  listNoncurrent(prefix: string): Promise<ObjectInfo[]>;
  open(name: string, generation: string): Readable;
  deleteVersion(name: string, generation: string): Promise<void>;
}

/** The bucket's version calls, or null when it keeps no noncurrent versions. */
export function versionedBucket(storage: Storage): VersionedBucket | null {
  const { listNoncurrent, createVersionReadStream, deleteVersion } = storage;
  if (!listNoncurrent || !createVersionReadStream || !deleteVersion) return null;
  return {
    listNoncurrent: listNoncurrent.bind(storage),
    open: createVersionReadStream.bind(storage),
    deleteVersion: deleteVersion.bind(storage),
  };
}

/**
 * Versioned buckets: the old content of every rewritten object is now a
 * noncurrent version (deleted), and older uploads of other objects may hold
 * the customers too (checked, and deleted when they do). Returns how many
 * noncurrent versions were scanned.
 */
export async function forgetNoncurrentVersions(
  ctx: ForgetContext,
  bucket: VersionedBucket,
  options: { concurrency: number; say: (line: string) => void },
): Promise<number> {
  const { ids, idRule, ledger } = ctx;
  const versions = (await bucket.listNoncurrent("")).filter((v) => !skipped(v.name));
  options.say(`checking ${versions.length} noncurrent version(s)`);
  await mapLimit(versions, options.concurrency, async (v) => {
    let holds = ledger.touched.has(v.name);
    if (!holds) {
      const seen = await holdsIdsInVersion(v.name, () => bucket.open(v.name, v.generation), ids, idRule);
      if (seen) ledger.noteFound(seen);
      holds = seen !== null;
    }
    if (!holds) return;
    if (!ledger.dryRun) await bucket.deleteVersion(v.name, v.generation);
    ledger.noteVersionDeleted({ object: v.name, generation: v.generation });
  });
  options.say(
    `${ledger.dryRun ? "would delete" : "deleted"} ${ledger.versionsDeleted()} noncurrent version(s)`,
  );
  return versions.length;
}
