import type { Writable } from "node:stream";
import { snakeKeys } from "../components/common/documents/keys.js";
import { envValue } from "../components/common/environment.js";
import { UsageError } from "../components/common/errors.js";
import { createLogger, type Logger } from "../components/common/log.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";

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
 * Print a command's result: with --json one JSON document on stdout (keys
 * in snake_case, see components/common/documents/keys.ts), otherwise the
 * human text. Commands call this exactly once.
 */
export function emit(ctx: CommandContext, data: unknown, human: string | (() => string)): void {
  if (ctx.json) ctx.stdout.write(`${jsonDocument(data, 2)}\n`);
  else {
    const text = typeof human === "function" ? human() : human;
    ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/** A value as `--json` prints it: keys in the one output style (snake_case). */
export function jsonDocument(data: unknown, indent?: number): string {
  return JSON.stringify(snakeKeys(data), null, indent);
}

/** Resolve --bucket: flag > CHURN_BUCKET > error naming both. */
export function bucketOption(value: string | undefined, ctx: CommandContext): string {
  const bucket = value ?? envValue(ctx.env, "CHURN_BUCKET");
  if (!bucket) {
    throw new UsageError(
      "no bucket given: pass --bucket gs://bucket or --bucket ./folder (or set CHURN_BUCKET)",
    );
  }
  return bucket;
}

/**
 * Open the bucket a command names (--bucket, else CHURN_BUCKET). A bucket
 * that does not exist is a mistake to report (exit 2), not an empty bucket:
 * `churn runs list --bucket ./typo` must not answer "no runs yet". Only
 * commands that create a bucket (`churn init`) pass `mustExist: false`.
 */
export async function openBucket(
  value: string | undefined,
  ctx: CommandContext,
  options: { mustExist?: boolean } = {},
): Promise<Storage> {
  const storage = await openStorage(bucketOption(value, ctx), ctx.cwd);
  if ((options.mustExist ?? true) && !(await storage.exists())) {
    throw new UsageError(
      storage.uri.startsWith("file:")
        ? `no bucket at ${storage.uri}: the folder does not exist (check the path, or create an example bucket with \`churn init --bucket ${value ?? envValue(ctx.env, "CHURN_BUCKET")}\`)`
        : `bucket ${storage.uri} does not exist, or this account cannot see it (check the name; the account needs roles/storage.objectViewer or more)`,
    );
  }
  return storage;
}

/** A flag that takes a whole number from `min` to `max`; anything else is a usage error naming the flag. */
export function integerOption(value: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}, got "${value}"`,
    );
  return n;
}

/**
 * A server that cannot take its address (in use, not on this host, a
 * privileged port): a usage error with the fix, the same for `churn serve`
 * and `churn ui`. Anything else is returned as it was.
 */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EACCES")
    return new UsageError(`cannot listen on ${host}:${port} (${code}): pick another --port or --host`);
  return error;
}
