import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { runChaos } from "./support/chaos.js";
import { churnBin, spawnChurn } from "./support/cli.js";

// Issue 25: SIGKILL the weekly run at a seeded random moment of every step in
// turn (publish included); after each kill a reader (`churn pull`) never gets a
// mix of two publishes, and the rerun's scores.csv is byte-identical to an
// uninterrupted run's. The long version (100 kills) is bench/chaos.ts.
let base: string;
let template: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "chaos-test-"));
  template = join(base, "template");
  const init = await spawnChurn(["init", "--bucket", template, "--rows", "1500", "--weekly-rows", "400"]);
  expect(init.code, init.stderr).toBe(0);
  // One family and two folds: a whole run takes ~10 s, so a dozen kills and reruns take a few minutes.
  const config = await readFile(join(template, "churn.yaml"), "utf8");
  await writeFile(
    join(template, "churn.yaml"),
    config
      .replace("families: [logistic, gbdt, mlp]", "families: [gbdt]")
      .replace("cv_folds: 5", "cv_folds: 2"),
  );
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe("chaos: SIGKILLs across every step of the weekly run", () => {
  it("never lets a reader see a mix, and every rerun gives the uninterrupted bytes", async () => {
    const kills = weeklyPipeline.steps.length;
    const report = await runChaos({ template, stem: "2026-W48", kills, seed: 25, log: console.log });
    console.log(JSON.stringify(report, null, 2));
    expect(report.problems).toEqual([]);
    expect(report.kills + report.missed).toBe(kills);
    expect(report.kills).toBeGreaterThanOrEqual(kills - 2);
    expect(report.killedIn.publish ?? 0, "no kill landed in publish").toBeGreaterThan(0);
    expect(report).toMatchObject({ inconsistent: 0, failedReruns: 0, mismatches: 0 });
  }, 600_000);
});
