import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { type Manifest, readVerifiedSet } from "../../components/common/documents/manifest.js";
import { type ExitCode, INTERRUPTED_EXIT, UsageError } from "../../components/common/errors.js";
import { stemProblem } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { type FolderKind, folderPrefix, knownStems } from "../../pipelines/query/index.js";
import { type CommandContext, emit, openBucket } from "../io.js";
import { LocalSetStage } from "../local-set.js";
import type { Wrap } from "./index.js";

/**
 * `churn pull`: the reader DESIGN describes for scripts. It reads a folder's
 * `_SUCCESS` manifest first, downloads every file it lists (the listed
 * generation where the bucket keeps old ones), checks sizes and sha256, and
 * moves the set into a local folder only when all match. Its outcomes are
 * told apart by `status` (and the exit code), so a script or a chaos test
 * knows which one it got:
 *
 * | status      | exit | meaning                                                        |
 * |-------------|------|----------------------------------------------------------------|
 * | complete    | 0    | a verified set from one publish is in the folder               |
 * | in_progress | 1    | a publish was still replacing the files when --timeout ran out |
 * | missing     | 1    | no complete publish yet: the input is there, nothing published |
 * | failed      | 2    | `_FAILED` and no manifest: the last run failed (rerun it)      |
 * | unknown     | 2    | no such week (or purchase log) in the bucket                   |
 * | invalid     | 2    | `_SUCCESS` is not a manifest (an older release wrote it)       |
 * | interrupted | 130  | Ctrl-C: the download stopped, the folder is as it was          |
 *
 * failed is 2, not 3: pull cannot tell why the run failed, and retrying the
 * pull cannot help (the run must be fixed and run again).
 */

interface PullOptions {
  bucket?: string;
  week?: string;
  lifetime?: string;
  to?: string;
  timeout: string;
}

export type PullStatus =
  | "complete"
  | "in_progress"
  | "missing"
  | "failed"
  | "unknown"
  | "invalid"
  | "interrupted";

const EXIT_CODES: Record<PullStatus, ExitCode> = {
  complete: 0,
  in_progress: 1,
  missing: 1,
  failed: 2,
  unknown: 2,
  invalid: 2,
  interrupted: INTERRUPTED_EXIT,
};

/** What `churn pull --json` prints. */
export interface PullResult {
  status: PullStatus;
  exit_code: ExitCode;
  bucket: string;
  prefix: string;
  to: string;
  /** complete: the manifest of the set now in `to` (run id, model version, files with size, sha256, generation). */
  manifest: Manifest | null;
  /** Why the set is not complete (in_progress, invalid). */
  reason: string | null;
  /** The `_FAILED` sentence, when the folder has one. */
  failure: string | null;
  /** unknown: the stems the bucket does have. */
  known: string[];
  attempts: number;
  seconds: number;
}

/** Retries start at half a second and double up to this, so a long publish costs few listings. */
const MAX_DELAY_MS = 10_000;

function target(options: PullOptions): { kind: FolderKind; stem: string } {
  if ((options.week === undefined) === (options.lifetime === undefined))
    throw new UsageError(
      "name one folder: --week <stem> (output/<stem>/) or --lifetime <stem> (output/lifetime/<stem>/)",
    );
  const kind: FolderKind = options.week !== undefined ? "week" : "lifetime";
  const stem = (options.week ?? options.lifetime)!;
  const problem = stemProblem(stem);
  if (problem) throw new UsageError(`--${kind} "${stem}" is not a stem: ${problem.text}`);
  return { kind, stem };
}

function timeoutMs(text: string): number {
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds < 0)
    throw new UsageError(`--timeout must be a number of seconds (0 or more), got "${text}"`);
  return seconds * 1000;
}

interface Attempt {
  storage: Storage;
  prefix: string;
  dest: string;
  deadline: number;
  signal: AbortSignal;
  onWait: (reason: string, delayMs: number) => void;
}

type Outcome = Pick<PullResult, "status" | "manifest" | "reason" | "failure" | "attempts">;

/** Pull until the set is complete, the folder is in a state waiting cannot change, the deadline passes, or Ctrl-C. */
async function pullUntil(a: Attempt): Promise<Outcome> {
  for (let attempts = 1, delay = 500; ; attempts++, delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    const base = { attempts, manifest: null, reason: null, failure: null };
    const stage = new LocalSetStage(a.dest);
    try {
      const set = await readVerifiedSet(a.storage, a.prefix, (file) => stage.writable(file.name), {
        signal: a.signal,
      });
      if (set.status === "complete") {
        await stage.install(set.manifest, set.text);
        return { ...base, status: "complete", manifest: set.manifest, failure: set.failure };
      }
      if (set.status === "failed") return { ...base, status: "failed", failure: set.failure };
      if (set.status === "missing") return { ...base, status: "missing" };
      if (set.status === "invalid") return { ...base, status: "invalid", reason: set.reason };
      const remaining = a.deadline - Date.now();
      if (remaining <= 0) return { ...base, status: "in_progress", reason: set.reason, failure: set.failure };
      a.onWait(set.reason, Math.min(delay, remaining));
      await stage.discard();
      await sleep(Math.min(delay, remaining), undefined, { signal: a.signal });
    } catch (error) {
      if (a.signal.aborted) return { ...base, status: "interrupted" };
      throw error;
    } finally {
      await stage.discard();
    }
  }
}

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1 << 20
      ? `${(bytes / 1024).toFixed(1)} kB`
      : `${(bytes / (1 << 20)).toFixed(1)} MB`;

/** The one sentence of an outcome that is not complete (stderr, also with --json). */
function sentence(r: PullResult, kind: FolderKind, stem: string): string {
  const where = `${r.bucket}/${r.prefix}`;
  switch (r.status) {
    case "in_progress":
      return `a publish of ${where} is still in progress after ${r.seconds.toFixed(0)} s (${r.reason})${r.failure ? `; the last run failed: ${r.failure}` : ""}: nothing was written to ${r.to}; try again later`;
    case "missing":
      return `no complete publish of ${where} yet: its input is in the bucket but nothing is published (is its run still going?)`;
    case "failed":
      return `no complete publish of ${where}: the last run failed: ${r.failure}`;
    case "unknown":
      return `no ${kind === "week" ? "week" : "lifetime folder"} "${stem}" in ${r.bucket}: ${r.known.length > 0 ? `known: ${r.known.join(", ")}` : "it has none yet"}`;
    case "invalid":
      return `${r.reason}: run the pipeline of this ${kind} again (with --force) to republish it with a manifest`;
    case "interrupted":
      return `interrupted: nothing was written to ${r.to}`;
    default:
      return "";
  }
}

function describeComplete(r: PullResult, manifest: Manifest): string {
  const { files } = manifest;
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const width = Math.max(...files.map((f) => f.name.length));
  const lines = [
    `pulled ${r.bucket}/${r.prefix} into ${r.to}: ${files.length} files, ${size(total)}, sizes and sha256 verified`,
    `  run ${manifest.run_id}${manifest.model_version ? `, model ${manifest.model_version}` : ""}`,
    ...files.map(
      (f) => `  ${f.name.padEnd(width)}  ${size(f.size).padStart(9)}  sha256 ${f.sha256.slice(0, 16)}`,
    ),
  ];
  if (r.failure) lines.push(`note: a later run failed and left this set alone: ${r.failure}`);
  return lines.join("\n");
}

async function pull(options: PullOptions, ctx: CommandContext): Promise<ExitCode> {
  const { kind, stem } = target(options);
  if (!options.to) throw new UsageError("--to <dir> is required: the local folder to write the files into");
  const limit = timeoutMs(options.timeout);
  const storage = await openBucket(options.bucket, ctx);
  const prefix = folderPrefix(kind, stem);
  const dest = resolve(ctx.cwd, options.to);
  const started = Date.now();
  // Ctrl-C stops the download and removes what it staged: the folder keeps the set it had.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once("SIGINT", onSigint);
  let outcome: Outcome;
  try {
    outcome = await pullUntil({
      storage,
      prefix,
      dest,
      deadline: started + limit,
      signal: interrupt.signal,
      onWait: (reason, delayMs) =>
        ctx.logger.info(
          `a publish of ${prefix} is in progress (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`,
        ),
    });
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  let known: string[] = [];
  let status: PullStatus = outcome.status;
  if (status === "missing") {
    const found = await knownStems(storage, kind);
    if (!found.inputs.has(stem)) {
      status = "unknown";
      known = found.stems;
    }
  }
  const result: PullResult = {
    status,
    exit_code: EXIT_CODES[status],
    bucket: storage.uri,
    prefix,
    to: dest,
    manifest: outcome.manifest,
    reason: outcome.reason,
    failure: outcome.failure,
    known,
    attempts: outcome.attempts,
    seconds: (Date.now() - started) / 1000,
  };
  const manifest = result.manifest;
  if (manifest) emit(ctx, result, () => describeComplete(result, manifest));
  else {
    if (ctx.json) emit(ctx, result, "");
    ctx.stderr.write(`churn: ${sentence(result, kind, stem)}\n`);
  }
  return result.exit_code;
}

/** `churn pull`: a week's complete published set, verified, into a local folder. */
export function registerPull(program: Command, wrap: Wrap): void {
  program
    .command("pull")
    .description(
      "download a week's published files into a local folder: _SUCCESS (the manifest) first, then every file it lists, sizes and sha256 verified; never a mix of two publishes",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--week <stem>", "the week to pull: output/<stem>/")
    .option("--lifetime <stem>", "a lifetime pipeline folder instead: output/lifetime/<stem>/")
    .option("--to <dir>", "local folder for the files (created when absent; its _SUCCESS is written last)")
    .option("--timeout <seconds>", "how long to retry while a publish is in progress", "120")
    .option(
      "--json",
      "print one JSON document (status: complete, in_progress, missing, failed, unknown, invalid or interrupted)",
    )
    .addHelpText(
      "after",
      `
Examples:
  churn pull --bucket gs://acme-churn --week 2026-W48 --to ./2026-W48
  churn pull --bucket ./demo-bucket --lifetime shop --to ./shop --json

Exit codes: 0 complete; 1 a publish still in progress after --timeout, or nothing
published yet (a retry may help); 2 the last run failed, no such week, or a
_SUCCESS that is no manifest (retrying cannot help); 130 interrupted.
`,
    )
    .action(wrap<PullOptions>((options, ctx) => pull(options, ctx)));
}
