import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ArrowStreamWriter } from "../common/schema/arrow.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { collect } from "../common/storage/streams.js";
import type { ObjectInfo } from "../common/storage/types.js";
import { holdsIdsInVersion } from "./holds.js";
import { ForgetIds } from "./ids.js";
import { rewriteOf } from "./publish.js";
import { TEST_RULE, testBucket } from "./testing.js";
import { forgetNoncurrentVersions, type VersionedBucket, versionedBucket } from "./versions.js";

let cleanup: () => Promise<void> = async () => {};
afterEach(() => cleanup());

const info = (name: string, generation: string): ObjectInfo => ({
  name,
  generation,
  size: 1,
  updated: new Date(0),
  metadata: {},
});

/** Noncurrent versions in memory (decoded bytes), recording what was deleted. */
function fakeVersions(versions: Array<[string, string, string]>): VersionedBucket & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    deleted,
    listNoncurrent: async () => versions.map(([name, generation]) => info(name, generation)),
    open: (name, generation) =>
      Readable.from([Buffer.from(versions.find((v) => v[0] === name && v[1] === generation)![2])]),
    deleteVersion: async (name, generation) => {
      deleted.push(`${name}#${generation}`);
    },
  };
}

const once = (bytes: Uint8Array) => () => Readable.from([bytes]);

describe("noncurrent versions", () => {
  it("a local bucket keeps none", async () => {
    const bucket = await testBucket(["c1"]);
    cleanup = bucket.cleanup;
    expect(versionedBucket(bucket.storage)).toBeNull();
  });

  it("deletes old versions of rewritten objects and of others that held the customers", async () => {
    const bucket = await testBucket(["c1"]);
    cleanup = bucket.cleanup;
    const { ctx, lines } = bucket;
    ctx.ledger.noteRewrite(
      info("weekly/w1.csv", "9"),
      rewriteOf(info("weekly/w1.csv", "9"), "csv", 1, 0),
      "10",
    );
    const versions = fakeVersions([
      ["weekly/w1.csv", "1", "customer_id\nc3\n"],
      ["weekly/w0.csv", "2", "customer_id\nc1\n"],
      ["weekly/w0.csv", "3", "customer_id\nc5\n"],
      ["forget/old.json", "4", '["c1"]'],
    ]);
    const scanned = await forgetNoncurrentVersions(ctx, versions, {
      concurrency: 2,
      say: (l) => lines.push(l),
    });
    expect(scanned).toBe(3);
    expect(versions.deleted.sort()).toEqual(["weekly/w0.csv#2", "weekly/w1.csv#1"]);
    expect(ctx.ledger.changes[0]!.versions_deleted).toBe(1);
    expect(ctx.ledger.noncurrent).toEqual([{ object: "weekly/w0.csv", generation: "2" }]);
    expect([...ctx.ledger.found]).toEqual(["c1"]);
    expect(lines.slice(-2)).toEqual(["checking 3 noncurrent version(s)", "deleted 2 noncurrent version(s)"]);
  });

  it("deletes nothing in a dry run", async () => {
    const bucket = await testBucket(["c1"], { dryRun: true });
    cleanup = bucket.cleanup;
    const versions = fakeVersions([["weekly/w0.csv", "2", "customer_id\nc1\n"]]);
    await forgetNoncurrentVersions(bucket.ctx, versions, {
      concurrency: 1,
      say: (l) => bucket.lines.push(l),
    });
    expect(versions.deleted).toEqual([]);
    expect(bucket.lines.at(-1)).toBe("would delete 1 noncurrent version(s)");
  });
});

describe("holdsIdsInVersion", () => {
  const ids = new ForgetIds(["c1"]);
  const dataset: DatasetSchema = {
    version: 1,
    columns: [
      { name: "customer_id", type: "categorical", role: "id", missingTokens: [] },
      { name: "churn", type: "boolean", role: "label", missingTokens: [] },
    ],
    idColumn: "customer_id",
    generatedId: false,
    label: { column: "churn", positive: "yes" },
    source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
  };

  it("counts CSV rows by the id column, not other columns", async () => {
    expect(
      await holdsIdsInVersion("weekly/w.csv", once(Buffer.from("customer_id,n\nc1,1\n")), ids, TEST_RULE),
    ).toEqual(new Set(["c1"]));
    expect(
      await holdsIdsInVersion("weekly/w.csv", once(Buffer.from("customer_id,n\nc2,c1\n")), ids, TEST_RULE),
    ).toBeNull();
  });

  it("reads Arrow intermediates by their ids, and anything else as text", async () => {
    const writer = new ArrowStreamWriter(dataset, true);
    const done = collect(writer.readable);
    const label = Uint8Array.from([1, 0]);
    await writer.write({
      numRows: 2,
      lines: Uint32Array.from([2, 3]),
      ids: ["c1", "c2"],
      columns: {},
      label,
    });
    writer.end();
    const arrow = await done;
    expect(await holdsIdsInVersion("runs/r/rows.arrow", once(arrow), ids, TEST_RULE)).toEqual(
      new Set(["c1"]),
    );
    expect(await holdsIdsInVersion("runs/r/log.txt", once(Buffer.from("about c1")), ids, TEST_RULE)).toEqual(
      new Set(["c1"]),
    );
    expect(await holdsIdsInVersion("runs/r/log.txt", once(gzipSync("about c1")), ids, TEST_RULE)).toBeNull();
  });
});
