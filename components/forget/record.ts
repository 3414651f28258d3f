import { writtenBy } from "../common/layout/index.js";
import type { Storage } from "../common/storage/types.js";
import { type ForgetIds, type IdHashing, idHasher } from "./ids.js";
import { FORGET_PREFIX, type ObjectKind } from "./kinds.js";

/** What forget did (or, in a dry run, would do) to one object. */
export interface ObjectChange {
  object: string;
  kind: ObjectKind;
  gzip: boolean;
  /** `rewritten` without the customers; `deleted` (cache entries pointing at rewritten objects). */
  action: "rewritten" | "deleted";
  /** Rows (CSV, Arrow) or array elements (JSON) removed. */
  rows_removed: number;
  /** Mentions replaced by "[forgotten]" in JSON strings and text. */
  redacted: number;
  /** Noncurrent versions of this object deleted (versioned buckets). */
  versions_deleted: number;
  generation_before: string;
  generation_after: string | null;
}

/** An object that mentions a forgotten id and that forget cannot rewrite (named in the record and the error). */
export interface Unhandled {
  object: string;
  reason: string;
}

/** A noncurrent version deleted whose object was not rewritten now. */
export interface NoncurrentVersion {
  object: string;
  generation: string;
}

/** The forget record `forget/<timestamp>.json`: what was removed, with the ids only as hashes. */
export interface ForgetRecord {
  version: 1;
  created_at: string;
  bucket: string;
  dry_run: boolean;
  id_hashing: IdHashing;
  /** The forgotten ids, hashed (see id_hashing), sorted. */
  ids: string[];
  /** Hashes of ids that no object held (maybe a typo, or already forgotten). */
  ids_not_found: string[];
  objects_scanned: number;
  versions_scanned: number;
  objects: ObjectChange[];
  /** Noncurrent versions deleted whose object was not rewritten now (an older upload held the ids). */
  noncurrent_versions: NoncurrentVersion[];
  unhandled: Unhandled[];
  /** Local buckets: temp files of interrupted writes deleted (they could hold any object's data). */
  orphaned_temp_files_deleted: number;
  totals: {
    rows_removed: number;
    objects_rewritten: number;
    objects_deleted: number;
    versions_deleted: number;
  };
}

/** Everything the record is made of: the outcome of one forget, before hashing and totals. */
export interface ForgetOutcome {
  bucket: string;
  dryRun: boolean;
  createdAt: Date;
  ids: ForgetIds;
  /** HMAC key for the id hashes; without it, a salted sha256. */
  hashKey?: string;
  /** Forgotten ids some object held (latin1 form). */
  found: ReadonlySet<string>;
  objectsScanned: number;
  versionsScanned: number;
  changes: readonly ObjectChange[];
  noncurrent: readonly NoncurrentVersion[];
  unhandled: readonly Unhandled[];
  orphans: number;
}

function byObject<T extends { object: string }>(a: T, b: T): number {
  return a.object < b.object ? -1 : a.object > b.object ? 1 : 0;
}

/** The record of one forget: ids only as hashes, objects sorted by name, totals summed. */
export function buildRecord(outcome: ForgetOutcome): ForgetRecord {
  const { ids, found, changes, noncurrent } = outcome;
  const { hashing, hash } = idHasher(outcome.hashKey);
  const versionsDeleted = changes.reduce((n, c) => n + c.versions_deleted, 0) + noncurrent.length;
  return {
    version: 1,
    created_at: outcome.createdAt.toISOString(),
    bucket: outcome.bucket,
    dry_run: outcome.dryRun,
    id_hashing: hashing,
    ids: ids.values().map(hash).sort(),
    ids_not_found: ids
      .values()
      .filter((id) => !found.has(id))
      .map(hash)
      .sort(),
    objects_scanned: outcome.objectsScanned,
    versions_scanned: outcome.versionsScanned,
    objects: [...changes].sort(byObject),
    noncurrent_versions: [...noncurrent].sort(byObject),
    unhandled: [...outcome.unhandled],
    orphaned_temp_files_deleted: outcome.orphans,
    totals: {
      rows_removed: changes.reduce((n, c) => n + c.rows_removed, 0),
      objects_rewritten: changes.filter((c) => c.action === "rewritten").length,
      objects_deleted: changes.filter((c) => c.action === "deleted").length,
      versions_deleted: versionsDeleted,
    },
  };
}

/** The record's object name for a time: `forget/2026-11-25T18-01-02.123Z.json` (no colons, sortable). */
export function recordObject(at: Date): string {
  return `${FORGET_PREFIX}${at.toISOString().replace(/:/g, "-")}.json`;
}

/** Write the record under forget/; returns its object name. */
export async function writeRecord(storage: Storage, record: ForgetRecord): Promise<string> {
  const name = recordObject(new Date(record.created_at));
  await storage.write(name, `${JSON.stringify(record, null, 2)}\n`, {
    contentType: "application/json",
    metadata: writtenBy("forget"),
  });
  return name;
}
