import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Rng } from "../../components/common/random.js";
import { weeklyPipeline } from "../../pipelines/definitions/weekly.js";
import type { RunRecord } from "../../pipelines/runner/records.js";
import { spawnChurn } from "./cli.js";

/**
 * Chaos for the weekly pipeline (issue 25): start a run, SIGKILL the runner's
 * whole process group at a seeded random moment of a chosen step (every step
 * in turn, publish included), then check what a reader and a rerun get:
 * - `churn pull` gives a complete set that matches one manifest, or says a
 *   publish is in progress / none is complete yet: never a mix;
 * - the rerun (the same command) succeeds, and its scores.csv is
 *   byte-identical to an uninterrupted run's.
 * The CI test runs a dozen kills; `bench/chaos.ts` runs a hundred by hand.
 */
export interface ChaosOptions {
  /** A prepared example bucket (churn.yaml, input/, one weekly file); it is copied, never changed. */
  template: string;
  stem: string;
  kills: number;
  seed: number;
  /** Lease TTL of the runners: a killed attempt can be resumed this long after the kill. */
  leaseTtlMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  kills: number;
  /** Kills that landed while a step was running, per step (the rest hit the runner between steps). */
  killedIn: Record<string, number>;
  /** Runs that finished before the kill came (nothing to kill). */
  missed: number;
  /** What `churn pull` said right after each kill. */
  pulls: Record<string, number>;
  /** A pulled set that does not match one manifest: must stay 0. */
  inconsistent: number;
  /** Reruns that did not end with exit 0: must stay 0. */
  failedReruns: number;
  /** Reruns whose scores.csv differs from the uninterrupted run's: must stay 0. */
  mismatches: number;
  seconds: number;
  /** One line per problem seen, for the test's failure message. */
  problems: string[];
}

/** The manifest as `churn pull --json` reports it (the fields this check reads). */
interface PullAnswer {
  status: string;
  manifest?: { run_id: string; files: { name: string; size: number; sha256: string }[] };
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const env = { CHURN_LEASE_TTL_MS: String(options.leaseTtlMs ?? 1500) };
  const base = await mkdtemp(join(options.template, "..", "chaos-"));
  const report: ChaosReport = {
    kills: 0,
    killedIn: {},
    missed: 0,
    pulls: {},
    inconsistent: 0,
    failedReruns: 0,
    mismatches: 0,
    seconds: 0,
    problems: [],
  };
  const problem = (text: string) => {
    report.problems.push(text);
    log(`  ! ${text}`);
  };
  try {
    const reference = join(base, "reference");
    await cp(options.template, reference, { recursive: true });
    const uninterrupted = await spawnChurn(["pipeline", "run", "--bucket", reference], env);
    if (uninterrupted.code !== 0) throw new Error(`the uninterrupted run failed: ${uninterrupted.stderr}`);
    const expected = await readFile(join(reference, "output", options.stem, "scores.csv"));

    const dir = join(base, "bucket");
    await cp(options.template, dir, { recursive: true });
    const random = new Rng(options.seed);
    const steps = weeklyPipeline.steps.map((s) => s.name);
    for (let kill = 0; kill < options.kills; kill++) {
      const target = steps[kill % steps.length]!;
      const delayMs = random.nextInt(300);
      // --force --no-cache: a fresh attempt that recomputes every step, so a kill can land anywhere.
      const victim = spawnChurn(["pipeline", "run", "--bucket", dir, "--force", "--no-cache"], env, {
        detached: true,
      });
      const exited = victim.then(() => true);
      const attempt = kill + 1;
      const reached = await untilReached(dir, attempt, target, exited);
      if (reached) {
        await sleep(delayMs);
        try {
          process.kill(-victim.child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }
      const ended = await victim;
      const record = await readAttempt(dir, attempt);
      const running = record?.steps.filter((s) => s.state === "running").map((s) => s.name) ?? [];
      if (ended.code === 0 && record?.state === "succeeded") report.missed++;
      else report.kills++;
      for (const step of running) report.killedIn[step] = (report.killedIn[step] ?? 0) + 1;
      log(
        `kill ${kill + 1}: aimed at ${target} +${delayMs} ms, hit ${running.join(", ") || "between steps"}`,
      );

      await checkPull(dir, options.stem, join(base, `pull-${kill}`), report, problem, "after the kill");

      const rerun = await spawnChurn(["pipeline", "run", "--bucket", dir], env);
      if (rerun.code !== 0) {
        report.failedReruns++;
        problem(`kill ${kill + 1}: the rerun exited ${rerun.code}: ${rerun.stderr.slice(-500)}`);
        continue;
      }
      const scores = await readFile(join(dir, "output", options.stem, "scores.csv"));
      if (!scores.equals(expected)) {
        report.mismatches++;
        problem(`kill ${kill + 1}: the rerun's scores.csv differs from the uninterrupted run's`);
      }
      const after = await checkPull(
        dir,
        options.stem,
        join(base, `after-${kill}`),
        report,
        problem,
        "after the rerun",
      );
      if (after !== "complete")
        problem(`kill ${kill + 1}: after a successful rerun churn pull said ${after}`);
    }
  } finally {
    report.seconds = (Date.now() - started) / 1000;
    await rm(base, { recursive: true, force: true });
  }
  return report;
}

/**
 * Wait until the attempt's run record shows the target step running or past
 * it (true), or the run ended first (false).
 */
async function untilReached(
  dir: string,
  attempt: number,
  target: string,
  exited: Promise<boolean>,
): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const record = await readAttempt(dir, attempt);
    const step = record?.steps.find((s) => s.name === target);
    if (step && step.state !== "pending") return true;
    await sleep(15);
  }
  return false;
}

/**
 * Run `churn pull` and judge its answer: a complete set must match its
 * manifest file by file (and summary.json must name the manifest's run), or
 * the answer must say that no complete publish is available right now.
 */
async function checkPull(
  bucket: string,
  stem: string,
  to: string,
  report: ChaosReport,
  problem: (text: string) => void,
  when: string,
): Promise<string> {
  const pull = await spawnChurn([
    "pull",
    "--bucket",
    bucket,
    "--week",
    stem,
    "--to",
    to,
    "--json",
    "--timeout",
    "3",
  ]);
  let answer: PullAnswer;
  try {
    answer = JSON.parse(pull.stdout) as PullAnswer;
  } catch {
    report.inconsistent++;
    problem(`${when}: churn pull printed no JSON (exit ${pull.code}): ${pull.stderr.slice(-300)}`);
    return "unreadable";
  }
  report.pulls[answer.status] = (report.pulls[answer.status] ?? 0) + 1;
  if (answer.status !== "complete") {
    if (!["in_progress", "missing", "failed"].includes(answer.status) || pull.code === 0) {
      report.inconsistent++;
      problem(`${when}: churn pull answered ${answer.status} with exit ${pull.code}`);
    }
    if (existsSync(to) && (await readdir(to)).length > 0) {
      report.inconsistent++;
      problem(`${when}: churn pull said ${answer.status} but left files in ${to}`);
    }
    return answer.status;
  }
  const files = answer.manifest?.files ?? [];
  for (const file of files) {
    const local = join(to, file.name.slice(file.name.lastIndexOf("/") + 1));
    const bytes = existsSync(local) ? await readFile(local) : null;
    if (!bytes || bytes.length !== file.size || sha256(bytes) !== file.sha256) {
      report.inconsistent++;
      problem(`${when}: ${file.name} does not match the manifest of run ${answer.manifest?.run_id}`);
      return "mix";
    }
  }
  const summary = JSON.parse(await readFile(join(to, "summary.json"), "utf8")) as { run_id?: string };
  if (summary.run_id !== answer.manifest?.run_id) {
    report.inconsistent++;
    problem(
      `${when}: summary.json is of run ${summary.run_id}, the manifest of run ${answer.manifest?.run_id}`,
    );
    return "mix";
  }
  return "complete";
}

/** The run record of attempt N of the bucket's (single) weekly trigger, or null before it exists. */
async function readAttempt(dir: string, attempt: number): Promise<RunRecord | null> {
  if (!existsSync(join(dir, "runs"))) return null;
  const suffix = attempt === 1 ? /^r-[0-9a-f]{16}$/ : new RegExp(`^r-[0-9a-f]{16}-a${attempt}$`);
  for (const run of await readdir(join(dir, "runs"))) {
    if (!suffix.test(run)) continue;
    try {
      return JSON.parse(await readFile(join(dir, "runs", run, "run.json"), "utf8")) as RunRecord;
    } catch {
      return null;
    }
  }
  return null;
}
