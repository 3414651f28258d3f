import type { Writable } from "node:stream";
import type { RunEvent } from "../pipelines/runner/run.js";
import { type CliEvent, eventEntry, INTERRUPTED_MESSAGE, jsonEventView } from "./event-lines.js";
import { isTerminal } from "./io.js";

/**
 * How `churn pipeline run` (and `score`, `train`) shows a run on stderr
 * while it goes. On a terminal: one line per run and step event, and the
 * running step's own progress (`train: gbdt: fold 3/5 · 12 s`) as a status
 * line under the steps, redrawn in place (the closing lines go to stdout).
 * When stderr is not a terminal: one JSON line per event and nothing else
 * (event-lines.ts), for log collectors and scripts.
 */

const CLEAR_LINE = "\r\x1b[K";
const MARKS = { succeeded: "✓", cached: "✓", failed: "✗", skipped: "-", pending: " ", running: "…" } as const;

/** The human line(s) of a run or step event (no progress: see `progressText`). */
export function eventLines(event: Exclude<RunEvent, { type: "progress" }>): string {
  // The same sentences as the JSON events.
  if (event.type === "run" || event.type === "waiting") return `${eventEntry(event).message}\n`;
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

/** The event handler drawing a run on `out`: the terminal view, or JSON lines when it is not a terminal. */
export function progressView(out: Writable): (event: CliEvent) => void {
  return isTerminal(out) ? terminalView(out) : jsonEventView(out);
}

/** The terminal view: human lines, and the running step's progress as a status line redrawn under them. */
function terminalView(out: Writable): (event: CliEvent) => void {
  // The terminal's status line: the newest progress of a running step, drawn below the other lines.
  let status: { step: string; text: string } | null = null;
  return (event) => {
    // The closing lines are the command's result on stdout.
    if (event.type === "summary") return;
    if (event.type === "progress") {
      status = { step: event.step, text: progressText(event) };
      out.write(`${CLEAR_LINE}${status.text}`);
      return;
    }
    if (status) out.write(CLEAR_LINE);
    out.write(event.type === "interrupted" ? `${INTERRUPTED_MESSAGE}\n` : eventLines(event));
    if (status && event.type === "step" && event.step === status.step && event.state !== "running")
      status = null;
    if (status) out.write(status.text);
  };
}
