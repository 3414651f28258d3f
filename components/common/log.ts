import type { Writable } from "node:stream";
import { envValue } from "./environment.js";

/**
 * Structured logging. On a terminal, short human lines; otherwise one JSON
 * object per line (what Kubernetes and Cloud Logging ingest). Callers must
 * never pass pii values: log column names and counts, not cell contents.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  stream?: Writable;
  /** Force JSON (true) or human (false) lines; default: JSON unless the stream is a TTY. */
  json?: boolean;
  level?: LogLevel;
  fields?: Record<string, unknown>;
}

/**
 * CHURN_LOG_LEVEL, or info. The CLI checks the environment before any work
 * (a bad value exits 2 there); elsewhere (functions, tests) a bad value must
 * not stop logging, so it falls back to info.
 */
function levelFromEnvironment(): LogLevel {
  try {
    return envValue(process.env, "CHURN_LOG_LEVEL") ?? "info";
  } catch {
    return "info";
  }
}

/**
 * One structured log line: time, level and message first, then the fields.
 * The one shape of every JSON line the system writes (step logs, the CLI's
 * events on a non-terminal stderr), so `churn runs logs` reads them all.
 */
export function jsonLogLine(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
  now = new Date(),
): string {
  return `${JSON.stringify({ time: now.toISOString(), level, message, ...fields })}\n`;
}

/** Create a logger writing to stderr by default, so stdout stays clean for data and --json. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const json = options.json ?? !(stream as { isTTY?: boolean }).isTTY;
  const min = ORDER[options.level ?? levelFromEnvironment()];
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < min) return;
    if (json) {
      stream.write(jsonLogLine(level, message, { ...base, ...fields }));
    } else {
      const extra = Object.entries({ ...fields })
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      const tag = level === "info" ? "" : `${level}: `;
      stream.write(`${tag}${message}${extra ? `  ${extra}` : ""}\n`);
    }
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...options, stream, json, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, --quiet). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
