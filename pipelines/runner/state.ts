import type { OutputDoc } from "../../components/common/component/spec.js";
import { outputDocSchema } from "../../components/common/component/spec.js";
import { type ExitCode, INTERRUPTED_EXIT } from "../../components/common/errors.js";
import { stepOutputObject } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { type Warning, warningsOf } from "../../components/common/warnings.js";
import type { StepDefinition } from "../dag.js";
import { type RunRecord, type StepRecord, writeRunRecord } from "./records.js";

/**
 * The state one run carries between the runner's parts (identify, planner,
 * scheduler, step attempt, finaliser): the run record being written, the
 * output.json of every finished step, and the first failure. Each part gets
 * it explicitly; only the runner holding the lease has one.
 */
export interface RunState {
  record: RunRecord;
  /** output.json of every finished step, by step name: what downstream inputs resolve from. */
  upstream: Map<string, OutputDoc>;
  /** The first step that failed (a run stops scheduling after it). */
  failure: StepFailure | null;
}

export interface StepFailure {
  step: string;
  exitCode: ExitCode;
  error: string;
}

/** What the runner reports as it goes (the CLI draws progress from these). */
export type RunEvent =
  | { type: "run"; runId: string; pipeline: string; trigger: string | null; resumed: boolean }
  | { type: "waiting"; runId: string; holder: string; expiresInMs: number }
  /** A running step's own progress (e.g. `train: gbdt: fold 3/5`), with the seconds since it started. */
  | { type: "progress"; step: string; message: string; seconds: number }
  | {
      type: "step";
      step: string;
      state: StepRecord["state"];
      seconds: number | null;
      error: string | null;
      attempt: number;
      /** The step's warnings, once it finished (succeeded or cached). */
      warnings: Warning[];
    };

export type EmitEvent = (event: RunEvent) => void;

/** A step's record in the run (every step of the pipeline has one from the start). */
export function stepRecordOf(record: RunRecord, name: string): StepRecord {
  const rec = record.steps.find((s) => s.name === name);
  if (!rec) throw new Error(`run ${record.run_id} has no record of step ${name}`);
  return rec;
}

/** Record the first failure only: later ones are consequences (or concurrent, and reported in their step). */
export function recordFailure(state: RunState, failure: StepFailure): void {
  state.failure ??= failure;
}

const EXIT_CODES: readonly ExitCode[] = [0, 1, 2, 3, INTERRUPTED_EXIT];

/** A stored exit code as the CLI's exit code (anything unknown, or none, is 1). */
export function exitCodeFrom(code: number | null): ExitCode {
  return EXIT_CODES.find((c) => c === code) ?? 1;
}

/** A step's output.json in a run, validated; null while the step has not finished. */
export async function readOutputDoc(
  storage: Storage,
  runId: string,
  step: string,
): Promise<OutputDoc | null> {
  const name = stepOutputObject(runId, step);
  if (!(await storage.stat(name))) return null;
  return outputDocSchema.parse(JSON.parse(await storage.readText(name)));
}

/**
 * Resume: a step whose output.json exists in this run is done (cached stays
 * cached); any other step is pending again. Returns the finished steps' outputs.
 */
export async function resumeSteps(
  storage: Storage,
  record: RunRecord,
  order: readonly StepDefinition[],
): Promise<Map<string, OutputDoc>> {
  const upstream = new Map<string, OutputDoc>();
  for (const step of order) {
    const doc = await readOutputDoc(storage, record.run_id, step.name);
    const rec = stepRecordOf(record, step.name);
    if (doc) {
      upstream.set(step.name, doc);
      rec.warnings = warningsOf(step.name, doc.warnings ?? []);
      if (rec.state !== "cached") rec.state = "succeeded";
    } else if (rec.state !== "pending") {
      rec.state = "pending";
    }
  }
  return upstream;
}

/**
 * Writes the run record in order: concurrent steps ask for a write at every
 * state change, and each write is chained after the previous one so an older
 * snapshot never lands after a newer one.
 */
export class RecordWriter {
  private last: Promise<void> = Promise.resolve();
  constructor(
    private readonly storage: Storage,
    private readonly record: RunRecord,
  ) {}
  persist(): Promise<void> {
    this.last = this.last.then(() => writeRunRecord(this.storage, this.record));
    return this.last;
  }
}
