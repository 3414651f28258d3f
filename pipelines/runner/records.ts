import { z } from "zod";
import { parseDocument } from "../../components/common/documents/parse.js";
import { NotFoundError } from "../../components/common/errors.js";
import { runRecordObject, writtenBy } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import { warningSchema } from "../../components/common/warnings.js";

/**
 * `runs/<run-id>/run.json`: the run record. Each step's state, inputs (objects
 * and content hashes), outputs, parameters, timings, exit codes and cache hits.
 * Written by the runner holding the run's lease, at every state change.
 */
const refSchema = z.strictObject({ object: z.string(), sha256: z.string() });

export const stepStates = ["pending", "running", "succeeded", "cached", "failed", "skipped"] as const;
export type StepState = (typeof stepStates)[number];

export const stepRecordSchema = z.strictObject({
  name: z.string(),
  component: z.string(),
  state: z.enum(stepStates),
  attempts: z.number().int(),
  exit_code: z.number().int().nullable(),
  started: z.string().nullable(),
  finished: z.string().nullable(),
  seconds: z.number().nullable(),
  cache: z
    .object({
      key: z.string(),
      hit: z.boolean(),
      from: z.string().nullable(),
      /** Set when a cached result existed and was not used: the reasons (retraining triggers that fired). */
      bypassed: z.array(z.string()).optional(),
    })
    .nullable(),
  inputs: z.record(z.string(), z.array(refSchema)),
  outputs: z.record(z.string(), refSchema),
  parameters: z.record(z.string(), z.unknown()),
  counts: z.record(z.string(), z.number()),
  error: z.string().nullable(),
  log: z.string().nullable(),
  /** What the step noticed that people must see (absent in records older than warnings). */
  warnings: z.array(warningSchema).default([]),
});
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** The record of a step that has not run yet (how every step of a new run starts). */
export function pendingStep(step: { name: string; component: string }): StepRecord {
  return {
    name: step.name,
    component: step.component,
    state: "pending",
    attempts: 0,
    exit_code: null,
    started: null,
    finished: null,
    seconds: null,
    cache: null,
    inputs: {},
    outputs: {},
    parameters: {},
    counts: {},
    error: null,
    log: null,
    warnings: [],
  };
}

/**
 * A run is `running` while a runner holds its lease, `interrupted` when it
 * stopped before the end (Ctrl-C records it; a killed runner's record still
 * says `running`, and readers show it as interrupted once its lease has
 * expired: see `observedState`), and `succeeded` or `failed` at the end. The
 * next invocation resumes a running-or-interrupted run.
 */
export const runStates = ["running", "interrupted", "succeeded", "failed"] as const;
export type RunState = (typeof runStates)[number];

/** True when the run reached its end (succeeded or failed): invoking it again only reports it. */
export function isFinished(record: Pick<RunRecord, "state">): boolean {
  return record.state === "succeeded" || record.state === "failed";
}

export const runRecordSchema = z.strictObject({
  version: z.literal(1),
  run_id: z.string(),
  pipeline: z.string(),
  bucket: z.string(),
  runner: z.string(),
  trigger: z.strictObject({ object: z.string(), generation: z.string() }).nullable(),
  attempt: z.number().int(),
  state: z.enum(runStates),
  exit_code: z.number().int().nullable(),
  /** One sentence: why the run failed. */
  reason: z.string().nullable(),
  started: z.string(),
  finished: z.string().nullable(),
  seconds: z.number().nullable(),
  code_version: z.string(),
  output_prefix: z.string().nullable(),
  /**
   * Weekly runs: the retraining triggers that asked for a forced retrain, and
   * the steps whose cached result was bypassed because of them (empty when
   * they missed the cache anyway, e.g. new data; absent: no trigger asked).
   */
  retrain: z.strictObject({ fired: z.array(z.string()), cache_bypassed: z.array(z.string()) }).optional(),
  steps: z.array(stepRecordSchema),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/**
 * Validate a stored run record: the text must be JSON of the schema. Throws
 * an InputError naming the object (exit 2, HTTP 422) for anything else.
 */
export function parseRunRecord(text: string, where: string): RunRecord {
  return parseDocument(runRecordSchema, text, where, "run record");
}

/** Read a run record; null when the run never started. */
export async function readRunRecord(storage: Storage, runId: string): Promise<RunRecord | null> {
  const name = runRecordObject(runId);
  if (!(await storage.stat(name))) return null;
  return parseRunRecord(await storage.readText(name), `${storage.uri}/${name}`);
}

/** Like readRunRecord, but a missing run is an error naming it. */
export async function requireRunRecord(storage: Storage, runId: string): Promise<RunRecord> {
  const record = await readRunRecord(storage, runId);
  if (!record) throw new NotFoundError(`no run ${runId} in ${storage.uri} (see \`churn runs list\`)`);
  return record;
}

/** Write a run record (the runner holding the run's lease does, at every state change). */
export async function writeRunRecord(storage: Storage, record: RunRecord): Promise<void> {
  await storage.write(runRecordObject(record.run_id), `${JSON.stringify(record, null, 2)}\n`, {
    contentType: "application/json",
    metadata: writtenBy("runner"),
  });
}
