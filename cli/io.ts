import type { Writable } from "node:stream";
import { UsageError } from "../components/common/errors.js";
import { createLogger, type Logger } from "../components/common/log.js";

/** What every command gets: where to print, whether --json was asked, a logger. */
export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandContext extends CliIO {
  json: boolean;
  logger: Logger;
}

/** Build the per-invocation context from global flags. */
export function commandContext(io: CliIO, json: boolean): CommandContext {
  return { ...io, json, logger: createLogger({ stream: io.stderr }) };
}

/**
 * Print a command's result: with --json one JSON document on stdout,
 * otherwise the human text. Commands call this exactly once.
 */
export function emit(ctx: CommandContext, data: unknown, human: string | (() => string)): void {
  if (ctx.json) ctx.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const text = typeof human === "function" ? human() : human;
    ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/** Resolve --bucket: flag > CHURN_BUCKET > error naming both. */
export function bucketOption(value: string | undefined, ctx: CommandContext): string {
  const bucket = value ?? ctx.env.CHURN_BUCKET;
  if (!bucket) {
    throw new UsageError(
      "no bucket given: pass --bucket gs://bucket or --bucket ./folder (or set CHURN_BUCKET)",
    );
  }
  return bucket;
}
