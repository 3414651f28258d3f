import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn, useQuickModels } from "./support/cli.js";

// Issue 18 item 9 through the built CLI: `churn models compare` on the same
// rows for both models (those neither trained on), and a re-run's closing
// lines that never repeat a stale "there was no champion".
let base: string;
let bucket: string;
let first: string;
let second: string;
const run = (args: string[]) => spawnChurn([...args, "--bucket", bucket]);
const json = async (args: string[]) => {
  const result = await run([...args, "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "models-compare-"));
  bucket = join(base, "bucket");
  expect((await spawnChurn(["init", "--bucket", bucket, "--rows", "400", "--weekly-rows", "50"])).code).toBe(
    0,
  );
  await useQuickModels(bucket);
  const firstRun = await run(["pipeline", "run"]);
  expect(firstRun.code, firstRun.stderr).toBe(0);
  expect(firstRun.stdout).toContain("there was no champion");
  first = (await json(["models", "list"])).champion.version;
}, 180_000);
afterAll(() => rm(base, { recursive: true, force: true }));

describe("a re-run's closing lines", () => {
  it("say the champion is this very candidate, not 'there was no champion'", async () => {
    const again = await run(["pipeline", "run", "--force"]);
    expect(again.code, again.stderr).toBe(0);
    const line = again.stdout.split("\n").find((l) => l.startsWith("model: "));
    expect(line).toBe(
      `model: champion ${first} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`,
    );
    expect(again.stdout).not.toContain("there was no champion");
    expect(again.stdout).not.toMatch(/champion champion/i);
  }, 120_000);
});

describe("churn models compare", () => {
  beforeAll(async () => {
    // A second model of another family on the same history.
    const config = join(bucket, "churn.yaml");
    await writeFile(
      config,
      (await readFile(config, "utf8")).replace("families: [logistic]", "families: [gbdt]"),
    );
    expect((await run(["pipeline", "run", "--force"])).code).toBe(0);
    const listing = await json(["models", "list"]);
    second = listing.models.find((m: { version: string }) => m.version !== first).version;
  }, 180_000);

  it("says plainly that too few rows remain when both models trained on the whole history", async () => {
    const result = await run(["models", "compare", first.slice(0, 6), second.slice(0, 6)]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(first);
    expect(result.stdout).toContain(second);
    expect(result.stdout).toMatch(/family\s+logistic\s+gbdt/);
    expect(result.stdout).toMatch(/too few rows to compare: \d+ of \d+ labelled rows/);
    expect(result.stdout).not.toContain("PR-AUC");
    const found = await json(["models", "compare", first, second]);
    expect(found.comparison.metrics).toBeNull();
    expect(found.comparison.compared_rows).toBeLessThan(200);
  });

  it("judges both on the same new customers, with metrics, lift and drivers side by side", async () => {
    // 700 customers neither model saw (ids made distinct), added to the history: the next run ingests them.
    const other = join(base, "other");
    expect((await spawnChurn(["init", "--bucket", other, "--rows", "700", "--weekly-rows", "50"])).code).toBe(
      0,
    );
    const fresh = (await readFile(join(other, "input", "history.csv"), "utf8"))
      .trimEnd()
      .split("\n")
      .slice(1);
    const history = join(bucket, "input", "history.csv");
    const renamed = fresh.map((line) => `1${line}`);
    await writeFile(history, `${(await readFile(history, "utf8")).trimEnd()}\n${renamed.join("\n")}\n`);
    const third = await run(["pipeline", "run", "--force"]);
    expect([0, 3], third.stderr).toContain(third.code);

    const found = await json(["models", "compare", first, second]);
    expect(found.models.map((m: { version: string }) => m.version)).toEqual([first, second]);
    expect(found.models[0]).toMatchObject({ family: "logistic", training_rows: expect.any(Number) });
    const c = found.comparison;
    expect(c.too_few).toBeNull();
    expect(c.labelled_rows).toBeGreaterThanOrEqual(1100);
    // At least the 700 new customers, never the ones either model trained on.
    expect(c.compared_rows).toBeGreaterThanOrEqual(700);
    expect(c.compared_rows).toBeLessThan(c.labelled_rows);
    expect(c.compared_positives).toBeGreaterThanOrEqual(30);
    for (const version of [first, second]) {
      const m = c.metrics[version];
      expect(m.roc_auc).toBeGreaterThan(0.5);
      expect(m.roc_auc).toBeLessThanOrEqual(1);
      expect(m.pr_auc).toBeGreaterThan(0);
      expect(m.brier).toBeGreaterThan(0);
      expect(m.brier).toBeLessThan(0.25);
      expect(m.lift_top_10).toBeGreaterThan(1);
      expect(m.drivers).toHaveLength(5);
      expect(Object.keys(m.drivers[0]).sort()).toEqual(["column", "mean", "mean_abs"]);
    }
    const text = await run(["models", "compare", first.slice(0, 6), second.slice(0, 6)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`on the same ${c.compared_rows.toLocaleString("en-US")} rows`);
    for (const label of [
      "ROC-AUC",
      "PR-AUC",
      "Brier",
      "lift in top 10%",
      "top drivers",
      "recorded CV ROC-AUC",
    ])
      expect(text.stdout).toContain(label);
    expect(text.stdout).toContain(c.metrics[first].roc_auc.toFixed(4));
    expect(text.stdout).toContain(c.metrics[second].roc_auc.toFixed(4));
  }, 240_000);

  it("refuses the same model twice and an unknown version with exit 2", async () => {
    const same = await run(["models", "compare", first, first.slice(0, 8)]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("give two different models");
    const unknown = await run(["models", "compare", first, "abcdef"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("known versions, newest first:");
  });
});
