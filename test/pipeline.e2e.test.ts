import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../components/common/config/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { LocalProcessExecutor } from "../pipelines/runner/executor.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { runPipeline } from "../pipelines/runner/run.js";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";
import { waitFor } from "./support/wait.js";

// The weekly pipeline end to end, through the built CLI exactly as a user runs
// it: churn init, then churn pipeline run with the local runner (each step a
// child process), on small example data so the suite stays quick.
const _root = resolve(import.meta.dirname, "..");

/** The CLI with a short lease TTL, in its own process group (the kill test signals the group). */
function churn(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> & { child: ChildProcess } {
  return spawnChurn(args, { CHURN_LEASE_TTL_MS: "3000", ...env }, { detached: true });
}

async function runJson(
  bucket: string,
  extra: string[] = [],
): Promise<{ code: number | null; record: RunRecord & { reused?: boolean } }> {
  const result = await churn(["pipeline", "run", "--bucket", bucket, "--json", ...extra]);
  expect(result.stdout, result.stderr).not.toBe("");
  return { code: result.code, record: JSON.parse(result.stdout) };
}

let base: string;
let template: string;
/** A fresh copy of the example bucket (init once, copy per test: same bytes). */
async function bucket(name: string): Promise<string> {
  const dir = join(base, name);
  await cp(template, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "pipeline-e2e-"));
  template = join(base, "template");
  const init = await churn(["init", "--bucket", template, "--rows", "3000", "--weekly-rows", "800"]);
  expect(init.code, init.stderr).toBe(0);
  // Two model families keep the suite quick; the MLP is covered by the models tests.
  const config = await readFile(join(template, "churn.yaml"), "utf8");
  await writeFile(
    join(template, "churn.yaml"),
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
});
afterAll(() => rm(base, { recursive: true, force: true }));

const weekly = "output/2026-W48";

describe("weekly pipeline, end to end", () => {
  it("publishes every output, reports a finished run without work, and reuses the cache with --force", async () => {
    const dir = await bucket("main");
    const first = await runJson(dir);
    expect(first.code, JSON.stringify(first.record.reason)).toBe(0);
    for (const file of ["scores.csv", "rejected.csv", "summary.json", "report.html", "_SUCCESS"]) {
      expect(existsSync(join(dir, weekly, file)), file).toBe(true);
    }
    await expectPublished(dir, weekly, first.record.run_id);
    const summary = JSON.parse(await readFile(join(dir, weekly, "summary.json"), "utf8"));
    expect(summary.counts.rows_in).toBe(800);
    expect(summary.counts.scored + summary.counts.rejected).toBe(summary.counts.rows_in);
    const scores = (await readFile(join(dir, weekly, "scores.csv"), "utf8")).trimEnd().split("\n");
    expect(scores[0]).toMatch(
      /^CLIENTNUM,churn_probability,risk_tier,reason_1,reason_2,reason_3,reason_codes,model_version/,
    );
    expect(scores).toHaveLength(summary.counts.scored + 1);

    const again = await runJson(dir);
    expect(again.code).toBe(0);
    expect(again.record.reused).toBe(true);
    expect(again.record.run_id).toBe(first.record.run_id);

    const forced = await runJson(dir, ["--force"]);
    expect(forced.code).toBe(0);
    expect(forced.record.run_id).toBe(`${first.record.run_id}-a2`);
    const state = Object.fromEntries(forced.record.steps.map((s) => [s.name, s.state]));
    for (const step of ["ingest-history", "feature", "train", "evaluate"])
      expect(state[step], step).toBe("cached");
    // summary.json carries the run's timings and cache hits (publish declares them as run-time parameters).
    const forcedSummary = JSON.parse(await readFile(join(dir, weekly, "summary.json"), "utf8"));
    expect(forcedSummary.run_id).toBe(forced.record.run_id);
    const cached = forced.record.steps.filter((s) => s.state === "cached").map((s) => s.name);
    expect(cached.length).toBeGreaterThanOrEqual(4);
    expect(forcedSummary.cache_hits).toEqual(cached);
    const beforePublish = forced.record.steps.filter((s) => s.name !== "publish");
    expect(Object.keys(forcedSummary.timings).sort()).toEqual(beforePublish.map((s) => s.name).sort());
    for (const step of beforePublish) expect(forcedSummary.timings[step.name], step.name).toBe(step.seconds);
    expect(summary.cache_hits).toEqual([]);
    expect(summary.timings.train).toBeGreaterThan(0);

    // One byte of one value changed in the history: a new training run.
    const history = join(dir, "input", "history.csv");
    const text = await readFile(history, "utf8");
    const end = text.indexOf("\n", text.indexOf("\n") + 1) - 1;
    const digit = text[end]!;
    expect(digit).toMatch(/\d/);
    await writeFile(history, text.slice(0, end) + String((Number(digit) + 1) % 10) + text.slice(end + 1));
    const retrained = await runJson(dir, ["--force"]);
    expect(retrained.code).toBe(0);
    const after = Object.fromEntries(retrained.record.steps.map((s) => [s.name, s.state]));
    expect(after["ingest-history"]).toBe("succeeded");
    expect(after.train).toBe("succeeded");
  });

  it("fans the score step out into N local shards whose merged scores.csv is byte-identical to one shard", async () => {
    // Small record batches give each of 3 shards its own non-empty block (800 rows / 64 = 13 batches).
    const pipeline = {
      ...weeklyPipeline,
      steps: weeklyPipeline.steps.map((s) =>
        s.name === "ingest-weekly" ? { ...s, parameters: { ...s.parameters, batch_rows: 64 } } : s,
      ),
    };
    const run = async (name: string, shards: number | "auto") => {
      const storage = await openStorage(await bucket(name));
      const config = await loadConfig(storage);
      const result = await runPipeline({
        storage,
        pipeline,
        executor: new LocalProcessExecutor(storage.uri),
        config: { ...config, score: { ...config.score, shards } },
      });
      expect(result.exitCode, result.record.reason ?? "").toBe(0);
      return { storage, runId: result.record.run_id };
    };
    const [one, three] = [await run("one-shard", "auto"), await run("three-shards", 3)];
    const steps = `runs/${three.runId}/steps/`;
    for (let i = 0; i < 3; i++) {
      const part = JSON.parse(await three.storage.readText(`${steps}score-shard-${i}/output.json`));
      expect(part.counts.scored, `shard ${i}`).toBeGreaterThan(0);
    }
    expect(await three.storage.stat(`${steps}score-shard-3/input.json`)).toBeNull();
    expect(await one.storage.stat(`runs/${one.runId}/steps/score-shard-0/input.json`)).toBeNull();
    const gathered = JSON.parse(await three.storage.readText(`${steps}score/output.json`));
    for (const port of ["scores", "scores-1", "scores-2"]) expect(gathered.outputs[port], port).toBeDefined();
    expect(gathered.outputs["scores-3"]).toBeUndefined();
    expect(gathered.summary.shard.count).toBe(3);
    const a = await one.storage.readText(`${weekly}/scores.csv`);
    const b = await three.storage.readText(`${weekly}/scores.csv`);
    expect(b.split("\n").length).toBe(802);
    expect(b).toBe(a);
  });

  it("resumes at train after the runner is killed, with byte-identical outputs", async () => {
    const reference = await bucket("uninterrupted");
    expect((await runJson(reference)).code).toBe(0);

    const dir = await bucket("killed");
    const victim = churn(["pipeline", "run", "--bucket", dir]);
    // Wait until train is running, then kill the runner and its step (the whole process group).
    const deadline = Date.now() + 120_000;
    let killed = false;
    while (Date.now() < deadline && !killed) {
      await new Promise((r) => setTimeout(r, 100));
      const runs = existsSync(join(dir, "runs")) ? await readRunJson(dir) : null;
      if (runs?.steps.find((s) => s.name === "train")?.state === "running") {
        process.kill(-victim.child.pid!, "SIGKILL");
        killed = true;
      }
    }
    expect(killed).toBe(true);
    await victim;
    const resumed = await churn(["pipeline", "run", "--bucket", dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/held by .*waiting|resuming/);
    const record = await readRunJson(dir);
    const history = record?.steps.find((s) => s.name === "ingest-history");
    expect(history).toMatchObject({ state: "succeeded", attempts: 1 });
    for (const file of ["scores.csv", "rejected.csv"]) {
      expect(await readFile(join(dir, weekly, file), "utf8"), file).toBe(
        await readFile(join(reference, weekly, file), "utf8"),
      );
    }
  });

  it("Ctrl-C records the run interrupted, exits 130 and says how to resume; the same command resumes it", async () => {
    const dir = await bucket("ctrl-c");
    const victim = churn(["pipeline", "run", "--bucket", dir]);
    await untilStepRunning(dir, "train");
    // A terminal's Ctrl-C reaches the whole foreground process group: the runner and its step.
    process.kill(-victim.child.pid!, "SIGINT");
    const stopped = await victim;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain("run the same command again to resume");
    expect(stopped.stdout + stopped.stderr).not.toContain("unknown reason");
    const list = await churn(["runs", "list", "--bucket", dir, "--json"]);
    expect(JSON.parse(list.stdout).map((r: { state: string }) => r.state)).toEqual(["interrupted"]);
    const resumed = await churn(["pipeline", "run", "--bucket", dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("resuming");
    expect((await readRunJson(dir))?.steps.find((s) => s.name === "ingest-history")?.attempts).toBe(1);
  });

  it("killed --force attempts never pile up: each rerun resumes the one unfinished attempt", async () => {
    const dir = await bucket("killed-force");
    expect((await runJson(dir)).code).toBe(0);
    for (let kill = 0; kill < 2; kill++) {
      const victim = churn(["pipeline", "run", "--bucket", dir, "--force", "--no-cache"]);
      await untilStepRunning(dir, "ingest-history", 2);
      process.kill(-victim.child.pid!, "SIGKILL");
      await victim;
    }
    // The lease (3 s here) has to expire before anyone may call the attempt dead.
    await new Promise((r) => setTimeout(r, 3500));
    const list = await churn(["runs", "list", "--bucket", dir, "--json"]);
    const states = JSON.parse(list.stdout).map((r: { state: string }) => r.state);
    expect(states.sort()).toEqual(["interrupted", "succeeded"]);
    const resumed = await runJson(dir);
    expect(resumed.code).toBe(0);
    expect(resumed.record.run_id).toMatch(/-a2$/);
    expect(resumed.record.reused).toBe(false);
  });

  it("two concurrent invocations: one does the work, both report the same run", async () => {
    const dir = await bucket("concurrent");
    const [a, b] = await Promise.all([runJson(dir), runJson(dir)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.record.run_id).toBe(b.record.run_id);
    expect([a.record.reused, b.record.reused].sort()).toEqual([false, true]);
    expect(b.record.steps.map((s) => s.state)).toEqual(a.record.steps.map((s) => s.state));
  });

  it("publishes good rows of a file with 3% bad rows; fails a 50% bad file without touching the previous output", async () => {
    const dir = await bucket("bad-rows");
    const path = join(dir, "weekly", "2026-W48.csv");
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    const corrupt = (share: number) =>
      [
        lines[0],
        ...lines
          .slice(1)
          .map((line, i) =>
            i % Math.round(1 / share) === 0 ? line.replace(/,(\d+),/, ",not-a-number,") : line,
          ),
      ].join("\n");
    await writeFile(path, `${corrupt(0.03)}\n`);
    const good = await runJson(dir);
    expect(good.code).toBe(0);
    const summary = JSON.parse(await readFile(join(dir, weekly, "summary.json"), "utf8"));
    expect(summary.counts.rejected).toBeGreaterThan(0);
    expect(summary.counts.scored + summary.counts.rejected).toBe(800);
    const rejected = (await readFile(join(dir, weekly, "rejected.csv"), "utf8")).trimEnd().split("\n");
    expect(rejected).toHaveLength(summary.counts.rejected + 1);
    const before = await readFile(join(dir, weekly, "scores.csv"), "utf8");

    await writeFile(path, `${corrupt(0.5)}\n`);
    const bad = await churn(["pipeline", "run", "--bucket", dir]);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(/reject/i);
    expect(await readFile(join(dir, weekly, "_FAILED"), "utf8")).toMatch(
      /^step ingest-weekly failed: .*reject/i,
    );
    expect(await readFile(join(dir, weekly, "scores.csv"), "utf8")).toBe(before);
    // The previous publish is left whole: its manifest still matches every file.
    await expectPublished(dir, weekly, good.record.run_id);
  });

  it("sends one webhook message per publish and per failure", async () => {
    const messages: Array<Record<string, unknown>> = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        messages.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const dir = await bucket("webhook");
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const config = await readFile(join(dir, "churn.yaml"), "utf8");
      await writeFile(join(dir, "churn.yaml"), config.replace("webhook_url: null", `webhook_url: "${url}"`));
      expect((await runJson(dir)).code).toBe(0);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({
        event: "published",
        pipeline: "weekly",
        trigger: "weekly/2026-W48.csv",
      });
      expect(messages[0].files).toContain("output/2026-W48/scores.csv");
      await writeFile(join(dir, "weekly", "2026-W48.csv"), "CLIENTNUM\n");
      expect((await churn(["pipeline", "run", "--bucket", dir])).code).toBe(2);
      expect(messages).toHaveLength(2);
      expect(messages[1]).toMatchObject({ event: "failed", step: "ingest-weekly", exit_code: 2 });
    } finally {
      server.close();
    }
  });
});

/** Wait (up to 2 minutes) until a step of the bucket's run (the given attempt) is running. */
async function untilStepRunning(dir: string, step: string, attempt = 1): Promise<void> {
  await waitFor(
    `step ${step} of attempt ${attempt} to run in ${dir}`,
    async () => {
      const record = existsSync(join(dir, "runs")) ? await readRunJson(dir, attempt) : null;
      return record?.steps.find((s) => s.name === step)?.state === "running";
    },
    { timeoutMs: 120_000 },
  );
}

async function readRunJson(dir: string, attempt = 1): Promise<RunRecord | null> {
  const { readdir } = await import("node:fs/promises");
  const ofAttempt = (run: string) =>
    (attempt === 1 ? /^r-[0-9a-f]{16}$/ : new RegExp(`^r-.*-a${attempt}$`)).test(run);
  const runs = (await readdir(join(dir, "runs"))).filter(ofAttempt);
  for (const run of runs) {
    const path = join(dir, "runs", run, "run.json");
    if (existsSync(path)) {
      try {
        return JSON.parse(await readFile(path, "utf8"));
      } catch {
        return null;
      }
    }
  }
  return null;
}
