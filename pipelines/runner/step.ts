import { writeInputDoc } from "../../components/common/component/run.js";
import type { OutputDoc } from "../../components/common/component/spec.js";
import type { ChurnConfig } from "../../components/common/config/index.js";
import { type ExitCode, exitCodeOf, messageOf } from "../../components/common/errors.js";
import { stepOutputObject, writtenBy } from "../../components/common/layout/index.js";
import type { Logger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import { warningsOf } from "../../components/common/warnings.js";
import type { StepDefinition } from "../dag.js";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, runAttempts } from "./attempt.js";
import type { StepExecutor } from "./executor.js";
import { gatherShards, shardCount, writeShardInputs } from "./fan-out.js";
import { type CacheEntry, type PlanContext, planStep, type StepPlan, writeCache } from "./planner.js";
import type { RunRecord, StepRecord } from "./records.js";
import {
  type EmitEvent,
  type RecordWriter,
  type RunState,
  readOutputDoc,
  recordFailure,
  stepRecordOf,
} from "./state.js";

/** What running one step needs besides the run's state. */
export interface StepRunContext {
  storage: Storage;
  executor: StepExecutor;
  runId: string;
  plan: PlanContext;
  config: ChurnConfig | null;
  logger: Logger;
  emit: EmitEvent;
  signal: AbortSignal;
  writer: RecordWriter;
}

/**
 * Run one step of a run: plan it, serve it from the cache or execute it
 * (with retries), and record the outcome in the run state. Never rejects for
 * the step's own failure: that is recorded as the run's failure.
 */
export async function runOneStep(step: StepDefinition, ctx: StepRunContext, state: RunState): Promise<void> {
  const rec = stepRecordOf(state.record, step.name);
  rec.started = new Date().toISOString();
  rec.state = "running";
  const t0 = Date.now();
  const finish = (finished: StepRecord["state"], error: string | null = null) => {
    rec.state = finished;
    rec.finished = new Date().toISOString();
    rec.seconds = (Date.now() - t0) / 1000;
    rec.error = error;
    ctx.emit({
      type: "step",
      step: step.name,
      state: finished,
      seconds: rec.seconds,
      error,
      attempt: rec.attempts,
      warnings: rec.warnings,
    });
  };
  try {
    const plan = await planStep(step, ctx.plan, state.record, state.upstream);
    recordPlan(state.record, rec, plan, ctx.logger);
    if (plan.kind === "hit") {
      await useCacheEntry(ctx.storage, ctx.runId, rec, plan, state.upstream);
      finish("cached");
      return;
    }
    const result = await executePlanned(step, plan, ctx, rec, t0);
    if (result.kind === "failed") {
      finish("failed", result.error);
      recordFailure(state, { step: step.name, exitCode: result.exitCode, error: result.error ?? "failed" });
      return;
    }
    acceptOutput(rec, result.doc, state.upstream);
    if (plan.cacheable)
      await writeCache(ctx.storage, plan.key, { run: ctx.runId, step: step.name, output: result.doc });
    finish("succeeded");
  } catch (error) {
    rec.exit_code = rec.exit_code ?? 1;
    finish("failed", messageOf(error));
    recordFailure(state, { step: step.name, exitCode: exitCodeOf(error), error: messageOf(error) });
  } finally {
    await ctx.writer.persist();
  }
}

/** Record what the planner resolved (inputs, parameters, cache key) and which retraining triggers fired. */
export function recordPlan(record: RunRecord, rec: StepRecord, plan: StepPlan, logger: Logger): void {
  rec.inputs = Object.fromEntries(
    Object.entries(plan.inputs).map(([p, refs]) => [
      p,
      refs.map((r) => ({ object: r.object, sha256: r.sha256 })),
    ]),
  );
  rec.parameters = plan.parameters;
  rec.cache = plan.cacheable ? { key: plan.key, hit: false, from: null } : null;
  // Recorded even when nothing is bypassed (new data misses the cache anyway), so run.json says what fired.
  if (plan.bypass.length > 0) record.retrain ??= { fired: plan.bypass, cache_bypassed: [] };
  if (plan.kind === "run" && plan.bypassed) {
    rec.cache = { key: plan.key, hit: false, from: null, bypassed: plan.bypass };
    record.retrain = {
      fired: plan.bypass,
      cache_bypassed: [...(record.retrain?.cache_bypassed ?? []), rec.name],
    };
    logger.info("cache bypassed by a retraining trigger", { step: rec.name, triggers: plan.bypass });
  }
}

/** A cache hit: the cached output.json becomes this run's, as if the step had run. */
async function useCacheEntry(
  storage: Storage,
  runId: string,
  rec: StepRecord,
  plan: { key: string; entry: CacheEntry },
  upstream: Map<string, OutputDoc>,
): Promise<void> {
  const { entry } = plan;
  await storage.write(stepOutputObject(runId, rec.name), `${JSON.stringify(entry.output, null, 2)}\n`, {
    contentType: "application/json",
    metadata: writtenBy("runner"),
  });
  acceptOutput(rec, entry.output, upstream);
  rec.cache = { key: plan.key, hit: true, from: `${entry.run}/${entry.step}` };
  rec.exit_code = 0;
}

/** A finished step's output.json: downstream steps resolve from it, and the record shows its outputs. */
function acceptOutput(rec: StepRecord, doc: OutputDoc, upstream: Map<string, OutputDoc>): void {
  upstream.set(rec.name, doc);
  rec.outputs = Object.fromEntries(
    Object.entries(doc.outputs).map(([p, r]) => [p, { object: r.object, sha256: r.sha256 }]),
  );
  rec.counts = doc.counts;
  rec.warnings = warningsOf(rec.name, doc.warnings ?? []);
}

type Executed =
  | { kind: "succeeded"; doc: OutputDoc }
  /** `error` is null when the executor gave no reason (the run's reason then says "failed"). */
  | { kind: "failed"; exitCode: ExitCode; error: string | null };

/** Write the step's input.json (and its shards'), execute it with retries, and read its output.json. */
async function executePlanned(
  step: StepDefinition,
  plan: StepPlan,
  ctx: StepRunContext,
  rec: StepRecord,
  startedMs: number,
): Promise<Executed> {
  const planned = {
    component: step.component,
    run: ctx.runId,
    step: step.name,
    inputs: plan.inputs,
    parameters: plan.parameters,
    createdAt: new Date().toISOString(),
  };
  await writeInputDoc(ctx.storage, planned);
  const shards = shardCount(step, plan.inputs, ctx.config);
  if (shards > 1) await writeShardInputs(ctx.storage, planned, shards);
  ctx.emit({
    type: "step",
    step: step.name,
    state: "running",
    seconds: null,
    error: null,
    attempt: rec.attempts,
    warnings: [],
  });
  await ctx.writer.persist();
  const { outcome, log } = await runAttempts({
    storage: ctx.storage,
    executor: ctx.executor,
    invocation: {
      runId: ctx.runId,
      step: step.name,
      component: step.component,
      timeoutSeconds: step.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      shards,
    },
    // An executor that retries inside (a Job's backoffLimit) must not be retried on top.
    retries: ctx.executor.handlesRetries ? 0 : (step.retries ?? DEFAULT_RETRIES),
    signal: ctx.signal,
    logger: ctx.logger,
    onAttempt: (n) => {
      rec.attempts = n;
    },
    onProgress: (message) =>
      ctx.emit({ type: "progress", step: step.name, message, seconds: (Date.now() - startedMs) / 1000 }),
  });
  rec.log = log;
  rec.exit_code = outcome.exitCode;
  if (outcome.exitCode !== 0) return { kind: "failed", exitCode: outcome.exitCode, error: outcome.error };
  if (shards > 1) await gatherShards(ctx.storage, ctx.runId, step.name, shards);
  const doc = await readOutputDoc(ctx.storage, ctx.runId, step.name);
  if (!doc) return { kind: "failed", exitCode: 1, error: "the step exited 0 but wrote no output.json" };
  return { kind: "succeeded", doc };
}
