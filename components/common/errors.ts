/**
 * One error hierarchy for the whole product. Every error carries the process
 * exit code (DESIGN: 0 ok, 1 transient, 2 bad input/config/usage, 3 gate
 * refused, 130 interrupted) and the HTTP status a server maps it to, so the CLI and every
 * protocol adapter translate errors in exactly one place each.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 130;

/** Exit code of an interrupted run (Ctrl-C / SIGINT, 128 + 2 as shells report it): resumable, never a failure of the input. */
export const INTERRUPTED_EXIT = 130;

export interface ChurnErrorOptions {
  cause?: unknown;
  /** Extra machine-readable detail, shown with --json and in HTTP bodies. */
  details?: unknown;
}

/** Base class: an expected failure with a one-sentence message and no stack for users. */
export class ChurnError extends Error {
  readonly exitCode: ExitCode = 1;
  readonly httpStatus: number = 500;
  readonly details?: unknown;
  constructor(message: string, options: ChurnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details;
  }
}

/** Wrong flags, arguments or option combinations. */
export class UsageError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 400;
}

/** churn.yaml or another configuration document is invalid. */
export class ConfigError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 400;
}

/** An input file or request body breaks the data contract; retrying cannot help. */
export class InputError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 422;
}

/**
 * Cloud credentials are missing, broken or lack a role: the fix is the
 * operator's (sign in, point at a key, grant a role), so retrying cannot help.
 * A server that meets it answers 503: the fault is its own, not the caller's.
 */
export class CredentialsError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 503;
}

/** A referenced object, model, run or step does not exist. */
export class NotFoundError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 404;
}

/** A conditional write lost a race (object already exists, generation moved). */
export class ConflictError extends ChurnError {
  override readonly exitCode = 1;
  override readonly httpStatus = 409;
}

/** The quality gate refused every candidate and there is no champion to score with. */
export class GateRefusedError extends ChurnError {
  override readonly exitCode = 3;
  override readonly httpStatus = 409;
}

/** A failure a retry may fix: network, emulator restart, lease contention. */
export class TransientError extends ChurnError {
  override readonly exitCode = 1;
  override readonly httpStatus = 503;
}

/** Exit code for any thrown value: ChurnErrors know theirs, anything else is unexpected (1). */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof ChurnError ? error.exitCode : 1;
}

/** One-line human message for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
