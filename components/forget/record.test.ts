import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStorage } from "../common/storage/index.js";
import { ForgetIds, idHasher } from "./ids.js";
import { buildRecord, type ForgetOutcome, type ObjectChange, recordObject, writeRecord } from "./record.js";

function change(object: string, over: Partial<ObjectChange> = {}): ObjectChange {
  return {
    object,
    kind: "csv",
    gzip: false,
    action: "rewritten",
    rows_removed: 1,
    redacted: 0,
    versions_deleted: 0,
    generation_before: "1",
    generation_after: "2",
    ...over,
  };
}

const outcome = (over: Partial<ForgetOutcome> = {}): ForgetOutcome => ({
  bucket: "file:///b",
  dryRun: false,
  createdAt: new Date("2026-11-25T10:00:00.123Z"),
  ids: new ForgetIds(["c1", "c2"]),
  hashKey: "secret",
  found: new Set(["c1"]),
  objectsScanned: 7,
  versionsScanned: 3,
  changes: [
    change("weekly/w2.csv", { rows_removed: 2, versions_deleted: 1 }),
    change("cache/k.json", { kind: "json", action: "deleted", rows_removed: 0, generation_after: null }),
    change("runs/r/log.txt", { kind: "text", rows_removed: 0, redacted: 3 }),
  ],
  noncurrent: [
    { object: "weekly/w1.csv", generation: "5" },
    { object: "input/h.csv", generation: "4" },
  ],
  unhandled: [],
  orphans: 2,
  ...over,
});

describe("the forget record", () => {
  it("sorts objects and versions by name and sums the totals", () => {
    const record = buildRecord(outcome());
    expect(record.objects.map((c) => c.object)).toEqual(["cache/k.json", "runs/r/log.txt", "weekly/w2.csv"]);
    expect(record.noncurrent_versions.map((v) => v.object)).toEqual(["input/h.csv", "weekly/w1.csv"]);
    expect(record.totals).toEqual({
      rows_removed: 2,
      objects_rewritten: 2,
      objects_deleted: 1,
      versions_deleted: 3,
    });
    expect(record).toMatchObject({
      version: 1,
      created_at: "2026-11-25T10:00:00.123Z",
      bucket: "file:///b",
      dry_run: false,
      objects_scanned: 7,
      versions_scanned: 3,
      orphaned_temp_files_deleted: 2,
    });
  });

  it("holds the ids only as hashes, naming those no object held", () => {
    const record = buildRecord(outcome());
    const { hash } = idHasher("secret");
    expect(record.id_hashing).toEqual({ scheme: "hmac-sha256" });
    expect(record.ids).toHaveLength(2);
    expect(record.ids).toEqual([hash("c1"), hash("c2")].sort());
    expect(record.ids_not_found).toEqual([hash("c2")]);
    expect(JSON.stringify(record)).not.toMatch(/"c[12]"/);
  });

  it("is written under forget/ with a sortable name without colons", async () => {
    expect(recordObject(new Date("2026-11-25T18:01:02.123Z"))).toBe("forget/2026-11-25T18-01-02.123Z.json");
    const dir = await mkdtemp(join(tmpdir(), "forget-record-"));
    try {
      const storage = await openStorage(dir);
      const record = buildRecord(outcome());
      const name = await writeRecord(storage, record);
      expect(name).toBe("forget/2026-11-25T10-00-00.123Z.json");
      expect(JSON.parse(await storage.readText(name))).toEqual(record);
      expect((await storage.stat(name))?.metadata).toEqual({ "churn-writer": "forget" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
