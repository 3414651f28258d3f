import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { ObjectInfo, Storage, WriteOptions } from "../common/storage/types.js";
import { isGzipName } from "../common/storage/uri.js";
import type { ObjectKind } from "./kinds.js";
import type { ForgetLedger, PlannedChange } from "./ledger.js";
import { gzipped, Hashed, type PassResult } from "./stream.js";

/**
 * Writing a rewritten object back in its own format (gzip kept), only over
 * the generation that was read, and noting it in the ledger. In a dry run
 * nothing is written and the change is noted with no generation after.
 */

/** What the writes of forget need. */
export interface PublishTarget {
  storage: Storage;
  ledger: ForgetLedger;
}

/** Only over the generation that was read: a concurrent writer makes us read again (ConflictError). */
export function writeOptionsFor(info: ObjectInfo): WriteOptions {
  return { gzip: false, metadata: info.metadata, ifGenerationMatch: info.generation };
}

/** The change of rewriting an object, before its counts. */
export function rewriteOf(
  info: ObjectInfo,
  kind: ObjectKind,
  rowsRemoved: number,
  redacted: number,
): PlannedChange {
  return {
    object: info.name,
    kind,
    gzip: isGzipName(info.name),
    action: "rewritten",
    rows_removed: rowsRemoved,
    redacted,
    versions_deleted: 0,
    generation_before: info.generation,
  };
}

/** Write a rewritten object (whole, decoded bytes) in its own format. */
export async function publishWhole(
  target: PublishTarget,
  info: ObjectInfo,
  decoded: Buffer,
  change: PlannedChange,
): Promise<void> {
  const { storage, ledger } = target;
  const stored = isGzipName(info.name) ? gzipSync(decoded) : decoded;
  let generationAfter: string | null = null;
  if (!ledger.dryRun) {
    const written = await storage.write(info.name, stored, writeOptionsFor(info));
    generationAfter = written.generation;
    const sha256 = createHash("sha256").update(stored).digest("hex");
    ledger.noteRef(info.name, { sha256, size: stored.length, generation: written.generation });
  }
  ledger.noteRewrite(info, change, generationAfter);
}

/**
 * Write a rewritten object from a stream of decoded bytes, gzipping and
 * hashing on the way. `rowsRemoved` is the counting pass's figure; a CSV
 * pass that writes reports its own (the same rows, counted again).
 */
export async function publishStreamed(
  target: PublishTarget,
  info: ObjectInfo,
  kind: "csv" | "arrow",
  rowsRemoved: number,
  produce: (result: PassResult) => AsyncIterable<Uint8Array>,
): Promise<void> {
  const { storage, ledger } = target;
  let generationAfter: string | null = null;
  let removed = rowsRemoved;
  if (!ledger.dryRun) {
    const result: PassResult = { rowsRemoved: 0, rowsKept: 0, found: new Set() };
    const decoded = produce(result);
    const stored = new Hashed(isGzipName(info.name) ? gzipped(decoded) : decoded);
    const written = await storage.write(info.name, stored, writeOptionsFor(info));
    generationAfter = written.generation;
    ledger.noteRef(info.name, { sha256: stored.digest(), size: stored.size, generation: written.generation });
    if (kind === "csv") removed = result.rowsRemoved;
  }
  ledger.noteRewrite(info, rewriteOf(info, kind, removed, 0), generationAfter);
}
