import { TransientError } from "../components/common/errors.js";
import {
  runIdFor,
  triggerMarkerObject,
  triggerProblem,
  WEEKLY_PREFIX,
  writtenBy,
} from "../components/common/layout/index.js";
import type { Logger } from "../components/common/log.js";
import type { Storage } from "../components/common/storage/index.js";
import { type CloudEventLike, parseStorageEvent } from "./events.js";
import type { RunLauncher } from "./launcher.js";

/** Clients the weekly trigger works with (STYLE: handlers take their clients as parameters). */
export interface WeeklyUploadDeps {
  /** The bucket named in an event, or null when it is not a bucket this deployment serves. */
  openBucket(bucket: string): Promise<Storage | null>;
  launcher: RunLauncher;
  logger: Logger;
  now?: () => Date;
}

/** What the handler did with one event (also what it logs). */
export type WeeklyOutcome =
  | { action: "started"; runId: string; object: string; handle: string }
  | { action: "duplicate"; runId: string; object: string }
  | { action: "ignored"; object: string; reason: string }
  | { action: "malformed"; reason: string };

/**
 * Why a finalized object does not start a weekly run, or null when it does:
 * the layout's one trigger rule (the rule `churn watch` and the runner use).
 * Pure and cheap: decided from the event alone, no storage calls.
 */
export function ignoreReason(name: string, metadata: Record<string, string>): string | null {
  return triggerProblem({ name, metadata }, WEEKLY_PREFIX)?.reason ?? null;
}

/**
 * onWeeklyUpload: one storage event in, at most one weekly run started.
 * Idempotent on bucket/object/generation: the run id is derived from them and
 * `runs/<run-id>/trigger.json` is created only if absent, so redeliveries do
 * nothing. Malformed or irrelevant events resolve (acknowledged); transient
 * failures reject so the platform redelivers.
 */
export async function handleWeeklyUpload(
  event: CloudEventLike,
  deps: WeeklyUploadDeps,
): Promise<WeeklyOutcome> {
  const log = deps.logger.child({ function: "onWeeklyUpload", event_id: event.id });
  const parsed = parseStorageEvent(event);
  if (!parsed.ok) {
    log.warn(`malformed event acknowledged: ${parsed.reason}`);
    return { action: "malformed", reason: parsed.reason };
  }
  const { bucket, name, generation, metadata } = parsed.data;
  const reason = ignoreReason(name, metadata);
  if (reason) {
    // debug, not info: Eventarc delivers every write in the bucket, mostly our own.
    log.debug(`ignored ${name}: ${reason}`, { object: name });
    return { action: "ignored", object: name, reason };
  }
  const storage = await deps.openBucket(bucket);
  if (!storage) {
    const why = `bucket ${bucket} is not served by this deployment`;
    log.warn(`ignored ${name}: ${why}`, { object: name });
    return { action: "ignored", object: name, reason: why };
  }
  const runId = runIdFor("weekly", storage.uri, { name, generation });
  const log2 = log.child({ run_id: runId, object: name, generation });
  const marker = triggerMarkerObject(runId);
  const body = {
    run_id: runId,
    pipeline: "weekly",
    bucket: storage.uri,
    object: name,
    generation,
    event_id: event.id ?? null,
    received_at: (deps.now ?? (() => new Date()))().toISOString(),
  };
  const created = await storage.createIfAbsent(marker, `${JSON.stringify(body, null, 2)}\n`, {
    contentType: "application/json",
    metadata: writtenBy("trigger"),
  });
  if (!created) {
    log2.info(`duplicate event for ${name}: run ${runId} was already triggered`);
    return { action: "duplicate", runId, object: name };
  }
  try {
    const result = await deps.launcher.launch({
      runId,
      pipeline: "weekly",
      bucketUri: storage.uri,
      object: name,
      generation,
    });
    log2.info(`started weekly run ${runId} for ${name}`, { launcher: result.kind, handle: result.handle });
    return { action: "started", runId, object: name, handle: result.handle };
  } catch (error) {
    // Give the marker back so the redelivery this throw causes can start the run.
    await storage.delete(marker, { ifGenerationMatch: created.generation }).catch(() => undefined);
    throw new TransientError(`could not start run ${runId} for ${name}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
