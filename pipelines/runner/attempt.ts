import { PassThrough } from "node:stream";
import { progressListener } from "../../components/common/component/progress.js";
import type { ExitCode } from "../../components/common/errors.js";
import { stepLogObject, writtenBy } from "../../components/common/layout/index.js";
import type { Logger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { StepExecutor, StepInvocation, StepOutcome } from "./executor.js";

export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_RETRIES = 2;

export interface AttemptOptions {
  storage: Storage;
  executor: StepExecutor;
  /** Everything of the invocation but the attempt number. */
  invocation: Omit<StepInvocation, "attempt">;
  /** Retries of exit 1 after the first attempt. */
  retries: number;
  signal: AbortSignal;
  logger: Logger;
  /** Called before each attempt with its 1-based number (the run record counts them). */
  onAttempt: (attempt: number) => void;
  /** Called with each progress message the step reports (components/common/component/progress.ts). */
  onProgress?: (message: string) => void;
  /** How often a running step's log is written; default LOG_FLUSH_MS. */
  flushMs?: number;
  /** The pause before retry `i` (0-based); default 500 ms doubling. */
  backoffMs?: (i: number) => number;
}

export interface AttemptsResult {
  outcome: StepOutcome;
  /** The step's log object (every attempt's lines, each after a header). */
  log: string;
}

/**
 * Execute a step until it succeeds, fails for good, or runs out of retries:
 * only exit 1 (transient) is retried, never exit 2 (bad input) or 3 (gate),
 * and not once the run was aborted. After every attempt the log so far is
 * written to the step's log object, so a reader sees it while retries wait.
 */
export async function runAttempts(options: AttemptOptions): Promise<AttemptsResult> {
  const { storage, executor, invocation, retries, signal, logger } = options;
  const backoff = options.backoffMs ?? ((i: number) => 500 * 2 ** i);
  const logName = stepLogObject(invocation.runId, invocation.step);
  const logChunks: Buffer[] = [];
  let outcome: StepOutcome = { exitCode: 1 satisfies ExitCode, error: "not run" };
  for (let i = 0; i <= retries; i++) {
    options.onAttempt(i + 1);
    const log = new PassThrough();
    log.on("data", (c: Buffer) => logChunks.push(c));
    if (options.onProgress) log.on("data", progressListener(options.onProgress));
    log.write(
      `--- attempt ${i + 1} of step ${invocation.step} (${executor.name}) at ${new Date().toISOString()}\n`,
    );
    // While the step runs, its log so far is written every few seconds (for `churn runs logs --follow`).
    const flusher = new LogFlusher(
      () => writeLog(storage, logName, logChunks),
      options.flushMs ?? LOG_FLUSH_MS,
    );
    log.on("data", () => flusher.dirty());
    try {
      outcome = await executor.execute({ ...invocation, attempt: i }, log, signal);
    } finally {
      await flusher.stop();
    }
    log.end();
    await writeLog(storage, logName, logChunks);
    if (outcome.exitCode !== 1 || signal.aborted || i === retries) break;
    logger.warn("step failed with a transient error; retrying", {
      step: invocation.step,
      attempt: i + 1,
      error: outcome.error,
    });
    await new Promise((r) => setTimeout(r, backoff(i)));
  }
  return { outcome, log: logName };
}

/** How often the log of a running step is written to its object. */
export const LOG_FLUSH_MS = 2000;

async function writeLog(storage: Storage, name: string, chunks: Buffer[]): Promise<void> {
  await storage.write(name, Buffer.concat(chunks), {
    contentType: "text/plain",
    metadata: writtenBy("runner"),
  });
}

/**
 * Writes a log at most every `intervalMs` while new lines arrive, one write
 * at a time; `stop` waits for the write in flight so the final write lands last.
 */
class LogFlusher {
  private pending = false;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  constructor(write: () => Promise<void>, intervalMs: number) {
    this.timer = setInterval(() => {
      if (!this.pending) return;
      this.pending = false;
      // A failed intermediate write is not the step's failure: the final write reports any real problem.
      this.writing = this.writing.then(write).catch(() => {});
    }, intervalMs);
    this.timer.unref();
  }
  dirty(): void {
    this.pending = true;
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
  }
}
