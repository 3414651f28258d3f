import { summaryOf } from "../../components/common/component/spec.js";
import { INTERRUPTED_EXIT } from "../../components/common/errors.js";
import { OUTPUT_FILES, writtenBy } from "../../components/common/layout/index.js";
import type { Logger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import { publishComponent } from "../../components/publish/spec.js";
import { type Notification, sendNotification } from "../notify.js";
import { pushRunMetrics } from "./metrics-push.js";
import type { RunRecord } from "./records.js";
import type { RecordWriter, RunState } from "./state.js";

/**
 * Ctrl-C: record the run interrupted and resumable. Steps that were running
 * (or failed because they were stopped) are pending again, so the next
 * invocation runs them.
 */
export async function finishInterrupted(record: RunRecord, writer: RecordWriter): Promise<void> {
  for (const rec of record.steps)
    if (rec.state === "running" || rec.state === "failed") rec.state = "pending";
  record.state = "interrupted";
  record.exit_code = INTERRUPTED_EXIT;
  record.reason = "interrupted before the end; run the same command again to resume";
  await writer.persist();
}

export interface FinishOptions {
  storage: Storage;
  writer: RecordWriter;
  /** When the run (this invocation) started, for its duration. */
  startedMs: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  webhookUrl?: string | null;
}

/**
 * The run reached its end: record succeeded or failed (steps never started
 * are skipped), write `_FAILED` beside the previous published output on
 * failure (which stays untouched), push the run's metrics and notify.
 */
export async function finishRun(state: RunState, options: FinishOptions): Promise<void> {
  const { record, failure } = state;
  for (const rec of record.steps) if (rec.state === "pending" && failure) rec.state = "skipped";
  record.state = failure ? "failed" : "succeeded";
  record.exit_code = failure ? failure.exitCode : 0;
  record.reason = failure ? `step ${failure.step} failed: ${failure.error}` : null;
  record.finished = new Date().toISOString();
  record.seconds = (Date.now() - options.startedMs) / 1000;
  if (failure && record.output_prefix) {
    await options.storage.write(`${record.output_prefix}${OUTPUT_FILES.failed}`, `${record.reason}\n`, {
      contentType: "text/plain",
      metadata: writtenBy("runner"),
    });
  }
  await options.writer.persist();
  await pushRunMetrics({ storage: options.storage, record, env: options.env, logger: options.logger });
  if (options.webhookUrl)
    await sendNotification(options.webhookUrl, notificationFor(state), { logger: options.logger });
}

/** The webhook message of a finished run: its failure, or what it published. */
export function notificationFor(state: Pick<RunState, "record" | "upstream">): Notification {
  const { record, upstream } = state;
  const base = {
    pipeline: record.pipeline,
    run_id: record.run_id,
    bucket: record.bucket,
    trigger: record.trigger?.object ?? "",
  };
  if (record.state === "failed") {
    const step = record.steps.find((s) => s.state === "failed");
    return {
      event: "failed",
      ...base,
      step: step?.name ?? null,
      exit_code: record.exit_code ?? 1,
      reason: record.reason ?? "failed",
    };
  }
  const publish = [...upstream.values()].find((doc) => doc.component === publishComponent.name);
  const summary = publish ? summaryOf(publishComponent, publish) : null;
  return {
    event: "published",
    ...base,
    model_version: summary?.model_version ?? null,
    counts: publish?.counts ?? {},
    files: summary?.files ?? [],
  };
}
