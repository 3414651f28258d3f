import type { ChampionPointer } from "../../components/common/bundle/index.js";
import type { EvaluationReport, ImportanceRow } from "../../components/evaluate/report.js";
import type { WeekSummary as PublishedSummary } from "../../components/report/summary.js";
import type {
  ModelListing,
  ModelSummary,
  RunSummary,
  WeekFile as StoredWeekFile,
  WeekSummary,
} from "../../pipelines/query/index.js";
import type { RunRecord } from "../../pipelines/runner/records.js";

/**
 * The console's JSON API as types: what each route answers. The server
 * (app.ts, data.ts) declares its answers with these, and the pages in
 * browser/ read them through browser/api.ts, so a change on either side that
 * the other does not follow fails the type check (`npm run typecheck` checks
 * both programs). Types only: the browser imports this file with
 * `import type`, which the compiler erases, so no server code reaches a page.
 * Where a shape is already defined (run records, the query library's
 * listings, the evaluate step's report), it is imported, not restated.
 */

export type { StepRecord } from "../../pipelines/runner/records.js";
export type { ChampionPointer, ModelListing, ModelSummary, RunRecord, RunSummary };

/** `GET /api/status`. */
export interface ConsoleStatus {
  bucket: string;
  read_only: boolean;
  auth_required: boolean;
  pipelines: string[];
}

/** `GET /api/runs`. */
export interface RunsResponse {
  runs: RunSummary[];
}

/** A node of a run's DAG: the step's definition joined with its record. */
export interface DagNode {
  name: string;
  component: string;
  description: string;
  deps: string[];
}

/** `GET /api/runs/<run-id>`: the run record with its DAG. */
export interface RunDetail {
  run: RunRecord;
  dag: DagNode[];
}

/**
 * `GET /api/runs/<run-id>/steps/<step>/log`: the response headers that describe
 * the log (a type alias, not an interface, so it fits Fastify's header record).
 */
export type LogHeaders = {
  /** The run whose log this is (another run's for a cached step). */
  "x-log-run": string;
  "x-log-step": string;
  /** The whole log's size in bytes. */
  "x-log-size": string;
  /** With `?tail=`: "true" when earlier text was left out. */
  "x-log-truncated"?: "true" | "false";
};

/**
 * The evaluate step's report.json as the model page gets it: passed through
 * without a schema and with pii columns removed, so every part may be missing.
 */
export type EvaluationReportView = Partial<EvaluationReport & { drivers: ImportanceRow[] }>;

/** `GET /api/models/<version>`. */
export interface ModelDetail {
  model: ModelSummary;
  champion: ChampionPointer | null;
  /** The bundle's evaluation.json as stored, without a schema (null when absent). */
  evaluation: unknown;
  /** The report of the run that trained the model, when the bucket still holds it. */
  report: ({ run: string } & EvaluationReportView) | null;
}

/** `POST /api/models/<version>/promote` and `POST /api/models/rollback`: the new champion pointer. */
export type ChampionChange = ChampionPointer & {
  /** What the MLflow mirror did, when one is configured. */
  mlflow?: string;
};

/** A published file of a week, with the URL the console serves it at. */
export type WeekFile = StoredWeekFile & { url: string };

/** A week as the console lists it: the query library's summary, files with their URLs. */
export type ConsoleWeek = Omit<WeekSummary, "files"> & { files: WeekFile[] };

/** `GET /api/weeks`. */
export interface WeeksResponse {
  weeks: ConsoleWeek[];
}

/** Rejected rows as the console shows them: pii blanked as ingest does. */
export interface RejectedRows {
  total: number;
  rows: Array<{ line: number; column: string; reason: string; raw: string }>;
  truncated: boolean;
}

/**
 * A week's summary.json as the week page gets it: passed through without a
 * schema and with pii keys removed, so every part may be missing.
 */
export type PublishedSummaryView = Partial<Omit<PublishedSummary, "counts">> & {
  counts?: Record<string, number>;
  [key: string]: unknown;
};

/** `GET /api/weeks/<stem>`. */
export type WeekDetail = ConsoleWeek & {
  summary: PublishedSummaryView | null;
  rejected: RejectedRows | null;
  report_url: string | null;
};

/** Every API error: `{"error": reason, "status": code}`. */
export interface ApiErrorBody {
  error: string;
  status: number;
}
