/**
 * The campaign's measured effect against a known truth, through the built
 * CLI: a 5,000-row example week is scored with every tier eligible (5,000
 * customers listed, a tenth held back), `churn init --labels-for
 * --campaign-effect 0.3` writes that week's outcomes with contacted
 * customers' churn cut by 30%, and the next weekly run's summary.json and
 * report.html must find the simulated reduction inside their 95% interval;
 * rewritten with effect 0, the run after must find an interval holding 0.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { campaignEffectSchema, campaignWeekSchema } from "../components/common/documents/campaign-effect.js";
import { churnBin, spawnChurn } from "./support/cli.js";

const ROWS = 5_000;
let dir: string;

async function churn(...args: string[]): Promise<string> {
  const result = await spawnChurn([...args, "--bucket", dir], {
    CHURN_BUCKET: "",
    CHURN_PUSHGATEWAY_URL: "",
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

async function summaryOf(week: string) {
  const summary = JSON.parse(await readFile(join(dir, "output", week, "summary.json"), "utf8"));
  return campaignEffectSchema.parse(summary.campaign_effect);
}

let effect30: Awaited<ReturnType<typeof summaryOf>>;
let effect0: Awaited<ReturnType<typeof summaryOf>>;
let simulated30: {
  true_absolute_reduction: number;
  true_relative_reduction: number;
  contact: { customers: number };
};

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "campaign-effect-cli-"));
  await churn("init", "--rows", "2000", "--weekly-rows", String(ROWS));
  const yaml = join(dir, "churn.yaml");
  await writeFile(
    yaml,
    (await readFile(yaml, "utf8"))
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic]")
      // Everyone listed, ranked by probability: 5,000 eligible rows, about 500 of them held back.
      .replace("eligible_tiers: [high]", "eligible_tiers: [high, medium, low]")
      .replace("value_column: Total_Trans_Amt", "value_column: null")
      .replace("budget_contacts: 200", "budget_contacts: null")
      // The labels only measure the campaign here; retraining on them would only make the runs slower.
      .replace("on_labels: true", "on_labels: false"),
  );
  await churn("pipeline", "run");
  simulated30 = JSON.parse(
    await churn("init", "--labels-for", "weekly/2026-W48.csv", "--campaign-effect", "0.3", "--json"),
  );
  await copyFile(join(dir, "weekly/2026-W48.csv"), join(dir, "weekly/2026-W49.csv"));
  await churn("pipeline", "run", "--weekly", "weekly/2026-W49.csv");
  effect30 = await summaryOf("2026-W49");
  // The same week's outcomes again, now without any effect of the calls.
  await churn("init", "--labels-for", "weekly/2026-W48.csv", "--campaign-effect", "0", "--force");
  await copyFile(join(dir, "weekly/2026-W48.csv"), join(dir, "weekly/2026-W50.csv"));
  await churn("pipeline", "run", "--weekly", "weekly/2026-W50.csv");
  effect0 = await summaryOf("2026-W50");
}, 900_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

describe("the campaign's measured effect", () => {
  it("finds the simulated reduction inside the reported 95% interval, with a half-width of at most 0.10", () => {
    expect(effect30.weeks.map((w) => w.week)).toEqual(["2026-W48"]);
    expect(effect30.arrived).toEqual(["2026-W48"]);
    const week = effect30.weeks[0]!;
    expect(week.contact.customers + week.control.customers).toBe(ROWS);
    expect(week.control.customers / ROWS).toBeGreaterThan(0.08);
    expect(week.control.customers / ROWS).toBeLessThan(0.12);
    expect(week.contact.customers).toBe(simulated30.contact.customers);
    const a = week.absolute_reduction;
    const truth = simulated30.true_absolute_reduction;
    expect(truth).toBeGreaterThan(0.01);
    expect(a.lower!).toBeLessThanOrEqual(truth);
    expect(a.upper!).toBeGreaterThanOrEqual(truth);
    expect((a.upper! - a.lower!) / 2).toBeLessThanOrEqual(0.1);
    const r = week.relative_reduction;
    expect(r.lower!).toBeLessThanOrEqual(simulated30.true_relative_reduction);
    expect(r.upper!).toBeGreaterThanOrEqual(simulated30.true_relative_reduction);
    // One week: the accumulated estimate is that week's.
    expect(effect30.accumulated).toMatchObject({ weeks: 1, absolute_reduction: a });
  });

  it("finds an interval that holds 0 when the calls had no effect", () => {
    expect(effect0.arrived).toEqual(["2026-W48"]);
    const a = effect0.weeks[0]!.absolute_reduction;
    expect(a.lower!).toBeLessThanOrEqual(0);
    expect(a.upper!).toBeGreaterThanOrEqual(0);
    expect((a.upper! - a.lower!) / 2).toBeLessThanOrEqual(0.1);
  });

  it("keeps one small document per labelled week and shows the result in report.html", async () => {
    const week = campaignWeekSchema.parse(
      JSON.parse(await readFile(join(dir, "monitoring/campaign/2026-W48.json"), "utf8")),
    );
    expect(week.labels_object).toBe("labels/2026-W48.csv");
    expect(week.contact.with_outcome).toBe(effect0.weeks[0]!.contact.customers);
    const html = await readFile(join(dir, "output/2026-W50/report.html"), "utf8");
    expect(html).toContain("Did the calls work?");
    expect(html).toMatch(/<td data-label="Week">2026-W48<\/td>/);
    expect(html).toContain("95% interval");
  });
});
