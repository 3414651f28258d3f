import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../components/common/random.js";
import { openStorage } from "../components/common/storage/index.js";
import { createConsoleApp } from "../serving/console/app.js";
import { churnBin, spawnChurn, stderrMessages } from "./support/cli.js";

// Issue 17 items 1 and 2 through the built CLI: a column computed from the
// label is added to a `churn init` bucket's history (and, as a column of the
// same name, to the weekly file). The leak guard must leave it out of the
// model, and its warning must reach every surface people read: the terminal,
// run.json, summary.json, report.html and the console's run API. Listed in
// train.trusted_features the column is used, and the warning stays visible.

const LEAK = "Retention_Call_Outcome";
const WEEK = "output/2026-W48";

let base: string;
let template: string;

/** Appends a column to a CSV whose quoted fields hold no commas (the example data's). */
async function addColumn(file: string, value: (fields: string[], header: string[]) => string): Promise<void> {
  const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
  const header = lines[0]!.split(",");
  const out = [`${lines[0]},${LEAK}`];
  for (const line of lines.slice(1)) {
    const fields = line.split(",");
    expect(fields).toHaveLength(header.length);
    out.push(`${line},${value(fields, header)}`);
  }
  await writeFile(file, `${out.join("\n")}\n`);
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "leak-guard-"));
  template = join(base, "template");
  const init = await spawnChurn(["init", "--bucket", template, "--rows", "2000", "--weekly-rows", "300"]);
  expect(init.code, init.stderr).toBe(0);
  const config = await readFile(join(template, "churn.yaml"), "utf8");
  await writeFile(
    join(template, "churn.yaml"),
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
  const rng = new Rng(17);
  // The label as 0/1 plus a little noise: alone it separates the classes perfectly.
  await addColumn(join(template, "input", "history.csv"), (fields, header) => {
    const churned = fields[header.indexOf("Attrition_Flag")] === '"Attrited Customer"';
    return ((churned ? 1 : 0) + rng.nextFloat() * 0.05).toFixed(4);
  });
  await addColumn(join(template, "weekly", "2026-W48.csv"), () =>
    (rng.nextFloat() < 0.16 ? 1 : 0).toFixed(4),
  );
}, 60_000);
afterAll(() => rm(base, { recursive: true, force: true }));

interface Surfaces {
  stderr: string;
  features: string[];
  runSteps: Array<{ name: string; warnings: Array<{ step: string; code: string; column: string | null }> }>;
  summary: { warnings: Array<{ step: string; code: string; column: string | null; message: string }> };
  report: string;
  api: { run: { steps: Array<{ name: string; warnings: Array<{ code: string; column: string | null }> }> } };
  heldOutRocAuc: number;
}

/** Runs the weekly pipeline on a copy of the template and reads every surface a warning must reach. */
async function runWeekly(name: string, trusted: boolean): Promise<Surfaces> {
  const dir = join(base, name);
  await cp(template, dir, { recursive: true });
  if (trusted) {
    const config = await readFile(join(dir, "churn.yaml"), "utf8");
    expect(config).toContain("# trusted_features: []");
    await writeFile(
      join(dir, "churn.yaml"),
      config.replace("# trusted_features: []", `trusted_features: [${LEAK}]`),
    );
  }
  const run = await spawnChurn(["pipeline", "run", "--bucket", dir]);
  expect(run.code, run.stderr).toBe(0);
  const [runId] = await readdir(join(dir, "runs"));
  const record = JSON.parse(await readFile(join(dir, "runs", runId!, "run.json"), "utf8"));
  const champion = JSON.parse(await readFile(join(dir, "models", "champion"), "utf8")).version;
  const bundle = JSON.parse(await readFile(join(dir, "models", champion, "bundle.json"), "utf8"));
  const storage = await openStorage(dir);
  const app = createConsoleApp({ storage, configCacheMs: 0 });
  const api = (await app.inject(`/api/runs/${runId}`)).json();
  await app.close();
  const evaluation = JSON.parse(
    await readFile(join(dir, "runs", runId!, "steps", "evaluate", "output.json"), "utf8"),
  );
  return {
    stderr: run.stderr,
    features: bundle.transform.encoders.map((e: { column: string }) => e.column),
    runSteps: record.steps,
    summary: JSON.parse(await readFile(join(dir, WEEK, "summary.json"), "utf8")),
    report: await readFile(join(dir, WEEK, "report.html"), "utf8"),
    api,
    heldOutRocAuc: evaluation.summary.roc_auc,
  };
}

const about = (code: string) => (w: { code: string; column: string | null }) =>
  w.code === code && w.column === LEAK;

describe("leak guard, end to end", () => {
  it("leaves the leaking column out, and every surface says so", async () => {
    const s = await runWeekly("default", false);
    console.log(`leak left out: held-out ROC-AUC ${s.heldOutRocAuc.toFixed(4)}`);
    expect(s.features).not.toContain(LEAK);
    expect(s.features.length).toBeGreaterThan(5);
    expect(s.heldOutRocAuc).toBeLessThan(0.995);
    // stderr (a warning event when piped) and the closing lines
    expect(stderrMessages(s.stderr)).toMatch(
      new RegExp(`^feature: column "${LEAK}" alone separates the classes.*left out`, "m"),
    );
    const feature = s.runSteps.find((x) => x.name === "feature")!;
    expect(feature.warnings.filter(about("likely-leak"))).toEqual([
      expect.objectContaining({ step: "feature", code: "likely-leak", column: LEAK }),
    ]);
    expect(s.summary.warnings.filter(about("likely-leak"))).toHaveLength(1);
    expect(s.summary.warnings.find(about("likely-leak"))!.step).toBe("feature");
    const warningsSection = /<section class="warnings"[\s\S]*?<\/section>/.exec(s.report)?.[0] ?? "";
    expect(warningsSection).toContain(LEAK);
    // first on the page: before the overview
    expect(s.report.indexOf('class="warnings"')).toBeLessThan(s.report.indexOf('id="tiers"'));
    const apiFeature = s.api.run.steps.find((x) => x.name === "feature")!;
    expect(apiFeature.warnings.filter(about("likely-leak"))).toHaveLength(1);
  }, 300_000);

  it("keeps a trusted leaking column, and still warns about it", async () => {
    const s = await runWeekly("trusted", true);
    console.log(`leak trusted: held-out ROC-AUC ${s.heldOutRocAuc.toFixed(4)}`);
    expect(s.features).toContain(LEAK);
    expect(s.heldOutRocAuc).toBeGreaterThan(0.995);
    expect(stderrMessages(s.stderr)).toMatch(
      new RegExp(
        `^feature: column "${LEAK}" alone separates the classes.*kept because train.trusted_features`,
        "m",
      ),
    );
    const feature = s.runSteps.find((x) => x.name === "feature")!;
    expect(feature.warnings.filter(about("trusted-leak"))).toHaveLength(1);
    expect(feature.warnings.filter(about("likely-leak"))).toHaveLength(0);
    // the too-good held-out ROC-AUC is a warning of its own
    const evaluate = s.runSteps.find((x) => x.name === "evaluate")!;
    expect(evaluate.warnings.map((w) => w.code)).toEqual(["suspicious-roc-auc"]);
    expect(s.summary.warnings.map((w) => w.code)).toEqual(
      expect.arrayContaining(["trusted-leak", "suspicious-roc-auc"]),
    );
    expect(s.report).toContain(LEAK);
    const apiFeature = s.api.run.steps.find((x) => x.name === "feature")!;
    expect(apiFeature.warnings.filter(about("trusted-leak"))).toHaveLength(1);
  }, 300_000);
});
