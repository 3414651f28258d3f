import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftReport } from "../components/common/monitoring/drift.js";
import { openStorage } from "../components/common/storage/index.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";

// Drift through the real weekly pipeline (built CLI, local runner): the example
// weekly file with one numeric column shifted by +50% must be flagged in
// output/<stem>/drift.json, and only that column.
const _root = resolve(import.meta.dirname, "..");
const SHIFTED = "Customer_Age";

function churn(args: string[]): Promise<CliResult> {
  return spawnChurn(args);
}

/** Multiplies one column of a simple (unquoted-number) CSV by a factor. */
function shiftColumn(csv: string, column: string, factor: number): string {
  const lines = csv.split("\n");
  const index = lines[0]!.split(",").indexOf(column);
  expect(index, `${column} in the weekly header`).toBeGreaterThan(0);
  return lines
    .map((line, i) => {
      if (i === 0 || line === "") return line;
      // The example generator quotes text fields only, and none contains a comma before a numeric column's value.
      const fields = line.split(",");
      const v = Number(fields[index]);
      if (fields[index] !== "" && Number.isFinite(v)) fields[index] = String(v * factor);
      return fields.join(",");
    })
    .join("\n");
}

let dir: string;
beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "monitor-drift-"));
  const init = await churn(["init", "--bucket", dir, "--rows", "3000", "--weekly-rows", "1000"]);
  expect(init.code, init.stderr).toBe(0);
  const storage = await openStorage(dir);
  const config = await storage.readText("churn.yaml");
  await storage.write(
    "churn.yaml",
    config
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]")
      .replace("min_realised_roc_auc: null", "min_realised_roc_auc: 0.6"),
  );
  const weekly = await storage.readText("weekly/2026-W48.csv");
  await storage.write("weekly/2026-W48.csv", shiftColumn(weekly, SHIFTED, 1.5), { contentType: "text/csv" });
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("drift through the weekly pipeline", () => {
  it("publishes drift.json flagging exactly the shifted feature, and the report shows it", async () => {
    const run = await churn(["pipeline", "run", "--bucket", dir, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const storage = await openStorage(dir);
    const drift = JSON.parse(await storage.readText("output/2026-W48/drift.json")) as DriftReport;
    const byName = new Map(drift.features.map((f) => [f.column, f]));
    expect(byName.get(SHIFTED)!.psi).toBeGreaterThan(0.25);
    expect(drift.significant).toEqual([SHIFTED]);
    const others = drift.features.filter((f) => f.column !== SHIFTED);
    expect(others.length).toBeGreaterThan(10);
    for (const f of others) expect(f.psi, f.column).toBeLessThan(0.1);
    expect(drift.score).not.toBeNull();
    const summary = JSON.parse(await storage.readText("output/2026-W48/summary.json"));
    expect(summary.drift.significant).toEqual([SHIFTED]);
    const html = await storage.readText("output/2026-W48/report.html");
    expect(html).toContain('id="drift"');
    expect(html).toContain(SHIFTED);
    expect(html).not.toMatch(/<script/);
    expect(summary.retrain_triggers.fired).toContain("psi_above_max");
    expect(summary.retrain_triggers.fired).not.toContain("labels_arrived");
  }, 240_000);

  it("labels of a scored week give realised metrics in the next run and fire the realised trigger", async () => {
    const storage = await openStorage(dir);
    // Outcomes opposite to the scores (the lowest scores churned): a realised ROC-AUC far below 0.6.
    const scores = (await storage.readText("output/2026-W48/scores.csv")).trimEnd().split("\n");
    const pCol = scores[0]!.split(",").indexOf("churn_probability");
    const labelled = scores.slice(1, 401).map((line) => {
      const fields = line.split(",");
      return `${fields[0]},${Number(fields[pCol]) < 0.15 ? 1 : 0}`;
    });
    await storage.write("labels/2026-W48.csv", `CLIENTNUM,churned\n${labelled.join("\n")}\n`);
    await storage.write("weekly/2026-W49.csv", await storage.readText("weekly/2026-W48.csv"));
    const run = await churn([
      "pipeline",
      "run",
      "--bucket",
      dir,
      "--weekly",
      "weekly/2026-W49.csv",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(await storage.readText("output/2026-W49/summary.json"));
    const week = summary.realised.find((w: { week: string }) => w.week === "2026-W48");
    expect(week).toMatchObject({ labelled: 400, matched: 400 });
    expect(week.roc_auc).toBeLessThan(0.6);
    expect(summary.retrain_triggers.fired).toEqual(
      expect.arrayContaining(["labels_arrived", "realised_roc_auc_below_min"]),
    );
    // retrain.on_labels: the 400 labelled rows of the shifted week joined the training data, so this
    // (equally shifted) week drifts less from the new training data than 2026-W48 did from the old.
    const before = JSON.parse(await storage.readText("output/2026-W48/drift.json")) as DriftReport;
    const after = JSON.parse(await storage.readText("output/2026-W49/drift.json")) as DriftReport;
    expect(after.max_feature_psi).toBeLessThan(before.max_feature_psi);
    const realised = JSON.parse(await storage.readText("monitoring/realised.json"));
    expect(realised.weeks.map((w: { week: string }) => w.week)).toEqual(["2026-W48"]);
    expect(await storage.readText("output/2026-W49/report.html")).toContain(
      "How did past predictions turn out?",
    );
  }, 240_000);
});
