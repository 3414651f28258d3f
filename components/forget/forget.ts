import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { looksBinary } from "../common/csv/decode.js";
import { type Manifest, manifestText, parseManifest } from "../common/documents/manifest.js";
import { ConflictError, TransientError } from "../common/errors.js";
import { OUTPUT_FILES } from "../common/layout/index.js";
import { mapLimit } from "../common/storage/streams.js";
import type { ObjectInfo, Storage } from "../common/storage/types.js";
import { isGzipName } from "../common/storage/uri.js";
import { arrowHoldsIds, forgetArrow, looksLikeArrow } from "./arrow.js";
import { type CsvIdRule, forgetCsv } from "./csv.js";
import { type ForgetIds, type IdHashing, idHasher } from "./ids.js";
import { formatLike, jsonHoldsIds, type NewRef, scrubJson } from "./json.js";
import {
  type ArrowScan,
  countArrow,
  countCsv,
  gzipped,
  Hashed,
  keptArrow,
  keptCsv,
  type PassResult,
} from "./stream.js";
import { forgetTrainedIds } from "./trained-ids.js";

/** Where forget records go; never scanned (they hold only hashed ids). */
export const FORGET_PREFIX = "forget/";

export type ObjectKind = "csv" | "arrow" | "json" | "text" | "binary";

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
  noncurrent_versions: Array<{ object: string; generation: string }>;
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

/** What kind of content an object holds, from its name first and its bytes second. */
export function kindOf(name: string, bytes: Uint8Array): ObjectKind {
  const base = (isGzipName(name) ? name.slice(0, -3) : name).toLowerCase();
  if (base.endsWith(".csv") || base.endsWith(".tsv")) return "csv";
  if (base.endsWith(".arrow") || base.endsWith(".arrows") || looksLikeArrow(bytes)) return "arrow";
  if (base.endsWith(".json")) return "json";
  if (looksBinary(bytes)) return "binary";
  const text = Buffer.from(bytes.subarray(0, 1)).toString("latin1");
  if (text === "{" || text === "[") {
    try {
      JSON.parse(Buffer.from(bytes).toString("utf8"));
      return "json";
    } catch {
      // text that merely starts like JSON
    }
  }
  return "text";
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const LEASE = /^runs\/[^/]+\/lease$/;

/** CSV files and Arrow intermediates are streamed (they are the big objects). */
function streamKind(name: string): "csv" | "arrow" | null {
  const base = (isGzipName(name) ? name.slice(0, -3) : name).toLowerCase();
  if (base.endsWith(".csv") || base.endsWith(".tsv")) return "csv";
  if (base.endsWith(".arrow") || base.endsWith(".arrows")) return "arrow";
  return null;
}

/** Objects forget never rewrites: its own records, the config, leases. */
function skipped(name: string): boolean {
  return name.startsWith(FORGET_PREFIX) || name === "churn.yaml" || LEASE.test(name);
}

/**
 * Model objects are content-addressed (the version is a hash of the bundle):
 * rewriting one would break it, so they are only checked, and an id found in
 * one is reported as unhandled.
 */
function checkOnly(name: string): boolean {
  return name.startsWith("models/");
}

/** Refuse while a pipeline run holds a live lease: it could write the customers back after the scan. */
async function assertNoRunInProgress(storage: Storage, objects: ObjectInfo[], now: number): Promise<void> {
  for (const o of objects.filter((x) => LEASE.test(x.name))) {
    let expires = 0;
    try {
      expires = Number((JSON.parse(await storage.readText(o.name)) as { expires?: unknown }).expires) || 0;
    } catch {
      continue;
    }
    if (expires > now) {
      throw new TransientError(
        `${storage.uri}/${o.name}: a pipeline run is in progress (lease held until ${new Date(expires).toISOString()}); wait for it to finish, then run churn forget again`,
      );
    }
  }
}

/** The id rule for one object: labels/<stem>.csv is `id, label`, whatever its header says. */
function ruleFor(name: string, rule: CsvIdRule): CsvIdRule {
  return name.startsWith("labels/") ? { ...rule, firstColumnIsId: true } : rule;
}

/**
 * Does one stored version still hold a forgotten id? CSV and Arrow are
 * streamed; other objects are small and read whole. Returns the ids seen.
 */
async function versionHolds(
  name: string,
  open: () => AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  rule: CsvIdRule,
): Promise<Set<string> | null> {
  const kind = streamKind(name);
  if (kind === "csv") {
    const count = await countCsv(open(), ids, ruleFor(name, rule));
    return count.rowsRemoved > 0 ? count.found : null;
  }
  if (kind === "arrow") {
    try {
      const scan = await countArrow(open(), ids);
      return scan.rowsRemoved > 0 ? scan.found : null;
    } catch {
      // not an ingest intermediate: read it whole below
    }
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of open()) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (!(await holdsIds(name, bytes, ids, rule))) return null;
  const text = bytes.toString("latin1");
  return new Set(ids.mentions(text).map(([a, b]) => text.slice(a, b)));
}

/** Does this content (decoded) still hold a forgotten id? */
async function holdsIds(name: string, bytes: Buffer, ids: ForgetIds, rule: CsvIdRule): Promise<boolean> {
  const kind = kindOf(name, bytes);
  if (kind === "arrow") return arrowHoldsIds(bytes, ids).catch(() => ids.mentioned(bytes.toString("latin1")));
  const text = bytes.toString("latin1");
  if (kind === "csv") return forgetCsv(text, ids, ruleFor(name, rule)).rowsRemoved > 0 || ids.mentioned(text);
  if (kind === "json") return jsonHoldsIds(bytes.toString("utf8"), ids);
  return ids.mentioned(text);
}

interface Pending {
  info: ObjectInfo;
  kind: ObjectKind;
  bytes: Buffer;
}

/**
 * Remove customers from every object of a bucket that can hold them (DESIGN
 * bucket layout: input/, labels/, weekly/, transactions/, output/, runs/
 * intermediates, monitoring files), decoding gzip and Arrow and keeping each
 * object's format; delete the noncurrent versions that held them on a
 * versioned bucket; delete cache entries that point at rewritten
 * intermediates (so no later run is served a result computed from them);
 * and write `forget/<timestamp>.json`. A dry run reads everything and
 * writes nothing.
 */
export async function forgetCustomers(storage: Storage, options: ForgetOptions): Promise<ForgetRecord> {
  const { ids, idRule } = options;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? (() => new Date());
  const say = options.progress ?? (() => {});
  const concurrency = options.concurrency ?? 4;

  const all = await storage.list("");
  await assertNoRunInProgress(storage, all, now().getTime());
  // Local buckets: a write killed half way leaves a temp file no listing shows.
  const orphans = storage.purgeOrphans ? await storage.purgeOrphans({ dryRun }) : 0;
  if (orphans > 0)
    say(`${dryRun ? "would delete" : "deleted"} ${orphans} temp file(s) left by interrupted writes`);
  const candidates = all.filter((o) => !skipped(o.name));
  say(`scanning ${candidates.length} objects for ${ids.size} customer id(s)${dryRun ? " (dry run)" : ""}`);

  const changes: ObjectChange[] = [];
  const unhandled: Unhandled[] = [];
  const refs = new Map<string, NewRef>();
  const found = new Set<string>();
  /** Objects whose old content (now noncurrent) held the customers. */
  const touched = new Set<string>();
  const noteFound = (text: string) => {
    for (const [start, end] of ids.mentions(text)) found.add(text.slice(start, end));
  };

  /** Note a rewritten object in the record and on the progress line. */
  const noteChange = (
    info: ObjectInfo,
    change: Omit<ObjectChange, "generation_after">,
    generationAfter: string | null,
  ) => {
    touched.add(info.name);
    const earlier = changes.find((c) => c.object === info.name);
    if (earlier) {
      // A second pass that only brought references up to date.
      earlier.rows_removed += change.rows_removed;
      earlier.redacted += change.redacted;
      earlier.generation_after = generationAfter;
    } else changes.push({ ...change, generation_after: generationAfter });
    const parts = [
      change.rows_removed > 0 ? `${change.rows_removed} row(s) removed` : "",
      change.redacted > 0 ? `${change.redacted} mention(s) redacted` : "",
    ].filter(Boolean);
    const what = parts.length > 0 ? parts.join(", ") : "references to rewritten objects updated";
    say(`${dryRun ? "would rewrite" : "rewrote"} ${info.name}: ${what}`);
  };

  const writeOptions = (info: ObjectInfo) => ({
    gzip: false,
    metadata: info.metadata,
    // Only over the generation that was read: a concurrent writer makes us read again.
    ifGenerationMatch: info.generation,
  });

  /** Write a rewritten object (whole, decoded bytes) in its own format. */
  const publish = async (
    pending: Pending,
    decoded: Buffer,
    change: Omit<ObjectChange, "generation_after">,
  ) => {
    const { info } = pending;
    const stored = isGzipName(info.name) ? gzipSync(decoded) : decoded;
    let generationAfter: string | null = null;
    if (!dryRun) {
      const written = await storage.write(info.name, stored, writeOptions(info));
      generationAfter = written.generation;
      refs.set(info.name, { sha256: sha256(stored), size: stored.length, generation: written.generation });
    }
    noteChange(info, change, generationAfter);
  };

  /** Write a rewritten object from a stream of decoded bytes, gzipping and hashing on the way. */
  const publishStream = async (
    info: ObjectInfo,
    kind: ObjectKind,
    rowsRemoved: number,
    produce: (result: PassResult) => AsyncIterable<Uint8Array>,
  ) => {
    let generationAfter: string | null = null;
    let removed = rowsRemoved;
    if (!dryRun) {
      const result: PassResult = { rowsRemoved: 0, rowsKept: 0, found: new Set() };
      const decoded = produce(result);
      const stored = new Hashed(isGzipName(info.name) ? gzipped(decoded) : decoded);
      const written = await storage.write(info.name, stored, writeOptions(info));
      generationAfter = written.generation;
      refs.set(info.name, { sha256: stored.digest(), size: stored.size, generation: written.generation });
      if (kind === "csv") removed = result.rowsRemoved;
    }
    const change = {
      object: info.name,
      kind,
      gzip: isGzipName(info.name),
      action: "rewritten" as const,
      rows_removed: removed,
      redacted: 0,
      versions_deleted: 0,
      generation_before: info.generation,
    };
    noteChange(info, change, generationAfter);
  };

  /** CSV and Arrow objects, streamed; false when the object is not one forget can stream. */
  const streamed = async (info: ObjectInfo): Promise<boolean> => {
    const kind = streamKind(info.name);
    if (kind === "csv") {
      const rule = ruleFor(info.name, idRule);
      const count = await countCsv(storage.createReadStream(info.name), ids, rule);
      if (count.rowsRemoved === 0) return true;
      for (const id of count.found) found.add(id);
      await publishStream(info, "csv", count.rowsRemoved, (result) =>
        keptCsv(storage.createReadStream(info.name), ids, rule, result),
      );
      return true;
    }
    if (kind === "arrow") {
      let scan: ArrowScan;
      try {
        scan = await countArrow(storage.createReadStream(info.name), ids);
      } catch {
        return false; // not an ingest intermediate: the whole-object path reports it
      }
      if (scan.rowsRemoved === 0 || !scan.dataset) return true;
      for (const id of scan.found) found.add(id);
      await publishStream(info, "arrow", scan.rowsRemoved, () =>
        keptArrow(storage.createReadStream(info.name), ids, scan),
      );
      return true;
    }
    return false;
  };

  const read = async (info: ObjectInfo): Promise<Pending> => {
    const bytes = await storage.readBytes(info.name);
    return { info, bytes, kind: kindOf(info.name, bytes) };
  };

  /** One object, retried once if a writer replaced it between our read and our write. */
  const handle = async (info: ObjectInfo, phase: "data" | "json") => {
    for (let attempt = 0; ; attempt++) {
      try {
        const current = attempt === 0 ? info : await storage.stat(info.name);
        if (!current) return;
        // Each object is read in one phase only: CSV and Arrow (streamed) with the data, .json with the records.
        if (phase === "json" && streamKind(current.name)) return;
        if (phase === "data" && /\.json(\.gz)?$/i.test(current.name)) return;
        if (phase === "data" && !checkOnly(current.name) && (await streamed(current))) return;
        await processOnce(await read(current), phase);
        return;
      } catch (error) {
        if (error instanceof ConflictError && attempt === 0) continue;
        throw error;
      }
    }
  };

  const base = (pending: Pending): Omit<ObjectChange, "generation_after" | "rows_removed" | "redacted"> => ({
    object: pending.info.name,
    kind: pending.kind,
    gzip: isGzipName(pending.info.name),
    action: "rewritten",
    versions_deleted: 0,
    generation_before: pending.info.generation,
  });

  const processOnce = async (pending: Pending, phase: "data" | "json") => {
    const { info, kind, bytes } = pending;
    if ((kind === "json") !== (phase === "json")) return;
    if (checkOnly(info.name)) {
      if (await holdsIds(info.name, bytes, ids, idRule)) {
        unhandled.push({
          object: info.name,
          reason:
            "a model object mentions a forgotten id; models are content-addressed and cannot be rewritten: retrain and delete this version",
        });
      }
      return;
    }
    if (kind === "arrow") {
      let result: Awaited<ReturnType<typeof forgetArrow>>;
      try {
        result = await forgetArrow(bytes, ids, (id) => found.add(id));
      } catch (error) {
        if (ids.mentioned(bytes.toString("latin1")))
          unhandled.push({
            object: info.name,
            reason: `an Arrow file forget cannot read: ${(error as Error).message}`,
          });
        return;
      }
      if (result.bytes) {
        await publish(pending, result.bytes, {
          ...base(pending),
          rows_removed: result.rowsRemoved,
          redacted: 0,
        });
      }
      return;
    }
    const text = bytes.toString("latin1");
    if (kind === "binary") {
      if (ids.mentioned(text))
        unhandled.push({
          object: info.name,
          reason: "binary content of an unknown format mentions a forgotten id",
        });
      return;
    }
    if (kind === "csv") {
      // Only the id column decides (another column equal to a short id, say an age of 45, is not customer 45).
      if (!ids.mentioned(text)) return;
      const result = forgetCsv(text, ids, ruleFor(info.name, idRule));
      if (result.text === null) return;
      noteFound(text);
      await publish(pending, Buffer.from(result.text, "latin1"), {
        ...base(pending),
        rows_removed: result.rowsRemoved,
        redacted: 0,
      });
      return;
    }
    if (kind === "json") {
      const utf8 = bytes.toString("utf8");
      const holds = jsonHoldsIds(utf8, ids);
      const pointsAtRewritten = [...touched].some((name) => text.includes(`"${name}"`));
      if (!holds && !pointsAtRewritten) return;
      if (holds) noteFound(text);
      if (info.name.startsWith("cache/")) {
        // A cached step result computed from the customers' rows: drop it, the next run recomputes.
        if (!dryRun) await storage.delete(info.name, { allVersions: true });
        touched.add(info.name);
        changes.push({
          ...base(pending),
          action: "deleted",
          rows_removed: 0,
          redacted: 0,
          generation_after: null,
        });
        say(`${dryRun ? "would delete" : "deleted"} cache entry ${info.name}`);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) {
        const result = scrubJson(parsed, ids, refs);
        if (result.elementsRemoved + result.redacted + result.refsUpdated === 0) return;
        await publish(pending, Buffer.from(formatLike(utf8, result.value), "utf8"), {
          ...base(pending),
          rows_removed: result.elementsRemoved,
          redacted: result.redacted,
        });
        return;
      }
      // Not valid JSON after all: treat it as text below.
    }
    if (!ids.mentioned(text)) return;
    noteFound(text);
    const redacted = ids.redact(text);
    await publish(pending, Buffer.from(redacted.text, "latin1"), {
      ...base(pending),
      kind: kind === "json" ? "text" : kind,
      rows_removed: 0,
      redacted: redacted.count,
    });
  };

  // Data first (CSV, Arrow, text), oldest upload first so rewritten weekly files keep their
  // relative order; then JSON, which may point at rewritten objects by content hash.
  const byAge = [...candidates].sort((a, b) => a.updated.getTime() - b.updated.getTime());
  await mapLimit(byAge, concurrency, (o) => handle(o, "data"));
  await mapLimit(candidates, concurrency, (o) => handle(o, "json"));
  if (!dryRun && changes.some((c) => c.kind === "json" && c.action === "rewritten")) {
    // Records pointing at a JSON object rewritten just now (a run record naming a step
    // summary) get its new hash in one more pass.
    const again = (await storage.list("")).filter((o) => !skipped(o.name));
    await mapLimit(again, concurrency, (o) => handle(o, "json"));
  }
  // A published folder whose files were rewritten gets a manifest of the new bytes: readers
  // follow _SUCCESS, and a stale one would make them wait for a publish that never comes.
  if (!dryRun) {
    for (const info of all.filter((o) => o.name.endsWith(`/${OUTPUT_FILES.success}`))) {
      const updated = await updatedManifest(storage, info, refs);
      if (!updated) continue;
      const written = await storage.write(info.name, manifestText(updated), {
        ...writeOptions(info),
        contentType: "application/json",
      });
      const change = {
        object: info.name,
        kind: "text" as const,
        gzip: false,
        action: "rewritten" as const,
        rows_removed: 0,
        redacted: 0,
        versions_deleted: 0,
        generation_before: info.generation,
      };
      noteChange(info, change, written.generation);
    }
  }

  // Versioned buckets: the old content of every rewritten object is now a noncurrent
  // version; older uploads of other objects may hold the customers too.
  const noncurrent: Array<{ object: string; generation: string }> = [];
  let versionsScanned = 0;
  if (storage.listNoncurrent && storage.createVersionReadStream && storage.deleteVersion) {
    const versions = (await storage.listNoncurrent("")).filter((v) => !skipped(v.name));
    versionsScanned = versions.length;
    say(`checking ${versions.length} noncurrent version(s)`);
    const deleteVersion = storage.deleteVersion.bind(storage);
    const openVersion = storage.createVersionReadStream.bind(storage);
    await mapLimit(versions, concurrency, async (v) => {
      let holds = touched.has(v.name);
      if (!holds) {
        const seen = await versionHolds(v.name, () => openVersion(v.name, v.generation), ids, idRule);
        if (seen) for (const id of seen) found.add(id);
        holds = seen !== null;
      }
      if (!holds) return;
      if (!dryRun) await deleteVersion(v.name, v.generation);
      const change = changes.find((c) => c.object === v.name);
      if (change) change.versions_deleted++;
      else noncurrent.push({ object: v.name, generation: v.generation });
    });
    const count = changes.reduce((n, c) => n + c.versions_deleted, 0) + noncurrent.length;
    say(`${dryRun ? "would delete" : "deleted"} ${count} noncurrent version(s)`);
  }

  await forgetTrainedIds(storage, ids.values(), { dryRun, say });
  changes.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  noncurrent.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  const created = now();
  const { hashing, hash } = idHasher(options.hashKey);
  const record: ForgetRecord = {
    version: 1,
    created_at: created.toISOString(),
    bucket: storage.uri,
    dry_run: dryRun,
    id_hashing: hashing,
    ids: ids.values().map(hash).sort(),
    ids_not_found: ids
      .values()
      .filter((id) => !found.has(id))
      .map(hash)
      .sort(),
    objects_scanned: candidates.length,
    versions_scanned: versionsScanned,
    objects: changes,
    noncurrent_versions: noncurrent,
    unhandled,
    orphaned_temp_files_deleted: orphans,
    totals: {
      rows_removed: changes.reduce((n, c) => n + c.rows_removed, 0),
      objects_rewritten: changes.filter((c) => c.action === "rewritten").length,
      objects_deleted: changes.filter((c) => c.action === "deleted").length,
      versions_deleted: changes.reduce((n, c) => n + c.versions_deleted, 0) + noncurrent.length,
    },
  };
  if (!dryRun) {
    const name = recordObject(created);
    await storage.write(name, `${JSON.stringify(record, null, 2)}\n`, {
      contentType: "application/json",
      metadata: { "churn-writer": "forget" },
    });
    say(`wrote ${name}`);
  }
  return record;
}

/** The record's object name for a time: `forget/2026-11-25T18-01-02.123Z.json` (no colons, sortable). */
export function recordObject(at: Date): string {
  return `${FORGET_PREFIX}${at.toISOString().replace(/:/g, "-")}.json`;
}

/**
 * The manifest of a published folder with the size, sha256 and generation
 * of the files forget rewrote; null when it names none of them (or is no
 * manifest: an older release's `_SUCCESS` is left as it was).
 */
async function updatedManifest(
  storage: Storage,
  info: ObjectInfo,
  refs: ReadonlyMap<string, NewRef>,
): Promise<Manifest | null> {
  const folder = info.name.slice(0, -OUTPUT_FILES.success.length);
  let manifest: Manifest;
  try {
    manifest = parseManifest(await storage.readText(info.name), info.name);
  } catch {
    return null;
  }
  let changed = false;
  const files = manifest.files.map((file) => {
    const ref = refs.get(`${folder}${file.name}`);
    if (!ref) return file;
    changed = true;
    return { ...file, size: ref.size, sha256: ref.sha256, generation: ref.generation };
  });
  return changed ? { ...manifest, files } : null;
}
