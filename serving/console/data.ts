import type { Readable } from "node:stream";
import { type ChurnConfig, loadConfig } from "../../components/common/config/index.js";
import { REJECTED_HEADER } from "../../components/common/csv/rejected.js";
import { csvLine } from "../../components/common/csv/write.js";
import { InputError, NotFoundError } from "../../components/common/errors.js";
import {
  isOutputFileName,
  isRunId,
  isStem,
  isStepName,
  OUTPUT_FILES,
  triggerStem,
  WEEKLY_PREFIX,
  weekOutputObject,
} from "../../components/common/layout/index.js";
import type { ObjectInfo, Storage } from "../../components/common/storage/index.js";
import { dependenciesOf } from "../../pipelines/dag.js";
import { PIPELINES } from "../../pipelines/definitions/index.js";
import {
  anyJson,
  evaluationReport,
  getModel,
  getRun,
  getWeek,
  listRunRecords,
  listWeeks as queryWeeks,
  type RunRecords,
  readView,
  type WeekSummary,
} from "../../pipelines/query/index.js";
import { type RunRecord, requireRunRecord, type StepRecord } from "../../pipelines/runner/records.js";
import type {
  ConsoleWeek,
  DagNode,
  EvaluationReportView,
  ModelDetail,
  PublishedSummaryView,
  RejectedRows,
  RunDetail,
  WeekDetail,
} from "./api-types.js";
import { headerOf, parseCsv, rawBlanker, readHead, WITHHELD, withoutPii } from "./pii.js";

/**
 * What the console shows, read from the bucket through the Storage interface
 * only (so file:// and gs:// give the same answers). Runs, models and weeks
 * come from the query library the CLI uses too (pipelines/query); this file
 * adds what only the console shows: the DAG, log tails, file URLs and the pii
 * rules. No HTTP here: app.ts maps these to routes, and anything thrown is a
 * ChurnError with its HTTP status.
 */

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

/** A run record with its DAG. */
export async function runDetail(storage: Storage, runId: string): Promise<RunDetail> {
  const run = await getRun(storage, runId);
  return { run, dag: dagOf(run) };
}

function findStep(record: RunRecord, name: string): StepRecord {
  if (!isStepName(name)) throw new InputError(`"${name}" is not a step name`);
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
  const record = await getRun(storage, runId);
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

/** One model with its evaluation decision and report (pii-free), as the model page shows it. */
export async function modelDetail(
  storage: Storage,
  version: string,
  pii: ReadonlySet<string>,
  runs: RunRecords = () => listRunRecords(storage),
): Promise<ModelDetail> {
  const { model, champion, evaluation } = await getModel(storage, version);
  const report = await evaluationReport(storage, version, runs);
  return {
    model,
    champion,
    evaluation,
    // Passed through as the evaluate step wrote it; the type says every part may be missing.
    report: report ? { run: report.run, ...(withoutPii(report.report, pii) as EvaluationReportView) } : null,
  };
}

function fileUrl(stem: string, name: string): string {
  return `/api/weeks/${encodeURIComponent(stem)}/files/${encodeURIComponent(name)}`;
}

function withUrls(week: WeekSummary): ConsoleWeek {
  return { ...week, files: week.files.map((f) => ({ ...f, url: fileUrl(week.stem, f.name) })) };
}

/** Every weekly file and every output folder, newest stem first. */
export async function listWeeks(
  storage: Storage,
  records: RunRecords = () => listRunRecords(storage),
): Promise<ConsoleWeek[]> {
  return (await queryWeeks(storage, records)).map(withUrls);
}

function checkStem(stem: string): void {
  if (!isStem(stem)) throw new InputError(`"${stem}" is not a weekly file stem`);
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
  const candidates = (await storage.list(`${WEEKLY_PREFIX}${stem}.`)).filter(
    (o) => triggerStem(o.name) === stem,
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
  const name = weekOutputObject(stem, OUTPUT_FILES.rejected);
  if (!(await storage.stat(name))) throw new NotFoundError(`week ${stem} has no ${OUTPUT_FILES.rejected}`);
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
): Promise<WeekDetail> {
  checkStem(stem);
  const week = withUrls(await getWeek(storage, stem, runs));
  const pii = new Set(context?.pii ?? []);
  const summary = await readView(storage, weekOutputObject(stem, OUTPUT_FILES.summary), anyJson);
  const hasRejected = week.files.some((f) => f.name === OUTPUT_FILES.rejected);
  return {
    ...week,
    // Passed through as publish wrote it; the type says every part may be missing.
    summary: summary === null ? null : (withoutPii(summary, pii) as PublishedSummaryView),
    rejected: hasRejected ? await rejectedRows(storage, stem, context) : null,
    report_url: week.files.some((f) => f.name === OUTPUT_FILES.report)
      ? fileUrl(stem, OUTPUT_FILES.report)
      : null,
  };
}

/** A published file to download: its object name and metadata. */
export async function weekFile(storage: Storage, stem: string, name: string): Promise<ObjectInfo> {
  checkStem(stem);
  if (!isOutputFileName(name)) throw new InputError(`"${name}" is not a file name`);
  const info = await storage.stat(weekOutputObject(stem, name));
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
  return REJECTED_HEADER + rows.map((r) => csvLine([String(r.line), r.column, r.reason, r.raw])).join("");
}
