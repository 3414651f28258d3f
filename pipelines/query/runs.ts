import { InputError } from "../../components/common/errors.js";
import { isRunId, RUNS_PREFIX, runIdOfRecordObject } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { isLeaseLive } from "../lease.js";
import {
  parseRunRecord,
  type RunRecord,
  type RunState,
  requireRunRecord,
  runStates,
} from "../runner/records.js";

/**
 * Runs as people look them up: the list (`churn runs list`, the console's
 * runs page) and one run (`churn runs show`, the run page). One library, so
 * the CLI and the console count, filter and refuse the same way.
 */

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
  /** Steps whose result came from the cache. */
  cache_hits: number;
  steps: number;
}

/** Filters of the runs list; an unknown state is an InputError naming the known ones. */
export interface RunFilter {
  state?: string;
  pipeline?: string;
  /** At most this many runs (default 100). */
  limit?: number;
}

/** Every run record of the bucket, newest first (listRunRecords, or a cache of it). */
export type RunRecords = () => Promise<RunRecord[]>;

/**
 * Run records read once per generation: a poll lists `runs/` and re-reads
 * only the run.json objects that changed, so finished runs cost nothing after
 * the first look (on GCS each read is a round trip). Records that cannot be
 * read or fail the schema are skipped (one damaged record must not hide the
 * others), newest first.
 */
export function cachedRunRecords(storage: Storage, concurrency = 8): RunRecords {
  const cache = new Map<string, { generation: string; record: RunRecord | null }>();
  return async () => {
    const objects = (await storage.list(RUNS_PREFIX)).filter((o) => runIdOfRecordObject(o.name) !== null);
    const present = new Set(objects.map((o) => o.name));
    for (const name of cache.keys()) if (!present.has(name)) cache.delete(name);
    const stale = objects.filter((o) => cache.get(o.name)?.generation !== o.generation);
    for (let i = 0; i < stale.length; i += concurrency) {
      await Promise.all(
        stale.slice(i, i + concurrency).map(async (o) => {
          let record: RunRecord | null = null;
          try {
            record = parseRunRecord(await storage.readText(o.name), o.name);
          } catch {
            // damaged, or removed or half-visible between list and read: skipped
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

/** Every readable run record in the bucket, newest first (one look, no cache). */
export function listRunRecords(storage: Storage): Promise<RunRecord[]> {
  return cachedRunRecords(storage)();
}

/** The list line of one run. */
export function runSummary(record: RunRecord): RunSummary {
  return {
    run_id: record.run_id,
    pipeline: record.pipeline,
    state: record.state,
    trigger: record.trigger?.object ?? null,
    started: record.started,
    finished: record.finished,
    seconds: record.seconds,
    exit_code: record.exit_code,
    reason: record.reason,
    cache_hits: record.steps.filter((s) => s.cache?.hit).length,
    steps: record.steps.length,
  };
}

/**
 * The state people see. A runner that was killed cannot write its record, so
 * it still says `running`: without a live lease it is shown `interrupted`
 * (the next invocation of the same command resumes it).
 */
export async function observedState(storage: Storage, record: RunRecord): Promise<RunState> {
  if (record.state !== "running") return record.state;
  return (await isLeaseLive(storage, record.run_id)) ? "running" : "interrupted";
}

/** A run record with its observed state (see observedState). */
export async function observedRecord(storage: Storage, record: RunRecord): Promise<RunRecord> {
  const state = await observedState(storage, record);
  return state === record.state ? record : { ...record, state };
}

/** Runs, newest first, filtered by (observed) state and pipeline. */
export async function listRuns(
  storage: Storage,
  filter: RunFilter = {},
  runs: RunRecords = () => listRunRecords(storage),
): Promise<RunSummary[]> {
  if (filter.state && !(runStates as readonly string[]).includes(filter.state))
    throw new InputError(`state must be one of ${runStates.join(", ")}, got "${filter.state}"`);
  const records = (await runs()).filter((r) => !filter.pipeline || r.pipeline === filter.pipeline);
  const observed = await Promise.all(records.map((r) => observedRecord(storage, r)));
  return observed
    .filter((r) => !filter.state || r.state === filter.state)
    .slice(0, filter.limit ?? 100)
    .map(runSummary);
}

/** Refuse text that is not a run id before it becomes part of an object name. */
export function checkRunId(runId: string): void {
  if (!isRunId(runId)) throw new InputError(`"${runId}" is not a run id (r- and 16 hex digits)`);
}

/** One run's record; a malformed id is an InputError, an unknown run a NotFoundError naming it. */
export async function getRun(storage: Storage, runId: string): Promise<RunRecord> {
  checkRunId(runId);
  return observedRecord(storage, await requireRunRecord(storage, runId));
}
