import type { Writable } from "node:stream";
import { ChurnError, type ExitCode, messageOf } from "../components/common/errors.js";
import { jsonLogLine, type LogLevel } from "../components/common/log.js";
import { describeWarning } from "../components/common/warnings.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import type { RunEvent } from "../pipelines/runner/run.js";

/**
 * A long command's stderr when it is not a terminal (a pipe, a file, a
 * container log): one JSON object per line and nothing else, each in the
 * step logs' shape (components/common/log.ts: time, level, message, then
 * fields) with an `event` naming its kind, so log collectors and scripts
 * read every line and `churn runs logs`' text rule prints them too:
 *
 * | event | when | fields |
 * |---|---|---|
 * | `run` | the run starts or resumes | run_id, pipeline, trigger, resumed |
 * | `waiting` | another runner holds the run's lease | run_id, holder, expires_in_ms |
 * | `step` | a step starts or ends | step, state, seconds, attempts (made so far), error, warnings (count) |
 * | `progress` | a running step reports how far it is | step, seconds |
 * | `warning` | a finished step's warning (one line each) | step, code, column |
 * | `interrupted` | Ctrl-C: the steps are being stopped | |
 * | `summary` | the run is over | run_id, pipeline, state, exit_code, seconds, reason, outputs, reused, cached_steps, warnings, decision |
 * | `log` | the command's own log lines | (the logger's fields) |
 * | `error` | the command fails | exit_code, error_type |
 */

/** What a long command reports besides the runner's events. */
export type CliEvent =
  | RunEvent
  | { type: "interrupted" }
  | {
      type: "summary";
      record: RunRecord;
      /** The run had already finished: reported without work. */
      reused: boolean;
      /** The gate's decision in words (pipelines/query runDecisionLine), when the run trained. */
      decision: string | null;
    };

/** The sentence of Ctrl-C, on a terminal and in the `interrupted` event. */
export const INTERRUPTED_MESSAGE = "interrupted: stopping steps; run the same command again to resume";

const seconds = (value: number | null) => (value === null ? "" : ` in ${value.toFixed(1)} s`);

/** The level, message and fields of one event (its JSON line without the time). */
export function eventEntry(event: CliEvent): {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
} {
  switch (event.type) {
    case "run":
      return {
        level: "info",
        message: `${event.resumed ? "resuming" : "starting"} ${event.pipeline} run ${event.runId}${event.trigger ? ` on ${event.trigger}` : ""}`,
        fields: {
          run_id: event.runId,
          pipeline: event.pipeline,
          trigger: event.trigger,
          resumed: event.resumed,
        },
      };
    case "waiting":
      return {
        level: "info",
        message: `run ${event.runId} is held by ${event.holder}; waiting (lease expires in ${Math.ceil(event.expiresInMs / 1000)} s)`,
        fields: { run_id: event.runId, holder: event.holder, expires_in_ms: event.expiresInMs },
      };
    case "progress":
      return { level: "info", message: event.message, fields: { step: event.step, seconds: event.seconds } };
    case "step":
      return {
        level: event.state === "failed" ? "error" : "info",
        message:
          event.state === "running"
            ? `${event.step} started${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}`
            : `${event.step} ${event.state}${seconds(event.seconds)}${event.error ? `: ${event.error}` : ""}`,
        fields: {
          step: event.step,
          state: event.state,
          seconds: event.seconds,
          attempts: event.attempt,
          error: event.error,
          warnings: event.warnings.length,
        },
      };
    case "interrupted":
      return { level: "warn", message: INTERRUPTED_MESSAGE, fields: {} };
    case "summary": {
      const { record } = event;
      return {
        level: record.state === "failed" ? "error" : "info",
        message: `${record.pipeline} run ${record.run_id} ${record.state}${seconds(record.seconds)}${record.reason ? `: ${record.reason}` : ""}`,
        fields: {
          run_id: record.run_id,
          pipeline: record.pipeline,
          state: record.state,
          exit_code: record.exit_code,
          seconds: record.seconds,
          reason: record.reason,
          outputs: record.output_prefix ? `${record.bucket}/${record.output_prefix}` : null,
          reused: event.reused,
          cached_steps: record.steps.filter((s) => s.state === "cached").length,
          warnings: record.steps.reduce((n, s) => n + s.warnings.length, 0),
          decision: event.decision,
        },
      };
    }
  }
}

/** One event as its JSON line(s): a finished step's warnings follow it, one line each. */
export function eventJsonLines(event: CliEvent, now = new Date()): string {
  const { level, message, fields } = eventEntry(event);
  let text = jsonLogLine(level, message, { event: event.type, ...fields }, now);
  if (event.type === "step")
    for (const warning of event.warnings)
      text += jsonLogLine(
        "warn",
        describeWarning(warning),
        { event: "warning", step: warning.step, code: warning.code, column: warning.column },
        now,
      );
  return text;
}

/** The JSON line of a command's failure (`stack` only for bugs, when CHURN_DEBUG asks for it). */
export function errorEventLine(error: unknown, exitCode: ExitCode, stack: string | null = null): string {
  const type = error instanceof Error ? error.name : "Error";
  const message = error instanceof ChurnError ? error.message : `unexpected failure: ${messageOf(error)}`;
  return jsonLogLine("error", message, {
    event: "error",
    exit_code: exitCode,
    error_type: type,
    ...(stack ? { stack } : {}),
  });
}

/** The event handler writing JSON lines to `out`. */
export function jsonEventView(out: Writable): (event: CliEvent) => void {
  return (event) => {
    out.write(eventJsonLines(event));
  };
}
