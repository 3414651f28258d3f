/**
 * Marketing's call list through the built CLI on a small `churn init`
 * bucket: the weekly run publishes contact-list.csv with the other files
 * (listed in the `_SUCCESS` manifest), ranked within campaign.budget_contacts
 * with a control group; the run's printed preview is the top of that list,
 * with reasons people can read; and weekly category values training never
 * saw reach summary.json, the warnings and report.html.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

const OUT = "output/2026-W48";
const UNSEEN_ROWS = 20;

let dir: string;
let run: CliResult;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "contact-list-cli-"));
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "600"]);
  expect(init.code, init.stderr).toBe(0);
  const yaml = join(dir, "churn.yaml");
  await writeFile(
    yaml,
    (await readFile(yaml, "utf8"))
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]")
      .replace("budget_contacts: 200", "budget_contacts: 25")
      .replace("eligible_tiers: [high]", "eligible_tiers: [high, medium]"),
  );
  // Twenty customers this week have an education level training never saw.
  const weekly = join(dir, "weekly/2026-W48.csv");
  const lines = (await readFile(weekly, "utf8")).split("\n");
  const column = lines[0]!.split(",").indexOf("Education_Level");
  for (let i = 1; i <= UNSEEN_ROWS; i++) {
    const fields = lines[i]!.split(",");
    fields[column] = "PhD Candidate";
    lines[i] = fields.join(",");
  }
  await writeFile(weekly, lines.join("\n"));
  run = await spawnChurn(["pipeline", "run", "--bucket", dir]);
  expect(run.code, run.stderr).toBe(0);
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the weekly run's contact list", () => {
  it("is published with the set and listed in the _SUCCESS manifest", async () => {
    const manifest = await expectPublished(dir, OUT);
    expect(manifest.files.map((f) => f.name)).toContain("contact-list.csv");
  });

  it("ranks at most budget_contacts contacts, plus a control group from the same ranking", async () => {
    const [header, ...rows] = (await readFile(join(dir, OUT, "contact-list.csv"), "utf8"))
      .trimEnd()
      .split("\n");
    expect(header).toBe(
      "rank,CLIENTNUM,group,risk_tier,churn_probability,value,expected_retained_value,reason_1,reason_2,reason_3,reason_codes,Card_Category,Income_Category",
    );
    const groups = rows.map((r) => r.split(",")[2]);
    expect(groups.filter((g) => g === "contact")).toHaveLength(25);
    expect(groups.at(-1)).toBe("contact");
    expect(rows.map((r) => Number(r.split(",")[0]))).toEqual(rows.map((_, i) => i + 1));
    const expected = rows.map((r) => Number(r.split(",")[6]));
    expect(expected).toEqual([...expected].sort((a, b) => b - a));
    const summary = JSON.parse(await readFile(join(dir, OUT, "summary.json"), "utf8"));
    expect(summary.campaign).toMatchObject({
      contacts: 25,
      control: groups.length - 25,
      value_column: "Total_Trans_Amt",
    });
    expect(summary.campaign.expected_churners_reached).toBeGreaterThan(0);
    const html = await readFile(join(dir, OUT, "report.html"), "utf8");
    expect(html).toContain("Whom to contact first");
    expect(html).toContain("The first 20 to call");
  });

  it("is what the run prints at the end: the top of the list, with readable reasons", () => {
    expect(run.stdout).toContain(`${OUT}/contact-list.csv (first 5 rows):`);
    expect(run.stdout).toMatch(
      /\n {2}1,\d+,(contact|control),(high|medium),0\.\d{6},[\d.]+,[\d.]+,[A-Z][^,:]*: /,
    );
  });
});

describe("category values training never saw", () => {
  it("reach summary.json, the warnings and report.html's data quality section", async () => {
    const summary = JSON.parse(await readFile(join(dir, OUT, "summary.json"), "utf8"));
    expect(summary.unseen_categories).toEqual([
      { column: "Education_Level", rows: UNSEEN_ROWS, values: ["PhD Candidate"], action: "scored" },
    ]);
    expect(summary.warnings).toContainEqual({
      step: "ingest-weekly",
      code: "unseen-categories",
      column: "Education_Level",
      message: `Education_Level: ${UNSEEN_ROWS} rows with values never seen in training ("PhD Candidate")`,
    });
    const html = await readFile(join(dir, OUT, "report.html"), "utf8");
    expect(html).toContain("New values in Education_Level (scored): &#34;PhD Candidate&#34;");
    expect(run.stdout).toContain("Education_Level: 20 rows with values never seen in training");
  });
});
