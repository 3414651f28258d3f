import { canonicalJson, sha256Hex } from "../hash.js";
import { RUNS_PREFIX } from "./names.js";

/**
 * Run ids and run folders: `runs/<run-id>/` holds the run record, the
 * lease, the trigger marker and one folder per step (its input.json,
 * outputs, output.json and log).
 */

/** What started a run: one object (weekly or transactions file) or, for retrain, a set of objects. */
export interface TriggerObject {
  name: string;
  generation: string;
}

/**
 * The one shape of a run id: `r-` + 16 lowercase hex digits, and `-a<n>` for
 * a forced attempt. A valid Kubernetes name (Jobs and pods are named after it).
 */
const RUN_ID = /^r-[0-9a-f]{16}(-a[0-9]+)?$/;

/**
 * DESIGN: run id = `r-` + the first 16 hex digits of sha256(pipeline name,
 * bucket, triggering object name, generation). For retrain the trigger is the
 * sorted set of input/ and labels/ objects (so the order they were listed or
 * named in does not matter). `attempt` > 1 (from --force) adds a suffix.
 */
export function runIdFor(
  pipeline: string,
  bucketUri: string,
  trigger: TriggerObject | TriggerObject[],
  attempt = 1,
): string {
  const identity = Array.isArray(trigger)
    ? [
        pipeline,
        bucketUri,
        [...trigger].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, t.generation]),
      ]
    : [pipeline, bucketUri, trigger.name, trigger.generation];
  const base = `r-${sha256Hex(canonicalJson(identity)).slice(0, 16)}`;
  return attempt > 1 ? `${base}-a${attempt}` : base;
}

/** True when the text is a run id this system could have made (also guards object names built from it). */
export function isRunId(text: string): boolean {
  return RUN_ID.test(text);
}

/**
 * Step names are Kubernetes names too (a Job is `<run-id>-<step>`): lowercase
 * letters, digits and `-`, at most 63 characters.
 */
const STEP_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** True when the text can be a step name (guards object names built from a request). */
export function isStepName(text: string): boolean {
  return STEP_NAME.test(text);
}

/** The folder of one run. */
export function runPrefix(runId: string): string {
  return `${RUNS_PREFIX}${runId}/`;
}

/** `runs/<run-id>/run.json`: the run record, written by the lease holder at every state change. */
export function runRecordObject(runId: string): string {
  return `${runPrefix(runId)}run.json`;
}

/** The run id of a run record's object name, or null when the name is not a run record. */
export function runIdOfRecordObject(name: string): string | null {
  const match = /^runs\/([^/]+)\/run\.json$/.exec(name);
  return match ? match[1]! : null;
}

/** The run whose folder holds `name` (`runs/<run-id>/...`), or null for an object outside runs/. */
export function runIdOfObject(name: string): string | null {
  const match = /^runs\/([^/]+)\//.exec(name);
  return match ? match[1]! : null;
}

/** `runs/<run-id>/lease`: one runner at a time per run (create-if-absent, renewed by heartbeat). */
export function leaseObject(runId: string): string {
  return `${runPrefix(runId)}lease`;
}

/** True when the object name is a run's lease (`runs/<run-id>/lease`). */
export function isLeaseObject(name: string): boolean {
  return /^runs\/[^/]+\/lease$/.test(name);
}

/** `runs/<run-id>/trigger.json`: the create-if-absent marker that makes a redelivered event a no-op. */
export function triggerMarkerObject(runId: string): string {
  return `${runPrefix(runId)}trigger.json`;
}

/** Object prefix of a step's folder: `runs/<run-id>/steps/<step>/`. */
export function stepPrefix(runId: string, step: string): string {
  return `${runPrefix(runId)}steps/${step}/`;
}

/** A step's input document (resolved inputs with content hashes, parameters). */
export function stepInputObject(runId: string, step: string): string {
  return `${stepPrefix(runId, step)}input.json`;
}

/** A step's output document, written last: its presence means the step finished. */
export function stepOutputObject(runId: string, step: string): string {
  return `${stepPrefix(runId, step)}output.json`;
}

/** A step's log as the runner captured it. */
export function stepLogObject(runId: string, step: string): string {
  return `${stepPrefix(runId, step)}log.txt`;
}
