import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../cli/main.js";
import { createGcsClient } from "../components/common/storage/gcs.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import type { ForgetRecord } from "../components/forget/index.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";
import { expectPublished } from "./support/published.js";

// churn forget on both storage drivers, after a real weekly pipeline run: every
// object and every version in the bucket (gzip and Arrow decoded) is scanned
// independently of the forget code, before and after a following --force run.
const _root = resolve(import.meta.dirname, "..");
const WEEKLY = "weekly/2026-W48.csv";
const GZ_COPY = "weekly/2026-W47.csv.gz";
const LABELS = "labels/2026-W48.csv";

function churn(args: string[]): Promise<CliResult> {
  return spawnChurn(args, { CHURN_BUCKET: "" });
}

/** One stored version of one object: its name (with #generation on GCS) and raw bytes. */
interface Blob {
  where: string;
  bytes: Buffer;
}

/** Everything on disk under the bucket folder, the driver's own hidden folder included. */
async function fileBlobs(dir: string): Promise<Blob[]> {
  const out: Blob[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ where: relative(dir, path), bytes: await readFile(path) });
  }
  return out;
}

/** Every generation of every object in a gs:// bucket, live and noncurrent, straight from the emulator. */
async function gcsBlobs(bucket: string): Promise<Blob[]> {
  const gcs = createGcsClient().bucket(bucket);
  const [files] = await gcs.getFiles({ versions: true, autoPaginate: true });
  return Promise.all(
    files.map(async (f) => {
      const generation = Number(f.metadata.generation);
      const [bytes] = await gcs.file(f.name, { generation }).download({ decompress: false });
      return { where: `${f.name}#${generation}`, bytes };
    }),
  );
}

/** The text a blob holds: gzip undone, and every string column of an Arrow stream read out. */
function decodedText(bytes: Buffer): string {
  let data = bytes;
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  const parts = [data.toString("latin1")];
  const arrow = data.subarray(0, 4).equals(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  if (arrow || data.subarray(0, 6).toString("latin1") === "ARROW1") {
    const table = tableFromIPC(data);
    for (const field of table.schema.fields) {
      if (String(field.type) !== "Utf8") continue;
      parts.push(
        table
          .getChild(field.name)!
          .toArray()
          .map((v: unknown) => String(v))
          .join("\n"),
      );
    }
  }
  return parts.join("\n");
}

function mentions(text: string, id: string): boolean {
  return new RegExp(`(?<![0-9A-Za-z])${id}(?![0-9A-Za-z])`).test(text);
}

/** Where any of the ids still appears (object or object#generation). */
function hits(blobs: Blob[], ids: string[]): string[] {
  const out: string[] = [];
  for (const blob of blobs) {
    const text = decodedText(blob.bytes);
    for (const id of ids) if (mentions(text, id)) out.push(`${blob.where}: ${id}`);
  }
  return out;
}

/** Data rows of a CSV object (no header), by id column value. */
async function csvIds(storage: Storage, name: string): Promise<string[]> {
  const lines = (await storage.readText(name)).split(/\r?\n/).filter((l) => l !== "");
  return lines.slice(1).map((l) => l.slice(0, l.indexOf(",")).replace(/"/g, ""));
}

async function arrowIds(storage: Storage, name: string): Promise<string[]> {
  const table = tableFromIPC(await storage.readBytes(name));
  return table.getChild("__id")!.toArray() as string[];
}

async function runJson(bucket: string, extra: string[] = []): Promise<RunRecord> {
  const result = await churn(["pipeline", "run", "--bucket", bucket, "--json", ...extra]);
  expect(result.code, result.stderr.slice(-2000)).toBe(0);
  return JSON.parse(result.stdout) as RunRecord;
}

let emulator: GcsEmulator;
let base: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  emulator = await startGcsEmulator();
  await emulator.createBucket("forget-e2e", { versioning: true });
  base = await mkdtemp(join(tmpdir(), "forget-e2e-"));
});
afterAll(async () => {
  await emulator?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

describe.each([
  ["file", () => join(base, "bucket"), (uri: string) => fileBlobs(uri)],
  ["gcs", () => "gs://forget-e2e", () => gcsBlobs("forget-e2e")],
])("churn forget on the %s driver", (_driver, uriOf, blobsOf) => {
  it("leaves no forgotten id in any object or version, keeps everyone else, and the pipeline runs again", async () => {
    const uri = uriOf();
    const init = await runInProcess(["init", "--bucket", uri, "--rows", "2000", "--weekly-rows", "600"]);
    expect(init.code, init.stderr).toBe(0);
    const storage = await openStorage(uri);
    // One model family keeps the runs quick; the family does not matter here.
    const config = await storage.readText("churn.yaml");
    await storage.write(
      "churn.yaml",
      config.replace("families: [logistic, gbdt, mlp]", "families: [logistic]"),
    );
    const weeklyIds = await csvIds(storage, WEEKLY);
    const historyIds = await csvIds(storage, "input/history.csv");
    const forgotten = [weeklyIds[0]!, weeklyIds[7]!, weeklyIds[300]!, historyIds[3]!, historyIds[1500]!];
    const kept = [weeklyIds[1]!, historyIds[4]!];
    // Before the run: labels for the week (two versions: the first is overwritten, so on GCS it is
    // a noncurrent version that holds a forgotten id), a gzip copy of the weekly file, and
    // an object that held the ids and was deleted (only its old version is left on GCS).
    const labelled = weeklyIds.slice(0, 40);
    await storage.write(
      LABELS,
      `id,label\n${weeklyIds
        .slice(0, 20)
        .map((id) => `${id},1`)
        .join("\n")}\n`,
    );
    await storage.write(
      LABELS,
      `id,label\n${labelled.map((id, i) => `${id},${i % 3 === 0 ? 1 : 0}`).join("\n")}\n`,
    );
    await storage.write(GZ_COPY, await storage.readBytes(WEEKLY));
    await storage.write("weekly/2026-W46.csv", `CLIENTNUM,Customer_Age\n${forgotten[0]},40\n${kept[0]},41\n`);
    await storage.delete("weekly/2026-W46.csv");
    // The week is named: the gzip copy is the newest upload. The labels join the training rows.
    const first = await runJson(uri, ["--weekly", WEEKLY]);
    expect(first.state).toBe("succeeded");
    const joined = first.steps.find((s) => s.name === "join-labels")?.outputs.labelled?.object;
    expect(joined).toBeDefined();

    const before = hits(await blobsOf(uri), forgotten);
    expect(before.length).toBeGreaterThan(8);
    expect(before.some((h) => h.includes("rows.arrow"))).toBe(true);
    const counts = async () => ({
      weekly: await csvIds(storage, WEEKLY),
      gz: await csvIds(storage, GZ_COPY),
      history: await csvIds(storage, "input/history.csv"),
      labels: await csvIds(storage, LABELS),
      scores: await csvIds(storage, "output/2026-W48/scores.csv"),
      joined: await csvIds(storage, joined!),
      arrowWeekly: await arrowIds(storage, `runs/${first.run_id}/steps/ingest-weekly/rows.arrow`),
      arrowHistory: await arrowIds(storage, `runs/${first.run_id}/steps/ingest-history/rows.arrow`),
    });
    const was = await counts();

    const dry = await runInProcess([
      "forget",
      "--bucket",
      uri,
      "--dry-run",
      "--json",
      ...forgotten.flatMap((id) => ["--customer-id", id]),
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(hits(await blobsOf(uri), forgotten)).toEqual(before);

    const started = Date.now();
    const result = await runInProcess([
      "forget",
      "--bucket",
      uri,
      "--json",
      ...forgotten.flatMap((id) => ["--customer-id", id]),
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/forget: scanning/);
    const record = JSON.parse(result.stdout) as ForgetRecord & { record: string };
    console.log(
      `forget on ${uri}: ${seconds.toFixed(1)} s, ${record.objects_scanned} objects, ${record.versions_scanned} old versions, ${record.totals.rows_removed} rows`,
    );

    // Nothing left anywhere: live objects, old versions, gzip, Arrow, the record itself.
    expect(hits(await blobsOf(uri), forgotten)).toEqual([]);
    // Everyone else is still there: each file lost exactly the forgotten customers' rows.
    const now = await counts();
    for (const [key, ids] of Object.entries(was)) {
      const expected = ids.filter((id) => !forgotten.includes(id));
      expect(now[key as keyof typeof now], key).toEqual(expected);
      expect(expected.length, key).toBeLessThan(ids.length);
    }
    expect(now.weekly).toEqual(expect.arrayContaining([kept[0]]));
    expect(now.history).toEqual(expect.arrayContaining([kept[1]]));
    expect(record.totals.rows_removed).toBeGreaterThanOrEqual(
      Object.entries(was).reduce((n, [key, ids]) => n + ids.length - now[key as keyof typeof now].length, 0),
    );
    // The record: hashed ids only, one per forgotten customer, all found.
    const text = await storage.readText(record.record);
    for (const id of forgotten) expect(mentions(text, id), id).toBe(false);
    expect(record.ids).toHaveLength(5);
    expect(record.ids_not_found).toEqual([]);
    if (uri.startsWith("gs://")) {
      expect(record.totals.versions_deleted).toBeGreaterThan(0);
      expect(record.noncurrent_versions.map((v) => v.object)).toEqual(
        expect.arrayContaining(["weekly/2026-W46.csv"]),
      );
    }

    // The published week's manifest describes the rewritten files, so readers still get a
    // complete set (and on a versioned bucket, the generations it names still exist).
    await expectPublished(storage, "output/2026-W48/", first.run_id);

    // The pipeline runs again on the rewritten bucket, recomputes from the rewritten files,
    // and brings none of the ids back.
    const again = await runJson(uri, ["--weekly", WEEKLY, "--force"]);
    expect(again.state).toBe("succeeded");
    const ingest = again.steps.find((s) => s.name === "ingest-weekly")!;
    expect(ingest.cache?.hit).toBe(false);
    expect(await csvIds(storage, "output/2026-W48/scores.csv")).toEqual(now.weekly);
    expect(hits(await blobsOf(uri), forgotten)).toEqual([]);
  });
});

describe("churn forget, command line", () => {
  it("reads --ids-file, refuses no ids and generate_id buckets with exit 2, and reports a dry run", async () => {
    const dir = join(base, "cli");
    const storage = await openStorage(dir);
    await storage.write("churn.yaml", "id_column: customer_id\n");
    await storage.write("weekly/w1.csv", "customer_id,age\nA-1,30\nB-2,40\nC-3,50\n");
    const idsFile = join(base, "ids.txt");
    await writeFile(idsFile, "# erasure requests\nB-2\n\nZ-9\n");

    const none = await runInProcess(["forget", "--bucket", dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no customer id to forget/);

    const dry = await runInProcess(["forget", "--bucket", dir, "--ids-file", idsFile, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 2 customer id\(s\)/);
    expect(dry.stdout).toMatch(/would remove 1 row\(s\)/);
    expect(dry.stdout).toMatch(/1 id\(s\) were found nowhere/);
    expect(await storage.readText("weekly/w1.csv")).toContain("B-2");
    expect(await storage.list("forget/")).toEqual([]);

    const done = await runInProcess([
      "forget",
      "--bucket",
      dir,
      "--ids-file",
      idsFile,
      "--customer-id",
      "C-3",
    ]);
    expect(done.code, done.stderr).toBe(0);
    expect(await storage.readText("weekly/w1.csv")).toBe("customer_id,age\nA-1,30\n");
    expect(await storage.list("forget/")).toHaveLength(1);

    await storage.write("churn.yaml", "generate_id: true\n");
    const generated = await runInProcess(["forget", "--bucket", dir, "--customer-id", "1"]);
    expect(generated.code).toBe(2);
    expect(generated.stderr).toMatch(/generate_id: ids there are row numbers/);
  });
});
