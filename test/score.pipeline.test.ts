/**
 * `churn score` is the score pipeline (ingest-weekly -> score -> merge-scores
 * -> report -> publish) run by the same runner as the weekly run, through the
 * built CLI on folder buckets made by `churn init`: it publishes the week's
 * folder like the weekly run, with a scores.csv byte-identical to the weekly
 * pipeline's for the same champion and file; with no model to score with it
 * exits 3 and writes `_FAILED`, as the pipeline does. `churn train` takes the
 * runners of `churn pipeline run`, and `in-process` as a deprecated alias.
 */
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readChampion } from "../components/common/bundle/index.js";
import { openStorage } from "../components/common/storage/index.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

const WEEKLY = "weekly/2026-W48.csv";
const OUT = "output/2026-W48";

/** What `churn score --json` prints. */
interface ScoreJson {
  run_id: string;
  state: string;
  exit_code: number;
  reused: boolean;
  weekly: string;
  scores: string | null;
  rejected: string | null;
  summary: string | null;
  report: string | null;
  model_version: string | null;
  rows_in: number | null;
  scored: number | null;
  rejected_rows: number | null;
}

let base: string;
let template: string;

/** A fresh copy of the example bucket (init once, copy per test: same bytes). */
async function bucket(name: string): Promise<string> {
  const dir = join(base, name);
  await cp(template, dir, { recursive: true });
  return dir;
}

async function setGate(dir: string, minRocAuc: number): Promise<void> {
  const path = join(dir, "churn.yaml");
  await writeFile(
    path,
    (await readFile(path, "utf8")).replace(/min_roc_auc: [0-9.]+/, `min_roc_auc: ${minRocAuc}`),
  );
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "score-pipeline-"));
  template = join(base, "template");
  const init = await spawnChurn(["init", "--bucket", template, "--rows", "2000", "--weekly-rows", "500"]);
  expect(init.code, init.stderr).toBe(0);
  // Two model families keep the suite quick; the MLP is covered by the models tests.
  const config = await readFile(join(template, "churn.yaml"), "utf8");
  await writeFile(
    join(template, "churn.yaml"),
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe("the score pipeline", () => {
  it("is a named pipeline of the weekly run's scoring steps", async () => {
    const shown = await spawnChurn(["pipeline", "show", "score", "--json"]);
    expect(shown.code, shown.stderr).toBe(0);
    const doc = JSON.parse(shown.stdout) as { name: string; steps: Array<{ name: string; needs: string[] }> };
    expect(doc.name).toBe("score");
    expect(doc.steps.map((s) => s.name)).toEqual([
      "ingest-weekly",
      "score",
      "merge-scores",
      "contact-list",
      "report",
      "publish",
    ]);
    expect(doc.steps[0]!.needs).toEqual([]);
  });
});

describe("no model to score with: exit 3 and _FAILED everywhere", () => {
  it("churn pipeline run score and churn score exit 3 and write output/<stem>/_FAILED", async () => {
    const dir = await bucket("no-champion");
    const piped = await spawnChurn(["pipeline", "run", "score", "--bucket", dir, "--json"]);
    expect(piped.code, piped.stderr).toBe(3);
    const record = JSON.parse(piped.stdout) as RunRecord;
    expect(record).toMatchObject({
      pipeline: "score",
      state: "failed",
      exit_code: 3,
      output_prefix: `${OUT}/`,
    });
    expect(record.run_id).toMatch(/^r-[0-9a-f]{16}$/);
    expect(await readFile(join(dir, OUT, "_FAILED"), "utf8")).toMatch(
      /^step ingest-weekly failed: .*has no champion model to score with: run churn train first/,
    );

    // The same run again (a new attempt, so the steps really run) through churn score.
    await rm(join(dir, OUT, "_FAILED"));
    const scored = await spawnChurn(["score", "--bucket", dir, "--weekly", WEEKLY, "--force"]);
    expect(scored.code, scored.stderr).toBe(3);
    expect(scored.stdout).toContain(`score run ${record.run_id}-a2 failed`);
    expect(scored.stderr).toMatch(/✗ ingest-weekly .*no champion model to score with/);
    expect(await readFile(join(dir, OUT, "_FAILED"), "utf8")).toMatch(/no champion model to score with/);
    expect(existsSync(join(dir, OUT, "_SUCCESS"))).toBe(false);
    expect(existsSync(join(dir, OUT, "scores.csv"))).toBe(false);

    // Re-invoking reports the newest finished attempt, with its exit code, in churn score's JSON.
    const again = await spawnChurn(["score", "--bucket", dir, "--weekly", WEEKLY, "--json"]);
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout)).toMatchObject({
      run_id: `${record.run_id}-a2`,
      state: "failed",
      exit_code: 3,
      reused: true,
      weekly: WEEKLY,
      scores: null,
      model_version: null,
    });
  }, 120_000);

  it("the weekly pipeline exits 3 and writes _FAILED when the gate refuses every candidate and there is no champion", async () => {
    const dir = await bucket("gate-refuses");
    await setGate(dir, 0.999);
    const result = await spawnChurn(["pipeline", "run", "--bucket", dir, "--json"]);
    expect(result.code, result.stderr).toBe(3);
    expect(await readFile(join(dir, OUT, "_FAILED"), "utf8")).toMatch(/below the gate's 0\.999/);
    expect(existsSync(join(dir, "models", "champion"))).toBe(false);
  }, 180_000);
});

describe("churn train and churn score", () => {
  let dir: string;
  let trained: Awaited<ReturnType<typeof spawnChurn>>;
  let scored: Awaited<ReturnType<typeof spawnChurn>>;
  let data: ScoreJson;

  beforeAll(async () => {
    dir = await bucket("trained");
    trained = await spawnChurn(["train", "--bucket", dir, "--runner", "in-process", "--json"]);
    scored = await spawnChurn(["score", "--bucket", dir, "--weekly", WEEKLY, "--json"]);
    data = JSON.parse(scored.stdout) as ScoreJson;
  }, 240_000);

  it("churn train --runner in-process prints one deprecation notice and trains as the local runner", async () => {
    expect(trained.code, trained.stderr).toBe(0);
    const notices = trained.stderr.split("\n").filter((l) => /in-process is deprecated/.test(l));
    expect(notices).toEqual([
      "churn: --runner in-process is deprecated and now runs as --runner local; it will be removed in the next release",
    ]);
    const out = JSON.parse(trained.stdout) as {
      run_id: string;
      exit_code: number;
      selected: string;
      candidates: Array<{ family: string }>;
      promotion: { action: string; champion: string };
    };
    expect(out.exit_code).toBe(0);
    // The configured families, then the blend of them (chosen only when cross-validation says it helps).
    expect(out.candidates.map((c) => c.family)).toEqual(["logistic", "gbdt", "blend"]);
    expect(out.candidates.map((c) => c.family)).toContain(out.selected);
    expect(out.promotion.action).toBe("promote");
    const run = JSON.parse(await readFile(join(dir, "runs", out.run_id, "run.json"), "utf8")) as RunRecord;
    expect(run).toMatchObject({ pipeline: "retrain", runner: "local", state: "succeeded" });
    expect((await readChampion(await openStorage(dir)))!.pointer.version).toBe(out.promotion.champion);
  });

  it("churn train --runner kubernetes passes option parsing (and then needs a cluster); other runners are usage errors", async () => {
    const other = await bucket("kube-flag");
    const kube = await spawnChurn(["train", "--bucket", other, "--runner", "kubernetes"], {
      KUBECONFIG: join(base, "no-such-kubeconfig"),
    });
    expect(kube.stderr).not.toMatch(/--runner must be/);
    expect(kube.stderr).toContain("no-such-kubeconfig");
    const bad = await spawnChurn(["train", "--bucket", other, "--runner", "docker"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--runner must be local or kubernetes, not docker");
    const stray = await spawnChurn(["train", "--bucket", other, "--namespace", "churn"]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("--in-cluster and --namespace apply to --runner kubernetes only");
  });

  it("churn score publishes scores, rejected rows, summary.json, report.html and _SUCCESS into output/<stem>/", async () => {
    expect(scored.code, scored.stderr).toBe(0);
    const champion = (await readChampion(await openStorage(dir)))!.pointer.version;
    expect(data).toMatchObject({
      state: "succeeded",
      exit_code: 0,
      reused: false,
      weekly: WEEKLY,
      scores: `${OUT}/scores.csv`,
      rejected: `${OUT}/rejected.csv`,
      summary: `${OUT}/summary.json`,
      report: `${OUT}/report.html`,
      model_version: champion,
      rows_in: 500,
    });
    expect(data.run_id).toMatch(/^r-[0-9a-f]{16}$/);
    expect(data.scored! + data.rejected_rows!).toBe(500);
    for (const file of ["scores.csv", "rejected.csv", "summary.json", "report.html", "_SUCCESS"])
      expect(existsSync(join(dir, OUT, file)), file).toBe(true);
    expect((await expectPublished(dir, OUT, data.run_id)).model_version).toBe(champion);
    const summary = JSON.parse(await readFile(join(dir, OUT, "summary.json"), "utf8")) as {
      run_id: string;
      trigger: string;
      model_version: string;
      counts: { rows_in: number; scored: number };
      timings: Record<string, number | null>;
    };
    expect(summary).toMatchObject({ run_id: data.run_id, trigger: WEEKLY, model_version: champion });
    expect(summary.counts).toMatchObject({ rows_in: 500, scored: data.scored });
    expect(Object.keys(summary.timings).sort()).toEqual([
      "contact-list",
      "ingest-weekly",
      "merge-scores",
      "report",
      "score",
    ]);
    expect(await readFile(join(dir, OUT, "report.html"), "utf8")).toContain("2026-W48");
    const lines = (await readFile(join(dir, OUT, "scores.csv"), "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(data.scored! + 1);
    expect(lines.slice(1).every((l) => l.includes(`,${champion},`))).toBe(true);
    // The weekly file was read with the schema recorded in the champion bundle.
    const run = JSON.parse(await readFile(join(dir, "runs", data.run_id, "run.json"), "utf8")) as RunRecord;
    expect(run.steps.find((s) => s.name === "ingest-weekly")?.inputs.schema?.[0]?.object).toBe(
      `models/${champion}/schema.json`,
    );
  });

  it("churn score's scores.csv is byte-identical to the weekly pipeline's for the same champion and file", async () => {
    const byScore = await readFile(join(dir, OUT, "scores.csv"));
    // The weekly run finds its training in the cache (same data as churn train) and keeps the champion.
    const weekly = await spawnChurn(["pipeline", "run", "--bucket", dir, "--weekly", WEEKLY, "--json"]);
    expect(weekly.code, weekly.stderr).toBe(0);
    const record = JSON.parse(weekly.stdout) as RunRecord;
    expect(record.pipeline).toBe("weekly");
    expect(record.steps.find((s) => s.name === "train")?.state).toBe("cached");
    const byWeekly = await readFile(join(dir, OUT, "scores.csv"));
    expect(byWeekly.equals(byScore)).toBe(true);
    const summary = JSON.parse(await readFile(join(dir, OUT, "summary.json"), "utf8")) as {
      model_version: string;
    };
    expect(summary.model_version).toBe(data.model_version);

    // And churn score again, recomputing every step, gives the same bytes once more.
    const again = await spawnChurn([
      "score",
      "--bucket",
      dir,
      "--weekly",
      WEEKLY,
      "--force",
      "--no-cache",
      "--json",
    ]);
    expect(again.code, again.stderr).toBe(0);
    const rescored = JSON.parse(again.stdout) as ScoreJson;
    expect(rescored.run_id).toBe(`${data.run_id}-a2`);
    expect((await readFile(join(dir, OUT, "scores.csv"))).equals(byWeekly)).toBe(true);
  }, 240_000);
});
