import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CsvParser } from "../components/common/csv/parse.js";
import { csvField } from "../components/common/csv/write.js";
import type { DriftReport } from "../components/common/monitoring/drift.js";
import type { RunRecord, StepRecord } from "../pipelines/runner/records.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";

// Retraining triggers and the feedback loop through the real weekly pipeline
// (built CLI, local runner, each step a child process): a weekly file shifted
// in two features forces a retrain past the cache only when retrain.max_psi is
// set; labels of a scored week give realised metrics in the next run and, with
// retrain.on_labels, grow the training history by exactly the labelled rows.
const _root = resolve(import.meta.dirname, "..");
const SHIFTS = { Customer_Age: 1.5, Total_Trans_Amt: 3 } as const;
const LABELLED = 250;
const CODE_VERSION = `test-${process.pid}-${Date.now()}`;

// A fixed code version: a rebuild of dist/ during the test (shared checkouts) must not empty the cache.
function churn(args: string[]): Promise<CliResult> {
  return spawnChurn(args, { CHURN_CODE_VERSION: CODE_VERSION });
}

async function runWeekly(bucket: string, weekly: string): Promise<RunRecord> {
  const run = await churn(["pipeline", "run", "--bucket", bucket, "--weekly", weekly, "--json"]);
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  return JSON.parse(run.stdout) as RunRecord;
}

function step(record: RunRecord, name: string): StepRecord {
  const found = record.steps.find((s) => s.name === name);
  expect(found, name).toBeDefined();
  return found!;
}

/** Parse a CSV text with the project's parser (quoted fields included). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser(
    { delimiter: ",", source: "weekly" },
    (fields) => {
      rows.push([...fields]);
    },
    (line, _field, reason) => {
      throw new Error(`line ${line}: ${reason}`);
    },
  );
  parser.push(text);
  parser.end();
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

/**
 * A weekly file with a deliberate shift: every value of each named numeric
 * column multiplied by its factor, all other columns unchanged.
 */
function shiftedWeekly(csv: string, factors: Record<string, number>): string {
  const rows = parseCsv(csv);
  const header = rows[0]!;
  const columns = Object.entries(factors).map(([name, factor]) => {
    const index = header.indexOf(name);
    expect(index, `${name} in the weekly header`).toBeGreaterThanOrEqual(0);
    return { index, factor };
  });
  for (const row of rows.slice(1)) {
    for (const { index, factor } of columns) {
      const v = Number(row[index]);
      if (row[index] !== "" && Number.isFinite(v)) row[index] = String(Math.round(v * factor * 1000) / 1000);
    }
  }
  return `${rows.map((r) => r.map((f) => csvField(f)).join(",")).join("\n")}\n`;
}

let base: string;
/** max_psi: 0.25 (the default) and on_labels: true. */
let withPsi: string;
/** max_psi: null and on_labels: false (changed before its first run, so caches are comparable). */
let withoutPsi: string;
/** max_psi: null and a champion that is "too old" after a few seconds. */
let aged: string;
const first = new Map<string, RunRecord>();

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "monitor-triggers-"));
  const template = join(base, "template");
  const init = await churn(["init", "--bucket", template, "--rows", "2000", "--weekly-rows", "600"]);
  expect(init.code, init.stderr).toBe(0);
  const config = (await readFile(join(template, "churn.yaml"), "utf8")).replace(
    "families: [logistic, gbdt, mlp]",
    "families: [logistic, gbdt]",
  );
  expect(config).toMatch(/max_psi: 0\.25/);
  expect(config).toMatch(/on_labels: true/);
  expect(config).toMatch(/max_model_age_weeks: null/);
  withPsi = join(base, "with-psi");
  withoutPsi = join(base, "without-psi");
  await cp(template, withPsi, { recursive: true });
  await cp(template, withoutPsi, { recursive: true });
  aged = join(base, "aged");
  await cp(template, aged, { recursive: true });
  // 1e-6 weeks is 0.6 s: the champion of the first run is too old by the second.
  await writeFile(
    join(aged, "churn.yaml"),
    config
      .replace(/max_psi: 0\.25/, "max_psi: null")
      .replace("max_model_age_weeks: null", "max_model_age_weeks: 0.000001"),
  );
  // Gender as pii: the joined weekly rows must not carry it into runs/.
  expect(config).toMatch(/^pii: \[\]$/m);
  await writeFile(join(withPsi, "churn.yaml"), config.replace(/^pii: \[\]$/m, "pii: [Gender]"));
  await writeFile(
    join(withoutPsi, "churn.yaml"),
    config.replace(/max_psi: 0\.25/, "max_psi: null").replace("on_labels: true", "on_labels: false"),
  );
  for (const bucket of [withPsi, withoutPsi, aged])
    first.set(bucket, await runWeekly(bucket, "weekly/2026-W48.csv"));
}, 150_000);
afterAll(() => rm(base, { recursive: true, force: true }));

describe("retraining triggers through the weekly pipeline", () => {
  it("a weekly file shifted in two features: PSI > 0.25 for exactly those, and a forced retrain only with max_psi", async () => {
    const original = await readFile(join(withPsi, "weekly", "2026-W48.csv"), "utf8");
    const shifted = shiftedWeekly(original, SHIFTS);
    const expected = Object.keys(SHIFTS).sort();
    for (const bucket of [withPsi, withoutPsi]) {
      await writeFile(join(bucket, "weekly", "2026-W50.csv"), shifted);
      const record = await runWeekly(bucket, "weekly/2026-W50.csv");
      const drift = JSON.parse(
        await readFile(join(bucket, "output", "2026-W50", "drift.json"), "utf8"),
      ) as DriftReport;
      expect([...drift.significant].sort()).toEqual(expected);
      for (const f of drift.features) {
        if (f.column in SHIFTS) expect(f.psi, f.column).toBeGreaterThan(0.25);
        else expect(f.psi, f.column).toBeLessThan(0.25);
      }
      expect(drift.features.length).toBeGreaterThan(10);
      const summary = JSON.parse(await readFile(join(bucket, "output", "2026-W50", "summary.json"), "utf8"));
      const before = step(first.get(bucket)!, "train");
      if (bucket === withPsi) {
        // Same training data, so train and evaluate would hit the cache: the trigger bypasses it.
        expect(step(record, "ingest-history").state).toBe("cached");
        for (const name of ["train", "evaluate"]) {
          expect(step(record, name).state, name).toBe("succeeded");
          expect(step(record, name).cache).toMatchObject({ hit: false, bypassed: ["psi_above_max"] });
        }
        expect(record.retrain).toEqual({ fired: ["psi_above_max"], cache_bypassed: ["train", "evaluate"] });
        expect(summary.retrain_triggers.fired).toContain("psi_above_max");
        expect(summary.retrain_triggers.cache_bypassed).toEqual(["train", "evaluate"]);
        expect(summary.retrain_triggers.forced_retrain).toBe(true);
        // Training is deterministic: a forced retrain on the same data reproduces the same bundle.
        expect(step(record, "train").outputs.bundle!.sha256).toBe(before.outputs.bundle!.sha256);
      } else {
        expect(step(record, "train").state).toBe("cached");
        expect(step(record, "evaluate").state).toBe("cached");
        expect(record.retrain).toBeUndefined();
        const psi = summary.retrain_triggers.checks.find(
          (c: { trigger: string }) => c.trigger === "psi_above_max",
        );
        expect(psi).toMatchObject({ fired: null, detail: "disabled (retrain.max_psi: null)" });
        expect(summary.retrain_triggers.fired).not.toContain("psi_above_max");
        expect(summary.retrain_triggers.forced_retrain).toBe(false);
      }
    }
  }, 180_000);

  it("labels of a scored week: realised metrics in the next run, and with on_labels a history larger by the labelled rows", async () => {
    for (const bucket of [withPsi, withoutPsi]) {
      // Outcomes for the first LABELLED customers scored in 2026-W48 (higher scores churned more often).
      const scores = parseCsv(await readFile(join(bucket, "output", "2026-W48", "scores.csv"), "utf8"));
      const pCol = scores[0]!.indexOf("churn_probability");
      const labels = scores
        .slice(1, LABELLED + 1)
        .map((row, i) => `${row[0]},${Number(row[pCol]) > 0.3 || i % 17 === 0 ? "Yes" : "No"}`);
      await mkdir(join(bucket, "labels"), { recursive: true });
      await writeFile(join(bucket, "labels", "2026-W48.csv"), `CLIENTNUM,churned\n${labels.join("\n")}\n`);
      // An unshifted week to score, so drift does not fire.
      await writeFile(
        join(bucket, "weekly", "2026-W51.csv"),
        await readFile(join(bucket, "weekly", "2026-W48.csv"), "utf8"),
      );
      const record = await runWeekly(bucket, "weekly/2026-W51.csv");
      const summary = JSON.parse(await readFile(join(bucket, "output", "2026-W51", "summary.json"), "utf8"));
      const week = summary.realised.find((w: { week: string }) => w.week === "2026-W48");
      expect(week).toMatchObject({ labelled: LABELLED, matched: LABELLED });
      for (const metric of ["roc_auc", "precision", "recall"]) {
        expect(typeof week[metric], metric).toBe("number");
        expect(week[metric]).toBeGreaterThanOrEqual(0);
        expect(week[metric]).toBeLessThanOrEqual(1);
      }
      const html = await readFile(join(bucket, "output", "2026-W51", "report.html"), "utf8");
      expect(html).toContain("How did past predictions turn out?");
      expect(html).toContain("2026-W48");
      const historyBefore = step(first.get(bucket)!, "ingest-history").counts.accepted!;
      const history = step(record, "ingest-history");
      const join_ = step(record, "join-labels");
      if (bucket === withPsi) {
        expect(summary.retrain_triggers.fired).toContain("labels_arrived");
        expect(join_.counts).toMatchObject({ labels_files: 1, weeks_joined: 1, rows_joined: LABELLED });
        expect(join_.inputs.labels!.map((r) => r.object)).toEqual(["labels/2026-W48.csv"]);
        // Only the labelled week is read, not every weekly file.
        expect(join_.inputs.weekly!.map((r) => r.object)).toEqual(["weekly/2026-W48.csv"]);
        expect(history.inputs.labelled).toHaveLength(1);
        const joined = parseCsv(await readFile(join(bucket, history.inputs.labelled![0]!.object), "utf8"));
        expect(joined).toHaveLength(LABELLED + 1);
        const gender = joined[0]!.indexOf("Gender");
        expect(gender).toBeGreaterThanOrEqual(0);
        expect(new Set(joined.slice(1).map((r) => r[gender]))).toEqual(new Set([""]));
        expect(history.counts.accepted).toBe(historyBefore + LABELLED);
        // New training data: a plain cache miss, not a bypass.
        expect(step(record, "train").state).toBe("succeeded");
        expect(step(record, "train").cache?.bypassed).toBeUndefined();
      } else {
        expect(join_.counts.rows_joined).toBe(0);
        expect(history.inputs.labelled).toBeUndefined();
        expect(history.counts.accepted).toBe(historyBefore);
        expect(history.state).toBe("cached");
        expect(step(record, "train").state).toBe("cached");
      }
    }
  }, 180_000);

  it("an old champion forces a retrain of the same week with the cache bypassed (model_too_old)", async () => {
    const run = await churn([
      "pipeline",
      "run",
      "--bucket",
      aged,
      "--weekly",
      "weekly/2026-W48.csv",
      "--force",
      "--json",
    ]);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const record = JSON.parse(run.stdout) as RunRecord;
    expect(step(record, "ingest-history").state).toBe("cached");
    expect(step(record, "train").cache).toMatchObject({ hit: false, bypassed: ["model_too_old"] });
    expect(record.retrain).toEqual({ fired: ["model_too_old"], cache_bypassed: ["train", "evaluate"] });
    const summary = JSON.parse(await readFile(join(aged, "output", "2026-W48", "summary.json"), "utf8"));
    expect(summary.retrain_triggers.fired).toContain("model_too_old");
    expect(summary.retrain_triggers.forced_retrain).toBe(true);
  }, 120_000);
});
