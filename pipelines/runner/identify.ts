import { runIdFor, stemOf, type TriggerObject } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { PipelineDefinition } from "../dag.js";
import { type Lease, newHolderId, tryAcquireLease } from "../lease.js";
import { isFinished, type RunRecord, readRunRecord } from "./records.js";
import type { EmitEvent } from "./state.js";
import { selectWeeklyFile, trainingData } from "./trigger.js";

export interface RunIdentity {
  runId: string;
  attempt: number;
  trigger: TriggerObject | null;
}

/**
 * Identify the run: its trigger object(s) and run id. Attempts of one trigger
 * are `<id>`, `<id>-a2`, ...: the newest attempt that has not finished is
 * resumed (with or without --force, so killed attempts never pile up); when
 * the newest has finished, --force starts the next one and a plain
 * invocation reports the newest.
 */
export async function identifyRun(
  storage: Storage,
  pipeline: PipelineDefinition,
  options: { trigger?: string; force?: boolean },
): Promise<RunIdentity> {
  let identity: TriggerObject | TriggerObject[];
  let trigger: TriggerObject | null = null;
  if (pipeline.trigger.kind === "object") {
    const info = await selectWeeklyFile(storage, options.trigger, pipeline.trigger.prefix);
    trigger = { name: info.name, generation: info.generation };
    identity = trigger;
  } else {
    identity = (await trainingData(storage)).map((o) => ({ name: o.name, generation: o.generation }));
  }
  const idOf = (attempt: number) => runIdFor(pipeline.name, storage.uri, identity, attempt);
  // Attempts are numbered without gaps: count the recorded ones, keeping the newest.
  let recorded = 0;
  let newest: RunRecord | null = null;
  for (
    let next = await readRunRecord(storage, idOf(1));
    next;
    next = await readRunRecord(storage, idOf(recorded + 1))
  ) {
    newest = next;
    recorded++;
  }
  const attempt = newest === null ? 1 : options.force && isFinished(newest) ? recorded + 1 : recorded;
  return { runId: idOf(attempt), attempt, trigger };
}

/** Where a run's public outputs go: the pipeline's declared output folder for the trigger's stem, if any. */
export function outputPrefixOf(pipeline: PipelineDefinition, trigger: TriggerObject | null): string | null {
  return pipeline.output && trigger ? pipeline.output(stemOf(trigger.name)) : null;
}

/** Either this runner now holds the run's lease, or the run finished meanwhile (by another runner). */
export type LeaseOutcome = { kind: "acquired"; lease: Lease } | { kind: "finished"; record: RunRecord };

/**
 * One runner per run id: wait for a live holder; take over an expired lease.
 * `onLost` fires when another runner takes the lease over later (the caller
 * aborts its steps). Returns early when the run finished while waiting.
 */
export async function acquireRunLease(
  storage: Storage,
  runId: string,
  options: { ttlMs?: number; onLost: () => void; emit: EmitEvent },
): Promise<LeaseOutcome> {
  const holder = newHolderId();
  for (;;) {
    const result = await tryAcquireLease(storage, runId, holder, {
      ttlMs: options.ttlMs,
      onLost: options.onLost,
    });
    if (result.acquired) return { kind: "acquired", lease: result.lease };
    options.emit({ type: "waiting", runId, holder: result.holder, expiresInMs: result.expiresInMs });
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, result.expiresInMs))));
    const record = await readRunRecord(storage, runId);
    if (record && isFinished(record)) return { kind: "finished", record };
  }
}
