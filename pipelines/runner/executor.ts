import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { PassThrough } from "node:stream";
import { type ComponentLoader, runStep } from "../../components/common/component/run.js";
import { type ExitCode, exitCodeOf, messageOf } from "../../components/common/errors.js";
import type { Storage } from "../../components/common/storage/index.js";
import { loadComponent } from "../../components/index.js";
import { packageRoot } from "./code-version.js";
import { shardStep } from "./fan-out.js";

/**
 * Node flags of every step process (here and in the image's ENTRYPOINT): a
 * 64 MB young-generation semi-space. Steps stream record batches whose decoded
 * strings outlive V8's default 16 MB nursery, so they were copied and promoted
 * again and again; scoring 1M rows took 12% less time (4.73 -> 4.15 s).
 */
export const STEP_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/**
 * The image's ENTRYPOINT (the Dockerfile's; test/container.test.ts checks they
 * match). A compiled pipeline's step sets it as its `command`: Argo's emissary
 * and KFP need an explicit command, and the image has no `churn` on its PATH.
 */
export const IMAGE_ENTRYPOINT: readonly string[] = [
  "/nodejs/bin/node",
  ...STEP_NODE_FLAGS,
  "/app/dist/cli/bin.js",
];

/** One step to execute: its input.json is already written. */
export interface StepInvocation {
  runId: string;
  step: string;
  component: string;
  timeoutSeconds: number;
  /** 0-based attempt number (retries of exit 1). */
  attempt: number;
  /**
   * Shards of a fanned-out step (1 = not fanned out). Above 1 the runner has
   * written each shard's input.json (fan-out.ts#shardStep) and gathers their
   * outputs afterwards; the executor runs every shard step and reports one outcome.
   */
  shards?: number;
}

/**
 * Run each shard of a fanned-out step through `one` (at most `concurrency` at
 * once) and report the first failure, or success when all succeeded. A shard
 * that fails does not stop the others already running: each writes only its
 * own step folder, and a retry re-runs the whole step.
 */
export async function eachShard(
  invocation: StepInvocation,
  concurrency: number,
  one: (step: string) => Promise<StepOutcome>,
): Promise<StepOutcome> {
  const shards = invocation.shards ?? 1;
  if (shards <= 1) return one(invocation.step);
  const outcomes: StepOutcome[] = new Array(shards);
  let next = 0;
  const worker = async () => {
    while (next < shards) {
      const index = next++;
      outcomes[index] = await one(shardStep(invocation.step, index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, shards) }, worker));
  return outcomes.find((o) => o.exitCode !== 0) ?? { exitCode: 0, error: null };
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
    // Shards of a fanned-out step run as their own processes, one per core.
    return eachShard(invocation, availableParallelism(), (step) =>
      this.spawnStep({ ...invocation, step }, log, signal),
    );
  }

  private spawnStep(invocation: StepInvocation, log: PassThrough, signal: AbortSignal): Promise<StepOutcome> {
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
  constructor(
    private readonly storage: Storage,
    private readonly load: ComponentLoader = loadComponent,
  ) {}

  execute(invocation: StepInvocation, log: PassThrough): Promise<StepOutcome> {
    return eachShard(invocation, 1, async (step) => {
      try {
        await runStep(this.storage, invocation.runId, step, {
          load: this.load,
          expectComponent: invocation.component,
        });
        return { exitCode: 0, error: null };
      } catch (error) {
        log.write(`churn: ${messageOf(error)}\n`);
        return { exitCode: exitCodeOf(error), error: messageOf(error) };
      }
    });
  }
}
