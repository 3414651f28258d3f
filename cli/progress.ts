import type { Writable } from "node:stream";
import type { RunEvent } from "../pipelines/runner/run.js";

/**
 * How `churn pipeline run` (and `score`, `train`) shows a run on stderr
 * while it goes: one line per run and step event; the running step's own
 * progress (`train: gbdt: fold 3/5 · 12 s`) on a terminal as a status line
 * under the steps, redrawn in place, and when stderr is not a terminal as one
 * JSON line per progress event (for log collectors and scripts).
 */

/** True when the stream is a terminal (a TTY that can redraw a line). */
export function isTerminal(stream: Writable): boolean {
  return "isTTY" in stream && stream.isTTY === true;
}

const CLEAR_LINE = "\r\x1b[K";
const MARKS = { succeeded: "✓", cached: "✓", failed: "✗", skipped: "-", pending: " ", running: "…" } as const;

/** The human line(s) of a run or step event (no progress: see `progressText`). */
export function eventLines(event: Exclude<RunEvent, { type: "progress" }>): string {
  if (event.type === "run")
    return `${event.resumed ? "resuming" : "starting"} ${event.pipeline} run ${event.runId}${event.trigger ? ` on ${event.trigger}` : ""}\n`;
  if (event.type === "waiting")
    return `run ${event.runId} is held by ${event.holder}; waiting (lease expires in ${Math.ceil(event.expiresInMs / 1000)} s)\n`;
  if (event.state === "running")
    return `  … ${event.step}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}\n`;
  const time = event.seconds === null ? "" : ` ${event.seconds.toFixed(1)} s`;
  let text = `  ${MARKS[event.state]} ${event.step}${time}${event.state === "cached" ? " (cached)" : ""}${event.error ? `: ${event.error}` : ""}\n`;
  for (const warning of event.warnings) text += `      ! ${warning.message}\n`;
  return text;
}

/** A progress event as the terminal's status line: the message and the step's elapsed time. */
export function progressText(event: Extract<RunEvent, { type: "progress" }>): string {
  return `      ${event.message} · ${Math.round(event.seconds)} s`;
}

/** A progress event as one JSON line (stderr not a terminal). */
export function progressJson(event: Extract<RunEvent, { type: "progress" }>, now = new Date()): string {
  return `${JSON.stringify({ time: now.toISOString(), event: "progress", step: event.step, message: event.message, seconds: event.seconds })}\n`;
}

/** The event handler drawing a run on `out`. */
export function progressView(out: Writable): (event: RunEvent) => void {
  const terminal = isTerminal(out);
  // The terminal's status line: the newest progress of a running step, drawn below the other lines.
  let status: { step: string; text: string } | null = null;
  return (event) => {
    if (event.type === "progress") {
      if (!terminal) {
        out.write(progressJson(event));
        return;
      }
      status = { step: event.step, text: progressText(event) };
      out.write(`${CLEAR_LINE}${status.text}`);
      return;
    }
    if (status) out.write(CLEAR_LINE);
    out.write(eventLines(event));
    if (status && event.type === "step" && event.step === status.step && event.state !== "running")
      status = null;
    if (status) out.write(status.text);
  };
}
