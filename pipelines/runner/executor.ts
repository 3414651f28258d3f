import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PassThrough } from "node:stream";
import { runStep } from "../../components/common/component/run.js";
import { type ExitCode, exitCodeOf, messageOf } from "../../components/common/errors.js";
import type { Storage } from "../../components/common/storage/index.js";
import { packageRoot } from "./code-version.js";

/**
 * Node flags of every step process (here and in the image's ENTRYPOINT): a
 * 64 MB young-generation semi-space. Steps stream record batches whose decoded
 * strings outlive V8's default 16 MB nursery, so they were copied and promoted
 * again and again; scoring 1M rows took 12% less time (4.73 -> 4.15 s).
 */
export const STEP_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/** One step to execute: its input.json is already written. */
export interface StepInvocation {
  runId: string;
  step: string;
  component: string;
  timeoutSeconds: number;
  /** 0-based attempt number (retries of exit 1). */
  attempt: number;
}

export interface StepOutcome {
  exitCode: ExitCode;
  /** One sentence when the step failed. */
  error: string | null;
}

/**
 * How steps execute: as local child processes (the default), in-process (fast
 * tests), or as Kubernetes Jobs. Each writes the step's log to `log`.
 */
export interface StepExecutor {
  readonly name: string;
  /** True when the executor retries transient failures itself (Kubernetes: the Job's backoffLimit). */
  readonly handlesRetries?: boolean;
  execute(invocation: StepInvocation, log: PassThrough, signal: AbortSignal): Promise<StepOutcome>;
}

/** The last `churn: ...` line a failed step printed: its one-sentence reason. */
export function reasonFromLog(text: string): string | null {
  const lines = text.split("\n").filter((l) => l.startsWith("churn: "));
  return lines.length > 0 ? lines[lines.length - 1]!.slice("churn: ".length).trim() : null;
}

/**
 * Runs each step as a child process through the same entry a container uses
 * (`churn component <name> --run --step --bucket`), so local runs exercise
 * exactly what Jobs run.
 */
export class LocalProcessExecutor implements StepExecutor {
  readonly name = "local";
  private readonly bin: string;
  constructor(
    private readonly bucketUri: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.bin = join(packageRoot(), "dist", "cli", "bin.js");
  }

  execute(invocation: StepInvocation, log: PassThrough, signal: AbortSignal): Promise<StepOutcome> {
    if (!existsSync(this.bin)) {
      return Promise.resolve({ exitCode: 2, error: `${this.bin} is missing: run \`npm run build\` first` });
    }
    return new Promise((resolve) => {
      const args = [
        ...STEP_NODE_FLAGS,
        this.bin,
        "component",
        invocation.component,
        "--run",
        invocation.runId,
        "--step",
        invocation.step,
        "--bucket",
        this.bucketUri,
      ];
      const child = spawn(process.execPath, args, {
        env: { ...this.env, CHURN_LOG_LEVEL: this.env.CHURN_LOG_LEVEL ?? "info" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let tail = "";
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString("utf8")).slice(-8192);
      };
      child.stdout.on("data", (c: Buffer) => log.write(c));
      child.stderr.on("data", (c: Buffer) => {
        keep(c);
        log.write(c);
      });
      let timedOut = false;
      const kill = () => {
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, invocation.timeoutSeconds * 1000);
      const onAbort = () => kill();
      signal.addEventListener("abort", onAbort, { once: true });
      child.on("error", (error) => {
        clearTimeout(timer);
        resolve({ exitCode: 1, error: `could not start the step: ${error.message}` });
      });
      child.on("close", (code, sig) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (timedOut)
          return resolve({
            exitCode: 1,
            error: `step ${invocation.step} timed out after ${invocation.timeoutSeconds} s`,
          });
        if (signal.aborted) return resolve({ exitCode: 1, error: `step ${invocation.step} was interrupted` });
        const exitCode = (code === null ? 1 : code > 3 ? 1 : code) as ExitCode;
        if (exitCode === 0) return resolve({ exitCode, error: null });
        const reason = reasonFromLog(tail) ?? (sig ? `killed by ${sig}` : `exited with code ${code}`);
        resolve({ exitCode, error: reason });
      });
    });
  }
}

/** Runs steps in this process: for fast tests of the runner's logic. */
export class InProcessExecutor implements StepExecutor {
  readonly name = "in-process";
  constructor(private readonly storage: Storage) {}

  async execute(invocation: StepInvocation, log: PassThrough): Promise<StepOutcome> {
    try {
      await runStep(this.storage, invocation.runId, invocation.step, {
        expectComponent: invocation.component,
      });
      return { exitCode: 0, error: null };
    } catch (error) {
      log.write(`churn: ${messageOf(error)}\n`);
      return { exitCode: exitCodeOf(error), error: messageOf(error) };
    }
  }
}
