/**
 * `churn pipeline step`, the command every task of a compiled pipeline runs
 * (`churn pipeline compile --target kfp|argo`), driven task by task in the
 * compiled DAG's order as an engine would drive it: the run publishes the
 * same scores.csv bytes as `churn pipeline run` on a copy of the bucket, a
 * retried finished step does nothing, a bad-input failure is returned at once
 * on a retry (KFP cannot filter retries by exit code), and a step started
 * before its upstream is refused.
 */
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIdFor } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { compileGraph } from "../pipelines/compile/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { readRunRecord } from "../pipelines/runner/records.js";
import { churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

const WEEKLY = "weekly/2026-W48.csv";
const OUT = "output/2026-W48";

let dir: string;
let local: string;
let engine: string;

async function runIdOf(bucket: string): Promise<string> {
  const storage = await openStorage(bucket);
  const info = (await storage.stat(WEEKLY))!;
  return runIdFor("weekly", storage.uri, { name: info.name, generation: info.generation });
}

function step(bucket: string, name: string, runId: string, extra: string[] = []) {
  return spawnChurn([
    "pipeline",
    "step",
    "weekly",
    name,
    "--bucket",
    bucket,
    "--run",
    runId,
    "--trigger",
    WEEKLY,
    ...extra,
  ]);
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "pipeline-step-"));
  local = join(dir, "local");
  engine = join(dir, "engine");
  const init = await spawnChurn(["init", "--bucket", local, "--rows", "1500", "--weekly-rows", "400"]);
  expect(init.code, init.stderr).toBe(0);
  const yaml = join(local, "churn.yaml");
  await writeFile(
    yaml,
    (await readFile(yaml, "utf8")).replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
  await cp(local, engine, { recursive: true });
  const run = await spawnChurn(["pipeline", "run", "weekly", "--bucket", local, "--weekly", WEEKLY]);
  expect(run.code, run.stderr).toBe(0);
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("churn pipeline step, task by task in the compiled DAG's order", () => {
  it("publishes the same scores.csv bytes as churn pipeline run, and finishes the run with its last step", async () => {
    const runId = await runIdOf(engine);
    const graph = compileGraph(weeklyPipeline);
    let shards = 1;
    for (const task of graph.tasks) {
      if (task.plansShardsOf) {
        const file = join(dir, "shard-count");
        const plan = await step(engine, task.plansShardsOf, runId, ["--plan-shard-count", file]);
        expect(plan.code, plan.stderr).toBe(0);
        shards = Number(await readFile(file, "utf8"));
        expect(shards).toBeGreaterThanOrEqual(1);
        continue;
      }
      // An engine starts every shard task of a fan-out; whichever starts first runs the step.
      const indices = task.fanOut ? [...Array(shards).keys()] : [null];
      for (const index of indices) {
        const answer = await step(engine, task.name, runId, index === null ? [] : ["--shard", String(index)]);
        expect(answer.code, `${task.name}: ${answer.stderr}`).toBe(0);
      }
      const record = await readRunRecord(await openStorage(engine), runId);
      expect(["succeeded", "cached"], task.name).toContain(
        record!.steps.find((s) => s.name === task.name)!.state,
      );
      const last = task === graph.tasks.at(-1);
      expect(record!.state, task.name).toBe(last ? "succeeded" : "running");
    }
    await expectPublished(engine, OUT);
    expect(await readFile(join(engine, OUT, "scores.csv"))).toEqual(
      await readFile(join(local, OUT, "scores.csv")),
    );
  }, 600_000);

  it("a retried step that finished exits 0 at once and changes nothing", async () => {
    const runId = await runIdOf(engine);
    const before = await readFile(join(engine, "runs", runId, "run.json"), "utf8");
    const again = await step(engine, "train", runId);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(join(engine, "runs", runId, "run.json"), "utf8")).toBe(before);
  });

  it("refuses a --run that is not the trigger's run, and a step started before its upstream", async () => {
    const wrong = await step(engine, "train", "r-0000000000000000");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--run r-0000000000000000 is not the run of weekly\/2026-W48.csv/);
    const fresh = join(dir, "fresh");
    await cp(local, fresh, {
      recursive: true,
      filter: (src) =>
        !src.includes("/runs") &&
        !src.includes("/output") &&
        !src.includes("/models") &&
        !src.includes("/cache"),
    });
    const early = await step(fresh, "train", await runIdOf(fresh));
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/started before .*feature.* finished|started before .* finished/);
  });

  it("returns a bad-input failure's exit 2 at once on a retry, without a second attempt", async () => {
    const bad = join(dir, "bad");
    await cp(engine, bad, {
      recursive: true,
      filter: (src) => !src.includes("/runs") && !src.includes("/output"),
    });
    await writeFile(join(bad, WEEKLY), "not,a,weekly,file\n1,2,3,4\n");
    const runId = await runIdOf(bad);
    const graph = compileGraph(weeklyPipeline);
    for (const task of graph.tasks.slice(
      0,
      graph.tasks.findIndex((t) => t.name === "ingest-weekly"),
    )) {
      const answer = await step(bad, task.name, runId);
      expect(answer.code, `${task.name}: ${answer.stderr}`).toBe(0);
    }
    const first = await step(bad, "ingest-weekly", runId);
    expect(first.code, first.stderr).toBe(2);
    const record = await readRunRecord(await openStorage(bad), runId);
    const attempts = record!.steps.find((s) => s.name === "ingest-weekly")!.attempts;
    const retry = await step(bad, "ingest-weekly", runId);
    expect(retry.code).toBe(2);
    const after = await readRunRecord(await openStorage(bad), runId);
    expect(after!.steps.find((s) => s.name === "ingest-weekly")!.attempts).toBe(attempts);
  }, 300_000);
});
