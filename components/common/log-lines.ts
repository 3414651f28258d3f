import { z } from "zod";

/**
 * Step logs as people read them: a step writes one JSON object per line
 * (log.ts: time, level, message, then fields); `churn runs logs` and the
 * console's log view print each as `time level message  key=value ...`.
 * Lines that are not such JSON (the runner's attempt headers, a crash's
 * stack) stay as they are.
 */
const logLineSchema = z.looseObject({ time: z.string(), level: z.string(), message: z.string() });

/** Fields every line of a step carries (the logger's base): left out of the text, the header names them. */
const CONTEXT_FIELDS = new Set(["run", "step", "component", "event"]);

/** One log line as text. */
export function logLineText(line: string): string {
  if (!line.startsWith("{")) return line;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return line;
  }
  const parsed = logLineSchema.safeParse(raw);
  if (!parsed.success) return line;
  const { time, level, message, ...fields } = parsed.data;
  const extra = Object.entries(fields)
    .filter(([key]) => !CONTEXT_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  return `${time} ${level.padEnd(5)} ${message}${extra ? `  ${extra}` : ""}`;
}

/** A whole log as text, line by line. */
export function logText(text: string): string {
  return text
    .split("\n")
    .map((line) => logLineText(line))
    .join("\n");
}

/**
 * A log streamed as text, line by line as its chunks arrive (the console's
 * full log: big logs never sit in memory); a last line without a newline is
 * converted at the end.
 */
export async function* logTextChunks(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of chunks) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    const end = pending.lastIndexOf("\n");
    if (end < 0) continue;
    yield `${logText(pending.slice(0, end))}\n`;
    pending = pending.slice(end + 1);
  }
  pending += decoder.decode();
  if (pending !== "") yield logText(pending);
}
