/**
 * Progress and logs through the built CLI (issue 18 item 7): a terminal
 * session of `churn pipeline run` (under `script`, a pseudo-terminal) shows
 * train's fold progress under the running step; a piped run writes JSON
 * event lines only (run, steps, progress, warnings, summary, errors); `churn runs logs` prints the steps' JSON log lines as text,
 * and `--follow` keeps printing until the run ends.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn, stderrEvents } from "./support/cli.js";

let dir: string;
let runId: string;

/** Run a command under a pseudo-terminal (util-linux `script`); its output is what the terminal showed. */
function underTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, churnBin, ...args].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  return new Promise((done) => child.on("close", (code) => done({ code, output })));
}

const FOLD = /train: (logistic|gbdt): fold \d\/5/;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "progress-cli-"));
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "300"]);
  expect(init.code, init.stderr).toBe(0);
  const yaml = join(dir, "churn.yaml");
  await writeFile(
    yaml,
    (await readFile(yaml, "utf8")).replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a run's progress", () => {
  it("on a terminal, train's folds show under the running step, with the elapsed seconds", async () => {
    const { code, output } = await underTerminal(["pipeline", "run", "--bucket", dir]);
    expect(code, output).toBe(0);
    expect(output).toMatch(new RegExp(`\\r\\x1b\\[K {6}${FOLD.source} · \\d+ s`));
    expect(output).toMatch(/train: (logistic|gbdt): final fit on \d+ rows/);
    expect(output).toMatch(/✓ train \d+\.\d s/);
  }, 300_000);

  it("piped, stderr is JSON lines only: run, steps, progress, warnings and the summary", async () => {
    const run = await spawnChurn(["pipeline", "run", "--bucket", dir, "--force", "--no-cache"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("\x1b");
    // Throws naming the first line that is not a JSON event.
    const events = stderrEvents(run.stderr);
    for (const e of events) {
      expect(Date.parse(e.time), JSON.stringify(e)).not.toBeNaN();
      expect(["info", "warn", "error"]).toContain(e.level);
    }
    const started = events[0]!;
    expect(started).toMatchObject({ event: "run", pipeline: "weekly", resumed: false });
    runId = String(started.run_id);
    const steps = events.filter((e) => e.event === "step");
    expect(steps.find((e) => e.step === "train" && e.state === "running")).toBeDefined();
    expect(steps.find((e) => e.step === "train" && e.state === "succeeded")?.message).toMatch(
      /^train succeeded in \d+\.\d s$/,
    );
    const folds = events.filter((e) => e.event === "progress" && e.step === "train" && FOLD.test(e.message));
    expect(folds.length).toBeGreaterThanOrEqual(5);
    expect(folds.every((e) => typeof e.seconds === "number" && e.seconds >= 0)).toBe(true);
    // Each warning of a finished step is its own event, after that step's line.
    const warned = steps.filter((e) => Number(e.warnings) > 0);
    const warnings = events.filter((e) => e.event === "warning");
    expect(warnings.length).toBe(warned.reduce((n, e) => n + Number(e.warnings), 0));
    const summary = events.at(-1)!;
    expect(summary).toMatchObject({ event: "summary", run_id: runId, state: "succeeded", exit_code: 0 });
    expect(summary.decision).toMatch(/^model: /);
    expect(run.stdout).toContain(`weekly run ${runId} succeeded`);
  }, 300_000);

  it("piped, a run that cannot start ends with one error event naming the file", async () => {
    const run = await spawnChurn(["pipeline", "run", "--bucket", dir, "--weekly", "weekly/nope.csv"]);
    expect(run.code).toBe(2);
    const events = stderrEvents(run.stderr);
    expect(events.at(-1)).toMatchObject({
      event: "error",
      level: "error",
      exit_code: 2,
      message: expect.stringContaining("weekly/nope.csv"),
    });
  });
});

describe("churn runs logs", () => {
  it("prints the steps' log lines as text: time, level, message", async () => {
    const logs = await spawnChurn(["runs", "logs", runId, "--step", "train", "--bucket", dir]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/^==> train <==$/m);
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z info {2}train: gbdt: fold 1\/5$/m);
    expect(logs.stdout).not.toMatch(/^\{"/m);
    const raw = await spawnChurn(["runs", "logs", runId, "--step", "train", "--bucket", dir, "--json"]);
    expect(JSON.parse(raw.stdout).train).toContain('"message":"train: gbdt: fold 1/5"');
  });

  it("--follow prints a running step's lines as they come and returns when the run ends", async () => {
    const run = spawnChurn(["pipeline", "run", "--bucket", dir, "--force", "--no-cache"]);
    const next = `${runId.replace(/-a\d+$/, "")}-a3`;
    const record = join(dir, "runs", next, "run.json");
    for (let i = 0; i < 600 && !existsSync(record); i++) await new Promise((r) => setTimeout(r, 100));
    const follow = await spawnChurn(["runs", "logs", next, "--step", "train", "--follow", "--bucket", dir]);
    const finished = await run;
    expect(finished.code, finished.stderr).toBe(0);
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toMatch(/^==> train <==$/m);
    expect(follow.stdout).toMatch(/info {2}train: gbdt: fold 5\/5$/m);
    expect(follow.stdout.match(/^==> train <==$/gm)).toHaveLength(1);
  }, 300_000);
});
