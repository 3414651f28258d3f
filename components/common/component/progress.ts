import { z } from "zod";
import type { Logger } from "../log.js";

/**
 * The progress contract between a step and the runner: a step reports how
 * far it is (e.g. `gbdt: fold 3/5`) as a log event whose `event` field is
 * `progress`; the step's JSON log lines reach the runner through the
 * executor's log stream, and the runner forwards each such line as a
 * progress event of the step (the CLI draws it under the running step).
 */
export const PROGRESS_EVENT = "progress";

/** Report one progress message of the running step (a short phrase: family, fold, phase). */
export function reportProgress(logger: Logger, message: string): void {
  logger.info(message, { event: PROGRESS_EVENT });
}

const progressLineSchema = z.object({ event: z.literal(PROGRESS_EVENT), message: z.string().min(1) });

/** The progress message of one log line, or null for any other line (text, JSON of another event). */
export function progressOf(line: string): string | null {
  if (!line.startsWith("{")) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = progressLineSchema.safeParse(raw);
  return parsed.success ? parsed.data.message : null;
}

/**
 * A chunk handler for a step's log stream that calls `onProgress` for every
 * complete progress line (lines may be split across chunks).
 */
export function progressListener(onProgress: (message: string) => void): (chunk: Buffer | string) => void {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const message = progressOf(line.trim());
      if (message !== null) onProgress(message);
    }
  };
}
