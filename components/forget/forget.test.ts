import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArrowStreamWriter, readRowBatches } from "../common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { FileStorage } from "../common/storage/file.js";
import { collect } from "../common/storage/streams.js";
import type { ObjectInfo, ReadOptions, Storage } from "../common/storage/types.js";
import { forgetArrow } from "./arrow.js";
import { CsvRowFilter, forgetCsv } from "./csv.js";
import { forgetCustomers } from "./forget.js";
import { ForgetIds, idHasher } from "./ids.js";
import { scrubJson } from "./json.js";
import { kindOf } from "./kinds.js";
import { recordObject } from "./record.js";

const rule = { idColumns: ["customer_id"], firstColumnIsId: false };

describe("ForgetIds", () => {
  const ids = new ForgetIds([" 123 ", "C-7", "é9"]);

  it.each([
    ["customer 123 left", true],
    ["x,123,y", true],
    ['"123"', true],
    ["1234", false],
    ["0.123", false],
    ["123.5", false],
    ["a123", false],
    ["id C-7.", true],
    ["C-77", false],
  ])("mentions in %j: %s", (text, expected) => {
    expect(ids.mentioned(text)).toBe(expected);
  });

  it("matches exact field values, ignoring surrounding blanks, and non-ASCII ids in UTF-8 text", () => {
    expect(ids.has(" 123")).toBe(true);
    expect(ids.has("12")).toBe(false);
    expect(ids.hasText("é9")).toBe(true);
    expect(ids.mentioned(Buffer.from("x é9 y", "utf8").toString("latin1"))).toBe(true);
  });

  it("redacts every mention and counts them", () => {
    expect(ids.redact("123 and C-7 but not 1234")).toEqual({
      text: "[forgotten] and [forgotten] but not 1234",
      count: 2,
    });
  });

  it("refuses an empty list", () => {
    expect(() => new ForgetIds([" ", ""])).toThrow(/no customer id/);
  });

  it("hashes with a per-record salt, or with HMAC when given a key, never in clear", () => {
    const a = idHasher();
    const b = idHasher();
    expect(a.hashing.salt).not.toBe(b.hashing.salt);
    expect(a.hash("123")).not.toBe(b.hash("123"));
    const expected = createHash("sha256").update(a.hashing.salt!).update("\0").update("123").digest("hex");
    expect(a.hash("123")).toBe(expected);
    const keyed = idHasher("secret");
    expect(keyed.hashing).toEqual({ scheme: "hmac-sha256" });
    expect(keyed.hash("123")).toBe(idHasher("secret").hash("123"));
  });
});

describe("forgetCsv", () => {
  const ids = new ForgetIds(["2", "4"]);

  it("drops rows by the id column, keeping every other byte (quotes, CRLF, header)", () => {
    const text = 'customer_id,name,age\r\n1,"a, b",4\r\n2,x,30\r\n"4","multi\r\nline",5\r\n5,y,2\r\n';
    const result = forgetCsv(text, ids, rule);
    expect(result.rowsRemoved).toBe(2);
    expect(result.rowsKept).toBe(2);
    // Age 4 and age 2 are not customers 4 and 2.
    expect(result.text).toBe('customer_id,name,age\r\n1,"a, b",4\r\n5,y,2\r\n');
    expect(result.matchedBy).toBe("column customer_id");
  });

  it("returns null when nothing changes, and reads other delimiters", () => {
    expect(forgetCsv("customer_id;v\n1;2\n", ids, rule).text).toBeNull();
    expect(forgetCsv("customer_id;v\n1;2\n4;1\n", ids, rule).text).toBe("customer_id;v\n1;2\n");
  });

  it("gives the same bytes when fed in small chunks past the sniffing sample", () => {
    const rows = Array.from({ length: 9000 }, (_, i) => `${i},"name ${i}, x",${i % 90}`);
    const text = `customer_id,name,age\r\n${rows.join("\r\n")}\r\n`;
    const many = new ForgetIds(["2", "4", "8999", "4500"]);
    const whole = forgetCsv(text, many, rule);
    const out: string[] = [];
    const filter = new CsvRowFilter(many, rule, (t) => out.push(t));
    for (let i = 0; i < text.length; i += 997) filter.push(text.slice(i, i + 997));
    filter.end();
    expect(filter.rowsRemoved).toBe(4);
    expect(out.join("")).toBe(whole.text);
    const kept = rows.filter((r) => !["2", "4", "8999", "4500"].includes(r.slice(0, r.indexOf(","))));
    expect(whole.text).toBe(`customer_id,name,age\r\n${kept.join("\r\n")}\r\n`);
  });

  it("uses the first column of labels files and drops rejected rows whose raw text holds an id", () => {
    expect(forgetCsv("id,label\n4,1\n3,0", ids, { ...rule, firstColumnIsId: true }).text).toBe(
      "id,label\n3,0",
    );
    const rejected = 'line,column,reason,raw\n3,age,not a number,"4;x;abc"\n5,age,not a number,"7,x,abc"\n';
    const result = forgetCsv(rejected, ids, rule);
    expect(result.rowsRemoved).toBe(1);
    expect(result.text).toBe('line,column,reason,raw\n5,age,not a number,"7,x,abc"\n');
  });
});

const dataset: DatasetSchema = {
  version: 1,
  columns: [
    { name: "customer_id", type: "categorical", role: "id", missingTokens: [] },
    { name: "age", type: "numeric", role: "feature", missingTokens: [] },
    { name: "city", type: "categorical", role: "feature", missingTokens: [] },
    { name: "churn", type: "boolean", role: "label", missingTokens: [] },
  ],
  idColumn: "customer_id",
  generatedId: false,
  label: { column: "churn", positive: "yes" },
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};

function batch(ids: string[], first: number): RowBatch {
  return {
    numRows: ids.length,
    lines: Uint32Array.from(ids, (_, i) => first + i),
    ids,
    columns: {
      age: Float64Array.from(ids, (_, i) => 20 + first + i),
      city: ids.map((id) => (id === "b" ? null : `city-${id}`)),
    },
    label: Uint8Array.from(ids, (_, i) => i % 2),
  };
}

async function arrowBytes(batches: RowBatch[]): Promise<Buffer> {
  const writer = new ArrowStreamWriter(dataset, true);
  const done = collect(writer.readable);
  for (const b of batches) await writer.write(b);
  writer.end();
  return done;
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function readBack(bytes: Uint8Array): Promise<{ schema: DatasetSchema | null; batches: RowBatch[] }> {
  let schema: DatasetSchema | null = null;
  const batches: RowBatch[] = [];
  for await (const b of readRowBatches(once(bytes), (s) => {
    schema = s;
  }))
    batches.push({ ...b, ids: [...b.ids], lines: Uint32Array.from(b.lines) });
  return { schema, batches };
}

describe("forgetArrow", () => {
  it("drops the rows of forgotten ids, keeping schema, labels, columns and batch boundaries", async () => {
    const bytes = await arrowBytes([batch(["a", "b", "c"], 2), batch(["d", "e"], 5), batch(["f"], 7)]);
    const result = await forgetArrow(bytes, new ForgetIds(["b", "e", "f"]));
    expect(result.rowsRemoved).toBe(3);
    expect(result.rowsKept).toBe(3);
    const back = await readBack(result.bytes!);
    expect(back.schema).toEqual(dataset);
    expect(back.batches.map((b) => b.ids)).toEqual([["a", "c"], ["d"]]);
    expect([...back.batches[0]!.lines]).toEqual([2, 4]);
    expect([...(back.batches[0]!.columns.age as Float64Array)]).toEqual([22, 24]);
    expect(back.batches[0]!.columns.city).toEqual(["city-a", "city-c"]);
    expect([...back.batches[0]!.label!.subarray(0, 2)]).toEqual([0, 0]);
    expect(looksArrow(result.bytes!)).toBe(true);
  });

  it("leaves a stream without those ids alone", async () => {
    const bytes = await arrowBytes([batch(["a"], 2)]);
    expect((await forgetArrow(bytes, new ForgetIds(["zz"]))).bytes).toBeNull();
  });
});

function looksArrow(bytes: Uint8Array): boolean {
  return kindOf("x.bin", bytes) === "arrow";
}

describe("scrubJson", () => {
  const ids = new ForgetIds(["777", "c9"]);

  it("removes rows about a customer, redacts mentions, leaves numbers and structure", () => {
    const doc = {
      rows: [
        { id: "777", label: 1 },
        { id: "1", label: 0 },
      ],
      list: ["c9", "d1"],
      tuples: [
        ["c9", 1, 2],
        ["d1", 3, 4],
      ],
      note: "customer 777 asked",
      weights: [777, 0.777],
      map: { c9: 3, other: 1 },
    };
    const result = scrubJson(doc, ids);
    expect(result.value).toEqual({
      rows: [{ id: "1", label: 0 }],
      list: ["d1"],
      tuples: [["d1", 3, 4]],
      note: "customer [forgotten] asked",
      weights: [777, 0.777],
      map: { other: 1 },
    });
    expect(result.elementsRemoved).toBe(3);
    expect(result.redacted).toBe(2);
  });

  it("brings references to rewritten objects up to date", () => {
    const refs = new Map([["runs/r/rows.arrow", { sha256: "new", size: 5, generation: "9" }]]);
    const doc = {
      outputs: { rows: { object: "runs/r/rows.arrow", sha256: "old", size: 9, generation: "1" } },
    };
    const result = scrubJson(doc, ids, refs);
    expect(result.refsUpdated).toBe(1);
    expect(result.value).toEqual({
      outputs: { rows: { object: "runs/r/rows.arrow", sha256: "new", size: 5, generation: "9" } },
    });
  });
});

/** A file bucket that also pretends to keep noncurrent versions, to test the version pass without GCS. */
class VersionedFake extends FileStorage {
  readonly old: Array<{ info: ObjectInfo; bytes: Buffer }> = [];
  deleted: string[] = [];
  async listNoncurrent(prefix: string): Promise<ObjectInfo[]> {
    return this.old.filter((v) => v.info.name.startsWith(prefix)).map((v) => v.info);
  }
  createVersionReadStream(name: string, generation: string, options: ReadOptions = {}): Readable {
    const v = this.old.find((o) => o.info.name === name && o.info.generation === generation)!;
    return Readable.from([(options.gunzip ?? name.endsWith(".gz")) ? gunzipSync(v.bytes) : v.bytes]);
  }
  async deleteVersion(name: string, generation: string): Promise<void> {
    this.deleted.push(`${name}#${generation}`);
  }
}

describe("forgetCustomers", () => {
  let dir: string;
  let storage: VersionedFake;
  const forget = (ids: string[], options: { dryRun?: boolean } = {}) =>
    forgetCustomers(storage as Storage, {
      ids: new ForgetIds(ids),
      idRule: rule,
      now: () => new Date("2026-11-25T10:00:00Z"),
      ...options,
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "forget-unit-"));
    storage = new VersionedFake(dir, `file://${dir}`);
    await storage.write("churn.yaml", "id_column: customer_id\n");
    await storage.write("input/history.csv.gz", "customer_id,age,churn\n111,30,yes\n222,40,no\n333,50,no\n");
    await storage.write("labels/w1.csv", "id,label\n222,1\n333,0\n");
    await storage.write("weekly/w1.csv", "customer_id,age\n222,41\n444,20\n");
    await storage.write("output/w1/scores.csv", "customer_id,churn_probability\n222,0.5\n444,0.1\n");
    await storage.write("output/w1/rejected.csv", 'line,column,reason,raw\n3,age,bad,"222,x"\n');
    await storage.write(
      "runs/r1/steps/ingest-history/rows.arrow",
      await arrowBytes([batch(["111", "222"], 2)]),
    );
    await storage.write("runs/r1/steps/ingest-history/log.txt", "warning about 222\n");
    await storage.write("models/v1/bundle.json", '{"weights":[222,1]}');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("removes a customer from every kind of object, keeps formats, deletes stale cache entries and writes a hashed record", async () => {
    const rows = await storage.stat("runs/r1/steps/ingest-history/rows.arrow");
    await storage.write(
      "runs/r1/steps/ingest-history/output.json",
      `${JSON.stringify({ outputs: { rows: { object: rows!.name, sha256: "old", size: rows!.size } } }, null, 2)}\n`,
    );
    await storage.write(
      "cache/k.json",
      JSON.stringify({ output: { outputs: { rows: { object: rows!.name, sha256: "old" } } } }),
    );
    await storage.write("cache/other.json", JSON.stringify({ output: { outputs: {} } }));
    const record = await forget(["222", "999"]);

    expect(gunzipSync(await storage.readBytes("input/history.csv.gz", { gunzip: false })).toString()).toBe(
      "customer_id,age,churn\n111,30,yes\n333,50,no\n",
    );
    expect(await storage.readText("labels/w1.csv")).toBe("id,label\n333,0\n");
    expect(await storage.readText("weekly/w1.csv")).toBe("customer_id,age\n444,20\n");
    expect(await storage.readText("output/w1/scores.csv")).toBe("customer_id,churn_probability\n444,0.1\n");
    expect(await storage.readText("output/w1/rejected.csv")).toBe("line,column,reason,raw\n");
    expect(await storage.readText("runs/r1/steps/ingest-history/log.txt")).toBe(
      "warning about [forgotten]\n",
    );
    const arrow = await storage.readBytes("runs/r1/steps/ingest-history/rows.arrow");
    expect((await readBack(arrow)).batches.map((b) => b.ids)).toEqual([["111"]]);
    // The run record now names the rewritten intermediate by its new hash.
    const doc = JSON.parse(await storage.readText("runs/r1/steps/ingest-history/output.json"));
    expect(doc.outputs.rows.sha256).toBe(createHash("sha256").update(arrow).digest("hex"));
    expect(await storage.stat("cache/k.json")).toBeNull();
    expect(await storage.stat("cache/other.json")).not.toBeNull();
    // A number in a model is not a customer id; the model is untouched.
    expect(await storage.readText("models/v1/bundle.json")).toBe('{"weights":[222,1]}');
    expect(record.unhandled).toEqual([]);

    expect(record.totals.rows_removed).toBe(6);
    const byObject = Object.fromEntries(record.objects.map((c) => [c.object, c]));
    expect(byObject["input/history.csv.gz"]).toMatchObject({ kind: "csv", gzip: true, rows_removed: 1 });
    expect(byObject["cache/k.json"]).toMatchObject({ action: "deleted" });
    const text = await storage.readText(recordObject(new Date("2026-11-25T10:00:00Z")));
    // Whole tokens: generations and hashes are long digit and hex runs that may contain "222".
    expect(text).not.toMatch(/(?<![0-9A-Za-z])(222|999)(?![0-9A-Za-z])/);
    const saved = JSON.parse(text);
    expect(saved.ids).toHaveLength(2);
    expect(saved.ids_not_found).toHaveLength(1);
    const { salt } = saved.id_hashing;
    expect(saved.ids_not_found[0]).toBe(
      createHash("sha256").update(salt).update("\0").update("999").digest("hex"),
    );
  });

  it("writes nothing in a dry run", async () => {
    const before = await storage.list("");
    const record = await forget(["222"], { dryRun: true });
    expect(record.totals.objects_rewritten).toBeGreaterThan(4);
    expect(record.objects.every((c) => c.generation_after === null)).toBe(true);
    expect(await storage.list("")).toEqual(before);
  });

  it("deletes old versions of rewritten objects and old versions that held the customers", async () => {
    const info = (name: string, generation: string) => ({
      name,
      generation,
      size: 1,
      updated: new Date(),
      metadata: {},
    });
    storage.old.push(
      { info: info("weekly/w1.csv", "1"), bytes: Buffer.from("customer_id\n222\n") },
      { info: info("weekly/w0.csv.gz", "2"), bytes: gzipSync("customer_id\n222\n") },
      { info: info("weekly/w0.csv.gz", "3"), bytes: gzipSync("customer_id\n555\n") },
      { info: info("forget/old.json", "4"), bytes: Buffer.from("{}") },
    );
    const record = await forget(["222"]);
    expect(storage.deleted.sort()).toEqual(["weekly/w0.csv.gz#2", "weekly/w1.csv#1"]);
    expect(record.objects.find((c) => c.object === "weekly/w1.csv")?.versions_deleted).toBe(1);
    expect(record.noncurrent_versions).toEqual([{ object: "weekly/w0.csv.gz", generation: "2" }]);
    expect(record.totals.versions_deleted).toBe(2);
    expect(record.versions_scanned).toBe(3);
  });

  it("deletes temp files of writes whose process died, and no others", async () => {
    const tmp = join(dir, ".churn-storage", "tmp");
    await mkdir(tmp, { recursive: true });
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    // pid 2^22+1 is above Linux's pid_max: never a running process.
    for (const name of ["4194305-dead", `${process.pid}-alive`]) {
      await writeFile(join(tmp, name), "customer_id\n222\n");
      await utimes(join(tmp, name), old, old);
    }
    await writeFile(join(tmp, "4194305-fresh"), "customer_id\n222\n");
    const dry = await forget(["222"], { dryRun: true });
    expect(dry.orphaned_temp_files_deleted).toBe(1);
    expect((await readdir(tmp)).sort()).toEqual(
      ["4194305-dead", "4194305-fresh", `${process.pid}-alive`].sort(),
    );
    const record = await forget(["222"]);
    expect(record.orphaned_temp_files_deleted).toBe(1);
    expect((await readdir(tmp)).sort()).toEqual(["4194305-fresh", `${process.pid}-alive`].sort());
  });

  it("refuses while a pipeline run holds a live lease", async () => {
    await storage.write(
      "runs/r2/lease",
      JSON.stringify({ holder: "h", acquired: 0, expires: Date.now() + 60_000 }),
    );
    await expect(forget(["222"])).rejects.toThrow(/runs\/r2\/lease: a pipeline run is in progress/);
  });

  it("reports a model that holds an id in a string instead of breaking it", async () => {
    await storage.write("models/v2/bundle.json", '{"examples":["222"]}');
    const record = await forget(["222"]);
    expect(record.unhandled.map((u) => u.object)).toEqual(["models/v2/bundle.json"]);
    expect(await storage.readText("models/v2/bundle.json")).toBe('{"examples":["222"]}');
  });
});
