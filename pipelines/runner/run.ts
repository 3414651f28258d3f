import { PassThrough } from "node:stream";
import { z } from "zod";
import { type ComponentLoader, writeInputDoc } from "../../components/common/component/run.js";
import {
  type Component,
  type OutputDoc,
  outputDocSchema,
  type RuntimeParameter,
  summaryOf,
} from "../../components/common/component/spec.js";
import type { ChurnConfig } from "../../components/common/config/index.js";
import { ConflictError, type ExitCode, INTERRUPTED_EXIT, messageOf } from "../../components/common/errors.js";
import {
  cacheObject,
  OUTPUT_FILES,
  runIdFor,
  stemOf,
  stepLogObject,
  stepOutputObject,
  type TriggerObject,
  writtenBy,
} from "../../components/common/layout/index.js";
import { type Logger, silentLogger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import { loadComponent } from "../../components/index.js";
import { publishComponent } from "../../components/publish/spec.js";
import { dependenciesOf, type PipelineDefinition, type StepDefinition, topologicalOrder } from "../dag.js";
import { type Lease, newHolderId, tryAcquireLease } from "../lease.js";
import { type Notification, sendNotification } from "../notify.js";

import { codeVersion } from "./code-version.js";
import type { StepExecutor } from "./executor.js";
import { gatherShards, shardCount, writeShardInputs } from "./fan-out.js";
import { pushRunMetrics } from "./metrics-push.js";
import {
  isFinished,
  pendingStep,
  type RunRecord,
  readRunRecord,
  type StepRecord,
  writeRunRecord,
} from "./records.js";
import { cacheKey, ObjectHasher, resolveInputs } from "./resolve.js";
import { selectWeeklyFile, trainingData } from "./trigger.js";

/** What the runner reports as it goes (the CLI draws progress from these). */
export type RunEvent =
  | { type: "run"; runId: string; pipeline: string; trigger: string | null; resumed: boolean }
  | { type: "waiting"; runId: string; holder: string; expiresInMs: number }
  | {
      type: "step";
      step: string;
      state: StepRecord["state"];
      seconds: number | null;
      error: string | null;
      attempt: number;
    };

export interface RunPipelineOptions {
  storage: Storage;
  pipeline: PipelineDefinition;
  executor: StepExecutor;
  /** The weekly (or transactions) object; default: the newest upload. */
  trigger?: string;
  force?: boolean;
  noCache?: boolean;
  logger?: Logger;
  onEvent?: (event: RunEvent) => void;
  /** Webhook for publish/failure messages (churn.yaml notify.webhook_url). */
  webhookUrl?: string | null;
  leaseTtlMs?: number;
  /** How many steps may run at once (local: the cores). */
  concurrency?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where steps' components come from (their declared run-time parameters); default: components/index.ts. */
  components?: ComponentLoader;
  /** The bucket's churn.yaml, for settings the pipeline definition reads (fan-out counts); none: 1 shard. */
  config?: ChurnConfig | null;
}

export interface RunResult {
  record: RunRecord;
  exitCode: ExitCode;
  /** True when the run had already finished and nothing was done. */
  reused: boolean;
}

const DEFAULT_TIMEOUT_SECONDS = 3600;
const DEFAULT_RETRIES = 2;

/** A step's output.json in a run, validated; null while the step has not finished. */
export async function readOutputDoc(
  storage: Storage,
  runId: string,
  step: string,
): Promise<OutputDoc | null> {
  const name = stepOutputObject(runId, step);
  if (!(await storage.stat(name))) return null;
  return outputDocSchema.parse(JSON.parse(await storage.readText(name)));
}

/**
 * Identify the run: its trigger object(s) and run id. Attempts of one trigger
 * are `<id>`, `<id>-a2`, ...: the newest attempt that has not finished is
 * resumed (with or without --force, so killed attempts never pile up); when
 * the newest has finished, --force starts the next one and a plain
 * invocation reports the newest.
 */
async function identify(
  options: RunPipelineOptions,
): Promise<{ runId: string; attempt: number; trigger: TriggerObject | null }> {
  const { storage, pipeline } = options;
  let identity: TriggerObject | TriggerObject[];
  let trigger: TriggerObject | null = null;
  if (pipeline.trigger.kind === "object") {
    const info = await selectWeeklyFile(storage, options.trigger, pipeline.trigger.prefix);
    trigger = { name: info.name, generation: info.generation };
    identity = trigger;
  } else {
    identity = (await trainingData(storage)).map((o) => ({ name: o.name, generation: o.generation }));
  }
  const idOf = (attempt: number) => runIdFor(pipeline.name, storage.uri, identity, attempt);
  // Attempts are numbered without gaps: count the recorded ones, keeping the newest.
  let recorded = 0;
  let newest: RunRecord | null = null;
  for (
    let next = await readRunRecord(storage, idOf(1));
    next;
    next = await readRunRecord(storage, idOf(recorded + 1))
  ) {
    newest = next;
    recorded++;
  }
  const attempt = newest === null ? 1 : options.force && isFinished(newest) ? recorded + 1 : recorded;
  return { runId: idOf(attempt), attempt, trigger };
}

/** Where a run's public outputs go: the pipeline's declared output folder for the trigger's stem, if any. */
function outputPrefixOf(pipeline: PipelineDefinition, trigger: TriggerObject | null): string | null {
  return pipeline.output && trigger ? pipeline.output(stemOf(trigger.name)) : null;
}

/**
 * Run a pipeline to the end: one run per id at a time (lease), resuming from
 * the first unfinished step, reusing cached step results by content, running
 * independent steps in parallel, retrying exit 1, and on failure writing
 * `_FAILED` while leaving the previous output untouched.
 */
export async function runPipeline(options: RunPipelineOptions): Promise<RunResult> {
  const { storage, pipeline, executor } = options;
  const logger = options.logger ?? silentLogger;
  const emit = options.onEvent ?? (() => {});
  const { runId, attempt, trigger } = await identify(options);

  const finished = await readRunRecord(storage, runId);
  if (finished && isFinished(finished)) {
    return { record: finished, exitCode: (finished.exit_code ?? 1) as ExitCode, reused: true };
  }

  // One runner per run id: wait for a live holder; take over an expired lease.
  // A lost lease (another runner took over) aborts this one's steps.
  const abort = new AbortController();
  options.signal?.addEventListener("abort", () => abort.abort(), { once: true });
  const holder = newHolderId();
  let lease: Lease;
  for (;;) {
    const result = await tryAcquireLease(storage, runId, holder, {
      ttlMs: options.leaseTtlMs,
      onLost: () => abort.abort(),
    });
    if (result.acquired) {
      lease = result.lease;
      break;
    }
    emit({ type: "waiting", runId, holder: result.holder, expiresInMs: result.expiresInMs });
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, result.expiresInMs))));
    const record = await readRunRecord(storage, runId);
    if (record && isFinished(record)) {
      return { record, exitCode: (record.exit_code ?? 1) as ExitCode, reused: true };
    }
  }
  lease.startHeartbeat();

  try {
    const code = await codeVersion(options.env);
    const order = topologicalOrder(pipeline);
    const previous = await readRunRecord(storage, runId);
    const record: RunRecord = previous ?? {
      version: 1,
      run_id: runId,
      pipeline: pipeline.name,
      bucket: storage.uri,
      runner: executor.name,
      trigger: trigger ? { object: trigger.name, generation: trigger.generation } : null,
      attempt,
      state: "running",
      exit_code: null,
      reason: null,
      started: new Date().toISOString(),
      finished: null,
      seconds: null,
      code_version: code,
      output_prefix: outputPrefixOf(pipeline, trigger),
      steps: order.map(pendingStep),
    };
    // Resuming an interrupted (or killed) attempt: it is running again, under this runner.
    record.state = "running";
    record.exit_code = null;
    record.reason = null;
    record.runner = executor.name;
    const stepRecord = (name: string) => record.steps.find((s) => s.name === name)!;
    const upstream = new Map<string, OutputDoc>();
    // Resume: a step whose output.json exists in this run is done.
    for (const step of order) {
      const doc = await readOutputDoc(storage, runId, step.name);
      const rec = stepRecord(step.name);
      if (doc) {
        upstream.set(step.name, doc);
        if (rec.state !== "cached") rec.state = "succeeded";
      } else if (rec.state !== "pending") {
        rec.state = "pending";
      }
    }
    emit({
      type: "run",
      runId,
      pipeline: pipeline.name,
      trigger: trigger?.name ?? null,
      resumed: previous !== null,
    });
    await writeRunRecord(storage, record);

    const hasher = new ObjectHasher(storage);
    const started = Date.now();
    let failure: { step: string; exitCode: ExitCode; error: string } | null = null;
    const running = new Map<string, Promise<void>>();
    const concurrency = options.concurrency ?? 2;
    let save = Promise.resolve();
    const persist = () => {
      save = save.then(() => writeRunRecord(storage, record));
      return save;
    };

    const runOne = async (step: StepDefinition): Promise<void> => {
      const rec = stepRecord(step.name);
      rec.started = new Date().toISOString();
      rec.state = "running";
      const t0 = Date.now();
      const finish = (state: StepRecord["state"], error: string | null = null) => {
        rec.state = state;
        rec.finished = new Date().toISOString();
        rec.seconds = (Date.now() - t0) / 1000;
        rec.error = error;
        emit({ type: "step", step: step.name, state, seconds: rec.seconds, error, attempt: rec.attempts });
      };
      try {
        const inputs = await resolveInputs(step, {
          storage,
          hasher,
          trigger: trigger?.name ?? null,
          upstream,
        });
        const component = await (options.components ?? loadComponent)(step.component);
        const parameters = { ...(step.parameters ?? {}), ...runtimeParameters(component, record) };
        rec.inputs = Object.fromEntries(
          Object.entries(inputs).map(([p, refs]) => [
            p,
            refs.map((r) => ({ object: r.object, sha256: r.sha256 })),
          ]),
        );
        rec.parameters = parameters;
        const key = cacheKey(step.component, inputs, parameters, code);
        const cacheable = step.cache !== false;
        rec.cache = cacheable ? { key, hit: false, from: null } : null;
        const bypass = step.cacheBypass ? bypassReasons(upstream.get(step.cacheBypass.step)) : [];
        // Recorded even when nothing is bypassed (new data misses the cache anyway), so run.json says what fired.
        if (bypass.length > 0) record.retrain ??= { fired: bypass, cache_bypassed: [] };
        if (cacheable && !options.noCache) {
          const hit = await readCache(storage, key);
          if (hit && bypass.length > 0) {
            // Same inputs as a finished step, but a retraining trigger asked for a fresh run.
            rec.cache = { key, hit: false, from: null, bypassed: bypass };
            record.retrain = {
              fired: bypass,
              cache_bypassed: [...(record.retrain?.cache_bypassed ?? []), step.name],
            };
            logger.info("cache bypassed by a retraining trigger", { step: step.name, triggers: bypass });
          } else if (hit) {
            await storage.write(
              stepOutputObject(runId, step.name),
              `${JSON.stringify(hit.output, null, 2)}\n`,
              { contentType: "application/json", metadata: writtenBy("runner") },
            );
            upstream.set(step.name, hit.output);
            rec.cache = { key, hit: true, from: `${hit.run}/${hit.step}` };
            rec.outputs = refsOf(hit.output);
            rec.counts = hit.output.counts;
            rec.exit_code = 0;
            finish("cached");
            return;
          }
        }
        const planned = {
          component: step.component,
          run: runId,
          step: step.name,
          inputs,
          parameters,
          createdAt: new Date().toISOString(),
        };
        await writeInputDoc(storage, planned);
        const shards = shardCount(step, inputs, options.config ?? null);
        if (shards > 1) await writeShardInputs(storage, planned, shards);
        emit({
          type: "step",
          step: step.name,
          state: "running",
          seconds: null,
          error: null,
          attempt: rec.attempts,
        });
        await persist();
        // An executor that retries inside (a Job's backoffLimit) must not be retried on top.
        const retries = executor.handlesRetries ? 0 : (step.retries ?? DEFAULT_RETRIES);
        let outcome = { exitCode: 1 as ExitCode, error: "not run" as string | null };
        const logName = stepLogObject(runId, step.name);
        const logChunks: Buffer[] = [];
        for (let i = 0; i <= retries; i++) {
          rec.attempts = i + 1;
          const log = new PassThrough();
          log.on("data", (c: Buffer) => logChunks.push(c));
          log.write(
            `--- attempt ${i + 1} of step ${step.name} (${executor.name}) at ${new Date().toISOString()}\n`,
          );
          outcome = await executor.execute(
            {
              runId,
              step: step.name,
              component: step.component,
              timeoutSeconds: step.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
              attempt: i,
              shards,
            },
            log,
            abort.signal,
          );
          log.end();
          await storage.write(logName, Buffer.concat(logChunks), {
            contentType: "text/plain",
            metadata: writtenBy("runner"),
          });
          rec.log = logName;
          // Exit 2 (bad input) and 3 (gate) cannot get better by retrying.
          if (outcome.exitCode !== 1 || abort.signal.aborted || i === retries) break;
          logger.warn("step failed with a transient error; retrying", {
            step: step.name,
            attempt: i + 1,
            error: outcome.error,
          });
          await new Promise((r) => setTimeout(r, 500 * 2 ** i));
        }
        rec.exit_code = outcome.exitCode;
        if (outcome.exitCode !== 0) {
          finish("failed", outcome.error);
          failure ??= { step: step.name, exitCode: outcome.exitCode, error: outcome.error ?? "failed" };
          return;
        }
        if (shards > 1) await gatherShards(storage, runId, step.name, shards);
        const doc = await readOutputDoc(storage, runId, step.name);
        if (!doc) {
          finish("failed", "the step exited 0 but wrote no output.json");
          failure ??= { step: step.name, exitCode: 1, error: "the step exited 0 but wrote no output.json" };
          return;
        }
        upstream.set(step.name, doc);
        rec.outputs = refsOf(doc);
        rec.counts = doc.counts;
        if (cacheable) {
          await storage.write(
            cacheObject(key),
            JSON.stringify({ run: runId, step: step.name, output: doc }),
            {
              contentType: "application/json",
              metadata: writtenBy("runner"),
            },
          );
        }
        finish("succeeded");
      } catch (error) {
        rec.exit_code = rec.exit_code ?? 1;
        const code = (error as { exitCode?: ExitCode }).exitCode ?? 1;
        finish("failed", messageOf(error));
        failure ??= { step: step.name, exitCode: code, error: messageOf(error) };
      } finally {
        await persist();
      }
    };

    // Schedule: start every step whose dependencies are done, up to `concurrency` at once.
    const done = (name: string) => ["succeeded", "cached"].includes(stepRecord(name).state);
    for (;;) {
      if (failure || abort.signal.aborted) break;
      const ready = order.filter(
        (s) =>
          stepRecord(s.name).state === "pending" && !running.has(s.name) && dependenciesOf(s).every(done),
      );
      for (const step of ready) {
        if (running.size >= concurrency) break;
        running.set(
          step.name,
          runOne(step).finally(() => running.delete(step.name)),
        );
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    await Promise.all(running.values());

    if (abort.signal.aborted) {
      // Another runner took the lease over: the record is now its to write.
      if (lease.isLost) throw new ConflictError(`another runner took over run ${runId}: this one stopped`);
      // Ctrl-C: record the run interrupted and resumable (unfinished steps run again next time).
      for (const rec of record.steps)
        if (rec.state === "running" || rec.state === "failed") rec.state = "pending";
      record.state = "interrupted";
      record.exit_code = INTERRUPTED_EXIT;
      record.reason = "interrupted before the end; run the same command again to resume";
      await persist();
      return { record, exitCode: INTERRUPTED_EXIT, reused: false };
    }
    const failed = failure as { step: string; exitCode: ExitCode; error: string } | null;
    for (const rec of record.steps) if (rec.state === "pending") rec.state = failed ? "skipped" : rec.state;
    record.state = failed ? "failed" : "succeeded";
    record.exit_code = failed ? failed.exitCode : 0;
    record.reason = failed ? `step ${failed.step} failed: ${failed.error}` : null;
    record.finished = new Date().toISOString();
    record.seconds = (Date.now() - started) / 1000;
    if (failed && record.output_prefix) {
      await storage.write(`${record.output_prefix}${OUTPUT_FILES.failed}`, `${record.reason}\n`, {
        contentType: "text/plain",
        metadata: writtenBy("runner"),
      });
    }
    await persist();
    await pushRunMetrics({ storage, record, env: options.env, logger });
    if (options.webhookUrl)
      await sendNotification(options.webhookUrl, notificationFor(record, upstream), { logger });
    return { record, exitCode: record.exit_code as ExitCode, reused: false };
  } catch (error) {
    if (error instanceof ConflictError && lease.isLost) {
      throw new ConflictError(`another runner took over run ${runId}: this one stopped`);
    }
    throw error;
  } finally {
    await lease.release().catch(() => {});
  }
}

function refsOf(doc: OutputDoc): StepRecord["outputs"] {
  return Object.fromEntries(
    Object.entries(doc.outputs).map(([p, r]) => [p, { object: r.object, sha256: r.sha256 }]),
  );
}

const bypassRequestSchema = z.object({ bypass_cache: z.array(z.string()) });

/**
 * The reasons an upstream step gave for bypassing the cache (its output.json
 * summary's `bypass_cache`); empty when it asked for nothing.
 */
export function bypassReasons(doc: OutputDoc | undefined): string[] {
  const parsed = bypassRequestSchema.safeParse(doc?.summary);
  return parsed.success ? parsed.data.bypass_cache : [];
}

/** How the runner computes each run-time parameter from the run record (see RUNTIME_PARAMETERS). */
const RUNTIME_VALUES: Record<RuntimeParameter, (record: RunRecord) => unknown> = {
  run_id: (record) => record.run_id,
  trigger: (record) => record.trigger?.object ?? null,
  output_prefix: (record) => record.output_prefix,
  timings: (record) =>
    Object.fromEntries(
      record.steps
        .filter((s) => s.state === "succeeded" || s.state === "cached")
        .map((s) => [s.name, s.seconds]),
    ),
  cache_hits: (record) => record.steps.filter((s) => s.state === "cached").map((s) => s.name),
  cache_bypassed: (record) => record.retrain?.cache_bypassed ?? [],
};

/** The run-time parameters a step's component declares, with their values now. */
function runtimeParameters(component: Component, record: RunRecord): Record<string, unknown> {
  return Object.fromEntries(component.runtime.map((name) => [name, RUNTIME_VALUES[name](record)]));
}

async function readCache(
  storage: Storage,
  key: string,
): Promise<{ run: string; step: string; output: OutputDoc } | null> {
  const name = cacheObject(key);
  if (!(await storage.stat(name))) return null;
  try {
    const value = JSON.parse(await storage.readText(name)) as { run: string; step: string; output: unknown };
    const output = outputDocSchema.parse(value.output);
    // A cache entry is only usable while the objects it points to still exist.
    for (const ref of Object.values(output.outputs)) if (!(await storage.stat(ref.object))) return null;
    return { run: value.run, step: value.step, output };
  } catch {
    return null;
  }
}

function notificationFor(record: RunRecord, upstream: Map<string, OutputDoc>): Notification {
  const base = {
    pipeline: record.pipeline,
    run_id: record.run_id,
    bucket: record.bucket,
    trigger: record.trigger?.object ?? "",
  };
  if (record.state === "failed") {
    const step = record.steps.find((s) => s.state === "failed");
    return {
      event: "failed",
      ...base,
      step: step?.name ?? null,
      exit_code: record.exit_code ?? 1,
      reason: record.reason ?? "failed",
    };
  }
  const publish = [...upstream.values()].find((doc) => doc.component === publishComponent.name);
  const summary = publish ? summaryOf(publishComponent, publish) : null;
  return {
    event: "published",
    ...base,
    model_version: summary?.model_version ?? null,
    counts: publish?.counts ?? {},
    files: summary?.files ?? [],
  };
}
