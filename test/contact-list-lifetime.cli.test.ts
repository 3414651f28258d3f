/**
 * `campaign.value_column: lifetime` through the built CLI on a small
 * `churn init` bucket whose purchase log holds most of the week's customers:
 * the weekly run first refuses to start without a lifetime output (exit 2,
 * naming the command to run, no step run); after `churn pipeline run
 * lifetime`, the weekly run ranks the contact list by each customer's
 * lifetime value from output/lifetime/<stem>/customers.csv, joined by id,
 * with the customers the log does not know after those it does, counted in
 * summary.json and warned about on every surface.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CsvParser } from "../components/common/csv/parse.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

const OUT = "output/2026-W48";
const LIFETIME_OUT = "output/lifetime/2026-11";
const SAVE_RATE = 0.3;
const COST = 5;

let dir: string;
let refused: CliResult;
let lifetime: CliResult;
let weekly: CliResult;
/** What runs/ held right after the refused weekly run. */
let runsAfterRefusal: string[];
/** Step states of a forced re-run with the same lifetime output, and of one after a newer lifetime publish. */
let sameLifetime: Record<string, string>;
let newerLifetime: Record<string, string>;
/** Weekly customers the purchase log leaves out: they have no lifetime value. */
const notInLog = new Set<string>();

/** Records of a CSV text through the product's own parser (quoted reasons hold commas). */
function readCsv(text: string, path: string): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  const parser = new CsvParser(
    { delimiter: ",", source: path },
    (fields) => {
      records.push([...fields]);
    },
    (line) => {
      throw new Error(`${path} line ${line} is malformed`);
    },
  );
  parser.push(text);
  parser.end();
  const [header, ...rows] = records;
  return { header: header!, rows };
}

/** A day of the purchase log's year (day 0: 2025-12-01) as its ISO date. */
const logDay = (n: number) => new Date(Date.UTC(2025, 11, 1) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * A purchase log of the week's customers (ids from weekly/2026-W48.csv):
 * every fifth customer is left out; the others buy 2-7 times, two in three
 * until the end of the year and the rest only in its first weeks, with
 * spend that differs between customers, so their lifetime values spread
 * far apart (about 30 to 750).
 */
async function writePurchaseLog(): Promise<void> {
  const lines = (await readFile(join(dir, "weekly/2026-W48.csv"), "utf8")).trimEnd().split("\n");
  let log = "customer_id,date,amount\n";
  let seed = 12345;
  const uniform = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  lines.slice(1).forEach((line, k) => {
    const id = line.slice(0, line.indexOf(","));
    if (k % 5 === 0) {
      notInLog.add(id);
      return;
    }
    const purchases = 2 + (k % 6);
    const start = k % 60;
    const gap = k % 3 === 0 ? 12 : Math.floor((340 - start) / purchases);
    const spend = 10 + ((k * 37) % 400);
    for (let j = 0; j < purchases; j++)
      log += `${id},${logDay(start + j * gap)},${(spend * -Math.log(1 - uniform())).toFixed(2)}\n`;
  });
  await writeFile(join(dir, "transactions/2026-11.csv"), log);
}

/** The first weekly run's published files, read before the later runs replace them. */
let first: { customers: string; list: string; summary: string; html: string };

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "contact-list-lifetime-cli-"));
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "600"]);
  expect(init.code, init.stderr).toBe(0);
  const yaml = join(dir, "churn.yaml");
  const config = (await readFile(yaml, "utf8"))
    .replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]")
    .replace("value_column: Total_Trans_Amt", "value_column: lifetime")
    .replace("budget_contacts: 200", "budget_contacts: null")
    .replace("eligible_tiers: [high]", "eligible_tiers: [high, medium]");
  expect(config).toContain("value_column: lifetime");
  expect(config).toContain(`cost_per_contact: ${COST}`);
  expect(config).toContain(`save_rate: ${SAVE_RATE}`);
  await writeFile(yaml, config);
  await writePurchaseLog();
  refused = await spawnChurn(["pipeline", "run", "--bucket", dir]);
  runsAfterRefusal = existsSync(join(dir, "runs")) ? await readdir(join(dir, "runs")) : [];
  lifetime = await spawnChurn(["pipeline", "run", "lifetime", "--bucket", dir]);
  expect(lifetime.code, lifetime.stderr).toBe(0);
  weekly = await spawnChurn(["pipeline", "run", "--bucket", dir]);
  expect(weekly.code, weekly.stderr).toBe(0);
  await expectPublished(dir, OUT);
  first = {
    customers: await readFile(join(dir, LIFETIME_OUT, "customers.csv"), "utf8"),
    list: await readFile(join(dir, OUT, "contact-list.csv"), "utf8"),
    summary: await readFile(join(dir, OUT, "summary.json"), "utf8"),
    html: await readFile(join(dir, OUT, "report.html"), "utf8"),
  };
  sameLifetime = await forcedWeeklySteps();
  // A longer purchase log is uploaded (a new generation starts a new lifetime run) and published.
  await writeFile(
    join(dir, "transactions/2026-11.csv"),
    `${await readFile(join(dir, "transactions/2026-11.csv"), "utf8")}${[...notInLog][0]},${logDay(330)},80.00\n`,
  );
  const again = await spawnChurn(["pipeline", "run", "lifetime", "--bucket", dir]);
  expect(again.code, again.stderr).toBe(0);
  newerLifetime = await forcedWeeklySteps();
}, 500_000);

/** A forced new attempt of the week's run: its steps' states (cached or succeeded) by name. */
async function forcedWeeklySteps(): Promise<Record<string, string>> {
  const run = await spawnChurn(["pipeline", "run", "--bucket", dir, "--force", "--json"]);
  expect(run.code, run.stderr).toBe(0);
  const record = JSON.parse(run.stdout) as { steps: Array<{ name: string; state: string }> };
  return Object.fromEntries(record.steps.map((s) => [s.name, s.state]));
}
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("value_column: lifetime without a lifetime output", () => {
  it("exits 2 before any step runs, naming the command that makes one", async () => {
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain("churn.yaml campaign.value_column is lifetime");
    expect(refused.stderr).toContain(`run \`churn pipeline run lifetime --bucket file://${dir}\` first`);
    // Nothing ran and no run was recorded.
    expect(runsAfterRefusal).toEqual([]);
  });
});

describe("the contact-list step's cache key", () => {
  it("holds while the lifetime output is the same, and changes with a newer lifetime publish", () => {
    expect(sameLifetime).toMatchObject({ train: "cached", score: "cached", "contact-list": "cached" });
    expect(newerLifetime).toMatchObject({ train: "cached", score: "cached", "contact-list": "succeeded" });
  });
});

describe("value_column: lifetime after the lifetime pipeline ran", () => {
  it("ranks the contact list by p x lifetime value x save rate - cost, the value joined by id", async () => {
    const customers = readCsv(first.customers, "customers.csv");
    const valueAt = customers.header.indexOf("lifetime_value");
    const clv = new Map(customers.rows.map((r) => [r[0]!, Number(r[valueAt])]));
    expect(clv.size).toBe(600 - notInLog.size);
    const list = readCsv(first.list, "contact-list.csv");
    const at = (name: string) => list.header.indexOf(name);
    const valued = list.rows.filter((r) => r[at("value")] !== "");
    expect(valued.length).toBeGreaterThan(20);
    const expected = valued.map((r) => Number(r[at("expected_retained_value")]));
    for (const [k, r] of valued.entries()) {
      const id = r[at("CLIENTNUM")]!;
      expect(Number(r[at("value")])).toBeCloseTo(clv.get(id)!, 3);
      expect(expected[k]).toBeCloseTo(
        Number(r[at("churn_probability")]) * clv.get(id)! * SAVE_RATE - COST,
        1,
      );
    }
    expect(expected).toEqual([...expected].sort((a, b) => b - a));
    // CLV, not the weekly file's value or the risk alone, decides: the order is not the probability order.
    const p = valued.map((r) => Number(r[at("churn_probability")]));
    expect(p).not.toEqual([...p].sort((a, b) => b - a));
    expect(list.rows.map((r) => Number(r[0]))).toEqual(list.rows.map((_, i) => i + 1));
  });

  it("lists the customers the purchase log does not know after all the others, and counts them", async () => {
    const list = readCsv(first.list, "contact-list.csv");
    const at = (name: string) => list.header.indexOf(name);
    const firstWithout = list.rows.findIndex((r) => r[at("value")] === "");
    const without = list.rows.slice(firstWithout);
    expect(firstWithout).toBeGreaterThan(0);
    expect(without.length).toBeGreaterThan(0);
    for (const r of without) {
      expect(r[at("value")]).toBe("");
      expect(r[at("expected_retained_value")]).toBe("");
      expect(notInLog.has(r[at("CLIENTNUM")]!)).toBe(true);
    }
    const summary = JSON.parse(first.summary);
    expect(summary.campaign).toMatchObject({ value_column: "lifetime", without_value: without.length });
    const message = `${without.length} of ${summary.campaign.eligible} eligible customers have no lifetime_value in ${LIFETIME_OUT}/customers.csv: they are ranked after those with one`;
    expect(summary.warnings).toContainEqual({
      step: "contact-list",
      code: "no-lifetime-value",
      column: "lifetime_value",
      message,
    });
    expect(weekly.stdout).toContain(message);
    expect(first.html).toContain(message);
  });
});
