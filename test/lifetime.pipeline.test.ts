import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage } from "../components/common/storage/index.js";
import { SEGMENTS } from "../components/lifetime/rfm.js";
import { dayFromDateString, SummaryAccumulator } from "../components/lifetime/summary.js";
import { bgnbdProbAlive, fitBgNbd } from "../components/models/lifetime/bgnbd.js";
import { lifetimePipeline } from "../pipelines/definitions/lifetime.js";
import { InProcessExecutor } from "../pipelines/runner/executor.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { runPipeline } from "../pipelines/runner/run.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { datasetPath, describeDatasets } from "./support/datasets.js";
import { expectPublished } from "./support/published.js";

// The lifetime pipeline end to end on the full CDNOW master log (23,570
// customers), through the built CLI with the local runner. The log is copied
// from the read-only shared datasets into a temporary bucket at test time.
const _root = resolve(import.meta.dirname, "..");
const MASTER = datasetPath("cdnow", "CDNOW_master.txt");

const CDNOW_CONFIG = `id_column: customer_id
transactions:
  observation_end: "1997-09-30"
  time_unit: week
  format: {delimiter: whitespace, header: true, columns: [customer_id, date, cds, amount]}
`;

function churn(args: string[]): Promise<CliResult> {
  return spawnChurn(args);
}

/** Minimal CSV line splitter for our own outputs (quoted fields with doubled quotes). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
  for (const m of line.matchAll(re)) {
    const v = m[1]!;
    out.push(v.startsWith('"') ? v.slice(1, -1).replaceAll('""', '"') : v);
    if (m[2] === "") break;
  }
  return out;
}
function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  return { header: splitCsv(lines[0]!), rows: lines.slice(1).map(splitCsv) };
}

let base: string;
let server: Server;
const received: Array<Record<string, unknown>> = [];
let webhook = "";

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "lifetime-pipeline-"));
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(JSON.parse(body));
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(base, { recursive: true, force: true });
});

async function bucketWith(name: string, config: string, files: Record<string, string>): Promise<string> {
  const dir = join(base, name);
  await mkdir(join(dir, "transactions"), { recursive: true });
  await writeFile(join(dir, "churn.yaml"), config);
  for (const [object, text] of Object.entries(files)) await writeFile(join(dir, object), text);
  return dir;
}

describeDatasets("lifetime pipeline on CDNOW, through the CLI", ["cdnow/CDNOW_master.txt"], () => {
  it("publishes customers.csv and alerts.csv with the master-log BG/NBD fit, notifies, and reports a re-run", async () => {
    const dir = await bucketWith("cdnow", `${CDNOW_CONFIG}notify: {webhook_url: "${webhook}"}\n`, {});
    await copyFile(MASTER, join(dir, "transactions/cdnow.csv"));
    const t0 = performance.now();
    const run = await churn([
      "pipeline",
      "run",
      "lifetime",
      "--bucket",
      dir,
      "--transactions",
      "transactions/cdnow.csv",
      "--json",
    ]);
    const wallMs = performance.now() - t0;
    expect(run.code, run.stderr).toBe(0);
    const record = JSON.parse(run.stdout) as RunRecord & { reused: boolean };
    expect(record.state).toBe("succeeded");
    expect(record.steps.map((s) => s.name)).toEqual([
      "ingest-transactions",
      "rfm",
      "fit-lifetime",
      "score-lifetime",
      "publish",
    ]);
    expect(record.output_prefix).toBe("output/lifetime/cdnow/");
    const out = join(dir, "output/lifetime/cdnow");
    for (const f of ["customers.csv", "alerts.csv", "rejected.csv", "summary.json", "_SUCCESS"])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect((await expectPublished(dir, "output/lifetime/cdnow/", record.run_id)).model_version).toMatch(
      /^lifetime-/,
    );

    // Expected parameters from the tested model functions on an independent
    // reading of the log (plain split on whitespace).
    const acc = new SummaryAccumulator({ observationEnd: dayFromDateString("19970930") });
    for (const line of readFileSync(MASTER, "utf8").split(/\r?\n/).slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length === 4) acc.add(f[0]!, dayFromDateString(f[1]!)!, Number(f[3]));
    }
    const expected = fitBgNbd(acc.finish("week")).params;
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    for (const k of ["r", "alpha", "a", "b"] as const) {
      expect(summary.params[k], k).toBeCloseTo(expected[k], 5);
    }
    // The values measured on the master log when the model code was written.
    expect(summary.params.r).toBeCloseTo(0.2516, 3);
    expect(summary.params.alpha).toBeCloseTo(4.789, 2);
    expect(summary.params.a).toBeCloseTo(0.7234, 3);
    expect(summary.params.b).toBeCloseTo(2.161, 2);
    const fit = record.steps.find((s) => s.name === "fit-lifetime")!;
    console.log(
      `lifetime pipeline on CDNOW master: ${(wallMs / 1000).toFixed(1)} s wall; fit ${fit.counts.fit_ms} ms; params ${JSON.stringify(summary.params)}`,
    );

    const customers = readCsv(join(out, "customers.csv"));
    expect(customers.header).toEqual([
      "customer_id",
      "frequency",
      "recency",
      "T",
      "monetary",
      "r_score",
      "f_score",
      "m_score",
      "segment",
      "cluster",
      "prob_alive",
      "expected_purchases",
      "expected_spend",
      "lifetime_value",
    ]);
    expect(customers.rows).toHaveLength(23_570);
    // Every customer is priced (CDNOW has amounts), summing to summary.json's total; only
    // customers almost surely gone round to 0.
    let valueSum = 0;
    let positive = 0;
    for (const row of customers.rows) {
      const text = row[customers.header.indexOf("lifetime_value")]!;
      expect(text).not.toBe("");
      const value = Number(text);
      expect(value).toBeGreaterThanOrEqual(0);
      if (value > 0) positive++;
      valueSum += value;
    }
    expect(positive).toBeGreaterThan(23_000);
    expect(Math.abs(valueSum - summary.lifetime_value.total) / summary.lifetime_value.total).toBeLessThan(
      1e-6,
    );
    const col = (name: string) => customers.header.indexOf(name);
    let zeros = 0;
    for (const row of customers.rows) {
      expect(SEGMENTS as readonly string[]).toContain(row[col("segment")]);
      const frequency = Number(row[col("frequency")]);
      const alive = Number(row[col("prob_alive")]);
      if (frequency === 0) {
        zeros++;
        expect(alive).toBe(1);
      }
      expect(alive).toBeGreaterThanOrEqual(0);
      expect(alive).toBeLessThanOrEqual(1);
    }
    expect(zeros).toBeGreaterThan(10_000);
    // One repeat buyer checked against the formula: customer 00004 of the published sample.
    const c4 = customers.rows.find((r) => r[0] === "00004")!;
    expect(Number(c4[col("prob_alive")])).toBeCloseTo(
      bgnbdProbAlive(summary.params, {
        frequency: Number(c4[col("frequency")]),
        recency: Number(c4[col("recency")]),
        T: Number(c4[col("T")]),
      }),
      5,
    );

    const alerts = readCsv(join(out, "alerts.csv"));
    expect(alerts.header).toEqual([
      "customer_id",
      "segment",
      "prob_alive",
      "days_inactive",
      "rules",
      "reason",
    ]);
    expect(alerts.rows.length).toBe(summary.counts.alerts);
    expect(alerts.rows.length).toBeGreaterThan(100);
    for (const row of alerts.rows.slice(0, 50)) {
      expect(row[5]).toMatch(/probably lost|silent for|no purchase for/);
      if (row[4]!.includes("prob_alive")) expect(Number(row[2])).toBeLessThan(0.3);
    }

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      event: "published",
      pipeline: "lifetime",
      trigger: "transactions/cdnow.csv",
      model_version: summary.model_version,
      counts: { customers: 23_570, alerts: alerts.rows.length },
    });
    expect(existsSync(join(dir, `models/lifetime/${summary.model_version}.json`))).toBe(true);

    const again = await churn(["pipeline", "run", "lifetime", "--bucket", dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/had already finished \(succeeded\); nothing to do/);
    expect(again.stdout).toContain(
      "output/lifetime/cdnow/customers.csv (first 5 rows):\n  customer_id,frequency",
    );
    const wrongOption = await churn([
      "pipeline",
      "run",
      "lifetime",
      "--bucket",
      dir,
      "--weekly",
      "weekly/x.csv",
    ]);
    expect(wrongOption.code).toBe(2);
    expect(wrongOption.stderr).toContain("--weekly applies to the weekly pipeline, not lifetime");
  }, 60_000);
});

describe("lifetime pipeline: bad transaction rows", () => {
  const config = "id_column: customer_id\ntransactions: {time_unit: day}\ningest: {max_reject_share: 0.2}\n";
  const good = Array.from({ length: 60 }, (_, i) => `c${i % 12},2024-0${1 + (i % 6)}-1${i % 10},${i + 1}.5`);

  it("quarantines bad rows with reasons and still publishes", async () => {
    const rows = [...good, ",2024-01-02,3", "c1,2024-13-01,3", "c2,2024-01-03,lots"];
    const dir = await bucketWith("bad-rows", config, {
      "transactions/shop.csv": `customer_id,date,amount\n${rows.join("\n")}\n`,
    });
    const storage = await openStorage(dir);
    const result = await runPipeline({
      storage,
      pipeline: lifetimePipeline,
      executor: new InProcessExecutor(storage),
    });
    expect(result.record.reason).toBeNull();
    expect(result.exitCode).toBe(0);
    const rejected = readCsv(join(dir, "output/lifetime/shop/rejected.csv"));
    expect(rejected.header).toEqual(["line", "column", "reason", "raw"]);
    expect(rejected.rows).toEqual([
      ["62", "customer_id", "missing customer id", ",2024-01-02,3"],
      ["63", "date", 'not a date in format auto: "2024-13-01"', "c1,2024-13-01,3"],
      ["64", "amount", 'not a number: "lots"', "c2,2024-01-03,lots"],
    ]);
    const summary = JSON.parse(await readFile(join(dir, "output/lifetime/shop/summary.json"), "utf8"));
    expect(summary.counts).toMatchObject({ customers: 12, rows_in: 63, rejected: 3 });
    expect(readCsv(join(dir, "output/lifetime/shop/customers.csv")).rows).toHaveLength(12);
  });

  it("fails with exit 2 and one sentence when too many rows are bad, writing _FAILED", async () => {
    const rows = [...good.slice(0, 10), ...Array.from({ length: 5 }, (_, i) => `x${i},someday,1`)];
    const dir = await bucketWith("too-many", config, {
      "transactions/shop.csv": `customer_id,date,amount\n${rows.join("\n")}\n`,
    });
    const storage = await openStorage(dir);
    const result = await runPipeline({
      storage,
      pipeline: lifetimePipeline,
      executor: new InProcessExecutor(storage),
    });
    expect(result.exitCode).toBe(2);
    expect(result.record.reason).toMatch(
      /^step ingest-transactions failed: transactions\/shop\.csv: 5 of 15 rows rejected \(33\.3%\), more than ingest\.max_reject_share 20\.0%; first: line 12, column "date"/,
    );
    expect(await readFile(join(dir, "output/lifetime/shop/_FAILED"), "utf8")).toContain(
      "5 of 15 rows rejected",
    );
    expect(existsSync(join(dir, "output/lifetime/shop/_SUCCESS"))).toBe(false);
  });

  it("refuses a --transactions object outside transactions/ and a stem that is reserved", async () => {
    const dir = await bucketWith("names", config, {
      "transactions/lifetime.csv": "customer_id,date,amount\n",
    });
    const storage = await openStorage(dir);
    const opts = { storage, pipeline: lifetimePipeline, executor: new InProcessExecutor(storage) };
    await expect(runPipeline({ ...opts, trigger: "weekly/x.csv" })).rejects.toThrow(
      /--transactions must name a CSV under transactions\//,
    );
    await expect(runPipeline(opts)).rejects.toThrow(/stem "lifetime" is reserved/);
  });
});
