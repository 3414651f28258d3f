import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn } from "./support/cli.js";

// Issue 17 item 6 through the built CLI: when this run's retrained candidate
// loses the gate, the week is scored by the champion, and report.html,
// drift.json and summary.json must describe the champion (its held-out
// ROC-AUC, stored when it was trained), not the losing candidate.
//
// Week 1 trains a GBDT (the champion). Week 2's config allows only logistic
// regression, which on the example data ranks clearly worse, so its candidate
// loses and the champion scores week 2.

let dir: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = join(await mkdtemp(join(tmpdir(), "losing-candidate-")), "bucket");
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "300"]);
  expect(init.code, init.stderr).toBe(0);
}, 60_000);
afterAll(() => rm(join(dir, ".."), { recursive: true, force: true }));

async function setFamilies(families: string): Promise<void> {
  const config = await readFile(join(dir, "churn.yaml"), "utf8");
  await writeFile(
    join(dir, "churn.yaml"),
    config.replace(/families: \[[a-z, ]+\]/, `families: [${families}]`),
  );
}

const json = async (path: string) => JSON.parse(await readFile(join(dir, path), "utf8"));

/** The ROC-AUC report.html's quality table shows. */
function reportedRocAuc(html: string): number {
  const match = /<tr><th>ROC-AUC<\/th><td>([0-9.]+)<\/td>/.exec(html);
  expect(match, "report.html has no ROC-AUC table").not.toBeNull();
  return Number(match![1]);
}

describe("a losing candidate", () => {
  it("leaves the report and drift describing the champion that scored", async () => {
    await setFamilies("gbdt");
    const first = await spawnChurn(["pipeline", "run", "--bucket", dir, "--weekly", "weekly/2026-W48.csv"]);
    expect(first.code, first.stderr).toBe(0);
    const champion = (await json("models/champion")).version as string;
    const stored = await json(`models/${champion}/evaluation-report.json`);
    expect(stored.rocAuc).toBeGreaterThan(0.8);
    // Item 4: the promoted model is the judged one refitted on every labelled row.
    const bundle = await json(`models/${champion}/bundle.json`);
    expect(bundle.training.refit_on_all_rows).toBe(true);
    expect(bundle.training.training_rows).toBe(2000);
    expect(bundle.training.evaluated_training_rows).toBe(1600);
    const decision = await json(`models/${champion}/evaluation.json`);
    expect(decision.candidate_version).toBe(bundle.training.evaluated_version);
    expect(decision.candidate_version).not.toBe(champion);
    const week1Html = await readFile(join(dir, "output/2026-W48/report.html"), "utf8");
    expect(week1Html).toMatch(/refitted on every labelled customer/);

    await setFamilies("logistic");
    await copyFile(join(dir, "weekly", "2026-W48.csv"), join(dir, "weekly", "2026-W49.csv"));
    const second = await spawnChurn(["pipeline", "run", "--bucket", dir, "--weekly", "weekly/2026-W49.csv"]);
    expect(second.code, second.stderr).toBe(0);
    expect((await json("models/champion")).version).toBe(champion);

    const summary = await json("output/2026-W49/summary.json");
    expect(summary.model_version).toBe(champion);
    expect(summary.model_decision).toMatch(/stays/);
    const html = await readFile(join(dir, "output/2026-W49/report.html"), "utf8");
    // the candidate's own held-out ROC-AUC is recorded by its evaluate step
    const runs = await readdir(join(dir, "runs"));
    let candidateRocAuc: number | null = null;
    for (const run of runs) {
      const record = await json(`runs/${run}/run.json`);
      if (record.trigger?.object !== "weekly/2026-W49.csv") continue;
      candidateRocAuc = (await json(`runs/${run}/steps/evaluate/output.json`)).summary.roc_auc;
    }
    expect(candidateRocAuc).not.toBeNull();
    console.log(`champion ${stored.rocAuc.toFixed(4)}, losing candidate ${candidateRocAuc!.toFixed(4)}`);
    expect(Math.abs(candidateRocAuc! - stored.rocAuc)).toBeGreaterThan(0.002);
    expect(Math.abs(reportedRocAuc(html) - stored.rocAuc)).toBeLessThan(0.001);
    expect(html).toContain(`model ${champion}, the champion that scored this week`);
    const drift = await json("output/2026-W49/drift.json");
    expect(drift.scoring_model).toEqual({ version: champion, role: "champion", basis: "champion-stored" });
    // week 1 (a promoted candidate) describes that candidate, now the champion
    const week1 = await json("output/2026-W48/drift.json");
    expect(week1.scoring_model).toEqual({
      version: champion,
      role: "candidate",
      basis: "candidate-held-out",
    });
  }, 400_000);
});
