import type { ExitCode } from "../components/common/errors.js";
import { runIdFor, triggerProblem } from "../components/common/layout/index.js";
import type { Logger } from "../components/common/log.js";
import type { ObjectInfo, Storage } from "../components/common/storage/index.js";
import type { PipelineDefinition } from "./dag.js";
import { isFinished, readRunRecord } from "./runner/records.js";
import type { RunPipelineOptions, RunResult } from "./runner/run.js";
import { runPipeline } from "./runner/run.js";

export interface WatchOptions extends Omit<RunPipelineOptions, "trigger" | "pipeline"> {
  pipeline: PipelineDefinition;
  intervalMs: number;
  /** Poll once and return (for cron-style use and tests). */
  once?: boolean;
  logger: Logger;
  onRun?: (object: string, result: RunResult) => void;
}

/** One poll of the trigger prefix: what to run, and uploads that look like triggers but cannot run. */
export interface TriggerScan {
  /** Object names no run has finished yet, oldest upload first. */
  pending: string[];
  /** Uploads refused only for their stem (e.g. `weekly/_draft.csv`), with the sentence why. */
  refused: Array<{ object: string; generation: string; reason: string }>;
}

/**
 * Poll the pipeline's trigger prefix. Which objects count is the layout's
 * trigger rule, the one the cloud function uses (a file in a subfolder, one
 * the system wrote or one with a reserved stem starts nothing).
 */
export async function scanTriggers(storage: Storage, pipeline: PipelineDefinition): Promise<TriggerScan> {
  if (pipeline.trigger.kind !== "object") return { pending: [], refused: [] };
  const prefix = pipeline.trigger.prefix;
  const objects: ObjectInfo[] = [];
  const refused: TriggerScan["refused"] = [];
  for (const object of await storage.list(prefix)) {
    const problem = triggerProblem(object, prefix);
    if (problem === null) objects.push(object);
    else if (problem.rule === "stem")
      refused.push({ object: object.name, generation: object.generation, reason: problem.reason });
  }
  objects.sort((a, b) => a.updated.getTime() - b.updated.getTime() || a.name.localeCompare(b.name));
  const pending: string[] = [];
  for (const object of objects) {
    const runId = runIdFor(pipeline.name, storage.uri, { name: object.name, generation: object.generation });
    const record = await readRunRecord(storage, runId);
    if (!record || !isFinished(record)) pending.push(object.name);
  }
  return { pending, refused };
}

/** Objects under the pipeline's trigger prefix that no run has finished yet, oldest upload first. */
export async function pendingTriggers(storage: Storage, pipeline: PipelineDefinition): Promise<string[]> {
  return (await scanTriggers(storage, pipeline)).pending;
}

/**
 * The local stand-in for the cloud trigger: poll the trigger prefix and start
 * one run per new object generation (a rewritten file is a new generation, so
 * a new run). Runs go one at a time; a failed run is reported and watching
 * goes on. Returns the worst exit code seen (for --once).
 */
export async function watch(options: WatchOptions): Promise<ExitCode> {
  const { storage, pipeline, logger } = options;
  let worst: ExitCode = 0;
  const failedOnce = new Set<string>();
  const warned = new Set<string>();
  while (!options.signal?.aborted) {
    const scan = await scanTriggers(storage, pipeline);
    // Said once per upload: the cloud function ignores these too, but a person watching should know why.
    for (const { object, generation, reason } of scan.refused) {
      if (warned.has(`${object}@${generation}`)) continue;
      warned.add(`${object}@${generation}`);
      logger.warn(`ignored ${object}: ${reason}`, { object });
    }
    for (const object of scan.pending) {
      if (options.signal?.aborted) break;
      const info = await storage.stat(object);
      const key = `${object}@${info?.generation}`;
      if (failedOnce.has(key)) continue;
      logger.info("new upload: starting a run", { object });
      try {
        const result = await runPipeline({ ...options, trigger: object });
        options.onRun?.(object, result);
        worst = Math.max(worst, result.exitCode) as ExitCode;
      } catch (error) {
        // A run that could not even start (e.g. the file vanished) is skipped until it changes.
        failedOnce.add(key);
        logger.error("could not run", { object, error: (error as Error).message });
        worst = Math.max(worst, 1) as ExitCode;
      }
    }
    if (options.once) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs);
      options.signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
  return worst;
}
