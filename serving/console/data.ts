import type { Readable } from "node:stream";
import {
  type Bundle,
  type ChampionPointer,
  listBundleVersions,
  readBundle,
  readChampion,
} from "../../components/common/bundle/index.js";
import { type ChurnConfig, loadConfig } from "../../components/common/config/index.js";
import { InputError, messageOf, NotFoundError } from "../../components/common/errors.js";
import type { ObjectInfo, Storage } from "../../components/common/storage/index.js";
import { dependenciesOf } from "../../pipelines/dag.js";
import { PIPELINES } from "../../pipelines/definitions/index.js";
import { isRunId } from "../../pipelines/run-id.js";
import {
  listRunRecords,
  type RunRecord,
  requireRunRecord,
  runRecordSchema,
  runStates,
  type StepRecord,
} from "../../pipelines/runner/records.js";
import { csvField, headerOf, parseCsv, rawBlanker, readHead, WITHHELD, withoutPii } from "./pii.js";

/**
 * What the console shows, read from the bucket through the Storage interface
 * only (so file:// and gs:// give the same answers). No HTTP here: app.ts maps
 * these to routes, and anything thrown is a ChurnError with its HTTP status.
 */

const STEP_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const STEM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const VERSION = /^[0-9a-f]{16}$/;

/** One line of the runs list. */
export interface RunSummary {
  run_id: string;
  pipeline: string;
  state: RunRecord["state"];
  trigger: string | null;
  started: string;
  finished: string | null;
  seconds: number | null;
  exit_code: number | null;
  reason: string | null;
  cache_hits: number;
  steps: number;
}

/** Filters of the runs list; unknown states are a 400 naming the known ones. */
export interface RunFilter {
  state?: string;
  pipeline?: string;
  limit?: number;
}

/** Every run record of the bucket, newest first (listRunRecords, or a cache of it). */
export type RunRecords = () => Promise<RunRecord[]>;

/**
 * Run records read once per generation: a poll lists `runs/` and re-reads
 * only the run.json objects that changed, so finished runs cost nothing after
 * the first look (on GCS each read is a round trip). Same order and the same
 * skipping of unreadable records as listRunRecords.
 */
export function cachedRunRecords(storage: Storage, concurrency = 8): RunRecords {
  const cache = new Map<string, { generation: string; record: RunRecord | null }>();
  return async () => {
    const objects = (await storage.list("runs/")).filter((o) => /^runs\/[^/]+\/run\.json$/.test(o.name));
    const present = new Set(objects.map((o) => o.name));
    for (const name of cache.keys()) if (!present.has(name)) cache.delete(name);
    const stale = objects.filter((o) => cache.get(o.name)?.generation !== o.generation);
    for (let i = 0; i < stale.length; i += concurrency) {
      await Promise.all(
        stale.slice(i, i + concurrency).map(async (o) => {
          let record: RunRecord | null = null;
          try {
            const parsed = runRecordSchema.safeParse(JSON.parse(await storage.readText(o.name)));
            record = parsed.success ? parsed.data : null;
          } catch {
            // removed or half-visible between list and read: skipped like listRunRecords does
          }
          cache.set(o.name, { generation: o.generation, record });
        }),
      );
    }
    return [...cache.values()]
      .map((entry) => entry.record)
      .filter((r): r is RunRecord => r !== null)
      .sort((a, b) => b.started.localeCompare(a.started));
  };
}

/** Runs, newest first, filtered by state and pipeline. */
export async function listRuns(
  storage: Storage,
  filter: RunFilter = {},
  runs: RunRecords = () => listRunRecords(storage),
): Promise<RunSummary[]> {
  if (filter.state && !(runStates as readonly string[]).includes(filter.state))
    throw new InputError(`state must be one of ${runStates.join(", ")}, got "${filter.state}"`);
  const records = (await runs())
    .filter((r) => !filter.state || r.state === filter.state)
    .filter((r) => !filter.pipeline || r.pipeline === filter.pipeline)
    .slice(0, filter.limit ?? 100);
  return records.map((r) => ({
    run_id: r.run_id,
    pipeline: r.pipeline,
    state: r.state,
    trigger: r.trigger?.object ?? null,
    started: r.started,
    finished: r.finished,
    seconds: r.seconds,
    exit_code: r.exit_code,
    reason: r.reason,
    cache_hits: r.steps.filter((s) => s.cache?.hit).length,
    steps: r.steps.length,
  }));
}

/** A node of a run's DAG: the step's definition joined with its record. */
export interface DagNode {
  name: string;
  component: string;
  description: string;
  deps: string[];
}

/**
 * The DAG of a run: the pipeline definition's edges among the steps the run
 * recorded (the runner records every step, pending ones too, so a run made
 * before the definition changed keeps its own shape). A dependency on a step
 * the run lacks is replaced by that step's own dependencies.
 */
export function dagOf(record: RunRecord): DagNode[] {
  const definition = PIPELINES[record.pipeline];
  const recorded = new Set(record.steps.map((s) => s.name));
  const defined = new Map((definition?.steps ?? []).map((s) => [s.name, s]));
  const keep = (name: string) => recorded.size === 0 || recorded.has(name);
  const depsOf = (name: string, seen = new Set<string>()): string[] => {
    const step = defined.get(name);
    if (!step || seen.has(name)) return [];
    seen.add(name);
    return dependenciesOf(step).flatMap((dep) => (keep(dep) ? [dep] : depsOf(dep, seen)));
  };
  const nodes: DagNode[] = (definition?.steps ?? [])
    .filter((s) => keep(s.name))
    .map((s) => ({
      name: s.name,
      component: s.component,
      description: s.description,
      deps: [...new Set(depsOf(s.name))],
    }));
  const known = new Set(nodes.map((n) => n.name));
  let previous: string | null = null;
  for (const step of record.steps) {
    // An unknown pipeline (or a step added since): chain recorded steps in order.
    if (!known.has(step.name)) {
      nodes.push({
        name: step.name,
        component: step.component,
        description: "",
        deps: previous ? [previous] : [],
      });
      known.add(step.name);
    }
    previous = step.name;
  }
  return nodes;
}

function checkRunId(runId: string): void {
  if (!isRunId(runId)) throw new InputError(`"${runId}" is not a run id (r- and 16 hex digits)`);
}

/** A run record with its DAG. */
export async function runDetail(
  storage: Storage,
  runId: string,
): Promise<{ run: RunRecord; dag: DagNode[] }> {
  checkRunId(runId);
  const run = await requireRunRecord(storage, runId);
  return { run, dag: dagOf(run) };
}

function findStep(record: RunRecord, name: string): StepRecord {
  if (!STEP_NAME.test(name)) throw new InputError(`"${name}" is not a step name`);
  const step = record.steps.find((s) => s.name === name);
  if (!step)
    throw new NotFoundError(
      `run ${record.run_id} has no step ${name} (steps: ${record.steps.map((s) => s.name).join(", ")})`,
    );
  return step;
}

/** Where a step's log is: its own, or for a cached step the log of the run that computed it. */
export async function stepLogObject(
  storage: Storage,
  runId: string,
  stepName: string,
): Promise<{ object: string; run: string; step: string; info: ObjectInfo }> {
  checkRunId(runId);
  const record = await requireRunRecord(storage, runId);
  const step = findStep(record, stepName);
  if (step.log) {
    const info = await storage.stat(step.log);
    if (info) return { object: step.log, run: runId, step: stepName, info };
  }
  const from = step.cache?.hit ? step.cache.from : null;
  if (from) {
    const [sourceRun, sourceStep] = from.split("/");
    if (sourceRun && sourceStep && isRunId(sourceRun) && sourceRun !== runId) {
      const source = await requireRunRecord(storage, sourceRun).catch(() => null);
      const log = source?.steps.find((s) => s.name === sourceStep)?.log;
      const info = log ? await storage.stat(log) : null;
      if (log && info) return { object: log, run: sourceRun, step: sourceStep, info };
    }
  }
  throw new NotFoundError(
    step.state === "pending" || step.state === "skipped"
      ? `step ${stepName} of run ${runId} has not run, so it has no log`
      : `step ${stepName} of run ${runId} has no log in ${storage.uri}`,
  );
}

/** The last `bytes` of a log, starting at a whole line; `truncated` when earlier text was left out. */
export async function tailText(
  stream: Readable,
  bytes: number,
): Promise<{ text: string; truncated: boolean; size: number }> {
  let kept = Buffer.alloc(0);
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    kept = Buffer.concat([kept, b]);
    if (kept.length > bytes * 2) kept = kept.subarray(kept.length - bytes);
  }
  if (kept.length > bytes) kept = kept.subarray(kept.length - bytes);
  let text = kept.toString("utf8");
  const truncated = size > kept.length;
  if (truncated) text = text.slice(text.indexOf("\n") + 1);
  return { text, truncated, size };
}

/** One model as the console lists it. */
export interface ModelSummary {
  version: string;
  family: string;
  roc_auc: number;
  cv_roc_auc: Record<string, number> | null;
  tiers: { high: number; medium: number };
  training_rows: number | null;
  created: string;
  champion: boolean;
  decision: string | null;
}

async function readJsonIfPresent(storage: Storage, name: string): Promise<unknown | null> {
  if (!(await storage.stat(name))) return null;
  try {
    return JSON.parse(await storage.readText(name));
  } catch {
    return null;
  }
}

/** Every complete bundle with its metrics, and the champion pointer; unreadable bundles are listed as problems. */
export async function listModels(storage: Storage): Promise<{
  champion: ChampionPointer | null;
  models: ModelSummary[];
  problems: Array<{ version: string; error: string }>;
}> {
  const champion = await readChampion(storage);
  const models: ModelSummary[] = [];
  const problems: Array<{ version: string; error: string }> = [];
  for (const { version, updated } of await listBundleVersions(storage)) {
    let bundle: Bundle;
    try {
      bundle = (await readBundle(storage, version)).bundle;
    } catch (error) {
      // One damaged bundle must not hide the others.
      problems.push({ version, error: messageOf(error) });
      continue;
    }
    const metrics = bundle.metrics as Record<string, unknown>;
    const evaluation = (await readJsonIfPresent(storage, `models/${version}/evaluation.json`)) as {
      reason?: unknown;
    } | null;
    models.push({
      version,
      family: bundle.model.family,
      roc_auc: bundle.metrics.roc_auc,
      cv_roc_auc: isNumberRecord(metrics.cv_roc_auc) ? metrics.cv_roc_auc : null,
      tiers: bundle.tiers,
      training_rows: typeof bundle.training.training_rows === "number" ? bundle.training.training_rows : null,
      created: updated.toISOString(),
      champion: champion?.pointer.version === version,
      decision: typeof evaluation?.reason === "string" ? evaluation.reason : null,
    });
  }
  return { champion: champion?.pointer ?? null, models, problems };
}

function isNumberRecord(value: unknown): value is Record<string, number> {
  return (
    !!value &&
    typeof value === "object" &&
    Object.values(value as Record<string, unknown>).every((v) => typeof v === "number")
  );
}

/** The evaluation report (lift, calibration, drivers) of the run that produced a model, if one is in the bucket. */
export async function evaluationReport(
  storage: Storage,
  version: string,
  runs: RunRecords = () => listRunRecords(storage),
): Promise<{ run: string; report: unknown } | null> {
  for (const run of (await runs()).slice(0, 200)) {
    const step = run.steps.find((s) => s.component === "evaluate" && s.outputs.decision && s.outputs.report);
    if (!step) continue;
    const decision = (await readJsonIfPresent(storage, step.outputs.decision!.object)) as {
      candidate_version?: unknown;
    } | null;
    if (decision?.candidate_version !== version) continue;
    const report = await readJsonIfPresent(storage, step.outputs.report!.object);
    if (report) return { run: run.run_id, report };
  }
  return null;
}

/** One model with its evaluation decision and report. */
export async function modelDetail(
  storage: Storage,
  version: string,
  pii: ReadonlySet<string>,
  runs: RunRecords = () => listRunRecords(storage),
) {
  if (!VERSION.test(version)) throw new InputError(`"${version}" is not a model version (16 hex digits)`);
  const { models, champion } = await listModels(storage);
  const model = models.find((m) => m.version === version);
  if (!model) throw new NotFoundError(`model ${version} does not exist in ${storage.uri}`);
  const evaluation = await readJsonIfPresent(storage, `models/${version}/evaluation.json`);
  const report = await evaluationReport(storage, version, runs);
  return {
    model,
    champion,
    evaluation,
    report: report ? { run: report.run, ...(withoutPii(report.report, pii) as object) } : null,
  };
}

/** A published file of a week. */
export interface WeekFile {
  name: string;
  size: number;
  updated: string;
  url: string;
}

/** One weekly file and its output folder. */
export interface WeekSummary {
  stem: string;
  /** The weekly file of this stem (`weekly/<stem>.csv[.gz]`), when it is still in the bucket. */
  weekly_file: string | null;
  /**
   * published: `_SUCCESS` is there; failed: only `_FAILED`; incomplete: outputs
   * without either; waiting: a weekly file with no outputs yet.
   */
  status: "published" | "failed" | "incomplete" | "waiting";
  /** The sentence in `_FAILED`, when the last run of this week failed. */
  failure: string | null;
  files: WeekFile[];
  counts: Record<string, number> | null;
  runs: string[];
}

function fileUrl(stem: string, name: string): string {
  return `/api/weeks/${encodeURIComponent(stem)}/files/${encodeURIComponent(name)}`;
}

async function weekOf(
  storage: Storage,
  stem: string,
  objects: ObjectInfo[],
  runs: RunRecord[],
  weeklyFile: string | null,
): Promise<WeekSummary> {
  const files = objects.map((o) => ({
    name: o.name.slice(`output/${stem}/`.length),
    size: o.size,
    updated: o.updated.toISOString(),
    url: fileUrl(stem, o.name.slice(`output/${stem}/`.length)),
  }));
  const names = new Set(files.map((f) => f.name));
  const failure = names.has("_FAILED") ? (await storage.readText(`output/${stem}/_FAILED`)).trim() : null;
  const summary = names.has("summary.json")
    ? ((await readJsonIfPresent(storage, `output/${stem}/summary.json`)) as { counts?: unknown } | null)
    : null;
  return {
    stem,
    weekly_file: weeklyFile,
    status: names.has("_SUCCESS")
      ? "published"
      : failure !== null
        ? "failed"
        : files.length
          ? "incomplete"
          : "waiting",
    failure,
    files,
    counts: isNumberRecord(summary?.counts) ? summary.counts : null,
    runs: runs
      .filter(
        (r) =>
          r.output_prefix === `output/${stem}/` || (weeklyFile !== null && r.trigger?.object === weeklyFile),
      )
      .map((r) => r.run_id),
  };
}

function groupWeeks(objects: ObjectInfo[]): Map<string, ObjectInfo[]> {
  const weeks = new Map<string, ObjectInfo[]>();
  for (const o of objects) {
    const match = /^output\/([^/]+)\/([^/]+)$/.exec(o.name);
    // output/lifetime/<stem>/ belongs to the lifetime pipeline, not to a week.
    if (!match || match[1] === "lifetime") continue;
    const list = weeks.get(match[1]!) ?? [];
    list.push(o);
    weeks.set(match[1]!, list);
  }
  return weeks;
}

/** Weekly files by stem (`weekly/<stem>.csv[.gz]`). */
async function weeklyFiles(storage: Storage, stem = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const o of await storage.list(`weekly/${stem}`)) {
    const match = /^weekly\/([^/]+?)\.csv(\.gz)?$/.exec(o.name);
    if (match) files.set(match[1]!, o.name);
  }
  return files;
}

/** Every weekly file and every output folder, newest stem first. */
export async function listWeeks(
  storage: Storage,
  records: RunRecords = () => listRunRecords(storage),
): Promise<WeekSummary[]> {
  const weeks = groupWeeks(await storage.list("output/"));
  const weekly = await weeklyFiles(storage);
  const runs = await records();
  const stems = new Set([...weeks.keys(), ...weekly.keys()]);
  const result: WeekSummary[] = [];
  for (const stem of [...stems].sort().reverse())
    result.push(await weekOf(storage, stem, weeks.get(stem) ?? [], runs, weekly.get(stem) ?? null));
  return result;
}

function checkStem(stem: string): void {
  if (!STEM.test(stem) || stem === "lifetime") throw new InputError(`"${stem}" is not a weekly file stem`);
}

/** Rejected rows as the console shows them: pii blanked as ingest does. */
export interface RejectedRows {
  total: number;
  rows: Array<{ line: number; column: string; reason: string; raw: string }>;
  truncated: boolean;
}

/** Settings the pii rules need: the pii names and the configured delimiter. */
export interface PiiContext {
  pii: string[];
  delimiter: string;
}

/** The pii context of a bucket; when churn.yaml cannot be read, raw rows are withheld. */
export async function piiContext(storage: Storage): Promise<PiiContext | null> {
  try {
    const config: ChurnConfig = await loadConfig(storage);
    return { pii: config.pii, delimiter: config.ingest.delimiter };
  } catch {
    return null;
  }
}

async function weeklyLayout(
  storage: Storage,
  stem: string,
  delimiter: string,
): Promise<{ header: string[]; delimiter: string } | null> {
  const candidates = (await storage.list(`weekly/${stem}.`)).filter((o) =>
    /\.csv(\.gz)?$/.test(o.name.slice(`weekly/${stem}`.length)),
  );
  if (candidates.length !== 1) return null;
  try {
    return headerOf(await readHead(storage, candidates[0]!.name), delimiter);
  } catch {
    return null;
  }
}

/** The rejected rows of a week (the first `limit`), pii blanked. */
export async function rejectedRows(
  storage: Storage,
  stem: string,
  context: PiiContext | null,
  limit = 500,
): Promise<RejectedRows> {
  checkStem(stem);
  const name = `output/${stem}/rejected.csv`;
  if (!(await storage.stat(name))) throw new NotFoundError(`week ${stem} has no rejected.csv`);
  const records = parseCsv(await storage.readText(name), ",", name).slice(1);
  const pii = context?.pii ?? [];
  const blank =
    context === null
      ? () => WITHHELD
      : rawBlanker(pii, pii.length ? await weeklyLayout(storage, stem, context.delimiter) : null);
  const rows = records.filter((r) => r.length >= 3);
  return {
    total: rows.length,
    truncated: rows.length > limit,
    rows: rows.slice(0, limit).map(([line, column, reason, raw]) => ({
      line: Number(line),
      column: column ?? "",
      // A reason about a pii column could quote its value.
      reason: pii.includes(column ?? "") ? "(pii column)" : (reason ?? ""),
      raw: blank(raw ?? ""),
    })),
  };
}

/** A week with its summary (pii-free) and the first rejected rows. */
export async function weekDetail(
  storage: Storage,
  stem: string,
  context: PiiContext | null,
  runs: RunRecords = () => listRunRecords(storage),
) {
  checkStem(stem);
  const objects = (await storage.list(`output/${stem}/`)).filter(
    (o) => !o.name.slice(8 + stem.length).includes("/"),
  );
  const weeklyFile = (await weeklyFiles(storage, stem)).get(stem) ?? null;
  if (objects.length === 0 && weeklyFile === null)
    throw new NotFoundError(`no week ${stem}: no weekly/${stem}.csv and nothing under output/${stem}/`);
  const week = await weekOf(storage, stem, objects, await runs(), weeklyFile);
  const pii = new Set(context?.pii ?? []);
  const summary = await readJsonIfPresent(storage, `output/${stem}/summary.json`);
  const hasRejected = week.files.some((f) => f.name === "rejected.csv");
  return {
    ...week,
    summary: summary === null ? null : withoutPii(summary, pii),
    rejected: hasRejected ? await rejectedRows(storage, stem, context) : null,
    report_url: week.files.some((f) => f.name === "report.html") ? fileUrl(stem, "report.html") : null,
  };
}

/** A published file to download: its object name and metadata. */
export async function weekFile(storage: Storage, stem: string, name: string): Promise<ObjectInfo> {
  checkStem(stem);
  if (!FILE_NAME.test(name)) throw new InputError(`"${name}" is not a file name`);
  const info = await storage.stat(`output/${stem}/${name}`);
  if (!info) throw new NotFoundError(`week ${stem} has no file ${name}`);
  return info;
}

/** rejected.csv as CSV again, after the pii rules (what the download link serves). */
export async function rejectedCsv(
  storage: Storage,
  stem: string,
  context: PiiContext | null,
): Promise<string> {
  const { rows } = await rejectedRows(storage, stem, context, Number.MAX_SAFE_INTEGER);
  return `line,column,reason,raw\n${rows.map((r) => [String(r.line), r.column, r.reason, r.raw].map((f) => csvField(f)).join(",")).join("\n")}${rows.length ? "\n" : ""}`;
}
